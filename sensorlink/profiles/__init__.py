"""Sensor profiles: one module per kind of sensor, each implementing `sensorlink.profile.SensorProfile`.

`PROFILES` is the registry: the scanner attributes every advertisement to the first profile that recognises
it (`profile_for_advertisement`), a session file and a bond name their profile (`profile_by_name` takes the
protocol name or the user-facing kind), and nothing outside this package names a vendor. `POSTURE_V1` (our
own firmware spec) is the first and the default.

HOW TO ADD A VENDOR PROFILE
---------------------------
1. A pure codec module, ``sensorlink/profiles/<vendor>_protocol.py``: bytes <-> types from the vendor's
   published documentation, no bleak import, with `MalformedPacket` for bytes that do not follow the layout
   (random bytes raise nothing else: a hypothesis test says so).
2. The profile module, ``sensorlink/profiles/<vendor>.py``, with a profile object that has every attribute
   of `SensorProfile` (`posture_v1.py` is the worked example):

   - `kind` (the user-facing id, also the ``--adapter sim:KIND`` name), `name` (protocol and version, what a
     session file records; may equal `kind`), `display_name`;
   - `discovery` = `Discovery(service_uuids=..., name_prefixes=..., company_ids=...)` and
     ``recognises = discovery.matches``; `advertised()` returns the name and, if the advertisement says it,
     battery and version (else ``None``);
   - `capabilities` = `Capabilities(rates, acc ranges, gyr ranges or () for accelerometer-only)`;
     `default_settings` the highest IMU rate the device streams well; the session's `prepare` starts with
     ``capabilities.check(requested, display_name)`` (one `InvalidConfiguration` line listing what it offers);
   - `timing` = `SampleTiming(clock="device" | "host", loss_checkable=..., description=...)` and `counters`
     (`PacketCounters`: the wrap of its counter and of its clock in microseconds; any values >= 2 if it
     has neither);
   - `requires_bonding`: True only if the device refuses to stream without LE pairing;
   - `session(client, command_timeout_s=, on_status=)`: a `ProfileSession`. `check_device` reads and checks
     what identifies the device (``standard_gatt.require_services``, ``read_firmware_revision``) and raises
     `UnsupportedFirmware` / `InvalidConfiguration`; `prepare` configures (nothing is written when
     ``resume``); `start` returns `StartInfo` (``resumed=False`` for devices that restart their stream
     after a reconnect, which is every vendor device we know; ``samples_per_packet`` as `prepare` returned
     it, or the link starts a fresh decoding and drops what the first one buffered); `time_sync`
     returns None unless the device answers a time request; `read_battery_pct` uses
     ``standard_gatt.read_standard_battery_pct`` where the device has the Battery Service (and
     ``subscribe_standard_battery`` in `prepare` if it notifies);
   - `decoding(settings)`: a fresh `PacketDecoding` whose ``decode(data, host_ns)`` returns a sequence of
     `DecodedPacket` (empty while it buffers). Set ``sensor_time_us`` to the device clock of the FIRST
     sample (convert a last-sample timestamp: ``last - (n - 1) * period``) and leave ``seq`` None if the
     device numbers nothing: the link then counts loss from gaps in sample time. Without any device clock,
     time the samples with ``sensorlink.host_clock.HostSampleClock`` (one per stream, made in the
     decoding): ``clock.push(host_ns, n, payload)`` returns the packets whose times are final (it looks
     a fraction of a second ahead to tell lost packets from late ones), each with ``t_s`` and
     ``samples_lost_before`` for ``host_time_s`` and ``samples_lost_before``. Accelerometer and gyroscope
     in separate notifications are merged inside the decoding (buffer one until the other arrives; emit
     only whole 6-axis samples); ``gyr_dps=None`` for an accelerometer-only device. Deterministic: no
     wall clock, no randomness, only its inputs.
3. One line in `PROFILES` below, one row in docs/sensors.md, and one line in
   `sensorlink.simsensor.kinds.SIMULATED_KINDS` for its simulated peripheral (a subclass of
   `sensorlink.simsensor.vendor.VendorPeripheral`; its docstring states the contract).
4. Tests in ``tests/sensorlink/test_<vendor>.py``: golden vectors from the vendor's documents, codec round
   trips and random bytes, and a stream over the virtual link (``tests/sensorlink/test_profile_interface.py``
   shows the checks: every sample once and in order where checkable, loss counted, bad settings one line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensorlink.errors import UnknownProfile
from sensorlink.profile import SensorProfile
from sensorlink.profiles.metawear import METAMOTION
from sensorlink.profiles.movesense import MOVESENSE
from sensorlink.profiles.polar_pmd import POLAR_H10, POLAR_VERITY_SENSE
from sensorlink.profiles.posture_v1 import POSTURE_V1, STREAMING_CONFIG, PostureSensorV1, PostureV1Session
from sensorlink.profiles.witmotion import WITMOTION

if TYPE_CHECKING:
    from bleak.backends.scanner import AdvertisementData

__all__ = [
    "POSTURE_V1",
    "PROFILES",
    "STREAMING_CONFIG",
    "PostureSensorV1",
    "PostureV1Session",
    "profile_by_kind",
    "profile_by_name",
    "profile_for_advertisement",
    "profile_kinds",
]

PROFILES: tuple[SensorProfile, ...] = (
    POSTURE_V1,
    MOVESENSE,
    POLAR_VERITY_SENSE,
    POLAR_H10,
    METAMOTION,
    WITMOTION,
)
"""Every profile this version knows, in the order a scan tries them (one line per vendor profile)."""


def profile_kinds() -> tuple[str, ...]:
    """The user-facing kinds of every known profile, in registry order (a kind may have one profile)."""
    return tuple(dict.fromkeys(p.kind for p in PROFILES))


def profile_by_name(name: str) -> SensorProfile:
    """The profile whose protocol `name` (what a session file records) or `kind` this is.

    Raises
    ------
    UnknownProfile
        This version has none by that name (the message lists the known ones).
    """
    for profile in PROFILES:
        if profile.name == name:
            return profile
    for profile in PROFILES:
        if profile.kind == name:
            return profile
    raise UnknownProfile(name, tuple(p.name for p in PROFILES))


def profile_by_kind(kind: str) -> SensorProfile:
    """The profile of a user-facing kind (`posture`, `polar-h10`, ...); `UnknownProfile` if none."""
    for profile in PROFILES:
        if profile.kind == kind:
            return profile
    raise UnknownProfile(kind, profile_kinds())


def profile_for_advertisement(advertisement: AdvertisementData) -> SensorProfile | None:
    """The first profile that recognises the advertisement, or None for a device of no known kind."""
    for profile in PROFILES:
        if profile.recognises(advertisement):
            return profile
    return None
