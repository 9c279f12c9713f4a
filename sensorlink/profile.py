"""The sensor-profile interface: everything device-specific behind one small typed seam (docs/design.md).

A `SensorProfile` says how a device is recognised in a scan (`Discovery`), what it offers (`Capabilities`),
how its samples are timed (`SampleTiming`), how one connection to it is driven (`ProfileSession`: check,
configure, start, stop, battery) and how its notifications decode into samples (`PacketDecoding`, made per
stream). The link (`sensorlink.link`), the decoder (`sensorlink.decoder`), the scanner (`sensorlink.scan`) and
everything after them only speak these types: a vendor's IMU is one more profile, never a change to the link.

Shared vocabulary
-----------------
- `StreamSettings`: what the user asks for (rate, ranges, samples per notification); a profile turns it into
  what its device can do (`ProfileSession.prepare`), or refuses it with one `InvalidConfiguration` line
  (`Capabilities.check`).
- `PacketDecoding`: the decoding state of one stream, made by `SensorProfile.decoding` at every new stream.
  It may buffer (delta-frame references, an accelerometer frame waiting for its gyroscope frame, a host
  clock fit): `decode(data, host_ns)` returns zero or more `DecodedPacket`s. Fed the same inputs in the same
  order it gives the same packets, which is what makes a session file replay bit for bit.
- `DecodedPacket`: samples in physical units with what the link tracks them by: a packet counter and a
  device clock (our sensor), a device clock only (Polar, Movesense: loss shows as a gap in sample time), or
  neither (MetaWear streaming, WitMotion: the decoding times the samples from arrivals with
  `sensorlink.host_clock` and can only infer loss).
- `StartInfo`: what the device answered when streaming (re)started.
- `SensorStatus`, `AdvertisedSensor`: battery and condition, from the connection and from advertisements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

from sensorlink.errors import InvalidConfiguration

# bleak only names the types of the connection side: decoding (`SensorProfile.decoding`, `sensorlink.decoder`)
# runs without it, e.g. when a session file is replayed.
if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.scanner import AdvertisementData

__all__ = [
    "AdvertisedSensor",
    "Capabilities",
    "ClockSource",
    "DataCallback",
    "DecodedPacket",
    "Discovery",
    "FoundByDiscovery",
    "PacketCounters",
    "PacketDecoding",
    "ProfileSession",
    "SampleTiming",
    "SensorProfile",
    "SensorStatus",
    "StartInfo",
    "StatusCallback",
    "StreamSettings",
]

FloatArray = npt.NDArray[np.float64]

ClockSource = Literal["device", "host"]
"""Where sample times come from: the device's own sample clock, or the host's arrival times."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Sampling settings of a stream, independent of the device.

    Attributes
    ----------
    sample_rate_hz : int
        Output data rate of accelerometer and gyroscope.
    acc_range_g : int
        Accelerometer full-scale range, +-g.
    gyr_range_dps : int
        Gyroscope full-scale range, +-deg/s (ignored by accelerometer-only devices).
    samples_per_packet : int
        Samples per notification (devices with a fixed packet size report theirs here; devices whose
        notifications vary in size report a typical count, used for nothing but logs and pacing).
    """

    sample_rate_hz: int
    acc_range_g: int
    gyr_range_dps: int
    samples_per_packet: int

    def __post_init__(self) -> None:
        for name in ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "samples_per_packet"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    @property
    def sample_period_us(self) -> float:
        """Time between samples on the sensor's clock, microseconds."""
        return 1e6 / self.sample_rate_hz

    @property
    def packet_period_s(self) -> float:
        """Time covered by one full packet, seconds of sensor time."""
        return self.samples_per_packet / self.sample_rate_hz


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The settings a device offers; what a request is checked against before anything is written to it.

    Attributes
    ----------
    sample_rates_hz : tuple of int
        Output data rates the device offers (for accelerometer and gyroscope together).
    acc_ranges_g : tuple of int
        Accelerometer full-scale ranges, +-g.
    gyr_ranges_dps : tuple of int
        Gyroscope full-scale ranges, +-deg/s; empty for an accelerometer-only device.
    """

    sample_rates_hz: tuple[int, ...]
    acc_ranges_g: tuple[int, ...]
    gyr_ranges_dps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.sample_rates_hz or not self.acc_ranges_g:
            raise ValueError("a device offers at least one sample rate and one accelerometer range")

    @property
    def has_gyroscope(self) -> bool:
        return bool(self.gyr_ranges_dps)

    def check(self, settings: StreamSettings, device: str) -> None:
        """Refuse settings the device does not offer, in one line that lists what it does offer.

        Raises
        ------
        InvalidConfiguration
        """
        if settings.sample_rate_hz not in self.sample_rates_hz:
            raise InvalidConfiguration(
                f"{device} does not sample at {settings.sample_rate_hz} Hz; it offers "
                f"{_listed(self.sample_rates_hz)} Hz"
            )
        if settings.acc_range_g not in self.acc_ranges_g:
            raise InvalidConfiguration(
                f"{device} has no accelerometer range of +-{settings.acc_range_g} g; it offers "
                f"{_listed(self.acc_ranges_g)} g"
            )
        if self.gyr_ranges_dps and settings.gyr_range_dps not in self.gyr_ranges_dps:
            raise InvalidConfiguration(
                f"{device} has no gyroscope range of +-{settings.gyr_range_dps} deg/s; it offers "
                f"{_listed(self.gyr_ranges_dps)} deg/s"
            )


def _listed(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True, slots=True)
class SampleTiming:
    """How a device's samples are timed and how its losses show: what the link can promise about them.

    Attributes
    ----------
    clock : "device" or "host"
        "device": packets carry the device's sample clock, which the link maps onto the host's
        (`sensorlink.clock`: offset and drift fitted to arrivals, pinned by time requests where the device
        answers them). "host": packets carry no clock; sample times come from arrival times, the nominal
        rate and packet boundaries (`sensorlink.host_clock`), with an estimated error.
    loss_checkable : bool
        True when the device numbers its packets or samples (a counter, or a sample clock whose gaps count
        the missing samples): every lost sample is counted exactly. False when loss can only be inferred
        from arrival gaps (`LinkCounters.samples_lost_inferred`).
    description : str
        How the clock maps to ours, in one sentence for `posture doctor` and docs/sensors.md.
    """

    clock: ClockSource
    loss_checkable: bool
    description: str

    def __post_init__(self) -> None:
        if self.clock not in ("device", "host"):
            raise ValueError(f"clock must be 'device' or 'host', got {self.clock!r}")


@dataclass(frozen=True, slots=True)
class Discovery:
    """What in an advertisement says "a device of this profile": any one of these matches.

    Attributes
    ----------
    service_uuids : tuple of str
        128-bit UUID strings (lower case, as bleak normalises them) advertised as services.
    name_prefixes : tuple of str
        Local-name prefixes (e.g. "Polar Sense", "MetaWear").
    company_ids : tuple of int
        Bluetooth SIG company identifiers in the manufacturer-specific data.
    """

    service_uuids: tuple[str, ...] = ()
    name_prefixes: tuple[str, ...] = ()
    company_ids: tuple[int, ...] = ()

    def matches(self, advertisement: AdvertisementData) -> bool:
        """Whether the advertisement names one of the services, name prefixes or company ids."""
        uuids = {u.lower() for u in advertisement.service_uuids}
        name = advertisement.local_name or ""
        return (
            any(u.lower() in uuids for u in self.service_uuids)
            or any(name.startswith(p) for p in self.name_prefixes)
            or any(c in advertisement.manufacturer_data for c in self.company_ids)
        )


class FoundByDiscovery:
    """`recognises` and `advertised` for a profile whose advertisements carry nothing it reads beyond what
    `discovery` matches: the device is known by its services, name or company id, and its name is the one
    it advertises. A subclass sets `discovery` (a class attribute)."""

    discovery: Discovery

    def recognises(self, advertisement: AdvertisementData) -> bool:
        return self.discovery.matches(advertisement)

    def advertised(
        self, address: str, advertisement: AdvertisementData
    ) -> tuple[str | None, AdvertisedSensor | None]:
        return advertisement.local_name, None


@dataclass(frozen=True, slots=True)
class PacketCounters:
    """Wrap-arounds of a profile's packet counter and sensor clock (what the link unwraps).

    Attributes
    ----------
    seq_modulo : int
        The packet counter counts 0 .. seq_modulo - 1, then wraps.
    sensor_time_modulo_us : int
        The sensor clock (microseconds) wraps at this value (a 64-bit nanosecond clock: 2**64 // 1000).
    """

    seq_modulo: int
    sensor_time_modulo_us: int

    def __post_init__(self) -> None:
        if self.seq_modulo < 2 or self.sensor_time_modulo_us < 2:
            raise ValueError("seq_modulo and sensor_time_modulo_us must be >= 2")


@dataclass(frozen=True, slots=True, eq=False)
class DecodedPacket:
    """Consecutive samples in physical units, with what the link tracks and times them by.

    Exactly one way of timing applies, by which fields are set:

    - `seq` and `sensor_time_us` (a counter and a device clock): the link tracks packets by `seq`; every
      packet of the stream has the same number of samples, and a seq gap times that number is the loss.
    - `sensor_time_us` only (a device clock): the link tracks samples by time; a gap between the end of the
      previous packet and this one's first sample, in sample periods, is the loss. Any number of samples.
    - `host_time_s` (no device clock): the decoding timed the samples from arrivals (`sensorlink.host_clock`)
      and says how many samples it infers were lost before them (`samples_lost_before`).

    Attributes
    ----------
    acc_mps2 : (n, 3) array, m/s^2
        Specific force in the sensor frame, gravity included.
    gyr_dps : (n, 3) array, deg/s, or None
        None for an accelerometer-only device.
    seq : int or None
        Packet counter, in [0, PacketCounters.seq_modulo); None when the device numbers nothing.
    sensor_time_us : int or None
        Device clock at the FIRST sample, microseconds, in [0, PacketCounters.sensor_time_modulo_us) (a device
        that stamps the last sample, as Polar does, is converted by its decoding); None without a clock.
    session_start : bool
        First packet of a new streaming session (tracking restarts; no loss is counted across it).
    host_time_s : (n,) array, s, or None
        Host-clock sample times (the link's host time base), increasing; only without a device clock.
    samples_lost_before : int
        With `host_time_s`: samples inferred lost between the previous packet and this one (0 otherwise;
        the link counts loss itself from `seq` or `sensor_time_us`).
    """

    acc_mps2: FloatArray = field(repr=False)
    gyr_dps: FloatArray | None = field(repr=False)
    seq: int | None = None
    sensor_time_us: int | None = None
    session_start: bool = False
    host_time_s: FloatArray | None = field(default=None, repr=False)
    samples_lost_before: int = 0

    def __post_init__(self) -> None:
        if self.acc_mps2.ndim != 2 or self.acc_mps2.shape[1] != 3:
            raise ValueError(f"acc_mps2 must have shape (n, 3), got {self.acc_mps2.shape}")
        if self.gyr_dps is not None and self.gyr_dps.shape != self.acc_mps2.shape:
            raise ValueError(
                f"gyr_dps must have the shape of acc_mps2 {self.acc_mps2.shape}, got {self.gyr_dps.shape}"
            )
        if self.sample_count == 0:
            raise ValueError("a decoded packet holds at least one sample")
        if self.host_time_s is not None:
            if self.seq is not None or self.sensor_time_us is not None:
                raise ValueError("host_time_s is for packets without a device counter and clock")
            if self.host_time_s.shape != (self.sample_count,):
                raise ValueError(f"host_time_s must have shape ({self.sample_count},)")
        elif self.sensor_time_us is None:
            raise ValueError("a decoded packet needs sensor_time_us (device clock) or host_time_s")
        if self.samples_lost_before < 0 or (self.samples_lost_before and self.host_time_s is None):
            raise ValueError("samples_lost_before is an inferred count (>= 0) for host-timed packets only")

    @property
    def sample_count(self) -> int:
        return int(self.acc_mps2.shape[0])

    @property
    def clock(self) -> ClockSource:
        return "host" if self.host_time_s is not None else "device"


class PacketDecoding(Protocol):
    """The decoding state of one stream (`SensorProfile.decoding`): notifications in, samples out.

    A new one is made at every new stream (`sensorlink.decoder.StreamConfigured` with new tracking) and kept
    across a resume. It must be deterministic: the same inputs in the same order give the same packets (a
    session file's replay feeds exactly what the live link fed).
    """

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        """The samples this notification completes (empty while the decoding buffers).

        Parameters
        ----------
        data : bytes
            The notification's value.
        host_ns : int
            Host clock at its arrival, nanoseconds (what host-clock timing fits).

        Raises
        ------
        MalformedPacket
            The bytes do not follow the device's layout (counted and skipped by the link; the decoding
            stays usable for the next notification).
        """
        ...


@dataclass(frozen=True, slots=True)
class StartInfo:
    """What the device answered when streaming (re)started.

    Attributes
    ----------
    next_seq : int
        Seq of the next packet the device will send (0 for devices without a counter).
    sensor_time_us : int
        Sensor clock when the device handled the start, microseconds (0 for devices without a clock).
    resumed : bool
        True if an already running session continues (after a link drop), False if a new session begins
        (every vendor device we know restarts its stream after a reconnect).
    samples_per_packet : int
        Samples in every packet of this session (may be lower than asked, to fit the ATT MTU).
    """

    next_seq: int
    sensor_time_us: int
    resumed: bool
    samples_per_packet: int


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """Battery and condition of a connected device, as its profile reports them.

    Attributes
    ----------
    battery_pct : int or None
        None when the device does not say.
    flags : int
        The device's own status bits, passed on as they are (`LinkStatus.sensor_flags`).
    buffer_overflow : bool
        The device lost samples internally (its FIFO overflowed).
    sensor_fault : bool
        The IMU stopped answering or failed its self-test.
    """

    battery_pct: int | None
    flags: int = 0
    buffer_overflow: bool = False
    sensor_fault: bool = False


@dataclass(frozen=True, slots=True)
class AdvertisedSensor:
    """What a profile reads from an advertisement, before connecting.

    Attributes
    ----------
    protocol_major : int or None
        The protocol or firmware major version the device announces (None if it does not).
    battery_pct : int or None
    pairing_mode : bool or None
        Whether the device accepts a new bond (None if it does not say).
    supported : bool
        Whether this client can stream from it (e.g. a protocol version it implements).
    """

    protocol_major: int | None
    battery_pct: int | None
    pairing_mode: bool | None
    supported: bool


DataCallback = Callable[[bytearray], None]
"""Receives the bytes of every data notification (the link's bounded-queue callback)."""
StatusCallback = Callable[[SensorStatus], None]
"""Receives every status the session reads or is notified of."""


class ProfileSession(Protocol):
    """One connection's device-specific side: check, set up, start, stop, battery and time-sync a stream.

    Built by `SensorProfile.session` for a connected client. `posture pair` calls `check_device` only; the
    link calls, in order, `prepare`, `subscribe_data`, `time_sync` (optional for the device: it may return
    None), `start`; later `time_sync` and `read_battery_pct` now and then, and `stop` at the end. Every
    failure is a `sensorlink` error, `BleakError`, `TimeoutError` or `OSError`; `UnsupportedFirmware` means
    "never retry", `InvalidConfiguration` means "these settings never work with this device".
    """

    @property
    def firmware_revision(self) -> str:
        """What the device reported (for logs and `posture doctor`); "" before `check_device`/`prepare`."""
        ...

    async def check_device(self) -> str:
        """Check that this is a device the profile can stream from; return its firmware revision.

        Raises
        ------
        UnsupportedFirmware
            A firmware (or protocol) version the profile does not implement.
        InvalidConfiguration
            A service or characteristic the profile needs is missing (one line saying which).
        """
        ...

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check the device, subscribe to status and commands, configure the device unless `resume`.

        Returns the settings the stream runs with: `requested` as the device can do it on this connection
        (refused with `InvalidConfiguration` if it cannot: `Capabilities.check`).
        """
        ...

    async def subscribe_data(self, on_data: DataCallback) -> None:
        """Subscribe to the sample notifications; `on_data` gets their bytes."""
        ...

    async def start(self) -> StartInfo:
        """Start (or resume) streaming."""
        ...

    async def stop(self) -> None:
        """Stop streaming (the device ends its session)."""
        ...

    async def time_sync(self) -> int | None:
        """Sensor clock (microseconds, wrapped) when the device handled a time request; None if it has none.

        The link brackets the call with host timestamps: the round trip bounds the offset.
        """
        ...

    async def read_battery_pct(self) -> int | None:
        """The battery level now, percent; None when the device does not say (`read_standard_battery_pct`
        serves the devices with the standard Battery Service)."""
        ...


class SensorProfile(Protocol):
    """The device-specific part of one kind of sensor (see the module docstring)."""

    @property
    def kind(self) -> str:
        """The user-facing id (`posture`, `polar-verity-sense`, `polar-h10`, `metamotion`, `movesense`,
        `witmotion`): what `--adapter sim:KIND`, `posture scan` and the bonds file name."""
        ...

    @property
    def name(self) -> str:
        """The protocol's name and version, e.g. "posture-v1": what a session file records to decode with."""
        ...

    @property
    def display_name(self) -> str:
        """The device in words, for tables and error lines (e.g. "Polar Verity Sense")."""
        ...

    @property
    def discovery(self) -> Discovery:
        """What in an advertisement marks a device of this profile."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """The rates and ranges the device offers."""
        ...

    @property
    def timing(self) -> SampleTiming:
        """How its samples are timed and whether its loss is checkable."""
        ...

    @property
    def requires_bonding(self) -> bool:
        """Whether `posture pair` must bond (LE Secure Connections) before the device streams."""
        ...

    @property
    def counters(self) -> PacketCounters:
        """Wrap-arounds of the packet counter and device clock in its `DecodedPacket`s."""
        ...

    @property
    def default_settings(self) -> StreamSettings:
        """What the link asks for when the caller does not say (the highest IMU rate it streams well)."""
        ...

    def recognises(self, advertisement: AdvertisementData) -> bool:
        """Whether an advertisement comes from a device of this profile (usually `discovery.matches`)."""
        ...

    def advertised(
        self, address: str, advertisement: AdvertisementData
    ) -> tuple[str | None, AdvertisedSensor | None]:
        """The device's name (derived if not advertised) and what it announces (None if unreadable)."""
        ...

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> ProfileSession:
        """The device-specific side of one connection through `client` (connected, not yet set up)."""
        ...

    def decoding(self, settings: StreamSettings) -> PacketDecoding:
        """A fresh decoding state for a stream under `settings` (as `ProfileSession.prepare` gave them)."""
        ...
