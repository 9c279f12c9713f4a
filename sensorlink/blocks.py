"""What the link yields: typed sample blocks on the host's time base, with the link's counters and status.

Processing never imports sensorlink; a `SampleBlock` therefore carries `processing.samples.ImuSamples` (the
one sample form processing accepts) plus link bookkeeping that the pipeline may log or publish.
"""

from __future__ import annotations

from dataclasses import dataclass

from processing.samples import ImuSamples


@dataclass(frozen=True, slots=True)
class LinkCounters:
    """Every packet the link received or dropped, by cause; cumulative over the session (all reconnects).

    Attributes
    ----------
    packets_received : int
        Notifications handed to the decoder.
    packets_accepted : int
        Packets decoded and delivered in order.
    packets_malformed : int
        Notifications that did not decode (wrong length, bad sample count); skipped.
    packets_duplicate, packets_late : int
        Packets with a seq already delivered, or older than the newest delivered; dropped.
    packets_lost : int
        Packets the sensor numbered but that never arrived (link drops, radio loss).
    samples_lost : int
        Samples in those lost packets.
    queue_overflows : int
        Notifications dropped because the receive queue was full (the consumer is too slow).
    reconnects : int
        Successful reconnections after an unexpected disconnect.
    samples_accepted : int
        Samples delivered.
    samples_lost_inferred : int
        Samples a device that numbers nothing (no counter, no sample clock) is inferred to have lost, from
        gaps in arrival times (`sensorlink.host_clock`): an estimate, apart from the exact `samples_lost`.
    """

    packets_received: int = 0
    packets_accepted: int = 0
    packets_malformed: int = 0
    packets_duplicate: int = 0
    packets_late: int = 0
    packets_lost: int = 0
    samples_lost: int = 0
    queue_overflows: int = 0
    reconnects: int = 0
    samples_accepted: int = 0
    samples_lost_inferred: int = 0

    @property
    def packet_loss_rate(self) -> float:
        """Lost packets over packets the sensor sent (0 before anything arrived)."""
        sent = self.packets_accepted + self.packets_lost
        return self.packets_lost / sent if sent else 0.0

    @property
    def sample_loss_rate(self) -> float:
        """Lost samples (counted and inferred) over samples the sensor took (0 before anything arrived).

        The rate every profile has: devices without a packet counter count loss in samples, not packets.
        """
        lost = self.samples_lost + self.samples_lost_inferred
        taken = self.samples_accepted + lost
        return lost / taken if taken else 0.0


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The sensor's and the link's health, for the status display and MQTT `status`.

    Attributes
    ----------
    battery_pct : int or None
        From the Battery service (None until read).
    rssi_dbm : int or None
        Received signal strength, when the adapter reports it.
    connected : bool
    packet_loss_rate : float
        Lost / taken samples over the session (counted and inferred), 0..1; for a sensor with fixed
        packets, the packet loss rate.
    drift_ppm : float or None
        Current estimate of the sensor clock's drift against the host (positive: sensor fast).
    sensor_flags : int
        Last status flags from the sensor (buffer overflow, sensor fault, low battery, streaming), as the
        firmware spec defines the bits.
    """

    battery_pct: int | None
    rssi_dbm: int | None
    connected: bool
    packet_loss_rate: float
    drift_ppm: float | None
    sensor_flags: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class SampleBlock:
    """Consecutive samples from one packet (or a few), ready for processing.

    Attributes
    ----------
    samples : ImuSamples
        Times in seconds on the host's time base (see `sensorlink.clock`), acc in m/s^2, gyr in deg/s.
    first_sample_index : int
        Index of the first sample in the session's sample numbering (counts lost samples too, so
        ``first_sample_index / sampling_rate_hz`` is sensor-clock time since the session's first sample).
    lost_samples_before : int
        Samples the sensor took but that never arrived between the previous block and this one (0 normally;
        after a link drop, exactly the samples the sensor discarded while the link was down).
    sensor_time_us : int
        Unwrapped sensor time of the first sample, microseconds.
    sampling_rate_hz : float
        Nominal sample rate of the sensor configuration.
    counters : LinkCounters
        The link's counters when this block was delivered.
    """

    samples: ImuSamples
    first_sample_index: int
    lost_samples_before: int
    sensor_time_us: int
    sampling_rate_hz: float
    counters: LinkCounters

    def __post_init__(self) -> None:
        if self.first_sample_index < 0 or self.lost_samples_before < 0:
            raise ValueError("first_sample_index and lost_samples_before must be >= 0")
        if self.sampling_rate_hz <= 0:
            raise ValueError("sampling_rate_hz must be > 0")

    def __len__(self) -> int:
        return len(self.samples)
