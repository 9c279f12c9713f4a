"""The sensor's BLE profile and packet format: the single source of truth for decoder and simulated sensor.

`load_profile()` reads `posture_sensor_v1.toml` (the machine-readable half of `posture_sensor_v1.md`) into
typed, frozen dataclasses. Nothing else parses that file: `sensorlink.protocol` (bytes <-> types) and
`sensorlink.simsensor` (the simulated peripheral) take every UUID, size, opcode and flag bit from here, so the
two sides cannot drift apart.
"""

from __future__ import annotations

import functools
import struct
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

__all__ = [
    "PROFILE_FILE",
    "AdvertisingSpec",
    "AttErrorSpec",
    "ConfigurationSpec",
    "ControlSpec",
    "DeviceInformationSpec",
    "GattSpec",
    "ImuPacketSpec",
    "ProfileError",
    "ProtocolSpec",
    "ScaleSpec",
    "SecuritySpec",
    "SensorProfile",
    "StatusSpec",
    "load_profile",
    "parse_profile",
]

PROFILE_FILE = "posture_sensor_v1.toml"

_T = TypeVar("_T")


class ProfileError(ValueError):
    """The profile file is missing a key or holds an inconsistent value (a packaging or editing mistake)."""


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """Protocol version: a client supports exactly one major version; minor versions only add."""

    major: int
    minor: int
    firmware_revision: str


@dataclass(frozen=True, slots=True)
class AdvertisingSpec:
    """What the sensor puts in its advertisements (spec section "Advertising")."""

    local_name_prefix: str
    company_id: int
    manufacturer_data_format: str
    interval_ms: int
    flag_pairing_mode: int

    @property
    def manufacturer_data_size(self) -> int:
        return struct.calcsize(self.manufacturer_data_format)


@dataclass(frozen=True, slots=True)
class GattSpec:
    """UUIDs of the posture service and its characteristics, as lower-case 128-bit strings."""

    service_uuid: str
    imu_data_uuid: str
    configuration_uuid: str
    control_point_uuid: str
    status_uuid: str


@dataclass(frozen=True, slots=True)
class ImuPacketSpec:
    """Layout of one IMU data notification (spec section "IMU data")."""

    header_format: str
    axis_format: str
    axes_per_sample: int
    seq_modulo: int
    sensor_time_modulo: int
    att_overhead: int
    flag_acc_saturated: int
    flag_gyr_saturated: int
    flag_session_start: int

    @property
    def header_size(self) -> int:
        return struct.calcsize(self.header_format)

    @property
    def sample_size(self) -> int:
        return self.axes_per_sample * struct.calcsize(self.axis_format)


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """Counts to physical units: value = count * full-scale range / counts_full_scale."""

    standard_gravity_mps2: float
    counts_full_scale: int


@dataclass(frozen=True, slots=True)
class ConfigurationSpec:
    """Allowed settings and the defaults a sensor powers up with (spec section "Configuration")."""

    format: str
    sample_rates_hz: tuple[int, ...]
    acc_ranges_g: tuple[int, ...]
    gyr_ranges_dps: tuple[int, ...]
    min_samples_per_packet: int
    max_samples_per_packet: int
    default_sample_rate_hz: int
    default_acc_range_g: int
    default_gyr_range_dps: int
    default_samples_per_packet: int

    @property
    def size(self) -> int:
        return struct.calcsize(self.format)


@dataclass(frozen=True, slots=True)
class ControlSpec:
    """Control point opcodes and result codes (spec section "Control point")."""

    response_code: int
    opcode_start: int
    opcode_stop: int
    opcode_time_sync: int
    opcode_identify: int
    result_success: int
    result_opcode_not_supported: int
    result_invalid_parameter: int
    result_invalid_state: int
    identify_request_format: str
    start_response_format: str
    time_sync_response_format: str


@dataclass(frozen=True, slots=True)
class StatusSpec:
    """Status characteristic layout and flag bits (spec section "Status")."""

    format: str
    flag_buffer_overflow: int
    flag_sensor_fault: int
    flag_low_battery: int
    flag_streaming: int
    low_battery_pct: int

    @property
    def size(self) -> int:
        return struct.calcsize(self.format)


@dataclass(frozen=True, slots=True)
class AttErrorSpec:
    """ATT error codes the sensor answers with (spec section "Errors")."""

    invalid_attribute_length: int
    value_not_allowed: int
    busy_streaming: int
    cccd_improperly_configured: int


@dataclass(frozen=True, slots=True)
class DeviceInformationSpec:
    """Fixed strings of the standard Device Information service (0x180A)."""

    manufacturer_name: str
    model_number: str
    hardware_revision: str
    software_revision: str


@dataclass(frozen=True, slots=True)
class SecuritySpec:
    """Pairing: LE Secure Connections, Just Works, with bonding; posture data only on an encrypted link."""

    secure_connections: bool
    bonding: bool
    mitm: bool
    posture_requires_encryption: bool


