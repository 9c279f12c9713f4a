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
