"""Packet sequence tracking: which packets are new, duplicated, late, and how many samples were lost (pure).

The sensor numbers its IMU packets with a 16-bit counter that wraps at 65536 and stamps each packet with a
32-bit microsecond clock that wraps after about 71.6 minutes (firmware spec, "IMU data" and "receiver rules").
Across a link drop the sensor keeps counting but discards the packets, so after resuming, the seq gap times
the samples per packet is exactly the number of samples that never arrived. A drop longer than 65536 packets
(about 100 minutes at 208 Hz with 19 samples per packet, 5 minutes at 1 sample per packet) makes the seq alone
ambiguous; the sensor time then tells how many wraps happened.

Receiver rules implemented here
-------------------------------
- seq equal to one already accepted (within the last `history_packets`): duplicate, dropped.
- seq older than the newest accepted and not seen: late (reordered), dropped. Its samples were already
  reported as lost when the gap opened, so dropping it keeps the stream in order and the loss count exact.
- seq newer: accepted; ``packets_lost_before`` = missing packets in between.

Devices that number nothing but stamp their samples with a clock (Polar PMD, Movesense) are tracked by
`SampleTimeTracker` instead: it counts samples, not packets, so their packets may hold any number of samples,
and the gap between the end of one packet and the first sample of the next, in sample periods, is the loss.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from sensorlink.profile import PacketCounters
from sensorlink.protocol import PROFILE, packet_distance, signed_wrap

SEQ_MODULUS = PROFILE.imu_packet.seq_modulo
SENSOR_TIME_MODULUS_US = PROFILE.imu_packet.sensor_time_modulo
POSTURE_V1_COUNTERS = PacketCounters(SEQ_MODULUS, SENSOR_TIME_MODULUS_US)
"""The firmware spec's counters (u16 seq, u32 microseconds): the default of `SequenceTracker`."""


