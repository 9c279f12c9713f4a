"""The async link to one sensor of any profile: connect, configure, stream, decode, and survive link drops.

Shape (aiomqtt's)::

    async with Link(device, client_factory=factory) as link:
        async for block in link.blocks():
            ...

- The notify callback only stamps the arrival time and puts the bytes on a bounded queue; a full queue drops
  the packet and counts it (`LinkCounters.queue_overflows`).
- Connecting retries with `sensorlink.backoff`; every half-done setup is unwound with an `AsyncExitStack`.
- After an unexpected disconnect a supervisor task reconnects, re-subscribes and sends START; the sensor
  resumes its
  session (firmware spec, "Link drops"), so the next block's `lost_samples_before` is exactly the number of
  samples it took while the link was down. If the sensor does not come back within `reconnect_budget_s`, the
  iterator raises `LinkLost`.
- A firmware whose protocol major version we do not know is refused with `UnsupportedFirmware`, never retried.
- Every malformed, duplicate, late or lost packet is counted and logged.
- Decoding (sequence tracking, clock mapping, counters) is a `sensorlink.decoder.PacketDecoder`; an optional
  `packet_sink` sees every input of it (each notification on arrival, each event where it takes effect), so
  that a session file of them replays into the same blocks (`sensorlink.decoder.replay`).
- Everything device-specific (UUIDs, commands, settings, packet decoding) is the link's `SensorProfile`
  (`sensorlink.profile`); our own firmware spec, `sensorlink.profiles.POSTURE_V1`, is the default.

The link takes its BLE client as an argument (bleak-retry-connector's `client_class`): `client_factory` builds
a `bleak.BleakClient` for a device and a disconnect callback; only the CLI wires the real backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from sensorlink.backoff import backoff_delay_s
from sensorlink.blocks import LinkCounters, LinkStatus, SampleBlock
from sensorlink.clock import REPORTED_DRIFT_MIN_SPAN_S, ClockMapper
from sensorlink.decoder import (
    DEFAULT_MAX_PENDING_PACKETS,
    LinkEvent,
    PacketDecoder,
    RawPacket,
    Reconnected,
    StatusReported,
    StreamConfigured,
    TapRecord,
    TimeSynced,
)
from sensorlink.errors import (
    ConnectFailed,
    ControlCommandFailed,
    LinkLost,
    MalformedPacket,
    SensorlinkError,
    UnsupportedFirmware,
)
from sensorlink.profile import ProfileSession, SensorProfile, SensorStatus, StartInfo, StreamSettings
from sensorlink.profiles import POSTURE_V1, STREAMING_CONFIG
from sensorlink.profiles.standard_gatt import BATTERY_LEVEL_UUID, FIRMWARE_REVISION_UUID

__all__ = [
    "BATTERY_LEVEL_UUID",
    "FIRMWARE_REVISION_UUID",
    "STREAMING_CONFIG",
    "ClientFactory",
    "HostClock",
    "Link",
    "LinkOptions",
    "PacketSink",
    "RssiReader",
    "SensorDevice",
    "epoch_clock_ns",
]

logger = logging.getLogger(__name__)

SensorDevice = BLEDevice | str
"""A sensor as the link takes it: from a scan, or its address."""
ClientFactory = Callable[[BLEDevice | str, Callable[[BleakClient], None]], BleakClient]
"""Builds a (not yet connected) BleakClient for a device with the given disconnect callback."""
RssiReader = Callable[[BleakClient], Awaitable[int | None]]
HostClock = Callable[[], int]
PacketSink = Callable[[TapRecord], None]
"""Sees every input of the link's decoder (`sensorlink.decoder`); must be quick and must not block."""

# While closing, background tasks are cancelled again this often until they end (see `_stop_tasks`).
_RECANCEL_INTERVAL_S = 0.1

# Errors that mean "this attempt failed, another may work"; anything else propagates.
_RETRYABLE = (BleakError, TimeoutError, OSError, ControlCommandFailed, MalformedPacket)


