"""The simulated sensor's firmware logic without Bluetooth: clock, streaming session, packets, faults, log.

Time here is *true time* `true_s`: seconds since the sensor powered on, as an ideal clock would count them.
The sensor's own oscillator runs `drift_ppm` fast (or slow): its microsecond counter reads
`initial_sensor_time_us + true_s * 1e6 * (1 + drift_ppm * 1e-6)`, and it takes sample j of a session when that
counter reaches `S0 + j * 1e6 / sample_rate_hz`. So both its timestamps and its sample instants follow its own
oscillator, as on real hardware (firmware spec, "Clock").

The Bumble peripheral (`peripheral.py`) maps true time to the event loop's clock with a `time_scale` and
decides which produced packets actually reach a central; everything it decides is recorded in the `SentLog`.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sensorlink.protocol import PROFILE, ImuPacket, SensorConfig, encode_samples
from sensorlink.simsensor.motion import MotionSource

__all__ = [
    "FaultPlan",
    "LinkDrop",
    "PacketFate",
    "ProducedPacket",
    "SensorCore",
    "SentLog",
    "SentRecord",
    "Session",
]

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

_SEQ_MODULO = PROFILE.imu_packet.seq_modulo
_TIME_MODULO = PROFILE.imu_packet.sensor_time_modulo


@dataclass(frozen=True, slots=True)
class LinkDrop:
    """The sensor goes out of range: it disconnects (the central sees a supervision timeout) and stays silent.

    Attributes
    ----------
    at_s : float
        Seconds of true time after the first START of the sensor's life.
    duration_s : float
        Seconds of true time without advertising or answering; then it advertises again.
    """

    at_s: float
    duration_s: float

    def __post_init__(self) -> None:
        if self.at_s < 0 or self.duration_s <= 0:
            raise ValueError(f"link drop needs at_s >= 0 and duration_s > 0, got {self}")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Faults the simulated sensor injects, for tests and demos.

    Attributes
    ----------
    link_drops : tuple of LinkDrop
        Out-of-range periods (seconds after the first START).
    lost_seqs : frozenset of int
        Packets produced while a central is streaming but never sent (radio loss); first occurrence of each
        seq.
    corrupted_seqs : frozenset of int
        Packets sent with their last byte cut off (length no longer matches sample_count).
    duplicated_seqs : frozenset of int
        Packets sent twice in a row.
    drift_ppm : float
        The sensor oscillator's rate error: +50 means its clock and its sampling run 50 ppm fast.
    low_battery_at_s : float or None
        Seconds after the first START when the battery falls to `low_battery_pct`.
    low_battery_pct : int
    sensor_fault_at_s : float or None
        Seconds after the first START when the sensor raises its sensor-fault status flag (the IMU failed its
        self-test); streaming goes on, the flag tells the receiver not to trust the data.
    firmware_revision : str or None
        Report this firmware revision instead of the spec's (e.g. "2.0.0" to test the client's refusal); its
        major number is also advertised as the protocol major version.
    loss_probability : float
        Chance that each notification produced while a central streams is lost on the air (drawn from
        `seed`): the random counterpart of `lost_seqs` (simulated vendor devices).
    arrival_jitter_s : float
        Extra delay of each notification, uniform in [0, arrival_jitter_s] seconds of true time and drawn
        from `seed`, on top of the connection-event timing; notifications still arrive in order (simulated
        vendor devices: what host-clock timing must absorb).
    seed : int
        Seed of the generator behind `loss_probability` and `arrival_jitter_s`.
    """

    link_drops: tuple[LinkDrop, ...] = ()
    lost_seqs: frozenset[int] = frozenset()
    corrupted_seqs: frozenset[int] = frozenset()
    duplicated_seqs: frozenset[int] = frozenset()
    drift_ppm: float = 0.0
    low_battery_at_s: float | None = None
    low_battery_pct: int = 10
    sensor_fault_at_s: float | None = None
    firmware_revision: str | None = None
    loss_probability: float = 0.0
    arrival_jitter_s: float = 0.0
    seed: int = 0

    @property
    def has_timed_faults(self) -> bool:
        """Whether anything happens at a given time (drops, battery, sensor fault)."""
        return (
            bool(self.link_drops) or self.low_battery_at_s is not None or self.sensor_fault_at_s is not None
        )

    def __post_init__(self) -> None:
        for name in ("lost_seqs", "corrupted_seqs", "duplicated_seqs"):
            seqs = getattr(self, name)
            if any(not 0 <= s < _SEQ_MODULO for s in seqs):
                raise ValueError(f"{name} must hold u16 sequence numbers")
        if not abs(self.drift_ppm) < 20_000:
            # Up to 2 %: vendor devices' true rates differ from nominal by up to about a percent.
            raise ValueError(f"drift_ppm must be within +-20000, got {self.drift_ppm}")
        for name in ("low_battery_at_s", "sensor_fault_at_s"):
            at_s = getattr(self, name)
            if at_s is not None and at_s < 0:
                raise ValueError(f"{name} must not be negative, got {at_s}")
        if not 0 <= self.loss_probability < 1:
            raise ValueError(f"loss_probability must be within [0, 1), got {self.loss_probability}")
        if not 0 <= self.arrival_jitter_s < 1:
            raise ValueError(f"arrival_jitter_s must be within [0, 1) s, got {self.arrival_jitter_s}")
        if not 0 <= self.low_battery_pct <= 100:
            raise ValueError("low_battery_pct must be within 0..100")
        ordered = sorted(self.link_drops, key=lambda d: d.at_s)
        for a, b in itertools.pairwise(ordered):
            if b.at_s < a.at_s + a.duration_s:
                raise ValueError("link drops must not overlap")


