"""The sensor-profile interface: everything device-specific behind one small typed seam (docs/design.md).

A `SensorProfile` says how a device is recognised in a scan, how one connection to it is driven (its UUIDs,
commands, settings) and how its notifications decode into samples. The link (`sensorlink.link`), the scanner
(`sensorlink.scan`) and everything after them only speak these types, so another IMU (MbientLab MetaMotion,
Polar Verity Sense with PMD, Movesense, WitMotion) is one more profile, not a change to the link.

Shared vocabulary
-----------------
- `StreamSettings`: what the user asks for (rate, ranges, samples per notification); a profile turns it into
  what its device can do (`ProfileSession.prepare`), or refuses it with `InvalidConfiguration`.
- `DecodedPacket`: one notification as physical samples, with the counter and sensor clock the link's
  sequence tracking and clock mapping run on. `PacketCounters` gives their wrap-arounds.
- `StartInfo`: what the device answered when streaming (re)started.
- `SensorStatus`, `AdvertisedSensor`: battery and condition, from the connection and from advertisements.

Limit of this first version: `decode` belongs to the profile and has no per-connection state, so every packet
must carry its own counter and sensor time, as ours does. A device whose packets carry neither (WitMotion's
BLE 0x61 packet is acceleration, angular rate and angle only, per the WT901BLECL datasheet, section 6.1.1)
needs a per-connection decode that numbers the notifications and clocks them by the sample period, so that
`decode` would move to `ProfileSession`; its losses stay invisible either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

# bleak only names the types of the connection side: decoding (`SensorProfile.decode`, `sensorlink.decoder`)
# runs without it, e.g. when a session file is replayed.
if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.scanner import AdvertisementData

__all__ = [
    "AdvertisedSensor",
    "DataCallback",
    "DecodedPacket",
    "PacketCounters",
    "ProfileSession",
    "SensorProfile",
    "SensorStatus",
    "StartInfo",
    "StatusCallback",
    "StreamSettings",
]

FloatArray = npt.NDArray[np.float64]


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
        Gyroscope full-scale range, +-deg/s.
    samples_per_packet : int
        Samples per notification (devices with a fixed packet size report theirs here).
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
class PacketCounters:
    """Wrap-arounds of a profile's packet counter and sensor clock (what the link unwraps).

    Attributes
    ----------
    seq_modulo : int
        The packet counter counts 0 .. seq_modulo - 1, then wraps.
    sensor_time_modulo_us : int
        The sensor clock (microseconds) wraps at this value.
    """

    seq_modulo: int
    sensor_time_modulo_us: int

    def __post_init__(self) -> None:
        if self.seq_modulo < 2 or self.sensor_time_modulo_us < 2:
            raise ValueError("seq_modulo and sensor_time_modulo_us must be >= 2")


@dataclass(frozen=True, slots=True, eq=False)
class DecodedPacket:
    """One notification as samples in physical units, with its counter and sensor time.

    Attributes
    ----------
    seq : int
        Packet counter, in [0, PacketCounters.seq_modulo).
    sensor_time_us : int
        Sensor clock at the first sample, microseconds, in [0, PacketCounters.sensor_time_modulo_us).
    session_start : bool
        First packet of a new streaming session (tracking restarts; no loss is counted across it).
    acc_mps2 : (n, 3) array, m/s^2
        Specific force in the sensor frame, gravity included.
    gyr_dps : (n, 3) array, deg/s
    """

    seq: int
    sensor_time_us: int
    session_start: bool
    acc_mps2: FloatArray = field(repr=False)
    gyr_dps: FloatArray = field(repr=False)

    def __post_init__(self) -> None:
        if (
            self.acc_mps2.ndim != 2
            or self.acc_mps2.shape[1] != 3
            or self.gyr_dps.shape != self.acc_mps2.shape
        ):
            raise ValueError(
                f"acc_mps2 and gyr_dps must both have shape (n, 3), got {self.acc_mps2.shape} and "
                f"{self.gyr_dps.shape}"
            )

    @property
    def sample_count(self) -> int:
        return int(self.acc_mps2.shape[0])


@dataclass(frozen=True, slots=True)
class StartInfo:
    """What the device answered when streaming (re)started.

    Attributes
    ----------
    next_seq : int
        Seq of the next packet the device will send; packets between the last one received and this were lost.
    sensor_time_us : int
        Sensor clock when the device handled the start, microseconds.
    resumed : bool
        True if an already running session continues (after a link drop), False if a new session begins.
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
    """One connection's device-specific side: set up, start, stop and time-sync a stream.

    Built by `SensorProfile.session` for a connected client; the link calls, in order, `prepare`,
    `subscribe_data`, `time_sync` (optional for the device: it may return None), `start`; later `time_sync`
    now and then and `stop` at the end. Every failure is a `sensorlink` error, `BleakError`, `TimeoutError`
    or `OSError`; `UnsupportedFirmware` means "never retry".
    """

    @property
    def firmware_revision(self) -> str:
        """What the device reported in `prepare` (for logs and `posture doctor`)."""
        ...

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check the firmware, subscribe to status and commands, configure the device unless `resume`.

        Returns the settings the stream runs with: `requested` as the device can do it on this connection.
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


class SensorProfile(Protocol):
    """The device-specific part of one kind of sensor (see the module docstring)."""

    @property
    def name(self) -> str:
        """Short name for logs and tables, e.g. "posture-v1"."""
        ...

    @property
    def counters(self) -> PacketCounters:
        """Wrap-arounds of the packet counter and sensor clock in `DecodedPacket`."""
        ...

    @property
    def default_settings(self) -> StreamSettings:
        """What the link asks for when the caller does not say."""
        ...

    def recognises(self, advertisement: AdvertisementData) -> bool:
        """Whether an advertisement comes from a device of this profile (service UUID, name, company id)."""
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

    def decode(self, data: bytes, settings: StreamSettings) -> DecodedPacket:
        """One data notification as samples, under the settings the stream runs with.

        Raises
        ------
        MalformedPacket
            The bytes do not follow the device's packet layout (counted and skipped by the link).
        """
        ...
