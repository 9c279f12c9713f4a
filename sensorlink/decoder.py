"""Notifications in, sample blocks out: the link's decoding state, without BLE (no bleak import).

`PacketDecoder` holds everything that turns a stream of raw notifications into `SampleBlock`s: the
profile's packet decoding, sequence tracking (with a fresh tracker at every session start), the mapping of
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

from processing.samples import ImuSamples
from sensorlink.blocks import LinkCounters, SampleBlock
from sensorlink.clock import ClockMapper, SlewedTimeline
from sensorlink.errors import MalformedPacket
from sensorlink.profile import DecodedPacket, SensorProfile, SensorStatus, StreamSettings
from sensorlink.sequence import PacketVerdict, SequenceCounts, SequenceTracker

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


@dataclass(slots=True)
class PacketDecoder:
    """The decoding state of one link (see the module docstring).

    Parameters
    ----------
    profile : SensorProfile
        Decodes the packets and gives the counters' wrap-arounds (only `name`, `counters` and `decode` are
        used: no connection).
    """

    profile: SensorProfile
    _settings: StreamSettings | None = field(default=None, init=False)
    _tracker: SequenceTracker | None = field(default=None, init=False)
    _tracker_spp: int = field(default=0, init=False)
    # Earlier sessions' trackers (a session-start packet or a restarted sensor begins a new one): their
    # counts and the sample numbering continue from them.
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
        now = self._tracker.counts if self._tracker is not None else SequenceCounts()
        done = self._retired
        return LinkCounters(
            packets_received=self._counts.received,
            packets_accepted=done.accepted + now.accepted,
            packets_malformed=self._counts.malformed,
            packets_duplicate=done.duplicate + now.duplicate,
            packets_late=done.late + now.late,
            packets_lost=done.lost_packets + now.lost_packets,
            samples_lost=self._retired_samples_lost + now.lost_packets * self._tracker_spp,
            queue_overflows=self._counts.overflows,
            reconnects=self._counts.reconnects,
        )

    def apply(self, event: LinkEvent) -> None:
        """Take an event into account (the link calls this where the event happens; a replay in order)."""
        if isinstance(event, StreamConfigured):
            if event.new_tracking:
                self._new_tracking(event.settings)
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

    def feed(self, host_ns: int, data: bytes) -> SampleBlock | None:
        """Decode one notification into a block, or count and skip it.

        Parameters
        ----------
        host_ns : int
            Host clock at the notification's arrival, nanoseconds.
        data : bytes
            The notification's value.

        Returns
        -------
        SampleBlock or None
            None for a packet that is skipped (no settings yet, malformed, duplicate, late, wrong sample
            count); each is counted and logged.
        """
        self._counts.received += 1
        config, tracker = self._settings, self._tracker
        if config is None or tracker is None:
            return None
        try:
            packet: DecodedPacket = self.profile.decode(data, config)
        except MalformedPacket as exc:
            self._counts.malformed += 1
            logger.warning("skipped packet: %s", exc)
            return None
        if packet.session_start and tracker.last_packet_index >= 0:
            # Receiver rule 2: a session-start packet begins tracking afresh; no loss is counted across it.
            logger.warning("packet seq %d starts a new sensor session: tracking restarts", packet.seq)
            tracker = self._new_tracking(config)
        decision = tracker.observe(packet.seq, packet.sensor_time_us)
        if decision.verdict is PacketVerdict.DUPLICATE:
            logger.warning("dropped duplicate packet seq %d", packet.seq)
            return None
        if decision.verdict is PacketVerdict.LATE:
            logger.warning("dropped late packet seq %d (already counted as lost)", packet.seq)
            return None
        if packet.sample_count != config.samples_per_packet:
            self._counts.malformed += 1
            logger.warning(
                "packet seq %d has %d samples, the session has %d per packet; skipped",
                packet.seq,
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
                packet.seq,
            )
        first_us = self._clock.unwrap(packet.sensor_time_us)
        sample_us = first_us + np.arange(packet.sample_count) * config.sample_period_us
        # The packet leaves the sensor after its last sample: pair the arrival with that instant.
        self._clock.observe(round(sample_us[-1]), host_ns)
        estimate = self._clock.estimate()
        if estimate is None:  # cannot happen after observe(); keeps the type checker honest
            return None
        samples = ImuSamples(
            self._timeline.host_times_s(estimate, sample_us), packet.acc_mps2, packet.gyr_dps
        )
        block = SampleBlock(
            samples=samples,
            first_sample_index=self._sample_base + decision.packet_index * config.samples_per_packet,
            lost_samples_before=lost_samples,
            sensor_time_us=first_us,
            sampling_rate_hz=float(config.sample_rate_hz),
            counters=self.counters,
        )
        self._samples_delivered += len(samples)
        return block

    def _new_tracking(self, settings: StreamSettings) -> SequenceTracker:
        """Start sequence tracking afresh (new session); sample numbering continues after the old one."""
        old = self._tracker
        if old is not None:
            c = old.counts
            self._retired = SequenceCounts(
                self._retired.accepted + c.accepted,
                self._retired.duplicate + c.duplicate,
                self._retired.late + c.late,
                self._retired.lost_packets + c.lost_packets,
            )
            self._retired_samples_lost += c.lost_packets * self._tracker_spp
            self._sample_base += (old.last_packet_index + 1) * self._tracker_spp
        tracker = SequenceTracker(
            settings.samples_per_packet * 1e6 / settings.sample_rate_hz, counters=self.profile.counters
        )
        self._tracker, self._tracker_spp = tracker, settings.samples_per_packet
        return tracker


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
                block = _feed(decoder, pending.popleft())
                if block is not None:
                    yield block
            continue
        while pending and decoder.packets_fed < record.after_packets:
            block = _feed(decoder, pending.popleft())
            if block is not None:
                yield block
        decoder.apply(record)
    while pending:
        block = _feed(decoder, pending.popleft())
        if block is not None:
            yield block


def _feed(decoder: PacketDecoder, packet: RawPacket) -> SampleBlock | None:
    return decoder.feed(packet.host_ns, packet.data)