class PacketFate(enum.Enum):
    """What happened to a packet the sensor produced."""

    SENT = "sent"
    """Notified to a subscribed, encrypted central that had started streaming on this connection."""
    SUPPRESSED = "suppressed"
    """Discarded because no such central was there (link drop, or reconnected but not yet re-started)."""
    FAULT_LOST = "fault_lost"
    """Discarded by `FaultPlan.lost_seqs` although a central was streaming."""
    CORRUPTED = "corrupted"
    """Sent with a bad length (`FaultPlan.corrupted_seqs`): the central cannot decode its samples."""


@dataclass(frozen=True, slots=True, eq=False)
class ProducedPacket:
    """One packet as the firmware builds it, and the true time it is ready (its last sample taken)."""

    packet: ImuPacket
    session_index: int
    packet_index: int
    ready_true_s: float


@dataclass(frozen=True, slots=True, eq=False)
class SentRecord:
    """The sent-log entry of one produced packet."""

    seq: int
    sensor_time_us: int
    flags: int
    raw: Int16Array
    fate: PacketFate
    duplicated: bool
    session_index: int
    packet_index: int
    ready_true_s: float


@dataclass(slots=True)
class SentLog:
    """Every packet the sensor produced and what became of it ("every sample delivered once, in order").

    Parameters
    ----------
    max_records : int or None
        Keep only the most recent records (a long-running `posture sim` process); None keeps all (tests).
        The totals (`packet_count`, `sample_count`, `undelivered_samples`) always cover the whole life.

    Attributes
    ----------
    records : deque of SentRecord
        In production order.
    """

    max_records: int | None = None
    records: deque[SentRecord] = field(init=False)
    _packets: dict[PacketFate, int] = field(init=False)
    _samples: dict[PacketFate, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.max_records is not None and self.max_records < 1:
            raise ValueError("max_records must be positive (or None to keep every record)")
        self.records = deque(maxlen=self.max_records)
        self._packets = dict.fromkeys(PacketFate, 0)
        self._samples = dict.fromkeys(PacketFate, 0)

    def append(self, produced: ProducedPacket, fate: PacketFate, *, duplicated: bool = False) -> None:
        p = produced.packet
        self._packets[fate] += 1
        self._samples[fate] += p.sample_count
        self.records.append(
            SentRecord(
                p.seq,
                p.sensor_time_us,
                p.flags,
                p.raw,
                fate,
                duplicated,
                produced.session_index,
                produced.packet_index,
                produced.ready_true_s,
            )
        )

    def seqs(self, fate: PacketFate) -> list[int]:
        """Sequence numbers of the (kept) packets with this fate, in production order."""
        return [r.seq for r in self.records if r.fate is fate]

    def packets(self, fate: PacketFate = PacketFate.SENT) -> list[ImuPacket]:
        """The packets with this fate as `ImuPacket`s (for SENT: exactly what a central could decode)."""
        return [ImuPacket(r.seq, r.sensor_time_us, r.flags, r.raw) for r in self.records if r.fate is fate]

    def raw(self, fate: PacketFate = PacketFate.SENT) -> Int16Array:
        """Quantised samples of the packets with this fate, concatenated: (n, 6) int16 counts."""
        chunks = [r.raw for r in self.records if r.fate is fate]
        return np.concatenate(chunks) if chunks else np.empty((0, 6), dtype=np.int16)

    def packet_count(self, *fates: PacketFate) -> int:
        """Packets with any of these fates, over the sensor's life."""
        return sum(self._packets[f] for f in fates)

    def sample_count(self, *fates: PacketFate) -> int:
        """Samples in the packets with any of these fates, over the sensor's life."""
        return sum(self._samples[f] for f in fates)

    @property
    def undelivered_samples(self) -> int:
        """Samples a central could never decode: suppressed, lost and corrupted packets."""
        return self.sample_count(PacketFate.SUPPRESSED, PacketFate.FAULT_LOST, PacketFate.CORRUPTED)


@dataclass(slots=True)
class Session:
    """A streaming session: from a START with no session running until STOP. It survives link drops."""

    index: int
    config: SensorConfig
    samples_per_packet: int
    first_seq: int
    start_sensor_us: float
    """Unwrapped sensor clock at START, microseconds: sample j is taken at start_sensor_us + j * period."""
    packets_made: int = 0

    @property
    def next_seq(self) -> int:
        return (self.first_seq + self.packets_made) % _SEQ_MODULO


class SensorCore:
    """Firmware state of one sensor: configuration, clock, session and packet production (no I/O).

    Parameters
    ----------
    motion : MotionSource
        Restarted at each new session at the oscillator's true sampling rate.
    faults : FaultPlan
    initial_seq : int
        Seq of the first packet after power-on (tests set it near 65535 to cross the wrap).
    initial_sensor_time_us : int
        Sensor clock at power-on (tests set it near 2^32 to cross the wrap).
    battery_pct : int
    log_max_records : int or None
        Bound on the sent-log's kept records (its totals are never bounded).
    """

    def __init__(
        self,
        motion: MotionSource,
        faults: FaultPlan | None = None,
        *,
        initial_seq: int = 0,
        initial_sensor_time_us: int = 0,
        battery_pct: int = 87,
        log_max_records: int | None = None,
    ) -> None:
        if not 0 <= initial_seq < _SEQ_MODULO or not 0 <= initial_sensor_time_us < _TIME_MODULO:
            raise ValueError("initial_seq must be a u16 and initial_sensor_time_us a u32")
        self.motion = motion
        self.faults = faults or FaultPlan()
        self.config = SensorConfig()
        self.battery_pct = battery_pct
        self.session: Session | None = None
        self.first_start_true_s: float | None = None
        self.log = SentLog(log_max_records)
        self._initial_sensor_time_us = initial_sensor_time_us
        self._next_seq = initial_seq
        self._sessions_started = 0
        self._rate_factor = 1.0 + self.faults.drift_ppm * 1e-6
        self._acc_buffer: FloatArray = np.empty((0, 3))
        self._gyr_buffer: FloatArray = np.empty((0, 3))
        self._buffer_pos = 0

    # --- clock ---------------------------------------------------------------------------------------------

    def sensor_clock_us(self, true_s: float) -> float:
        """The oscillator's unwrapped microsecond count at this true time."""
        return self._initial_sensor_time_us + true_s * 1e6 * self._rate_factor

    def sensor_time_us(self, true_s: float) -> int:
        """What the sensor reports as its time (u32, wraps): e.g. in a TIME_SYNC response."""
        return math.floor(self.sensor_clock_us(true_s)) % _TIME_MODULO

    def true_s_at(self, sensor_clock_us: float) -> float:
        """Inverse of `sensor_clock_us`."""
        return (sensor_clock_us - self._initial_sensor_time_us) / (1e6 * self._rate_factor)

    # --- session -------------------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self.session is not None

    def start_session(self, true_s: float, samples_per_packet: int) -> Session:
        """Begin a new session now (START with no session running)."""
        config = self.config
        session = Session(
            index=self._sessions_started,
            config=config,
            samples_per_packet=samples_per_packet,
            first_seq=self._next_seq,
            start_sensor_us=self.sensor_clock_us(true_s),
        )
        self._sessions_started += 1
        if self.first_start_true_s is None:
            self.first_start_true_s = true_s
        # The oscillator's true sampling rate: nominal rate x (1 + drift).
        self.motion.start(config.sample_rate_hz * self._rate_factor)
        self._reset_motion_buffer()
        self.session = session
        return session

    def stop_session(self) -> None:
        """End the session (STOP); the seq counter keeps running into the next session."""
        if self.session is not None:
            self._next_seq = self.session.next_seq
        self.session = None

    def next_packet_ready_true_s(self) -> float | None:
        """True time at which the session's next packet is complete (its last sample taken), or None."""
        s = self.session
        if s is None:
            return None
        last_sample = (s.packets_made + 1) * s.samples_per_packet - 1
        return self.true_s_at(s.start_sensor_us + last_sample * s.config.sample_period_us)

    def _read_motion(self, n: int, sample_rate_hz: int) -> tuple[FloatArray, FloatArray]:
        """The next n motion samples, read ahead in quarter-second chunks (numpy per-call overhead)."""
        if self._buffered < n:
            chunk = max(n, sample_rate_hz // 4)
            acc, gyr = self.motion.read(chunk)
            self._acc_buffer = np.concatenate([self._acc_buffer[self._buffer_pos :], acc])
            self._gyr_buffer = np.concatenate([self._gyr_buffer[self._buffer_pos :], gyr])
            self._buffer_pos = 0
        start = self._buffer_pos
        self._buffer_pos += n
        return self._acc_buffer[start : start + n], self._gyr_buffer[start : start + n]

    @property
    def _buffered(self) -> int:
        return int(self._acc_buffer.shape[0]) - self._buffer_pos

    def _reset_motion_buffer(self) -> None:
        self._acc_buffer = np.empty((0, 3))
        self._gyr_buffer = np.empty((0, 3))
        self._buffer_pos = 0

    def produce_until(self, true_s: float) -> list[ProducedPacket]:
        """Every packet of the session completed at or before `true_s`, in order."""
        out: list[ProducedPacket] = []
        s = self.session
        while s is not None:
            ready = self.next_packet_ready_true_s()
            if ready is None or ready > true_s:
                break
            n = s.samples_per_packet
            first_sample = s.packets_made * n
            acc, gyr = self._read_motion(n, s.config.sample_rate_hz)
            raw, flags = encode_samples(acc, gyr, s.config)
            if s.packets_made == 0:
                flags |= ImuPacket.FLAG_SESSION_START
            time_us = math.floor(s.start_sensor_us + first_sample * s.config.sample_period_us) % _TIME_MODULO
            packet = ImuPacket(s.next_seq, time_us, flags, raw)
            out.append(ProducedPacket(packet, s.index, s.packets_made, ready))
            s.packets_made += 1
        return out