def epoch_clock_ns(time_scale: float = 1.0) -> HostClock:
    """Nanoseconds since the epoch that never jump: the epoch at start plus elapsed monotonic time.

    NTP steps of the wall clock during a run would otherwise show up as clock drift of the sensor. With
    `time_scale` != 1 elapsed time is scaled, to match a simulated sensor running that much faster.
    """
    if time_scale <= 0:
        raise ValueError("time_scale must be > 0")
    start_epoch_ns, start_mono_ns = time.time_ns(), time.monotonic_ns()
    if time_scale == 1.0:
        return lambda: start_epoch_ns + (time.monotonic_ns() - start_mono_ns)
    return lambda: start_epoch_ns + int((time.monotonic_ns() - start_mono_ns) * time_scale)


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How the link connects and streams.

    Attributes
    ----------
    config : StreamSettings or None
        Requested sampling settings; the profile fits them to the device and the connection (samples per
        packet lowered to fit the negotiated ATT MTU). None asks for the profile's `default_settings`.
    connect_timeout_s : float
        Budget for one connection attempt including setup (seconds of real time).
    connect_attempts : int
        Attempts before `Link.__aenter__` gives up with `ConnectFailed`.
    reconnect_budget_s : float
        How long the link may stay down mid-run before `blocks()` raises `LinkLost` (seconds of real time).
    command_timeout_s : float
        Wait for a control-point response.
    queue_packets : int
        Notifications buffered between the BLE callback and the consumer.
    housekeeping_interval_s : float
        How often battery and RSSI are refreshed (seconds of real time).
    time_sync_interval_s : float
        How often a TIME_SYNC round trip is made (seconds of real time); the fastest one pins the offset.
    stall_timeout_s : float
        Streaming with no notification for this long means the link is dead even though no disconnect was
        reported (a stalled sensor or host bridge, a transport that died without a word): the link reconnects
        as after a disconnect, within `reconnect_budget_s` (seconds of real time). At the slowest rate of the
        spec a packet is due every few hundred milliseconds, so the default leaves a wide margin.
    """

    config: StreamSettings | None = None
    connect_timeout_s: float = 15.0
    connect_attempts: int = 4
    reconnect_budget_s: float = 30.0
    command_timeout_s: float = 5.0
    queue_packets: int = DEFAULT_MAX_PENDING_PACKETS
    housekeeping_interval_s: float = 10.0
    time_sync_interval_s: float = 2.0
    stall_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.connect_attempts < 1:
            raise ValueError("connect_attempts must be >= 1")
        for name in (
            "connect_timeout_s",
            "reconnect_budget_s",
            "command_timeout_s",
            "housekeeping_interval_s",
            "stall_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.queue_packets < 1:
            raise ValueError("queue_packets must be >= 1")


@dataclass(frozen=True, slots=True)
class _Failure:
    """Queue sentinel: the supervisor gave up; `blocks()` raises the error."""

    error: BaseException


@dataclass(slots=True)
class _Session:
    """What the sensor told us when streaming (re)started."""

    config: StreamSettings
    firmware_revision: str
    start: StartInfo | None


class Link:
    """A streaming connection to one sensor (see the module docstring).

    Parameters
    ----------
    device : BLEDevice or str
        The sensor (from a scan) or its address.
    client_factory : ClientFactory
        Builds the BleakClient (the CLI passes one with the Bumble or the platform backend).
    options : LinkOptions
    profile : SensorProfile
        What kind of sensor it is (default: our own, `POSTURE_V1`); a scan tells (`FoundSensor.profile`).
    host_clock_ns : callable returning int, optional
        The host time base for sample times (ns). Defaults to `epoch_clock_ns()`; time-scaled tests pass a
        scaled clock so the clock mapper sees the simulated time base, and tests on a virtual event-loop clock
        pass that clock (all of the link's own waits already use the loop's clock, through asyncio).
    rssi_reader : callable, optional
        Reads the connection RSSI from a client when the backend can (e.g. `bumble_backend.read_rssi_dbm`).
    sleep, jitter : callables, optional
        Injected for tests: the backoff sleep and the source of backoff jitter in [0, 1).
    packet_sink : callable, optional
        Called with every `TapRecord`: each notification as it arrives, each event as it takes effect (a
        session file appends them; see `sensorlink.decoder`). Called on the event loop from the
        notification callback, so it must not block; an exception from it ends `blocks()` with that
        exception (a recording that cannot be kept must not look kept).
    """

    def __init__(
        self,
        device: BLEDevice | str,
        *,
        client_factory: ClientFactory,
        options: LinkOptions | None = None,
        profile: SensorProfile = POSTURE_V1,
        host_clock_ns: HostClock | None = None,
        rssi_reader: RssiReader | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        packet_sink: PacketSink | None = None,
    ) -> None:
        self._device = device
        self._address = device.address if isinstance(device, BLEDevice) else device
        self._client_factory = client_factory
        self._options = options or LinkOptions()
        self._profile = profile
        self._host_clock_ns = host_clock_ns or epoch_clock_ns()
        self._rssi_reader = rssi_reader
        self._sleep = sleep
        self._jitter = jitter
        self._queue: asyncio.Queue[tuple[int, bytes] | _Failure] = asyncio.Queue(self._options.queue_packets)
        self._client: BleakClient | None = None
        self._control: ProfileSession | None = None
        self._session: _Session | None = None
        self._decoder = PacketDecoder(profile)
        self._packet_sink = packet_sink
        self._sink_error: BaseException | None = None
        self._stalls = 0
        self._battery_pct: int | None = None
        self._rssi_dbm: int | None = None
        self._sensor_flags = 0
        self._link_down = asyncio.Event()
        self._down_since_s = 0.0  # loop time at which the link last went down
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- public API -----------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._address

    @property
    def profile(self) -> SensorProfile:
        return self._profile

    @property
    def config(self) -> StreamSettings:
        """The configuration streaming runs with (after MTU fitting)."""
        if self._session is None:
            raise RuntimeError("the link is not connected yet")
        return self._session.config

    @property
    def firmware_revision(self) -> str | None:
        return None if self._session is None else self._session.firmware_revision

    @property
    def counters(self) -> LinkCounters:
        return self._decoder.counters

    @property
    def status(self) -> LinkStatus:
        clock = self._decoder.clock
        estimate = clock.estimate()
        return LinkStatus(
            battery_pct=self._battery_pct,
            rssi_dbm=self._rssi_dbm,
            connected=self._client is not None and not self._link_down.is_set(),
            packet_loss_rate=self.counters.sample_loss_rate,
            drift_ppm=(
                estimate.drift_ppm
                if estimate is not None
                and estimate.span_s >= max(clock.min_drift_span_s, REPORTED_DRIFT_MIN_SPAN_S)
                else None
            ),
            sensor_flags=self._sensor_flags,
        )

    @property
    def clock(self) -> ClockMapper:
        return self._decoder.clock

    async def __aenter__(self) -> Self:
        await self._connect_with_retries()
        self._spawn(self._supervise(), "supervisor", critical=True)
        self._spawn(self._housekeeping(), "housekeeping", critical=False)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        await _stop_tasks(set(self._tasks), self._options.command_timeout_s)
        client, self._client = self._client, None
        control, self._control = self._control, None
        if client is not None and client.is_connected:
            if control is not None:
                with contextlib.suppress(*_RETRYABLE):
                    async with asyncio.timeout(self._options.command_timeout_s):
                        await control.stop()
            await _disconnect_quietly(client, self._options.command_timeout_s)

    async def blocks(self) -> AsyncIterator[SampleBlock]:
        """Sample blocks in sensor order, forever (until the caller stops or the link is lost for good).

        Every wait is bounded: a link that stays silent for `stall_timeout_s` while it looks connected is
        treated as lost and reconnected, and a link that stays down past the reconnect budget ends the
        iterator even if the supervisor never reports back.

        Raises
        ------
        LinkLost
            The sensor stayed away (or silent) longer than the reconnect budget.
        """
        loop = asyncio.get_running_loop()
        options = self._options
        while True:
            try:
                async with asyncio.timeout(options.stall_timeout_s):
                    item = await self._queue.get()
            except TimeoutError:
                if not self._link_down.is_set():
                    logger.warning(
                        "no data from %s for %.1f s although the link looks up: reconnecting",
                        self._address,
                        options.stall_timeout_s,
                    )
                    self._stalls += 1
                    self._down_since_s = loop.time()
                    self._link_down.set()
                elif loop.time() - self._down_since_s > options.reconnect_budget_s + options.stall_timeout_s:
                    # The supervisor should have given up by now; do not wait for it any longer.
                    raise LinkLost(
                        self._address, loop.time() - self._down_since_s, self._decoder.samples_delivered
                    ) from None
                continue
            if self._sink_error is not None:
                raise self._sink_error
            if isinstance(item, _Failure):
                raise item.error
            for block in self._decoder.feed(*item):
                yield block

    # --- the notification path ------------------------------------------------------------------------------

    def _on_imu_data(self, data: bytearray) -> None:
        host_ns, value = self._host_clock_ns(), bytes(data)
        queued = True
        try:
            self._queue.put_nowait((host_ns, value))
        except asyncio.QueueFull:
            queued = False
            self._decoder.count_overflow()
            logger.warning("receive queue full (%d packets): packet dropped", self._queue.maxsize)
        self._tap(RawPacket(host_ns, value, queued=queued))

    def _tap(self, record: TapRecord) -> None:
        """Hand a record to the packet sink; its first failure is kept for `blocks()` to raise."""
        sink = self._packet_sink
        if sink is None or self._sink_error is not None:
            return
        try:
            sink(record)
        except Exception as exc:  # any failure of the sink ends the stream, in blocks()
            logger.error("packet sink failed, the stream ends: %s", _reason(exc))
            self._sink_error = exc

    def _event(self, event: LinkEvent) -> None:
        """An event takes effect: the decoder applies it and the tap records it, in that order."""
        self._decoder.apply(event)
        self._tap(event)

    def _on_status(self, status: SensorStatus) -> None:
        self._event(StatusReported(self._decoder.packets_fed, self._host_clock_ns(), status))
        if status.battery_pct is not None:
            self._battery_pct = status.battery_pct
        self._sensor_flags = status.flags
        if status.buffer_overflow:
            logger.warning("sensor reports a FIFO overflow: samples were lost inside the sensor")
        if status.sensor_fault:
            logger.error("sensor reports an IMU fault")

    def _on_disconnect(self, client: BleakClient) -> None:
        if self._closing or client is not self._client:
            return
        logger.warning("link to %s lost; reconnecting", self._address)
        if not self._link_down.is_set():
            self._down_since_s = asyncio.get_running_loop().time()
        self._link_down.set()

    # --- connection and session setup -----------------------------------------------------------------------

    async def _time_sync(self, control: ProfileSession) -> None:
        send_ns = self._host_clock_ns()
        sensor_time_us = await control.time_sync()
        receive_ns = self._host_clock_ns()
        if sensor_time_us is None:  # the sensor has no time request: arrivals alone map its clock
            return
        self._event(TimeSynced(self._decoder.packets_fed, sensor_time_us, send_ns, receive_ns))

    def _configured(self, settings: StreamSettings, *, new_tracking: bool, firmware_revision: str) -> None:
        self._event(
            StreamConfigured(
                self._decoder.packets_fed, self._host_clock_ns(), settings, new_tracking, firmware_revision
            )
        )

    async def _start_session(self, client: BleakClient, *, resume: bool) -> None:
        control = self._profile.session(
            client, command_timeout_s=self._options.command_timeout_s, on_status=self._on_status
        )
        self._control = control  # from here on, closing the link stops the sensor through it
        requested = self._options.config or self._profile.default_settings
        config = await control.prepare(requested, resume=resume)
        revision = control.firmware_revision
        if not resume:
            # Ready before START: the first packet may arrive before START's response is processed.
            self._configured(config, new_tracking=True, firmware_revision=revision)
            self._session = _Session(config=config, firmware_revision=revision, start=None)
        await control.subscribe_data(self._on_imu_data)
        await self._time_sync(control)
        start = await control.start()
        if resume and not start.resumed:
            logger.warning(
                "sensor started a new session after the reconnect (it restarted?): loss is unknown"
            )
        new_tracking = start.resumed != resume or start.samples_per_packet != config.samples_per_packet
        config = replace(config, samples_per_packet=start.samples_per_packet)
        self._configured(config, new_tracking=new_tracking, firmware_revision=revision)
        self._session = _Session(config=config, firmware_revision=revision, start=start)
        logger.info(
            "streaming from %s (%s, firmware %s): %d Hz, %d samples per packet, MTU %d, %s",
            self._address,
            self._profile.name,
            revision,
            config.sample_rate_hz,
            config.samples_per_packet,
            client.mtu_size,
            "resumed" if start.resumed else "new session",
        )

    async def _connect_once(self, *, resume: bool) -> None:
        async with AsyncExitStack() as stack:
            client = self._client_factory(self._device, self._on_disconnect)
            async with asyncio.timeout(self._options.connect_timeout_s):
                await client.connect()
                stack.push_async_callback(_disconnect_quietly, client, self._options.command_timeout_s)
                self._client = client
                await self._start_session(client, resume=resume)
            stack.pop_all()

    async def _connect_with_retries(self) -> None:
        attempts = self._options.connect_attempts
        for attempt in range(attempts):
            self._link_down.clear()  # a drop during a failed attempt is not a drop of the link to come
            try:
                await self._connect_once(resume=False)
                return
            except UnsupportedFirmware:
                raise
            except _RETRYABLE as exc:
                self._client = self._control = None
                logger.warning(
                    "connection attempt %d/%d to %s failed: %s",
                    attempt + 1,
                    attempts,
                    self._address,
                    _reason(exc),
                )
                if attempt + 1 == attempts:
                    raise ConnectFailed(self._address, attempts, _reason(exc)) from exc
                await self._sleep(backoff_delay_s(attempt, jitter_unit=self._jitter()))

    # --- background tasks -----------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[None], name: str, *, critical: bool) -> None:
        """Start a background task; a `critical` one that dies of an unexpected error ends the stream."""
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        task.set_name(f"link-{name}-{self._address}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: self._on_task_done(done, critical=critical))

    def _on_task_done(self, task: asyncio.Task[None], *, critical: bool) -> None:
        """Log a background task that died of an unexpected error; a critical one ends the stream with it.

        Without this a supervisor that died would leave `blocks()` waiting for a reconnect that never comes.
        """
        if task.cancelled() or self._closing:
            return
        error = task.exception()
        if error is None:
            return
        logger.error("%s failed: %s", task.get_name(), _reason(error))
        if critical:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_Failure(error))

    async def _supervise(self) -> None:
        """Reconnect after every unexpected disconnect, until the reconnect budget runs out."""
        loop = asyncio.get_running_loop()
        while not self._closing:
            await self._link_down.wait()
            down_since = self._down_since_s
            old, self._client = self._client, None
            self._control = None
            if old is not None:
                await _disconnect_quietly(old, self._options.command_timeout_s)
            attempt = 0
            while True:
                if self._closing:
                    return
                remaining_s = self._options.reconnect_budget_s - (loop.time() - down_since)
                if remaining_s <= 0:
                    error = LinkLost(self._address, loop.time() - down_since, self._decoder.samples_delivered)
                    logger.error("%s", error)
                    await self._queue.put(_Failure(error))
                    return
                try:
                    async with asyncio.timeout(remaining_s):
                        await self._connect_once(resume=True)
                    break
                except UnsupportedFirmware as exc:
                    await self._queue.put(_Failure(exc))
                    return
                except _RETRYABLE as exc:
                    self._client = self._control = None
                    logger.warning(
                        "reconnect attempt %d to %s failed: %s", attempt + 1, self._address, _reason(exc)
                    )
                    await self._sleep(backoff_delay_s(attempt, jitter_unit=self._jitter()))
                    attempt += 1
            self._event(Reconnected(self._decoder.packets_fed, self._host_clock_ns()))
            self._link_down.clear()
            logger.info("reconnected to %s after %.2f s", self._address, loop.time() - down_since)

    async def _housekeeping(self) -> None:
        """TIME_SYNC now and then, battery and RSSI less often; failures here never end the stream."""
        loop = asyncio.get_running_loop()
        next_status_s = loop.time() + self._options.housekeeping_interval_s
        # `while not self._closing`, not `while True`: a cancellation can be lost inside a GATT operation
        # (Python 3.11's asyncio.wait_for, used by Bumble's GATT client, returns the response instead of
        # raising CancelledError when both arrive in the same loop turn). The loop must end anyway.
        while not self._closing:
            await asyncio.sleep(self._options.time_sync_interval_s)
            client, control = self._client, self._control
            if client is None or control is None or self._link_down.is_set() or self._closing:
                continue
            try:
                await self._time_sync(control)
                if loop.time() >= next_status_s:
                    next_status_s = loop.time() + self._options.housekeeping_interval_s
                    battery_pct = await control.read_battery_pct()
                    if battery_pct is not None:
                        self._battery_pct = battery_pct
                    if self._rssi_reader is not None:
                        self._rssi_dbm = await self._rssi_reader(client)
            except (*_RETRYABLE, SensorlinkError) as exc:
                logger.info("housekeeping skipped: %s", _reason(exc))


def _reason(exc: BaseException) -> str:
    """An exception in words for a log line (timeouts have no message of their own)."""
    return str(exc) or type(exc).__name__


async def _disconnect_quietly(client: BleakClient, timeout_s: float) -> None:
    """Disconnect, giving up after `timeout_s`: a controller that never confirms must not hold us."""
    try:
        async with asyncio.timeout(timeout_s):
            await client.disconnect()
    except TimeoutError:
        logger.warning("disconnect from %s not confirmed within %.1f s; going on", client.address, timeout_s)
    except _RETRYABLE as exc:
        logger.info("disconnect from %s: %s", client.address, _reason(exc))


async def _stop_tasks(tasks: set[asyncio.Task[None]], timeout_s: float) -> None:
    """Cancel `tasks` and wait at most `timeout_s` for them to end, cancelling again while they run.

    A cancellation can be lost inside a library call (Python 3.11's `asyncio.wait_for` returns a result that
    arrived in the same loop turn as the cancellation), so one `cancel()` and an unbounded wait could wait
    forever. A cancellation of the caller still propagates.
    """
    loop = asyncio.get_running_loop()
    deadline_s = loop.time() + timeout_s
    pending = tasks
    while pending:
        for task in pending:
            task.cancel()
        remaining_s = deadline_s - loop.time()
        if remaining_s <= 0:
            names = ", ".join(sorted(t.get_name() for t in pending))
            logger.warning("background tasks still running after %.1f s, left behind: %s", timeout_s, names)
            break
        done, pending = await asyncio.wait(pending, timeout=min(remaining_s, _RECANCEL_INTERVAL_S))
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                logger.warning("%s ended with %s", task.get_name(), _reason(error))
