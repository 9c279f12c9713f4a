"""`posture demo`: the whole job on a simulated sensor, with local servers, ending with the report.

The work is in `posture.demo` and `posture.live`; this module draws the stages, the progress bar and the
closing lines (where the report is, how to open the dashboards).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from posture.demo import (
    DEMO_ATHLETE,
    DEMO_RUN_S,
    DEMO_SCENARIO,
    DEMO_TIME_SCALE,
    LocalServers,
    finish_demo_run,
    quiet_loggers,
    scan_and_pair,
)
from posture.labels import format_clock
from posture.settings import Settings

# The live chain is imported where it runs (`posture --help` imports this module).
if TYPE_CHECKING:
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.run import LiveRun
    from posture.live.session import LiveSessionResult
    from sensorlink.blocks import LinkStatus

__all__ = ["register"]

out = Console(soft_wrap=True)


def _stage(number: int, text: str) -> None:
    out.print(f"[bold]{number}. {text}[/bold]")


async def _sensor_run(
    settings: Settings,
    *,
    scenario: str,
    run_s: float,
    total_s: float,
    time_scale: float,
    session: str,
    mqtt: MqttRunSink | None,
    outbox_pending: Callable[[], int] | None,
) -> LiveSessionResult:
    from posture.live.session import run_sensor
    from posture.sensors import motion_for_scenario, open_backend

    motion = motion_for_scenario(scenario, duration_s=run_s)
    async with open_backend(settings, time_scale, motion) as backend:
        _stage(2, f"scan on {backend.description}")
        sensors, sensor = await scan_and_pair(backend, settings)
        out.print(f"   found {len(sensors)} sensor(s): {sensor.name} ({sensor.address})")
        _stage(
            3,
            f"paired with {sensor.name} (LE Secure Connections, bonded; remembered in {settings.bonds_file})",
        )
        _stage(4, f"run: {total_s:g} s ({scenario}), {time_scale:g}x faster than real time")
        bar = Progress(
            TextColumn("   running"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%  {task.fields[status]}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        )
        task = bar.add_task("run", total=total_s, status="calibrating: stand still")
        cues: list[str] = []

        def on_block(run: LiveRun, status: LinkStatus) -> None:
            cue = run.latest_cue
            if cue is not None and (not cues or cues[-1] != cue):
                cues.append(cue)
                at = format_clock(run.elapsed_s)
                bar.console.print(f"   [yellow]cue at {at}:[/yellow] {cue}")
            phase = f"{len(run.steps)} steps" if run.calibrated else "calibrating: stand still"
            bar.update(task, completed=min(run.elapsed_s, total_s), status=phase)

        with bar:
            return await run_sensor(
                backend,
                sensor.address,
                settings,
                athlete=DEMO_ATHLETE,
                session=session,
                time_scale=time_scale,
                duration_s=total_s,
                mqtt=mqtt,
                outbox_pending=outbox_pending,
                on_block=on_block,
            )


def demo(
    ctx: typer.Context,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="The simulated run: a scenario of the simulator (an unknown name lists them all).",
        ),
    ] = DEMO_SCENARIO,
    run_s: Annotated[
        float, typer.Option("--run-s", min=5.0, help="Seconds of running to simulate.")
    ] = DEMO_RUN_S,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=1.0, help="How much faster than real time.")
    ] = DEMO_TIME_SCALE,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", dir_okay=False, help="The HTML report to write (default: in the run folder)."
        ),
    ] = None,
    servers: Annotated[
        bool, typer.Option("--servers/--no-servers", help="Start Mosquitto, InfluxDB and the ingest locally.")
    ] = True,
) -> None:
    """Run the whole job on a simulated sensor: scan, pair, a run with a planted fault, cues, MQTT into
    InfluxDB, and the post-run report. No hardware, accounts or servers to set up."""
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.summary_words import summary_lines
    from posture.report import write_report
    from processing.simulation import UnknownScenarioError, scenario_by_name
    from sensorlink.scan import SIM_ADAPTER

    started = time.monotonic()
    settings = replace(ctx.obj.settings, adapter=SIM_ADAPTER)
    try:
        chosen = scenario_by_name(scenario)
    except UnknownScenarioError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from None
    total_s = chosen.standing_s + chosen.warmup_walk_s + run_s + chosen.cooldown_walk_s
    session = time.strftime("demo-%Y%m%d-%H%M%S", time.gmtime())
    with (
        tempfile.TemporaryDirectory(prefix="posture-demo-") as folder,
        quiet_loggers("bumble", "posture.localstack", "dashboards.ingest"),
    ):
        local = LocalServers(Path(folder)) if servers else None
        with local if local is not None else contextlib.nullcontext():
            found = local.servers if local is not None else None
            publisher = None
            if found is not None and found.mqtt_url is not None:
                from posture.mqtt import MqttSettings, Publisher

                settings.data_dir.mkdir(parents=True, exist_ok=True)
                publisher = Publisher(
                    MqttSettings.from_url(found.mqtt_url),
                    DEMO_ATHLETE,
                    session,
                    Path(folder) / "outbox.sqlite",
                )
                publisher.start()
            _stage(1, "servers")
            if found is None:
                out.print("   skipped (--no-servers): the run stays local")
            else:
                if found.mqtt_url:
                    out.print(f"   MQTT broker (Mosquitto) at {found.mqtt_url}")
                if found.influx_url:
                    out.print(f"   InfluxDB 1.x (v2-write translation at {found.influx_url}), ingest running")
                for reason in found.skipped:
                    out.print(f"   [yellow]skipped[/yellow] {reason}")
            mqtt = None if publisher is None else MqttRunSink(publisher, DEMO_ATHLETE, session)
            pending = (lambda: publisher.counters.pending) if publisher is not None else None
            try:
                result = asyncio.run(
                    _sensor_run(
                        settings,
                        scenario=scenario,
                        run_s=run_s,
                        total_s=total_s,
                        time_scale=time_scale,
                        session=session,
                        mqtt=mqtt,
                        outbox_pending=pending,
                    )
                )
                folder_out = finish_demo_run(settings, result, session, mqtt)
            finally:
                if publisher is not None:
                    publisher.wait_until_delivered(10.0)
                    publisher.close(timeout_s=2.0)
            _stage(5, "after the run")
            for line in summary_lines(folder_out.summary, result.outputs.events):
                out.print(f"   {line}", markup=False)
            out.print(f"   steps.csv, events.json, summary.json in {folder_out.path}")
            if local is not None and found is not None and found.count_steps is not None:
                written = local.wait_for_steps(DEMO_ATHLETE, session, folder_out.steps)
                out.print(
                    f"   InfluxDB holds {written} of {folder_out.steps} steps of this run "
                    "(published over MQTT, written by the ingest)"
                )
    _stage(6, "report")
    report_path = report or folder_out.path / "report.html"
    write_report(folder_out.path, report_path, history_file=settings.history_file, athlete=DEMO_ATHLETE)
    elapsed = time.monotonic() - started
    out.print(f"   {report_path}  (open it in any browser; it works offline)")
    out.print(
        f"done in {elapsed:.0f} s. Live dashboards: the Grafana provisioning in dashboards/provisioning/ and "
        "`docker compose -f deploy/compose.yaml up` (docs/deployment.md); then `posture run --mqtt ...`."
    )


def register(app: typer.Typer) -> None:
    """Add `posture demo` to the CLI."""
    app.command("demo")(demo)
