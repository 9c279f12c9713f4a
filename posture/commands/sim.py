"""`posture sim`: run the simulated sensor as its own process, reachable through a Bumble transport.

    posture sim --transport tcp-server:127.0.0.1:9000 --scenario <name> --time-scale 20 --drift-ppm 50
    posture --adapter tcp-client:127.0.0.1:9000 record ...      # in another terminal

The sensor implements firmware_specs/posture_sensor_v1.md; `--scenario` feeds it a run from
`processing.simulation` (known truth), otherwise a built-in stand-then-run motion. Fault options plant link
drops, lost, corrupted or duplicated packets, clock drift, a low battery or an unsupported firmware revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import typer
from rich.console import Console

from posture.sensors import (
    BUILTIN_SCENARIO,
    SIM_LOG_MAX_RECORDS,
    motion_for_scenario,
)  # one home, shared with run and demo
from sensorlink.simsensor import (
    FaultPlan,
    LinkDrop,
    MotionSource,
    PacketFate,
    SimulatedSensor,
    SimulatedSensorOptions,
)

console = Console(stderr=True)


def _parse_seqs(values: list[int] | None) -> frozenset[int]:
    return frozenset(values or ())


async def _serve(
    transport: str, options: SimulatedSensorOptions, motion: MotionSource, duration_s: float | None
) -> None:
    from sensorlink.simsensor.transport import run_on_transport

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)

    def ready(sensor: SimulatedSensor) -> None:
        console.print(
            f"simulated sensor {sensor.name} ({options.address}) on {transport}: firmware "
            f"{sensor.firmware_revision}, time scale {options.time_scale:g}, "
            f"drift {options.faults.drift_ppm:+g} ppm. Ctrl-C to stop."
        )

    sensor = await run_on_transport(transport, options, motion, on_ready=ready, stop=stop)
    log = sensor.log
    produced = log.packet_count(*PacketFate)
    sent = log.packet_count(PacketFate.SENT, PacketFate.CORRUPTED)
    console.print(
        f"stopped: {produced} packets produced, {sent} sent, {log.undelivered_samples} samples undelivered"
    )


def sim(
    transport: str = typer.Option(
        ...,
        "--transport",
        help="Bumble transport a central host connects to, e.g. tcp-server:127.0.0.1:9000.",
    ),
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help=f"Named scenario of processing.simulation; default: built-in {BUILTIN_SCENARIO!r}.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the simulated run."),
    run_s: float | None = typer.Option(
        None, "--run-s", help="Length of the scenario, simulated seconds (default: the scenario's own)."
    ),
    time_scale: float = typer.Option(1.0, "--time-scale", help="Simulated seconds per wall-clock second."),
    drift_ppm: float = typer.Option(
        0.0, "--drift-ppm", help="Sensor oscillator error (its clock and sampling)."
    ),
    drop_at_s: list[float] = typer.Option(  # noqa: B008 - typer's idiom
        [], "--drop-at", help="Link drop at this many seconds after the first START (repeatable)."
    ),
    drop_for_s: float = typer.Option(3.0, "--drop-for", help="Duration of each link drop, seconds."),
    lost_seq: list[int] = typer.Option([], "--lost-seq", help="Never send the packet with this seq."),  # noqa: B008
    corrupt_seq: list[int] = typer.Option([], "--corrupt-seq", help="Send this seq truncated."),  # noqa: B008
    duplicate_seq: list[int] = typer.Option([], "--duplicate-seq", help="Send this seq twice."),  # noqa: B008
    low_battery_at_s: float | None = typer.Option(None, "--low-battery-at", help="Battery falls low then."),
    sensor_fault_at_s: float | None = typer.Option(
        None, "--sensor-fault-at", help="Raise the sensor-fault status flag this long after the first START."
    ),
    battery_pct: int = typer.Option(87, "--battery", help="Initial battery level, percent."),
    firmware: str | None = typer.Option(
        None, "--firmware", help="Report this firmware revision (e.g. 2.0.0)."
    ),
    initial_seq: int = typer.Option(0, "--initial-seq", help="Seq of the first packet after power-on."),
    address: str = typer.Option("C4:5E:00:00:00:01", "--address", help="The sensor's random static address."),
    keystore: Path | None = typer.Option(None, "--keystore", help="JSON file for the sensor's bonds."),  # noqa: B008
    pairing_mode: bool = typer.Option(
        True, "--pairing-mode/--no-pairing-mode", help="Accept new bonds (bonded centrals always reconnect)."
    ),
    duration_s: float | None = typer.Option(
        None, "--duration", help="Stop after this many wall-clock seconds."
    ),
) -> None:
    """Run a simulated posture sensor that a central reaches through a Bumble transport."""
    try:
        faults = FaultPlan(
            link_drops=tuple(LinkDrop(at, drop_for_s) for at in drop_at_s),
            lost_seqs=_parse_seqs(lost_seq),
            corrupted_seqs=_parse_seqs(corrupt_seq),
            duplicated_seqs=_parse_seqs(duplicate_seq),
            drift_ppm=drift_ppm,
            low_battery_at_s=low_battery_at_s,
            sensor_fault_at_s=sensor_fault_at_s,
            firmware_revision=firmware,
        )
        options = SimulatedSensorOptions(
            address=address,
            time_scale=time_scale,
            faults=faults,
            initial_seq=initial_seq,
            battery_pct=battery_pct,
            keystore_file=keystore,
            pairing_mode=pairing_mode,
            log_max_records=SIM_LOG_MAX_RECORDS,
        )
        motion = motion_for_scenario(scenario, seed, run_s)
    except (ValueError, KeyError) as exc:  # bad option values; KeyError: unknown scenario name
        raise typer.BadParameter(str(exc).strip("'\"")) from exc
    asyncio.run(_serve(transport, options, motion, duration_s))


def register(app: typer.Typer) -> None:
    """Add `posture sim` to the CLI."""
    app.command("sim")(sim)