@dataclass(frozen=True, slots=True)
class SensorProfile:
    """Everything a central or a peripheral needs to speak protocol version `protocol.major`."""

    protocol: ProtocolSpec
    advertising: AdvertisingSpec
    gatt: GattSpec
    imu_packet: ImuPacketSpec
    scale: ScaleSpec
    configuration: ConfigurationSpec
    control: ControlSpec
    status: StatusSpec
    att_errors: AttErrorSpec
    device_information: DeviceInformationSpec
    security: SecuritySpec

    def max_samples_for_mtu(self, mtu: int) -> int:
        """Largest sample count whose packet fits one notification at this ATT MTU (0 if none fits).

        header + sample_size * n <= mtu - att_overhead, capped at the configuration's maximum.
        """
        room = mtu - self.imu_packet.att_overhead - self.imu_packet.header_size
        return max(0, min(room // self.imu_packet.sample_size, self.configuration.max_samples_per_packet))


def _section(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    if not isinstance(value, Mapping):
        raise ProfileError(f"profile section [{name}] is missing")
    return value


def _build(cls: type[_T], raw: Mapping[str, Any], section: str) -> _T:
    """Fill dataclass `cls` from one TOML section, field by field, failing on missing or extra keys."""
    values = dict(_section(raw, section))
    wanted = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    missing = wanted - set(values)
    extra = set(values) - wanted
    if missing or extra:
        raise ProfileError(
            f"profile section [{section}]: missing keys {sorted(missing)}, unknown {sorted(extra)}"
        )
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**converted)


def parse_profile(text: str) -> SensorProfile:
    """Parse profile TOML text into a `SensorProfile` and check that its parts agree with each other."""
    raw = tomllib.loads(text)
    profile = SensorProfile(
        protocol=_build(ProtocolSpec, raw, "protocol"),
        advertising=_build(AdvertisingSpec, raw, "advertising"),
        gatt=GattSpec(
            service_uuid=str(_section(raw, "service")["uuid"]).lower(),
            imu_data_uuid=str(_section(raw, "characteristics")["imu_data"]).lower(),
            configuration_uuid=str(_section(raw, "characteristics")["configuration"]).lower(),
            control_point_uuid=str(_section(raw, "characteristics")["control_point"]).lower(),
            status_uuid=str(_section(raw, "characteristics")["status"]).lower(),
        ),
        imu_packet=_build(ImuPacketSpec, raw, "imu_packet"),
        scale=_build(ScaleSpec, raw, "scale"),
        configuration=_build(ConfigurationSpec, raw, "configuration"),
        control=_build(ControlSpec, raw, "control"),
        status=_build(StatusSpec, raw, "status"),
        att_errors=_build(AttErrorSpec, raw, "att_errors"),
        device_information=_build(DeviceInformationSpec, raw, "device_information"),
        security=_build(SecuritySpec, raw, "security"),
    )
    _check_consistency(profile)
    return profile


def _formats(profile: SensorProfile) -> list[tuple[str, str]]:
    return [
        ("advertising.manufacturer_data_format", profile.advertising.manufacturer_data_format),
        ("imu_packet.header_format", profile.imu_packet.header_format),
        ("imu_packet.axis_format", profile.imu_packet.axis_format),
        ("configuration.format", profile.configuration.format),
        ("control.identify_request_format", profile.control.identify_request_format),
        ("control.start_response_format", profile.control.start_response_format),
        ("control.time_sync_response_format", profile.control.time_sync_response_format),
        ("status.format", profile.status.format),
    ]


def _check_consistency(profile: SensorProfile) -> None:
    pkt = profile.imu_packet
    cfg = profile.configuration
    for name, fmt in _formats(profile):
        try:
            struct.calcsize(fmt)
        except struct.error as exc:
            raise ProfileError(f"{name} = {fmt!r} is not a struct format: {exc}") from None
        if not fmt.startswith("<"):
            raise ProfileError(f"{name} must be little-endian ('<'), as every BLE field")
    if pkt.axis_format != "<h":
        raise ProfileError("imu_packet.axis_format must be '<h' (int16 counts)")
    if not profile.protocol.firmware_revision.startswith(f"{profile.protocol.major}."):
        raise ProfileError("protocol.firmware_revision must start with the protocol major version")
    if cfg.default_sample_rate_hz not in cfg.sample_rates_hz:
        raise ProfileError("configuration.default_sample_rate_hz is not an allowed rate")
    if cfg.default_acc_range_g not in cfg.acc_ranges_g or cfg.default_gyr_range_dps not in cfg.gyr_ranges_dps:
        raise ProfileError("configuration default ranges must be among the allowed ranges")
    if not cfg.min_samples_per_packet <= cfg.default_samples_per_packet <= cfg.max_samples_per_packet:
        raise ProfileError("configuration.default_samples_per_packet is outside [min, max]")
    uuids = [getattr(profile.gatt, name) for name in GattSpec.__dataclass_fields__]
    if len(set(uuids)) != len(uuids):
        raise ProfileError("service and characteristic UUIDs must all differ")


@functools.cache
def load_profile() -> SensorProfile:
    """The version-1 sensor profile shipped with the package (parsed once, then cached)."""
    text = resources.files(__package__).joinpath(PROFILE_FILE).read_text(encoding="utf-8")
    return parse_profile(text)