class PacketVerdict(enum.Enum):
    """What the tracker decided about one packet."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    LATE = "late"


@dataclass(frozen=True, slots=True)
class SequenceDecision:
    """The tracker's answer for one packet.

    Attributes
    ----------
    verdict : PacketVerdict
    packet_index : int
        Unwrapped packet number (0 for the first packet of the session); meaningful for ACCEPTED packets.
    packets_lost_before : int
        Packets missing between the previous accepted packet and this one (0 unless ACCEPTED).
    sensor_time_us : int
        Unwrapped sensor time of the packet's first sample, microseconds since the session's first packet
        time.
    """

    verdict: PacketVerdict
    packet_index: int
    packets_lost_before: int
    sensor_time_us: int


@dataclass(frozen=True, slots=True)
class SequenceCounts:
    """Running totals, for status and logs."""

    accepted: int = 0
    duplicate: int = 0
    late: int = 0
    lost_packets: int = 0


@dataclass(slots=True)
class SequenceTracker:
    """Turn wrapped (seq, sensor_time_us) pairs into an unwrapped packet index with loss accounting.

    Parameters
    ----------
    packet_period_us : float or None
        Nominal sensor time between packets (samples_per_packet / sample rate). With it, long gaps are
        resolved by sensor time (any number of seq wraps); without it, a forward jump of less than half the
        seq range is assumed.
    history_packets : int
        How many recent packet indices are remembered to tell duplicates from late packets.
    counters : PacketCounters
        Wrap-arounds of the seq and the sensor clock (the sensor profile's; default the firmware spec's).
    """

    packet_period_us: float | None = None
    history_packets: int = 1024
    counters: PacketCounters = POSTURE_V1_COUNTERS
    _last_seq: int | None = field(default=None, init=False)
    _last_time_us: int = field(default=0, init=False)
    _last_index: int = field(default=-1, init=False)
    _time_origin_us: int = field(default=0, init=False)
    _unwrapped_time_us: int = field(default=0, init=False)
    _recent: deque[int] = field(init=False)
    _recent_set: set[int] = field(init=False)
    _counts: SequenceCounts = field(default_factory=SequenceCounts, init=False)

    def __post_init__(self) -> None:
        if self.packet_period_us is not None and self.packet_period_us <= 0:
            raise ValueError(f"packet_period_us must be > 0, got {self.packet_period_us}")
        if self.history_packets < 1:
            raise ValueError("history_packets must be >= 1")
        self._recent = deque()
        self._recent_set = set()

    @property
    def counts(self) -> SequenceCounts:
        return self._counts

    @property
    def last_packet_index(self) -> int:
        """Unwrapped index of the newest accepted packet (-1 before the first)."""
        return self._last_index

    def _remember(self, index: int) -> None:
        self._recent.append(index)
        self._recent_set.add(index)
        while len(self._recent) > self.history_packets:
            self._recent_set.discard(self._recent.popleft())

    def _step(self, last_seq: int, seq: int, sensor_time_us: int) -> int:
        """Packets from the newest accepted packet to this one (negative: older): the spec's receiver rule."""
        return packet_distance(
            last_seq,
            self._last_time_us,
            seq,
            sensor_time_us,
            packet_period_us=self.packet_period_us,
            seq_modulo=self.counters.seq_modulo,
            sensor_time_modulo_us=self.counters.sensor_time_modulo_us,
        )

    def observe(self, seq: int, sensor_time_us: int) -> SequenceDecision:
        """Classify one packet by its header fields.

        Parameters
        ----------
        seq : int
            The packet's sequence number (16 bits in the firmware spec).
        sensor_time_us : int
            The packet's sensor time (first sample), microseconds (32 bits in the firmware spec).
        """
        counters = self.counters
        if not 0 <= seq < counters.seq_modulo:
            raise ValueError(f"seq must be within [0, {counters.seq_modulo}), got {seq}")
        if not 0 <= sensor_time_us < counters.sensor_time_modulo_us:
            raise ValueError(
                f"sensor_time_us must be within [0, {counters.sensor_time_modulo_us}), got {sensor_time_us}"
            )
        c = self._counts
        if self._last_seq is None:
            self._last_seq, self._last_time_us, self._last_index = seq, sensor_time_us, 0
            self._time_origin_us = sensor_time_us
            self._remember(0)
            self._counts = SequenceCounts(c.accepted + 1, c.duplicate, c.late, c.lost_packets)
            return SequenceDecision(PacketVerdict.ACCEPTED, 0, 0, 0)
        step = self._step(self._last_seq, seq, sensor_time_us)
        index = self._last_index + step
        time_us = self._unwrapped_time_us + signed_wrap(
            sensor_time_us - self._last_time_us, counters.sensor_time_modulo_us
        )
        if step <= 0:
            if index in self._recent_set or step == 0:
                self._counts = SequenceCounts(c.accepted, c.duplicate + 1, c.late, c.lost_packets)
                return SequenceDecision(PacketVerdict.DUPLICATE, index, 0, time_us)
            self._counts = SequenceCounts(c.accepted, c.duplicate, c.late + 1, c.lost_packets)
            return SequenceDecision(PacketVerdict.LATE, index, 0, time_us)
        lost = step - 1
        self._last_seq, self._last_time_us, self._last_index = seq, sensor_time_us, index
        self._unwrapped_time_us = time_us
        self._remember(index)
        self._counts = SequenceCounts(c.accepted + 1, c.duplicate, c.late, c.lost_packets + lost)
        return SequenceDecision(PacketVerdict.ACCEPTED, index, lost, time_us)


# Weight of one gap-free packet pair in the running mean of the device's sample period: slow enough that
# quantised timestamps (Movesense's milliseconds) average out, fast enough to settle within a minute.
_PERIOD_GAIN = 0.02


@dataclass(frozen=True, slots=True)
class SampleTimeDecision:
    """The `SampleTimeTracker`'s answer for one packet.

    Attributes
    ----------
    verdict : PacketVerdict
    first_sample_index : int
        Index of the packet's first sample in the session (0 for the first sample); meaningful if ACCEPTED.
    samples_lost_before : int
        Samples missing between the previous accepted packet and this one (0 unless ACCEPTED).
    sensor_time_us : int
        Unwrapped sensor time of the packet's first sample, microseconds.
    """

    verdict: PacketVerdict
    first_sample_index: int
    samples_lost_before: int
    sensor_time_us: int


