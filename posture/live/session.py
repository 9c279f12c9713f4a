"""`posture run` without the command line: a sensor's stream through `LiveRun` to the sinks, until stopped.

Order of work for every block (all in the event loop; nothing here waits on the network):

1. the link's packet sink has already appended the raw packets to the session file (crash-safe, before any
   processing), so whatever happens next, `posture replay` can redo it;
2. `LiveRun.feed`: processing, events, live angles, and through `MqttRunSink` the publisher's outbox;
3. the retained status when the run's state changes (calibrating, running, reconnecting) and every
   `STATUS_INTERVAL_S` of sample time with the sensor's battery and link quality;
4. the caller's `on_block` (the live terminal view).

The run ends when `duration_s` of sensor time has passed, when `stop` is set (Ctrl-C, SIGTERM), or when the
link is lost for good (`LinkLost`: everything before it is kept and analysed). Then the processing is
flushed, the final events and the summary are published, and the status says `finished`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from posture.live.mqtt_sink import MqttRunSink
from posture.live.run import LiveRun, RunOutputs, RunSink
from posture.messages import RunState
from posture.session.recording import session_link
from posture.session.session_file import SessionHeader
from posture.settings import Settings
from processing.events import EventEngine
from sensorlink.blocks import LinkStatus, SampleBlock
from sensorlink.errors import LinkLost
from sensorlink.link import ClientFactory, HostClock, LinkOptions, RssiReader, SensorDevice
from sensorlink.profile import SensorProfile
from sensorlink.profiles import POSTURE_V1
from sensorlink.scan import BleBackend

__all__ = ["LiveSessionResult", "run_live_session", "run_sensor"]

logger = logging.getLogger(__name__)

#: The retained status is refreshed this often (sample time) with battery and link quality, s.
STATUS_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True, eq=False)
class LiveSessionResult:
    """What a live session left behind.

    Attributes
    ----------
    outputs : RunOutputs
        Steps, events and the rest, on the run's time axis.
    session_path : Path
        The session file (every raw packet).
    ended_by : str
        "duration", "stopped" or "link lost: ..." in plain words.
    link_status : LinkStatus or None
        The sensor's health at the end.
    reconnects : int
    """

    outputs: RunOutputs
    session_path: Path
    ended_by: str
    link_status: LinkStatus | None
    reconnects: int


class _StatusTracker:
    """Publishes the retained status on a change of state, and now and then with the sensor's health."""

    def __init__(self, sink: MqttRunSink | None, clock_ns: HostClock) -> None:
        self._sink = sink
        self._clock_ns = clock_ns
        self._state: RunState | None = None
        self._next_s = 0.0
        self.outbox_pending: Callable[[], int] = lambda: 0

    def update(
        self, state: RunState, *, run_s: float, link: LinkStatus | None, lost: int, reconnects: int
    ) -> None:
        if self._sink is None or (state == self._state and run_s < self._next_s):
            return
        self._state = state
        self._next_s = run_s + STATUS_INTERVAL_S
        self._sink.status(
            state,
            t_ns=self._clock_ns(),
            link=link,
            samples_lost=lost,
            reconnects=reconnects,
            outbox_pending=self.outbox_pending(),
        )


