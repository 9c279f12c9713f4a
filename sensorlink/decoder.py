"""Notifications in, sample blocks out: the link's decoding state, without BLE (no bleak import).

`PacketDecoder` holds everything that turns a stream of raw notifications into `SampleBlock`s: the
profile's per-stream decoding (`SensorProfile.decoding`, made afresh at every new stream, kept on resume),
loss tracking by packet counter, by device sample time or as the decoding infers it (with a fresh tracker at
every session start; `DecodedPacket` says which applies), the mapping of
the sensor clock onto the host's (`ClockMapper`, fed by arrivals and TIME_SYNC round trips), the slewed
timeline, and the counters. The live `Link` feeds it, and so does a replay of a session file: fed the same
inputs in the same order, it gives the same blocks, bit for bit (sample values and times).

The tap
-------
The link hands every input of its decoder to an optional packet sink, as a `TapRecord`:

- `RawPacket`: every data notification, at the moment it arrives (before it waits in the receive queue), with
  its host arrival time; `queued` is False for one the full queue dropped (the decoder only counts it).
- `LinkEvent`s, when they take effect in the link: `StreamConfigured` (settings fitted to the connection,
  new sequence tracking or not), `TimeSynced` (a round trip), `Reconnected`, `StatusReported`.

Packets wait in the receive queue between arrival and decoding, so an event may take effect after packets
that arrived before it but were not decoded yet. Each event therefore carries `after_packets`, the number of
queued packets the decoder had been fed when it took effect, and `replay` applies it at exactly that point.
An event is written after every packet it follows (a packet is tapped on arrival, before it can be decoded),
so a replay holds back at most the receive queue's capacity of packets.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from processing.samples import ImuSamples
from sensorlink.blocks import LinkCounters, SampleBlock
from sensorlink.clock import ClockMapper, SlewedTimeline
from sensorlink.errors import MalformedPacket
from sensorlink.profile import DecodedPacket, PacketDecoding, SensorProfile, SensorStatus, StreamSettings
from sensorlink.sequence import PacketVerdict, SampleTimeTracker, SequenceCounts, SequenceTracker

__all__ = [
    "DATA_CHANNEL",
    "DEFAULT_MAX_PENDING_PACKETS",
    "LinkEvent",
    "PacketDecoder",
    "RawPacket",
    "Reconnected",
    "StatusReported",
    "StreamConfigured",
    "TapRecord",
    "TimeSynced",
    "replay",
]

logger = logging.getLogger(__name__)

#: The channel of a profile's sample notifications (one today; a profile with several data characteristics
#: would name the others).
DATA_CHANNEL = "data"
#: The link's receive queue by default (`LinkOptions.queue_packets`), and so the packets a replay holds back
#: waiting for an event that may still apply before them: an event never applies further back than that.
DEFAULT_MAX_PENDING_PACKETS = 8192


@dataclass(frozen=True, slots=True)
class RawPacket:
    """One notification as it arrived.

    Attributes
    ----------
    host_ns : int
        Host clock at arrival, nanoseconds (the link's `host_clock_ns`).
    data : bytes
        The notification's value, as received.
    channel : str
        Which notification it was (`DATA_CHANNEL` for samples).
    queued : bool
        False if the receive queue was full and dropped it: the live decoder never saw it, so a replay only
        counts it (`LinkCounters.queue_overflows`), to give the live blocks.
    """

    host_ns: int
    data: bytes
    channel: str = DATA_CHANNEL
    queued: bool = True


@dataclass(frozen=True, slots=True)
class StreamConfigured:
    """Streaming (re)started: the settings the packets that follow decode under.

    Attributes
    ----------
    after_packets : int
        Queued packets the decoder had been fed when this took effect.
    host_ns : int
        Host clock when it took effect, nanoseconds.
    settings : StreamSettings
        As the profile fitted them to the device and the connection (samples per packet for the ATT MTU,
        or as the device's START answered).
    new_tracking : bool
        Sequence tracking starts afresh (a new sensor session); sample numbering continues after the old.
    firmware_revision : str
        What the device reported on this connection.
    """

    after_packets: int
    host_ns: int
    settings: StreamSettings
    new_tracking: bool
    firmware_revision: str


@dataclass(frozen=True, slots=True)
class TimeSynced:
    """A TIME_SYNC round trip: the sensor read its clock between the host's send and receive.

    Attributes
    ----------
    after_packets : int
    sensor_time_us : int
        The sensor clock as answered (wrapped, microseconds).
    host_send_ns, host_receive_ns : int
        Host clock around the request, nanoseconds.
    """

    after_packets: int
    sensor_time_us: int
    host_send_ns: int
    host_receive_ns: int


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The link came back after an unexpected disconnect (`LinkCounters.reconnects`)."""

    after_packets: int
    host_ns: int


@dataclass(frozen=True, slots=True)
class StatusReported:
    """The device reported its battery and condition (for the record; sample blocks do not depend on it)."""

    after_packets: int
    host_ns: int
    status: SensorStatus


LinkEvent = StreamConfigured | TimeSynced | Reconnected | StatusReported
TapRecord = RawPacket | LinkEvent


@dataclass(slots=True)
class _Counts:
    """Mutable counters behind the frozen `LinkCounters` snapshots."""

    received: int = 0
    malformed: int = 0
    overflows: int = 0
    reconnects: int = 0
    samples_accepted: int = 0
    samples_lost_inferred: int = 0


@dataclass(slots=True)
class _Tracking:
    """Loss tracking of one sensor session, by whatever the device numbers (see `DecodedPacket`)."""

    settings: StreamSettings
    packets: SequenceTracker | None = None
    samples: SampleTimeTracker | None = None
    # Host-timed packets: the next sample's index, counting samples inferred lost.
    next_host_index: int = 0
    accepted_host: int = 0

    @property
    def counts(self) -> SequenceCounts:
        c = SequenceCounts(self.accepted_host, 0, 0, 0)
        for tracker in (self.packets, self.samples):
            if tracker is not None:
                t = tracker.counts
                c = SequenceCounts(
                    c.accepted + t.accepted,
                    c.duplicate + t.duplicate,
                    c.late + t.late,
                    c.lost_packets + t.lost_packets,
                )
        return c

    @property
    def samples_lost(self) -> int:
        """Samples counted lost (exactly: from a counter or a device clock)."""
        lost = 0
        if self.packets is not None:
            lost += self.packets.counts.lost_packets * self.settings.samples_per_packet
        if self.samples is not None:
            lost += self.samples.samples_lost
        return lost

    @property
    def samples_spanned(self) -> int:
        """Sample indices used so far (delivered and lost): where the next session's numbering starts."""
        spans = [self.next_host_index]
        if self.packets is not None:
            spans.append((self.packets.last_packet_index + 1) * self.settings.samples_per_packet)
        if self.samples is not None:
            spans.append(self.samples.next_sample_index)
        return max(spans)

    @property
    def started(self) -> bool:
        return self.samples_spanned > 0 or self.counts.accepted > 0


@dataclass(slots=True)
class PacketDecoder:
    """The decoding state of one link (see the module docstring).

    Parameters
    ----------
    profile : SensorProfile
        Makes the stream's decoding (`SensorProfile.decoding`) and gives the counters' wrap-arounds (only
        `name`, `counters` and `decoding` are used: no connection).
    """

    profile: SensorProfile
    _settings: StreamSettings | None = field(default=None, init=False)
    _decoding: PacketDecoding | None = field(default=None, init=False)
    _tracking: _Tracking | None = field(default=None, init=False)
    # Earlier sessions (a session-start packet or a restarted sensor begins a new one): their counts and the
    # sample numbering continue from them.
    _retired: SequenceCounts = field(default_factory=SequenceCounts, init=False)
    _retired_samples_lost: int = field(default=0, init=False)
    _sample_base: int = field(default=0, init=False)
    _clock: ClockMapper = field(init=False)
    _timeline: SlewedTimeline = field(default_factory=SlewedTimeline, init=False)
    _counts: _Counts = field(default_factory=_Counts, init=False)
    _samples_delivered: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._clock = ClockMapper(sensor_time_modulo_us=self.profile.counters.sensor_time_modulo_us)

    @property
    def clock(self) -> ClockMapper:
        return self._clock

    @property
    def settings(self) -> StreamSettings | None:
        """The settings packets decode under (None before the first `StreamConfigured`)."""
        return self._settings

    @property
    def packets_fed(self) -> int:
        """Queued packets fed so far (what an event's `after_packets` counts)."""
        return self._counts.received

    @property
    def samples_delivered(self) -> int:
        return self._samples_delivered

    @property
    def counters(self) -> LinkCounters:
        tracking = self._tracking
        now = tracking.counts if tracking is not None else SequenceCounts()
        now_lost = tracking.samples_lost if tracking is not None else 0
        done = self._retired
        return LinkCounters(
            packets_received=self._counts.received,
            packets_accepted=done.accepted + now.accepted,
            packets_malformed=self._counts.malformed,
            packets_duplicate=done.duplicate + now.duplicate,
            packets_late=done.late + now.late,
            packets_lost=done.lost_packets + now.lost_packets,
            samples_lost=self._retired_samples_lost + now_lost,
            queue_overflows=self._counts.overflows,
            reconnects=self._counts.reconnects,
            samples_accepted=self._counts.samples_accepted,
            samples_lost_inferred=self._counts.samples_lost_inferred,
        )

    def apply(self, event: LinkEvent) -> None:
        """Take an event into account (the link calls this where the event happens; a replay in order).

        A `StreamConfigured` with new tracking (or new settings) makes a fresh decoding of the profile; one
        that resumes keeps the decoding and its buffers.
        """
        if isinstance(event, StreamConfigured):
            if event.new_tracking or self._tracking is None or event.settings != self._settings:
                self._new_tracking(event.settings)
            if event.new_tracking or self._decoding is None or event.settings != self._settings:
                self._decoding = self.profile.decoding(event.settings)
            self._settings = event.settings
        elif isinstance(event, TimeSynced):
            clock = self._clock
            clock.observe_time_sync(
                clock.unwrap(event.sensor_time_us), event.host_send_ns, event.host_receive_ns
            )
        elif isinstance(event, Reconnected):
            self._counts.reconnects += 1
        # StatusReported: the link's status display; nothing to decode.

    def count_overflow(self) -> None:
        """A packet the receive queue dropped (`RawPacket.queued` False): counted, never decoded."""
        self._counts.overflows += 1

    def feed(self, host_ns: int, data: bytes) -> list[SampleBlock]:
        """Decode one notification into blocks, or count and skip it.

        Parameters
        ----------
        host_ns : int
            Host clock at the notification's arrival, nanoseconds.
        data : bytes
            The notification's value.

        Returns
        -------
        list of SampleBlock
            One per packet the notification completes: none for a notification that is skipped (no settings
            yet, malformed, duplicate, late, wrong sample count; each is counted and logged) or that the
            decoding buffers.
        """
        self._counts.received += 1
        decoding = self._decoding
        if decoding is None or self._tracking is None:
            return []
        try:
            packets = decoding.decode(data, host_ns)
        except MalformedPacket as exc:
            self._counts.malformed += 1
            logger.warning("skipped packet: %s", exc)
            return []
        blocks = []
        for packet in packets:
            block = self._block(packet, host_ns)
            if block is not None:
                blocks.append(block)
        return blocks

    def _block(self, packet: DecodedPacket, host_ns: int) -> SampleBlock | None:
        if packet.host_time_s is not None:
            return self._host_timed_block(packet, packet.host_time_s)
        if packet.sensor_time_us is None:  # DecodedPacket refuses this; keeps the type checker honest
            return None
        if packet.seq is not None:
            return self._counted_block(packet, host_ns, packet.seq, packet.sensor_time_us)
        return self._sample_timed_block(packet, host_ns, packet.sensor_time_us)

    def _tracking_for(self, packet: DecodedPacket) -> _Tracking:
        tracking = self._tracking
        if tracking is None:  # cannot happen once fed (feed checks); keeps the type checker honest
            raise RuntimeError("no stream configured")
        if packet.session_start and tracking.started:
            # Receiver rule 2: a session-start packet begins tracking afresh; no loss is counted across it.
            logger.warning("a packet starts a new sensor session: tracking restarts")
            tracking = self._new_tracking(tracking.settings)
        return tracking

    def _counted_block(
        self, packet: DecodedPacket, host_ns: int, seq: int, sensor_time_us: int
    ) -> SampleBlock | None:
        """A packet with a counter and a device clock: tracked by packet (fixed samples per packet)."""
        tracking = self._tracking_for(packet)
        config = tracking.settings
        if tracking.packets is None:
            tracking.packets = SequenceTracker(
                config.samples_per_packet * 1e6 / config.sample_rate_hz, counters=self.profile.counters
            )
        decision = tracking.packets.observe(seq, sensor_time_us)
        if decision.verdict is PacketVerdict.DUPLICATE:
            logger.warning("dropped duplicate packet seq %d", seq)
            return None
        if decision.verdict is PacketVerdict.LATE:
            logger.warning("dropped late packet seq %d (already counted as lost)", seq)
            return None
        if packet.sample_count != config.samples_per_packet:
            self._counts.malformed += 1
            logger.warning(
                "packet seq %d has %d samples, the session has %d per packet; skipped",
                seq,
                packet.sample_count,
                config.samples_per_packet,
            )
            return None
        lost_samples = decision.packets_lost_before * config.samples_per_packet
        if lost_samples:
            logger.warning(
                "%d packets (%d samples) lost before seq %d",
                decision.packets_lost_before,
                lost_samples,
                seq,
            )
        first_index = decision.packet_index * config.samples_per_packet
        return self._device_timed(
            packet, host_ns, sensor_time_us, config.sample_period_us, first_index, lost_samples
        )

    def _sample_timed_block(
        self, packet: DecodedPacket, host_ns: int, sensor_time_us: int
    ) -> SampleBlock | None:
        """A packet with a device clock and no counter: tracked by sample time (any number of samples)."""
        tracking = self._tracking_for(packet)
        config = tracking.settings
        if tracking.samples is None:
            tracking.samples = SampleTimeTracker(
                config.sample_period_us, self.profile.counters.sensor_time_modulo_us
            )
        tracker = tracking.samples
        period_us = tracker.period_us
        decision = tracker.observe(sensor_time_us, packet.sample_count)
        if decision.verdict is PacketVerdict.DUPLICATE:
            logger.warning("dropped a duplicate packet (sensor time %d us)", sensor_time_us)
            return None
        if decision.verdict is PacketVerdict.LATE:
            logger.warning("dropped a late packet (sensor time %d us)", sensor_time_us)
            return None
        if decision.samples_lost_before:
            logger.warning(
                "%d samples lost before sensor time %d us", decision.samples_lost_before, sensor_time_us
            )
        return self._device_timed(
            packet,
            host_ns,
            sensor_time_us,
            period_us,
            decision.first_sample_index,
            decision.samples_lost_before,
        )

    def _device_timed(
        self,
        packet: DecodedPacket,
        host_ns: int,
        sensor_time_us: int,
        period_us: float,
        first_index: int,
        lost_samples: int,
    ) -> SampleBlock | None:
        """Samples on the device clock, mapped onto the host's (`ClockMapper` and `SlewedTimeline`)."""
        first_us = self._clock.unwrap(sensor_time_us)
        sample_us = first_us + np.arange(packet.sample_count) * period_us
        # The packet leaves the sensor after its last sample: pair the arrival with that instant.
        self._clock.observe(round(sample_us[-1]), host_ns)
        estimate = self._clock.estimate()
        if estimate is None:  # cannot happen after observe(); keeps the type checker honest
            return None
        t_s = self._timeline.host_times_s(estimate, sample_us)
        return self._deliver(packet, t_s, first_index, lost_samples, first_us)

    def _host_timed_block(self, packet: DecodedPacket, host_time_s: npt.NDArray[np.float64]) -> SampleBlock:
        """A packet the decoding timed from arrivals: numbered by count, loss as the decoding inferred it."""
        tracking = self._tracking_for(packet)
        lost = packet.samples_lost_before
        if lost:
            logger.warning("%d samples inferred lost from arrival gaps", lost)
        first_index = tracking.next_host_index + lost
        tracking.next_host_index = first_index + packet.sample_count
        tracking.accepted_host += 1
        self._counts.samples_lost_inferred += lost
        # No device clock: the block's sensor time is the nominal sample clock of the stream.
        first_us = round((self._sample_base + first_index) * tracking.settings.sample_period_us)
        return self._deliver(packet, host_time_s, first_index, lost, first_us)

    def _deliver(
        self, packet: DecodedPacket, t_s: npt.NDArray[np.float64], first_index: int, lost: int, first_us: int
    ) -> SampleBlock:
        config = self._tracking.settings if self._tracking is not None else self._settings
        if config is None:  # cannot happen once fed; keeps the type checker honest
            raise RuntimeError("no stream configured")
        samples = ImuSamples(t_s, packet.acc_mps2, packet.gyr_dps)
        self._counts.samples_accepted += len(samples)
        block = SampleBlock(
            samples=samples,
            first_sample_index=self._sample_base + first_index,
            lost_samples_before=lost,
            sensor_time_us=first_us,
            sampling_rate_hz=float(config.sample_rate_hz),
            counters=self.counters,
        )
        self._samples_delivered += len(samples)
        return block

    def _new_tracking(self, settings: StreamSettings) -> _Tracking:
        """Start loss tracking afresh (new session); sample numbering continues after the old one."""
        old = self._tracking
        if old is not None:
            c = old.counts
            self._retired = SequenceCounts(
                self._retired.accepted + c.accepted,
                self._retired.duplicate + c.duplicate,
                self._retired.late + c.late,
                self._retired.lost_packets + c.lost_packets,
            )
            self._retired_samples_lost += old.samples_lost
            self._sample_base += old.samples_spanned
        tracking = _Tracking(settings)
        self._tracking = tracking
        return tracking


def replay(
    records: Iterable[TapRecord],
    decoder: PacketDecoder,
    *,
    max_pending_packets: int = DEFAULT_MAX_PENDING_PACKETS,
) -> Iterator[SampleBlock]:
    """The blocks a link gave, from what its tap saw, in the order the tap saw it.

    Parameters
    ----------
    records : iterable of TapRecord
        As the link's packet sink received them.
    decoder : PacketDecoder
        A fresh decoder for the link's profile.
    max_pending_packets : int
        The live link's receive-queue capacity (`LinkOptions.queue_packets`): packets further back than this
        cannot be followed by an event any more and are decoded without waiting for the next one.

    Yields
    ------
    SampleBlock
        Equal to the live link's blocks: the same samples at the same times, numbering and losses.
    """
    if max_pending_packets < 0:
        raise ValueError("max_pending_packets must be >= 0")
    pending: deque[RawPacket] = deque()
    for record in records:
        if isinstance(record, RawPacket):
            if not record.queued:
                decoder.count_overflow()
                continue
            pending.append(record)
            while len(pending) > max_pending_packets:
                yield from _feed(decoder, pending.popleft())
            continue
        while pending and decoder.packets_fed < record.after_packets:
            yield from _feed(decoder, pending.popleft())
        decoder.apply(record)
    while pending:
        yield from _feed(decoder, pending.popleft())


def _feed(decoder: PacketDecoder, packet: RawPacket) -> list[SampleBlock]:
    return decoder.feed(packet.host_ns, packet.data)