@dataclass(slots=True)
class SampleTimeTracker:
    """Number the samples of a device that stamps them with its clock but numbers no packet (pure).

    The first sample of each packet is expected one sample period after the previous packet's last sample;
    a later one means ``round(gap / period) - 1`` samples were lost, an earlier or equal one is a duplicate
    (its first sample time was accepted already) or late (a reordered packet, dropped: its samples were
    counted as lost when the gap opened). Each gap is measured on its own, against the device's sample period
    as measured on its own clock (`period_us`: a running mean over gap-free packet pairs, starting at the
    nominal), so a device rate that differs from nominal (Polar's, by a fraction of a percent) never
    accumulates into a miscount. A gap near half a period off a whole number is counted in `off_grid_gaps`.

    Parameters
    ----------
    sample_period_us : float
        Nominal sample period, microseconds of device time.
    sensor_time_modulo_us : int
        Where the device clock wraps (its profile's `PacketCounters.sensor_time_modulo_us`).
    history_packets : int
        Recent first-sample times remembered to tell duplicates from late packets.
    """

    sample_period_us: float
    sensor_time_modulo_us: int
    history_packets: int = 1024
    _last_first_us: int | None = field(default=None, init=False)
    _last_count: int = field(default=0, init=False)
    _period_us: float = field(default=0.0, init=False)
    _next_expected_us: float = field(default=0.0, init=False)
    _next_index: int = field(default=0, init=False)
    _unwrapped_us: int = field(default=0, init=False)
    _last_raw_us: int = field(default=0, init=False)
    _recent: deque[int] = field(init=False)
    _recent_set: set[int] = field(init=False)
    _counts: SequenceCounts = field(default_factory=SequenceCounts, init=False)
    _samples_lost: int = field(default=0, init=False)
    _off_grid_gaps: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.sample_period_us > 0:
            raise ValueError(f"sample_period_us must be > 0, got {self.sample_period_us}")
        if self.sensor_time_modulo_us < 2 or self.history_packets < 1:
            raise ValueError("sensor_time_modulo_us must be >= 2 and history_packets >= 1")
        self._recent = deque()
        self._recent_set = set()
        self._period_us = self.sample_period_us

    @property
    def period_us(self) -> float:
        """The sample period measured on the device's clock, microseconds (nominal until measured)."""
        return self._period_us

    @property
    def counts(self) -> SequenceCounts:
        """Packets accepted, duplicate and late (`lost_packets` stays 0: packets are not numbered)."""
        return self._counts

    @property
    def samples_lost(self) -> int:
        return self._samples_lost

    @property
    def next_sample_index(self) -> int:
        """Index the next sample in order would get (samples accepted plus samples lost)."""
        return self._next_index

    @property
    def off_grid_gaps(self) -> int:
        """Gaps whose length was near half a sample period off a whole number (loss count uncertain)."""
        return self._off_grid_gaps

    def observe(self, sensor_time_us: int, sample_count: int) -> SampleTimeDecision:
        """Classify one packet by its first sample's (wrapped) device time and its number of samples."""
        modulo = self.sensor_time_modulo_us
        if not 0 <= sensor_time_us < modulo:
            raise ValueError(f"sensor_time_us must be within [0, {modulo}), got {sensor_time_us}")
        if sample_count < 1:
            raise ValueError("a packet holds at least one sample")
        c = self._counts
        period = self._period_us
        if self._last_first_us is None:
            self._last_raw_us = self._unwrapped_us = sensor_time_us
            return self._accept(sensor_time_us, sample_count, 0)
        unwrapped = self._unwrapped_us + signed_wrap(sensor_time_us - self._last_raw_us, modulo)
        if unwrapped <= self._last_first_us or unwrapped < self._next_expected_us - period / 2:
            if unwrapped in self._recent_set:
                self._counts = SequenceCounts(c.accepted, c.duplicate + 1, c.late, c.lost_packets)
                return SampleTimeDecision(PacketVerdict.DUPLICATE, -1, 0, unwrapped)
            self._counts = SequenceCounts(c.accepted, c.duplicate, c.late + 1, c.lost_packets)
            return SampleTimeDecision(PacketVerdict.LATE, -1, 0, unwrapped)
        gap_periods = (unwrapped - self._next_expected_us) / period
        lost = max(0, round(gap_periods))
        if abs(gap_periods - round(gap_periods)) > 0.4:
            self._off_grid_gaps += 1
        elif lost == 0:
            # A gap-free pair measures the period; a slow running mean follows the device's true rate.
            measured = (unwrapped - self._last_first_us) / self._last_count
            self._period_us += _PERIOD_GAIN * (measured - self._period_us)
        self._last_raw_us, self._unwrapped_us = sensor_time_us, unwrapped
        return self._accept(unwrapped, sample_count, lost)

    def _accept(self, unwrapped_us: int, sample_count: int, lost: int) -> SampleTimeDecision:
        c = self._counts
        index = self._next_index + lost
        self._last_first_us, self._last_count = unwrapped_us, sample_count
        self._next_expected_us = unwrapped_us + sample_count * self._period_us
        self._next_index = index + sample_count
        self._samples_lost += lost
        self._recent.append(unwrapped_us)
        self._recent_set.add(unwrapped_us)
        while len(self._recent) > self.history_packets:
            self._recent_set.discard(self._recent.popleft())
        self._counts = SequenceCounts(c.accepted + 1, c.duplicate, c.late, c.lost_packets)
        return SampleTimeDecision(PacketVerdict.ACCEPTED, index, lost, unwrapped_us)
