"""A base for simulated vendor devices on the virtual Bumble link: GATT, advertising, paced streaming, faults.

Our own simulated sensor (`peripheral.py`) implements our firmware spec; a simulated vendor device (Polar,
MetaWear, Movesense, WitMotion) speaks that vendor's published protocol instead, but is fed, paced and
disturbed the same way: by the running simulator (`MotionSource`), at the device's sample rate on its own
drifting oscillator, with the `FaultPlan` faults (link drops, lost, corrupted and duplicated notifications,
random loss, clock drift, arrival jitter) and connection-event timing (`gap.ConnectionEvents`). What was
sent is in a `VendorSentLog`: the truth for tests.

Subclass contract (`VendorPeripheral`)
--------------------------------------
Class attributes:

- `kind`: the profile kind it simulates (`sensorlink.profiles`), `default_address` (a random static
  address, two top bits set), `name_prefix` (the advertised name is the prefix and the address's last two
  bytes, unless `local_name()` is overridden);
- `manufacturer_name`, `model_number`, `firmware_revision`: the Device Information service the base adds;
  `has_battery_service` (True: the base adds the standard Battery Service, read and notify, at
  `battery_pct`);
- `stream_survives_disconnect` (False, as every vendor device we know: a disconnect stops the stream and
  the central starts it again); `max_mtu` (247).

Methods to write:

- `build_services()`: the vendor's GATT services; set `self.data_characteristic` (the characteristic whose
  notifications carry samples). Command characteristics take `CharacteristicValue(write=...)` handlers;
  a handler calls `self.start_stream(rate_hz, samples_per_chunk)` / `self.stop_stream()` and answers with
  `self.spawn(self.notify(characteristic, value))` (or `indicate`), so that the answer follows the write
  response.
- `advertising_data()`: the advertisement bytes (`gap.ad_flags`, `gap.ad_structure`); `scan_response_data()`
  defaults to the local name.
- `encode_chunk(chunk)`: the notifications (bytes, in order) that carry one `SampleChunk` as the vendor
  sends it: e.g. one accelerometer and one gyroscope frame stamped with `chunk.device_time_ns`, or one
  frame without any time. Keep per-stream encoder state (delta-frame references) in `on_stream_started`.
- Optionally `chunk_samples(stream)` (samples in the next chunk: vary it for variable-size frames),
  `on_stream_started(stream)`, `on_connected(connection)` and `on_disconnected()`.

The base then streams: it reads `chunk_samples` samples from the motion at the oscillator's true rate
(nominal x (1 + drift)), stamps each with the device clock (`device_time_ns`: nanoseconds on the drifting
oscillator from `initial_device_time_ns`, so a device that counts in ms or stamps the last sample converts
from it), waits for the connection event that carries the chunk (plus jitter), and sends each of its
notifications unless a fault takes it. Start it with `await Subclass.start(link, options, motion)`; stop it
with `await device.stop()`. Time is true time as in `core.py`: `true_s = (loop.time() - t0) * time_scale`.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
import random
from collections import deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from bumble import hci
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service
from bumble.keys import MemoryKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.transport.common import AsyncPipeSink

from sensorlink.bumble_backend.keystore import PrivateJsonKeyStore
from sensorlink.bumble_backend.virtual import PeripheralController, QuietHost
from sensorlink.simsensor.core import FaultPlan
from sensorlink.simsensor.gap import (
    AD_COMPLETE_LOCAL_NAME,
    DISCONNECT_TIMEOUT_S,
    OUT_OF_RANGE_REASON,
    SECOND_CENTRAL_REASON,
    STOP_TASKS_TIMEOUT_S,
    ConnectionEvents,
    JustWorksDelegate,
    ad_structure,
)
from sensorlink.simsensor.motion import MotionSource, StandThenRunMotion

__all__ = [
    "NotificationFate",
    "NotificationRecord",
    "SampleChunk",
    "SimulatedDeviceOptions",
    "VendorPeripheral",
    "VendorSentLog",
    "VendorStream",
    "chunk_boundaries",
    "concatenate_chunks",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

# Fault-plan notification numbers wrap like a u16 counter (FaultPlan checks them against our spec's seq).
_NOTIFICATION_MODULO = 1 << 16


@dataclass(frozen=True, slots=True)
class SimulatedDeviceOptions:
    """How to run one simulated device of any kind (what ``--adapter sim:KIND`` and the tests set).

    Attributes
    ----------
    address : str or None
        Random static address; None: the kind's own default.
    time_scale : float
        Simulated seconds per wall-clock second.
    faults : FaultPlan
        `lost_seqs`, `corrupted_seqs` and `duplicated_seqs` count notifications (from 0, modulo 65536) for a
        vendor device, packets for ours.
    battery_pct : int
    keystore_file : Path or None
        Where the device keeps its bonds; None keeps them in memory.
    log_max_records : int or None
        Keep only this many sent-log records (a long run); None keeps all (tests).
    connection_interval_s : float
        True seconds between connection events (0: no radio timing).
    connection_event_loss_probability : float
        Chance that a connection event's packet waits for the next event.
    radio_seed : int
    initial_device_time_ns : int
        The device clock at power-on, nanoseconds (e.g. Polar's: nanoseconds since 2000-01-01).
    pairing_mode : bool
        Whether the device accepts a new bond.
    """

    address: str | None = None
    time_scale: float = 1.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    battery_pct: int = 87
    keystore_file: Path | None = None
    log_max_records: int | None = None
    connection_interval_s: float = 0.015
    connection_event_loss_probability: float = 0.02
    radio_seed: int = 0
    initial_device_time_ns: int = 0
    pairing_mode: bool = True

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {self.time_scale}")
        if not 0 <= self.battery_pct <= 100:
            raise ValueError(f"battery_pct must be within 0..100, got {self.battery_pct}")
        if self.initial_device_time_ns < 0:
            raise ValueError("initial_device_time_ns must not be negative")


@dataclass(frozen=True, slots=True, eq=False)
class SampleChunk:
    """Consecutive samples of one stream, as the device's IMU took them (the truth of what it measured).

    Attributes
    ----------
    stream_index : int
        Which stream of the device's life (0 for the first START).
    first_sample : int
        Index of the first sample within its stream.
    acc_mps2, gyr_dps : (n, 3) arrays
        What the IMU measured (before the vendor's quantisation).
    device_time_ns : (n,) int64 array
        The device clock at each sample, nanoseconds (drifting oscillator).
    true_time_s : (n,) array
        True time of each sample, seconds since power-on.
    """

    stream_index: int
    first_sample: int
    acc_mps2: FloatArray = field(repr=False)
    gyr_dps: FloatArray = field(repr=False)
    device_time_ns: Int64Array = field(repr=False)
    true_time_s: FloatArray = field(repr=False)

    @property
    def sample_count(self) -> int:
        return int(self.acc_mps2.shape[0])


@dataclass(slots=True)
class VendorStream:
    """One stream, from `start_stream` to `stop_stream` (or a disconnect).

    Attributes
    ----------
    index : int
    rate_hz : float
        Nominal sample rate (the device's oscillator runs it at ``rate_hz * (1 + drift)``).
    samples_per_chunk : int
        Samples per chunk unless `VendorPeripheral.chunk_samples` says otherwise.
    start_true_s : float
        True time of the first sample.
    start_device_ns : int
        Device clock at the first sample.
    samples_made : int
    """

    index: int
    rate_hz: float
    samples_per_chunk: int
    start_true_s: float
    start_device_ns: int
    samples_made: int = 0


class NotificationFate(enum.Enum):
    """What happened to a notification the device produced."""

    SENT = "sent"
    SUPPRESSED = "suppressed"
    """No central was there to take it (link drop, not subscribed)."""
    FAULT_LOST = "fault_lost"
    """Lost on the air (`FaultPlan.lost_seqs` or `loss_probability`)."""
    CORRUPTED = "corrupted"
    """Sent with its last byte cut off (`FaultPlan.corrupted_seqs`)."""


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """The sent-log entry of one notification.

    Attributes
    ----------
    index : int
        Notifications the device produced before this one (its life, all streams).
    stream_index, first_sample, sample_count : int
        The samples of the chunk it belongs to (a chunk may take several notifications).
    part : int
        Which of the chunk's notifications it is (0 for the first).
    fate : NotificationFate
    duplicated : bool
        Sent twice in a row.
    ready_true_s, sent_true_s : float
        When its chunk was complete (its last sample taken) and when it went on the air.
    """

    index: int
    stream_index: int
    first_sample: int
    sample_count: int
    part: int
    fate: NotificationFate
    duplicated: bool
    ready_true_s: float
    sent_true_s: float


@dataclass(slots=True)
class VendorSentLog:
    """Every chunk the device produced and what became of each of its notifications.

    Parameters
    ----------
    max_records : int or None
        Keep only the most recent chunks and notification records; None keeps all. Totals cover the life.
    """

    max_records: int | None = None
    chunks: deque[SampleChunk] = field(init=False)
    notifications: deque[NotificationRecord] = field(init=False)
    _fates: dict[NotificationFate, int] = field(init=False)
    _samples_produced: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.max_records is not None and self.max_records < 1:
            raise ValueError("max_records must be positive (or None to keep every record)")
        self.chunks = deque(maxlen=self.max_records)
        self.notifications = deque(maxlen=self.max_records)
        self._fates = dict.fromkeys(NotificationFate, 0)

    def add_chunk(self, chunk: SampleChunk) -> None:
        self.chunks.append(chunk)
        self._samples_produced += chunk.sample_count

    def add(self, record: NotificationRecord) -> None:
        self.notifications.append(record)
        self._fates[record.fate] += 1

    def notification_count(self, *fates: NotificationFate) -> int:
        """Notifications with any of these fates, over the device's life."""
        return sum(self._fates[f] for f in fates)

    @property
    def samples_produced(self) -> int:
        return self._samples_produced

    def delivered_chunks(self) -> list[SampleChunk]:
        """The kept chunks whose every notification was sent intact: the samples a central can decode."""
        fates: dict[tuple[int, int], set[NotificationFate]] = {}
        for r in self.notifications:
            fates.setdefault((r.stream_index, r.first_sample), set()).add(r.fate)
        return [
            c for c in self.chunks if fates.get((c.stream_index, c.first_sample)) == {NotificationFate.SENT}
        ]

    def undelivered_samples(self) -> int:
        """Samples of kept chunks with a notification that was not sent intact (lost, suppressed, cut)."""
        delivered = {(c.stream_index, c.first_sample) for c in self.delivered_chunks()}
        return sum(c.sample_count for c in self.chunks if (c.stream_index, c.first_sample) not in delivered)


class VendorPeripheral(abc.ABC):
    """A simulated vendor device on a Bumble controller (see the module docstring for the contract).

    Attributes
    ----------
    device : bumble.device.Device
    options : SimulatedDeviceOptions
    address : str
    log : VendorSentLog
    stream : VendorStream or None
        The running stream.
    battery_pct : int
    connection : Connection or None
    """

    kind: ClassVar[str]
    default_address: ClassVar[str]
    name_prefix: ClassVar[str]
    manufacturer_name: ClassVar[str] = "Simulated"
    model_number: ClassVar[str] = "SIM"
    firmware_revision: ClassVar[str] = "1.0.0"
    has_battery_service: ClassVar[bool] = True
    stream_survives_disconnect: ClassVar[bool] = False
    max_mtu: ClassVar[int] = 247
    advertising_interval_ms: ClassVar[float] = 100.0

    data_characteristic: Characteristic[bytes]

    def __init__(self, device: Device, options: SimulatedDeviceOptions, motion: MotionSource) -> None:
        self.device = device
        self.options = options
        self.address = options.address or self.default_address
        self.motion = motion
        self.log = VendorSentLog(options.log_max_records)
        self.battery_pct = options.battery_pct
        self.stream: VendorStream | None = None
        self.connection: Connection | None = None
        self.connections_total = 0
        self.first_start_true_s: float | None = None
        self._rate_factor = 1.0 + options.faults.drift_ppm * 1e-6
        self._streams_started = 0
        self._notification_index = 0
        self._data_subscribed = False
        self._out_of_range = False
        self._running = False
        self._t0_loop = 0.0
        self._last_sent_true_s = 0.0
        self._events = ConnectionEvents(
            options.connection_interval_s, options.connection_event_loss_probability, options.radio_seed
        )
        self._fault_rng = random.Random(options.faults.seed)
        self._pending_lost = set(options.faults.lost_seqs)
        self._pending_corrupted = set(options.faults.corrupted_seqs)
        self._pending_duplicated = set(options.faults.duplicated_seqs)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._fault_task: asyncio.Task[None] | None = None
        self._motion_acc: FloatArray = np.empty((0, 3))
        self._motion_gyr: FloatArray = np.empty((0, 3))
        self._build_gatt()

    # --- subclass hooks ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def build_services(self) -> list[Service]:
        """The vendor's GATT services; must set `self.data_characteristic`."""

    @abc.abstractmethod
    def advertising_data(self) -> bytes:
        """The advertisement (flags, service UUIDs or name, manufacturer data), at most 31 bytes."""

    @abc.abstractmethod
    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        """The notifications that carry `chunk`, in the order the device sends them."""

    def scan_response_data(self) -> bytes:
        return ad_structure(AD_COMPLETE_LOCAL_NAME, self.local_name().encode())

    def local_name(self) -> str:
        """The advertised name: `name_prefix` and the address's last two bytes (e.g. "MetaWear 01A2")."""
        return f"{self.name_prefix} {self.address.replace(':', '')[-4:]}"

    def chunk_samples(self, stream: VendorStream) -> int:
        """Samples in the next chunk of `stream` (override for frames of varying size)."""
        return stream.samples_per_chunk

    def on_stream_started(self, stream: VendorStream) -> None:  # noqa: B027 (optional hook)
        """A stream began (reset encoder state here)."""

    def on_connected(self, connection: Connection) -> None:  # noqa: B027 (optional hook)
        """A central connected."""

    def on_disconnected(self) -> None:  # noqa: B027 (optional hook)
        """The central went away (its subscriptions are gone)."""

    # --- time ----------------------------------------------------------------------------------------------

    def true_time_s(self) -> float:
        """Seconds of simulated true time since power-on."""
        return (asyncio.get_running_loop().time() - self._t0_loop) * self.options.time_scale

    def loop_time_for(self, true_s: float) -> float:
        """The event loop's time at a true time (what a central on the loop's clock stamps arrivals with)."""
        return self._t0_loop + true_s / self.options.time_scale

    def device_time_ns(self, true_s: float | None = None) -> int:
        """The device clock (drifting oscillator) at a true time (default: now), nanoseconds."""
        t = self.true_time_s() if true_s is None else true_s
        return self.options.initial_device_time_ns + round(t * 1e9 * self._rate_factor)

    def sample_true_s(self, stream: VendorStream, index: float) -> float:
        """True time of sample `index` of `stream`: the oscillator's true period is nominal / (1 + drift)."""
        return stream.start_true_s + index / (stream.rate_hz * self._rate_factor)

    async def _sleep_until_true(self, true_s: float) -> None:
        await asyncio.sleep(max(0.0, self.loop_time_for(true_s) - asyncio.get_running_loop().time()))

    # --- GATT ----------------------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        services = self.build_services()
        if not hasattr(self, "data_characteristic"):
            raise TypeError(f"{type(self).__name__}.build_services must set data_characteristic")
        self.data_characteristic.on("subscription", self._on_data_subscription)
        services.append(
            DeviceInformationService(
                manufacturer_name=self.manufacturer_name,
                model_number=self.model_number,
                firmware_revision=self.firmware_revision,
            )
        )
        if self.has_battery_service:
            self.battery_service = BatteryService(read_battery_level=lambda _connection: self.battery_pct)
            services.append(self.battery_service)
        self.device.add_services(services)
        self.device.gatt_server.max_mtu = self.max_mtu

    def _on_data_subscription(self, _bearer: object, notify: bool, indicate: bool) -> None:
        self._data_subscribed = notify or indicate

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task the device keeps a reference to (and cancels on stop)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def notify(self, characteristic: Characteristic[bytes], value: bytes) -> None:
        """Notify the connected central (if any); a failure is logged, as a radio loses it."""
        connection = self.connection
        if connection is None:
            return
        try:
            await self.device.notify_subscriber(connection, characteristic, value)
        except Exception as exc:
            logger.info("notification not delivered: %s", exc)

    async def indicate(self, characteristic: Characteristic[bytes], value: bytes) -> None:
        """Indicate to the connected central (if any) and wait for its confirmation."""
        connection = self.connection
        if connection is None:
            return
        try:
            await self.device.indicate_subscriber(connection, characteristic, value)
        except Exception as exc:
            logger.info("indication not delivered: %s", exc)

    # --- streaming -----------------------------------------------------------------------------------------

    def start_stream(self, rate_hz: float, samples_per_chunk: int) -> VendorStream:
        """Begin a stream now (a command handler calls this); a running one is replaced."""
        if rate_hz <= 0 or samples_per_chunk < 1:
            raise ValueError("a stream needs rate_hz > 0 and samples_per_chunk >= 1")
        now = self.true_time_s()
        stream = VendorStream(
            index=self._streams_started,
            rate_hz=rate_hz,
            samples_per_chunk=samples_per_chunk,
            start_true_s=now,
            start_device_ns=self.device_time_ns(now),
        )
        self._streams_started += 1
        if self.first_start_true_s is None:
            self.first_start_true_s = now
        self.motion.start(rate_hz * self._rate_factor)
        self._motion_acc, self._motion_gyr = np.empty((0, 3)), np.empty((0, 3))
        self.stream = stream
        self.on_stream_started(stream)
        logger.info("%s stream %d started at %g Hz", self.kind, stream.index, rate_hz)
        if self._stream_task is None or self._stream_task.done():
            self._stream_task = asyncio.create_task(self._stream_loop(), name=f"sim-{self.kind}-stream")
        if self._fault_task is None and self.options.faults.has_timed_faults:
            self._fault_task = asyncio.create_task(self._fault_loop(), name=f"sim-{self.kind}-faults")
        return stream

    def stop_stream(self) -> None:
        """End the running stream (a command handler, or a disconnect)."""
        if self.stream is not None:
            logger.info("%s stream %d stopped", self.kind, self.stream.index)
        self.stream = None

    def _read_motion(self, n: int, stream: VendorStream) -> tuple[FloatArray, FloatArray]:
        """The next n motion samples, read ahead in quarter-second chunks (numpy per-call overhead)."""
        if self._motion_acc.shape[0] < n:
            acc, gyr = self.motion.read(max(n, int(stream.rate_hz) // 4))
            self._motion_acc = np.concatenate([self._motion_acc, acc])
            self._motion_gyr = np.concatenate([self._motion_gyr, gyr])
        acc, self._motion_acc = self._motion_acc[:n], self._motion_acc[n:]
        gyr, self._motion_gyr = self._motion_gyr[:n], self._motion_gyr[n:]
        return acc, gyr

    def _make_chunk(self, stream: VendorStream, n: int) -> SampleChunk:
        first = stream.samples_made
        acc, gyr = self._read_motion(n, stream)
        offsets = np.arange(first, first + n)
        device_ns = stream.start_device_ns + np.round(offsets * (1e9 / stream.rate_hz)).astype(np.int64)
        true_s = stream.start_true_s + offsets / (stream.rate_hz * self._rate_factor)
        stream.samples_made += n
        return SampleChunk(stream.index, first, acc, gyr, device_ns, true_s)

    async def _stream_loop(self) -> None:
        """Chunks at the instants the oscillator completes them, each sent at the connection event (plus
        jitter) that carries it; notifications keep their order."""
        jitter_s = self.options.faults.arrival_jitter_s
        while self._running:
            stream = self.stream
            if stream is None:
                return
            n = self.chunk_samples(stream)
            ready = self.sample_true_s(stream, stream.samples_made + n - 1)
            event = self._events.event_true_s(ready)
            if jitter_s:
                event += self._fault_rng.uniform(0.0, jitter_s)
            event = max(event, self._last_sent_true_s)
            await self._sleep_until_true(event)
            if self.stream is not stream:  # stopped or restarted while waiting
                continue
            self._last_sent_true_s = event
            chunk = self._make_chunk(stream, n)
            self.log.add_chunk(chunk)
            for part, data in enumerate(self.encode_chunk(chunk)):
                await self._deliver(chunk, part, data, ready, event)
            # Bumble's notify never suspends: give the loop a turn after every chunk.
            await asyncio.sleep(0)

    def _can_send(self) -> bool:
        return self.connection is not None and self._data_subscribed and not self._out_of_range

    async def _deliver(self, chunk: SampleChunk, part: int, data: bytes, ready: float, sent: float) -> None:
        index = self._notification_index
        self._notification_index += 1
        key = index % _NOTIFICATION_MODULO

        def record(fate: NotificationFate, duplicated: bool = False) -> None:
            self.log.add(
                NotificationRecord(
                    index,
                    chunk.stream_index,
                    chunk.first_sample,
                    chunk.sample_count,
                    part,
                    fate,
                    duplicated,
                    ready,
                    sent,
                )
            )

        if not self._can_send():
            record(NotificationFate.SUPPRESSED)
            return
        faults = self.options.faults
        if key in self._pending_lost or (
            faults.loss_probability and self._fault_rng.random() < faults.loss_probability
        ):
            self._pending_lost.discard(key)
            record(NotificationFate.FAULT_LOST)
            return
        if key in self._pending_corrupted:
            self._pending_corrupted.discard(key)
            record(NotificationFate.CORRUPTED)
            await self.notify(self.data_characteristic, data[:-1])
            return
        duplicated = key in self._pending_duplicated
        self._pending_duplicated.discard(key)
        record(NotificationFate.SENT, duplicated)
        await self.notify(self.data_characteristic, data)
        if duplicated:
            await self.notify(self.data_characteristic, data)

    # --- faults --------------------------------------------------------------------------------------------

    async def _fault_loop(self) -> None:
        faults = self.options.faults
        first = self.first_start_true_s or 0.0
        events: list[tuple[float, str, float]] = [
            (first + d.at_s, "drop", d.duration_s) for d in faults.link_drops
        ]
        if faults.low_battery_at_s is not None:
            events.append((first + faults.low_battery_at_s, "battery", 0.0))
        for at_true_s, what, duration_s in sorted(events):
            await self._sleep_until_true(at_true_s)
            if not self._running:
                return
            if what == "battery":
                self.battery_pct = faults.low_battery_pct
                logger.info("%s battery low: %d %%", self.kind, self.battery_pct)
                connection = self.connection
                if self.has_battery_service and connection is not None:
                    characteristic = self.battery_service.battery_level_characteristic
                    await self.device.notify_subscriber(connection, characteristic)
                continue
            await self._go_out_of_range(duration_s)

    async def drop_connection(self) -> None:
        """End the current connection as a lost radio link does (the central sees a connection timeout)."""
        connection = self.connection
        if connection is not None:
            try:
                async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                    await connection.disconnect(reason=OUT_OF_RANGE_REASON)
            except Exception as exc:
                logger.info("disconnect: %r", exc)

    async def _go_out_of_range(self, duration_s: float) -> None:
        logger.info("%s link drop: out of range for %.1f s", self.kind, duration_s)
        self._out_of_range = True
        await self.device.stop_advertising()
        await self.drop_connection()
        await self._sleep_until_true(self.true_time_s() + duration_s)
        self._out_of_range = False
        if self._running and self.connection is None:
            await self._advertise()

    # --- connection life cycle -----------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if self._out_of_range:
            self.spawn(connection.disconnect(reason=OUT_OF_RANGE_REASON))
            return
        if self.connection is not None:
            self.spawn(connection.disconnect(reason=SECOND_CENTRAL_REASON))
            return
        logger.info("%s: central %s connected", self.kind, connection.peer_address)
        self.connection = connection
        self.connections_total += 1
        self._data_subscribed = False
        self._events.anchor_true_s = self.true_time_s()
        connection.on("disconnection", lambda reason: self._on_disconnection(connection, reason))
        self.on_connected(connection)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if connection is not self.connection:
            return
        logger.info("%s: central disconnected (reason 0x%02x)", self.kind, reason)
        self.connection = None
        self._data_subscribed = False
        if not self.stream_survives_disconnect:
            self.stop_stream()
        self.on_disconnected()
        if self._running and not self._out_of_range:
            self.spawn(self._advertise())

    async def _advertise(self) -> None:
        if not self._running or self._out_of_range or self.connection is not None:
            return
        await self.device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM,
            auto_restart=False,
            advertising_data=self.advertising_data(),
            scan_response_data=self.scan_response_data(),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    async def power_on(self) -> None:
        """Power the controller on and start advertising; true time starts now."""
        self.device.on("connection", self._on_connection)
        await self.device.power_on()
        self._t0_loop = asyncio.get_running_loop().time()
        self._running = True
        logger.info("simulated %s %s (%s) advertising", self.kind, self.local_name(), self.address)
        await self._advertise()

    async def stop(self) -> None:
        """Stop streaming, drop the connection and power off. Safe to call twice."""
        if not self._running:
            return
        self._running = False
        self.stream = None
        tasks = [t for t in (self._stream_task, self._fault_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_TASKS_TIMEOUT_S)
            if pending:
                logger.warning("simulated %s tasks still running after cancel: %s", self.kind, pending)
        try:
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await self.device.stop_advertising()
                if self.connection is not None:
                    await self.connection.disconnect()
        except Exception as exc:
            logger.info("simulated %s shutdown: %r", self.kind, exc)
        await self.device.power_off()

    @classmethod
    async def start(
        cls,
        link: LocalLink,
        options: SimulatedDeviceOptions | None = None,
        motion: MotionSource | None = None,
    ) -> Self:
        """Put the device on a Bumble `LocalLink`, powered on and advertising (the kinds registry's entry)."""
        options = options or SimulatedDeviceOptions()
        address = options.address or cls.default_address
        controller = PeripheralController(f"sim-{cls.kind}", link=link)
        host = QuietHost(controller, AsyncPipeSink(controller))
        device = Device(
            name=cls.name_prefix, address=hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS), host=host
        )
        device.keystore = (
            PrivateJsonKeyStore(options.keystore_file)
            if options.keystore_file is not None
            else MemoryKeyStore()
        )
        device.pairing_config_factory = lambda _connection: PairingConfig(
            sc=True, mitm=False, bonding=True, delegate=JustWorksDelegate(options.pairing_mode)
        )
        peripheral = cls(device, options, motion or StandThenRunMotion())
        device.name = peripheral.local_name()
        await peripheral.power_on()
        return peripheral


def chunk_boundaries(chunks: Sequence[SampleChunk]) -> list[int]:
    """First sample index of each chunk (a test's view of the packet boundaries)."""
    return [c.first_sample for c in chunks]


def concatenate_chunks(chunks: Sequence[SampleChunk]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """acc (n, 3), gyr (n, 3) and true times (n,) of chunks, in order."""
    if not chunks:
        return np.empty((0, 3)), np.empty((0, 3)), np.empty(0)
    return (
        np.concatenate([c.acc_mps2 for c in chunks]),
        np.concatenate([c.gyr_dps for c in chunks]),
        np.concatenate([c.true_time_s for c in chunks]),
    )