async def run_live_session(
    device: SensorDevice,
    *,
    client_factory: ClientFactory,
    session_path: Path,
    header: SessionHeader,
    engine: EventEngine,
    host_clock_ns: HostClock,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    mqtt: MqttRunSink | None = None,
    outbox_pending: Callable[[], int] | None = None,
    extra_sinks: tuple[RunSink, ...] = (),
    on_block: Callable[[LiveRun, LinkStatus], None] | None = None,
    options: LinkOptions | None = None,
    profile: SensorProfile = POSTURE_V1,
    rssi_reader: RssiReader | None = None,
) -> LiveSessionResult:
    """Stream a sensor through the live processing until the duration, a stop, or a lost link.

    Parameters
    ----------
    device : BLEDevice or str
    client_factory, rssi_reader, options, profile
        As `Link` takes them.
    session_path : Path
        The session file to create (must not exist).
    header : SessionHeader
        Who runs and what; its `start_host_ns` is the run's time zero.
    engine : EventEngine
    host_clock_ns : callable
        The link's host clock (epoch ns; scaled for a simulated sensor faster than real time).
    duration_s : float, optional
        Sensor time to run (delivered or lost), s; None: until `stop`.
    stop : asyncio.Event, optional
        Set to end the run cleanly (the signal handlers of `posture run` set it).
    mqtt : MqttRunSink, optional
        Publishes steps, events, live angles, status and the summary.
    outbox_pending : callable, optional
        The publisher's outbox size, for the status message.
    on_block : callable, optional
        Called after every block with the run and the link's status (the live view).
    """
    stop = stop or asyncio.Event()
    writer, link = session_link(
        device,
        session_path,
        header,
        client_factory=client_factory,
        host_clock_ns=host_clock_ns,
        options=options,
        profile=profile,
        rssi_reader=rssi_reader,
    )
    status = _StatusTracker(mqtt, host_clock_ns)
    if outbox_pending is not None:
        status.outbox_pending = outbox_pending
    sinks: tuple[RunSink, ...] = (*((mqtt,) if mqtt is not None else ()), *extra_sinks)
    run: LiveRun | None = None
    ended_by = "stopped"
    link_status: LinkStatus | None = None
    reconnects = 0
    reason = "ended by an error"
    status.update("online", run_s=0.0, link=None, lost=0, reconnects=0)
    try:
        async with link:
            rate_hz = float(link.config.sample_rate_hz)
            wanted = None if duration_s is None else round(duration_s * rate_hz)
            blocks = link.blocks()
            next_block: asyncio.Task[SampleBlock] | None = None
            stopping = asyncio.create_task(stop.wait())
            try:
                while True:
                    next_block = asyncio.ensure_future(anext(blocks))
                    done, _ = await asyncio.wait({next_block, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if stopping in done or next_block not in done:
                        # a stop wins over a waiting backlog (a host behind a fast sensor): what is not
                        # taken is in the session file, and the file says where the run stopped taking
                        ended_by = "stopped"
                        break
                    try:
                        block = next_block.result()
                    except StopAsyncIteration:
                        ended_by = "stream ended"
                        break
                    next_block = None
                    if run is None:
                        run = LiveRun(
                            rate_hz,
                            has_gyroscope=block.samples.has_gyroscope,
                            engine=engine,
                            sinks=sinks,
                            t0_ns=header.start_host_ns,
                        )
                    run.feed(block)
                    link_status = link.status
                    counters = block.counters
                    reconnects = counters.reconnects
                    state: RunState = (
                        "reconnecting"
                        if not link_status.connected
                        else ("running" if run.calibrated else "calibrating")
                    )
                    status.update(
                        state,
                        run_s=run.elapsed_s,
                        link=link_status,
                        lost=counters.samples_lost,
                        reconnects=reconnects,
                    )
                    if on_block is not None:
                        on_block(run, link_status)
                    if wanted is not None and run.samples + run.samples_lost >= wanted:
                        ended_by = "duration"
                        break
            except LinkLost as exc:
                ended_by = f"link lost: {exc}"
                logger.warning("%s; the run ends with what arrived", exc)
            finally:
                for task in (next_block, stopping):
                    if task is None:
                        continue
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, LinkLost):
                            await task
                    elif not task.cancelled():
                        task.exception()  # a block or an end of stream left untaken: retrieved, not raised
                with contextlib.suppress(Exception):
                    await blocks.aclose()  # type: ignore[attr-defined]
            link_status = link.status
        reason = ended_by
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise
    finally:
        consumed = None if run is None else run.samples + run.samples_lost
        writer.close(reason=reason, consumed_samples=consumed)
    if run is None:
        run = LiveRun(
            float(header.settings.sample_rate_hz) if header.settings else 208.0,
            has_gyroscope=True,
            engine=engine,
            sinks=sinks,
            t0_ns=header.start_host_ns,
        )
    outputs = run.finish()
    status.update(
        "finished",
        run_s=float("inf"),
        link=link_status,
        lost=outputs.samples_lost,
        reconnects=reconnects,
    )
    return LiveSessionResult(outputs, session_path, ended_by, link_status, reconnects)


async def run_sensor(
    backend: BleBackend,
    address: str,
    settings: Settings,
    *,
    athlete: str,
    session: str,
    time_scale: float = 1.0,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    mqtt: MqttRunSink | None = None,
    outbox_pending: Callable[[], int] | None = None,
    on_block: Callable[[LiveRun, LinkStatus], None] | None = None,
) -> LiveSessionResult:
    """A run of the sensor at `address` as `posture run` and `posture demo` make it: the session file in the
    settings' sessions folder, the event engine with the runner's thresholds and history, the host's clock
    (scaled for a simulated sensor faster than real time)."""
    from posture.history import RunHistory
    from posture.live.engine import event_engine
    from posture.session.session_file import session_path
    from sensorlink.link import epoch_clock_ns
    from sensorlink.scan import locate_sensor

    found = await locate_sensor(backend, address, timeout_s=10.0)
    clock = epoch_clock_ns(time_scale)
    path = session_path(settings.sessions_dir, athlete, session)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = SessionHeader(
        athlete=athlete,
        session_id=session,
        sensor_address=address,
        profile=found.profile.name,
        start_host_ns=clock(),
        time_scale=time_scale,
    )
    engine = event_engine(
        settings.thresholds,
        athlete=athlete,
        started_ns=header.start_host_ns,
        history=RunHistory(settings.history_file),
    )
    return await run_live_session(
        found.device,
        client_factory=backend.client_factory,
        profile=found.profile,
        session_path=path,
        header=header,
        engine=engine,
        host_clock_ns=clock,
        duration_s=duration_s,
        stop=stop,
        mqtt=mqtt,
        outbox_pending=outbox_pending,
        on_block=on_block,
        rssi_reader=backend.rssi_reader,
    )
