"""`posture scan`, `pair`, `record` and `doctor`: the sensor link from the command line.

Only this module wires real BLE backends (`sensorlink.scan.open_ble_backend`) to the link; everything below
takes them as arguments. With `--adapter sim` the simulated sensor runs in this process on a virtual link; its
bonds are kept in the config directory too, so `pair` and a later `record` in another process see the same
sensor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from posture.sensors import choose_sensor, open_backend, pair_with
from posture.session.recording import (
    ProgressCallback,
    RecordingProgress,
    RecordSummary,
    record_to_csv,
)
from posture.settings import Settings
from sensorlink.bonds import Bond, BondStore
from sensorlink.errors import AdapterUnavailable, NotPaired, SensorlinkError, SensorNotFound, UnknownProfile
from sensorlink.link import LinkOptions
from sensorlink.profiles import profile_by_kind
from sensorlink.scan import (
    AUTO_ADAPTER,
    BleBackend,
    FoundSensor,
    HostBluetooth,
    bumble_key_store_path,
    scan_for_sensors,
)

if TYPE_CHECKING:
    from sensorlink.simsensor.motion import MotionSource

logger = logging.getLogger(__name__)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal:  # rich assumes 80 columns when piped; tables then truncate addresses
    out.width = 120

#: Connect, pair and read the firmware revision: a real pairing takes a few seconds and SMP itself gives up
#: after 30 s (Core Spec Vol 3 Part H 3.4); a sensor that has not finished by this bound never will.
PAIR_TIMEOUT_S = 45.0


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj.settings
    return settings


def _backend(
    settings: Settings, time_scale: float, motion: MotionSource | None = None
) -> AbstractAsyncContextManager[BleBackend]:
    return open_backend(settings, time_scale, motion)


# --- scan
# -------------------------------------------------------------------------------------------------------


def _sensor_table(sensors: list[FoundSensor]) -> Table:
    table = Table(title="sensors")
    for column in ("kind", "name", "address", "RSSI dBm", "battery", "protocol", "pairing mode"):
        table.add_column(column)
    for s in sensors:
        info = s.info
        table.add_row(
            s.profile.kind,
            s.name or "?",
            s.address,
            str(s.rssi_dbm),
            f"{info.battery_pct} %" if info and info.battery_pct is not None else "?",
            (f"v{info.protocol_major}" + ("" if s.supported else " (unsupported)"))
            if info and info.protocol_major is not None
            else "?",
            ("yes" if info.pairing_mode else "no") if info and info.pairing_mode is not None else "?",
        )
    return table


async def _scan(settings: Settings, timeout_s: float) -> list[FoundSensor]:
    async with _backend(settings, 1.0) as backend:
        return await scan_for_sensors(backend, timeout_s=timeout_s)


def scan(
    ctx: typer.Context,
    timeout_s: float = typer.Option(5.0, "--timeout", help="Seconds to listen for sensors."),
) -> None:
    """List the sensors of every supported kind in range, each with its kind."""
    sensors = asyncio.run(_scan(_settings(ctx), timeout_s))
    if not sensors:
        raise SensorNotFound(timeout_s)
    out.print(_sensor_table(sensors))


# --- pair
# -------------------------------------------------------------------------------------------------------


async def _pair(settings: Settings, address: str | None, timeout_s: float) -> Bond:
    async with _backend(settings, 1.0) as backend:
        sensors = await scan_for_sensors(backend, timeout_s=timeout_s, stop_when=address)
        sensor = choose_sensor(sensors, address, timeout_s)
        out.print(f"pairing with {sensor.name or '?'} ({sensor.address}) ...")
        return await pair_with(backend, sensor, BondStore(settings.bonds_file))


def pair(
    ctx: typer.Context,
    address: str | None = typer.Argument(None, help="The sensor's address (default: the nearest one)."),
    timeout_s: float = typer.Option(5.0, "--timeout", help="Seconds to look for the sensor."),
) -> None:
    """Pair with a sensor (LE Secure Connections) and remember it for `record` and `run`."""
    settings = _settings(ctx)
    bond = asyncio.run(_pair(settings, address, timeout_s))
    out.print(f"paired with {bond.name} ({bond.address}); remembered in {settings.bonds_file}")


# --- record
# -----------------------------------------------------------------------------------------------------


def _progress_bar(duration_s: float) -> tuple[Progress, ProgressCallback]:
    """A transient bar on stderr, and the callback that advances it (its total comes with the first block)."""
    bar = Progress(
        TextColumn("[bold]recording[/bold]"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%  {task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("record", total=None, status="")

    def update(progress: RecordingProgress) -> None:
        wanted = round(duration_s * progress.sampling_rate_hz)
        battery = progress.status.battery_pct
        bar.update(
            task,
            total=wanted,
            completed=min(progress.samples + progress.lost_samples, wanted),
            status=f"{progress.samples} samples, {progress.lost_samples} lost, battery {battery or '?'} %",
        )

    return bar, update


async def _record_with_bar(
    backend: BleBackend,
    address: str,
    out_path: Path,
    *,
    duration_s: float,
    time_scale: float,
    athlete: str,
    options: LinkOptions | None = None,
) -> RecordSummary:
    """`record_to_csv` with a progress bar on stderr; the session file goes next to the CSV."""
    bar, on_progress = _progress_bar(duration_s)
    with bar:
        return await record_to_csv(
            backend,
            address,
            out_path,
            duration_s=duration_s,
            time_scale=time_scale,
            options=options,
            athlete=athlete,
            on_progress=on_progress,
        )


def _print_summary(summary: RecordSummary) -> None:
    drift = (
        f"{summary.drift_ppm:+.1f} ppm"
        if summary.drift_ppm is not None
        else "not measured yet (needs 5 minutes of streaming)"
    )
    if profile_by_kind(summary.sensor_kind).timing.clock == "host":
        drift = "none to measure (no sample clock: times from arrivals)"
    loss_pct = 100.0 * summary.lost_samples / max(1, summary.samples + summary.lost_samples)
    inferred = "" if summary.loss_checkable else ", inferred from arrival gaps"
    battery = "?" if summary.battery_pct is None else str(summary.battery_pct)
    out.print(
        f"recorded {summary.samples} samples ({summary.duration_s:.1f} s at {summary.sampling_rate_hz:g} Hz) "
        f"to {summary.path}\n"
        f"  lost {summary.lost_samples} samples ({loss_pct:.2f} %{inferred}), "
        f"{summary.reconnects} reconnects, "
        f"{summary.malformed_packets} malformed and {summary.duplicate_packets} duplicate packets skipped\n"
        f"  sensor clock drift {drift}, battery {battery} %, firmware {summary.firmware_revision}"
    )
    if summary.session_path is not None:
        out.print(f"  every raw packet in {summary.session_path} (`posture replay` reads it)")


async def _record(
    settings: Settings, duration_s: float, out_path: Path, time_scale: float, options: LinkOptions
) -> RecordSummary:
    async with _backend(settings, time_scale) as backend:
        bonds = BondStore(settings.bonds_file).for_adapter(settings.adapter)
        if not bonds:
            raise NotPaired(settings.adapter)
        return await _record_with_bar(
            backend,
            bonds[-1].address,
            out_path,
            duration_s=duration_s,
            time_scale=time_scale,
            options=options,
            athlete=settings.athlete,
        )


def record(
    ctx: typer.Context,
    duration_s: float = typer.Option(..., "--duration", min=0.1, help="Seconds of sensor time to record."),
    out_path: Path = typer.Option(..., "--out", help="CSV file to write (the `posture analyze` format)."),  # noqa: B008
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        min=0.001,
        help="For a simulated sensor running faster than real time: its time scale (the host clock follows).",
    ),
    reconnect_budget_s: float = typer.Option(
        30.0, "--reconnect-budget", min=0.1, help="Give up if the sensor stays away longer than this (s)."
    ),
) -> None:
    """Stream the paired sensor into a CSV on the host's time base; every raw packet also goes into a session
    file next to it (same name, .posture), which `posture replay` reads."""
    options = LinkOptions(reconnect_budget_s=reconnect_budget_s)
    summary = asyncio.run(_record(_settings(ctx), duration_s, out_path, time_scale, options))
    _print_summary(summary)


# --- doctor
# -----------------------------------------------------------------------------------------------------


async def _probe_adapter(settings: Settings) -> str | None:
    """None if the adapter opens, else the reason in plain words."""
    try:
        async with asyncio.timeout(10.0), _backend(settings, 1.0):
            return None
    except AdapterUnavailable as exc:
        return exc.reason
    except TimeoutError:
        return "the adapter did not answer within 10 s"


def doctor(ctx: typer.Context) -> None:
    """Say what adapter there is, what is paired, and what would stop a run, in plain words."""
    settings = _settings(ctx)
    problems: list[str] = []
    host = HostBluetooth.probe()
    out.print(f"[bold]adapter[/bold]: --adapter {settings.adapter}")
    dbus = "present" if host.dbus_system_bus else "absent"
    kernel = "present" if host.kernel_bluetooth else "absent"
    out.print(f"  this machine ({host.platform}): D-Bus system bus {dbus}, kernel Bluetooth {kernel}")
    reason = asyncio.run(_probe_adapter(settings))
    if reason is None:
        out.print(f"  [green]ok[/green]: the {settings.adapter} adapter opens")
    else:
        out.print(f"  [red]not usable[/red]: {reason}")
        problems.append(
            f"no usable adapter for --adapter {settings.adapter}: use --adapter sim:KIND (a simulated "
            "sensor) or --adapter usb:0 (a USB Bluetooth dongle)"
        )
    out.print(f"[bold]paired sensors[/bold] ({settings.bonds_file}):")
    try:
        bonds = BondStore(settings.bonds_file).load()
    except SensorlinkError as exc:
        bonds = ()
        problems.append(str(exc))
    for bond in bonds:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(bond.paired_at_ns / 1e9))
        out.print(
            f"  {bond.name} ({bond.address}) on adapter {bond.adapter}, kind {bond.profile}, paired {when}"
        )
        try:
            timing = profile_by_kind(bond.profile).timing
        except UnknownProfile as exc:
            problems.append(f"{bond.name}: {exc}")
            continue
        loss = "loss counted exactly" if timing.loss_checkable else "loss only inferred"
        out.print(f"    timing: {timing.clock} clock, {loss} ({timing.description})")
    if not bonds:
        out.print("  none")
    if not any(b.adapter == settings.adapter for b in bonds):
        problems.append(
            f"no sensor is paired on adapter {settings.adapter}: "
            f"run `posture --adapter {settings.adapter} pair`"
        )
    keys = bumble_key_store_path(settings.config_dir)
    if settings.adapter != AUTO_ADAPTER:
        out.print(f"[bold]pairing keys[/bold]: {keys} ({'present' if keys.is_file() else 'none yet'})")
    out.print(f"[bold]recordings[/bold] go to {settings.data_dir}")
    if problems:
        out.print("[bold red]what would stop a run[/bold red]:")
        for problem in problems:
            out.print(f"  - {problem}")
        raise typer.Exit(1)
    out.print("[bold green]ready to record[/bold green]")


def register(app: typer.Typer) -> None:
    """Add scan, pair, record and doctor to the CLI."""
    app.command("scan")(scan)
    app.command("pair")(pair)
    app.command("record")(record)
    app.command("doctor")(doctor)
