"""`posture run` and `posture replay`: the live run from the command line, and a session done again.

The work is in `posture.live` (shared with the demo and the tests); this module wires the settings, the
adapter, the publisher and the terminal, and prints what the runner should read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live

from posture.settings import Settings, check_id, secrets_from_env

# The live chain (processing, paho, the session file) is imported by the functions that run it: `posture
# --help` imports every command's module, and should not wait for scipy or paho.
if TYPE_CHECKING:
    from posture.live.run import LiveRun
    from posture.live.session import LiveSessionResult
    from posture.mqtt import Publisher
    from sensorlink.blocks import LinkStatus

__all__ = ["register"]

logger = logging.getLogger(__name__)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

#: How long the end of a run waits for the broker to acknowledge what is queued before leaving it in the
#: outbox for the next run, s.
DELIVERY_WAIT_S = 10.0
#: The live view is redrawn this often, Hz.
VIEW_REFRESH_HZ = 4.0


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj.settings
    return settings


def publisher_for(settings: Settings, url: str | None, athlete: str, session: str) -> Publisher | None:
    """The MQTT publisher of a session, or None when no broker is configured."""
    from posture.mqtt import MqttSettings, Publisher

    url = url or settings.mqtt_url
    if url is None:
        return None
    secrets = secrets_from_env()
    mqtt = MqttSettings.from_url(
        url,
        protocol=settings.mqtt_protocol,
        client_id=settings.mqtt_client_id,
        username=secrets.mqtt_username,
        password=secrets.mqtt_password,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        keepalive_s=settings.mqtt_keepalive_s,
        max_in_flight=settings.mqtt_max_in_flight,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Publisher(
        mqtt, athlete, session, settings.outbox_file, max_outbox_messages=settings.outbox_max_messages
    )


@contextlib.contextmanager
def _published(publisher: Publisher | None) -> Iterator[Publisher | None]:
    if publisher is None:
        yield None
        return
    publisher.start()
    try:
        yield publisher
    finally:
        if not publisher.wait_until_delivered(DELIVERY_WAIT_S):
            err.print(f"[yellow]{publisher.status_line()}[/yellow]", markup=True)
        publisher.close(timeout_s=2.0)


class _View:
    """The live terminal view (only on an interactive terminal), fed after every block."""

    def __init__(self, publisher: Publisher | None) -> None:
        self._publisher = publisher
        self._live: Live | None = None
        self._last_draw = 0.0

    def __enter__(self) -> _View:
        if err.is_terminal and not err.is_dumb_terminal:
            self._live = Live(console=err, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def on_block(self, run: LiveRun, status: LinkStatus) -> None:
        from posture.live.view import LiveSnapshot, render

        now = time.monotonic()
        if self._live is None or now - self._last_draw < 1.0 / VIEW_REFRESH_HZ:
            return
        self._last_draw = now
        angles = run.live_angles()
        nan = float("nan")
        snapshot = LiveSnapshot(
            elapsed_s=run.elapsed_s,
            phase="reconnecting"
            if not status.connected
            else ("running" if run.calibrated else "calibrating"),
            steps=len(run.steps),
            cadence_spm=run.recent_cadence_spm(),
            pelvic_tilt_deg=angles.pelvic_tilt_deg if angles else nan,
            pelvic_obliquity_deg=angles.pelvic_obliquity_deg if angles else nan,
            pelvic_rotation_deg=angles.pelvic_rotation_deg if angles else nan,
            drop_left_deg=run.recent_drop_deg("L"),
            drop_right_deg=run.recent_drop_deg("R"),
            contact_si_pct=run.recent_contact_si_pct(),
            latest_cue=run.latest_cue,
            battery_pct=status.battery_pct,
            packet_loss_pct=100.0 * status.packet_loss_rate,
            mqtt="off" if self._publisher is None else self._publisher.status_line(),
        )
        self._live.update(render(snapshot), refresh=True)


async def _run(
    settings: Settings,
    *,
    athlete: str,
    session: str,
    duration_s: float | None,
    time_scale: float,
    scenario: str | None,
    run_s: float | None,
    publisher: Publisher | None,
) -> LiveSessionResult:
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.session import run_sensor
    from posture.sensors import is_simulated, motion_for_scenario, open_backend, paired_or_pair_simulated

    motion = motion_for_scenario(scenario, duration_s=run_s) if is_simulated(settings) else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with open_backend(settings, time_scale, motion) as backend:
        bond = await paired_or_pair_simulated(backend, settings)
        sink = None if publisher is None else MqttRunSink(publisher, athlete, session)
        err.print(
            f"connected to {bond.name} ({bond.address}). [bold]Stand still for 2 s[/bold] (calibration), "
            "then run. Ctrl-C ends the run.",
            markup=True,
        )
        with _View(publisher) as view:
            return await run_sensor(
                backend,
                bond.address,
                settings,
                athlete=athlete,
                session=session,
                time_scale=time_scale,
                duration_s=duration_s,
                stop=stop,
                mqtt=sink,
                outbox_pending=(lambda: publisher.counters.pending) if publisher is not None else None,
                on_block=view.on_block,
            )


def run_command(
    ctx: typer.Context,
    athlete: Annotated[
        str | None, typer.Option("--athlete", help="Who runs (default: from the settings).")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="This run's id (default: the start time, UTC).")
    ] = None,
    duration_s: Annotated[
        float | None, typer.Option("--duration", min=1.0, help="Seconds to run (default: until Ctrl-C).")
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option("--mqtt", help="Broker, mqtt://host:port or mqtts://host:port (default: settings)."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", help="The simulated sensor's run (--adapter sim; an unknown name lists them all)."
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0.01, help="Simulated sensor only: times faster than real time.")
    ] = 1.0,
    run_s: Annotated[
        float | None, typer.Option("--run-s", min=5.0, help="Simulated sensor only: seconds of running.")
    ] = None,
) -> None:
    """Run: stream the paired sensor, show cadence, pelvic angles and cues live, publish over MQTT."""
    from posture.history import RunHistory
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.outputs import finish_run
    from posture.live.replay import session_facts
    from posture.live.summary_words import summary_lines
    from posture.sensors import is_simulated
    from posture.session import read_session

    settings = _settings(ctx)
    athlete = check_id("athlete", athlete or settings.athlete)
    session = check_id("session", session or time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
    if (scenario is not None or speed != 1.0 or run_s is not None) and not is_simulated(settings):
        raise typer.BadParameter(
            "--scenario, --speed and --run-s need a simulated sensor: --adapter sim or sim:KIND"
        )
    if scenario is not None:
        from processing.simulation import scenario_by_name

        try:
            scenario_by_name(scenario)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0] if exc.args else exc), param_hint="--scenario") from None
    publisher = publisher_for(settings, mqtt, athlete, session)
    history = RunHistory(settings.history_file)
    with _published(publisher):
        result = asyncio.run(
            _run(
                settings,
                athlete=athlete,
                session=session,
                duration_s=duration_s,
                time_scale=speed,
                scenario=scenario,
                run_s=run_s,
                publisher=publisher,
            )
        )
        folder = finish_run(
            result.session_path.parent,
            result.outputs,
            athlete=athlete,
            session=session,
            session_file=result.session_path,
            ended_by=result.ended_by,
            history=history,
            mqtt=None if publisher is None else MqttRunSink(publisher, athlete, session),
            facts=session_facts(read_session(result.session_path)),
        )
    for line in summary_lines(folder.summary, result.outputs.events):
        err.print(line, markup=False)
    err.print(f"results in {folder.path}", markup=False)
    print(result.session_path)


def replay_command(
    ctx: typer.Context,
    session_file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A session file of `posture run`."),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Folder for the results.")],
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the run again (same message ids).")
    ] = False,
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="Broker for --publish (default: settings).")
    ] = None,
) -> None:
    """Process a session file again: the run's own outputs (as `posture analyze` writes them), optionally
    republished with the same message ids."""
    from posture.history import RunHistory
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.replay import replay_session
    from posture.live.summary_words import summary_lines
    from posture.session import read_session

    settings = _settings(ctx)
    contents = read_session(session_file)
    header = contents.header
    publisher = publisher_for(settings, mqtt, header.athlete, header.session_id) if publish else None
    if publish and publisher is None:
        raise typer.BadParameter("--publish needs --mqtt URL (or mqtt_url in the settings)")
    with _published(publisher):
        sink = None if publisher is None else MqttRunSink(publisher, header.athlete, header.session_id)
        result = replay_session(
            contents,
            out_dir,
            thresholds=settings.thresholds,
            history=RunHistory(settings.history_file),
            mqtt=sink,
        )
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    for line in summary_lines(result.folder.summary, result.outputs.events):
        err.print(line, markup=False)
    err.print(f"results in {result.folder.path}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `posture run` and `posture replay` to the CLI."""
    app.command("run")(run_command)
    app.command("replay")(replay_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `posture run`")
