"""Bytes <-> types for the posture sensor, protocol version 1 (firmware_specs/posture_sensor_v1.md).

One class per value on the air, each with `from_bytes` and `__bytes__`, used by both the receiving link and
the simulated sensor so that encoder and decoder cannot drift apart (bumble's packet classes work the same
way). Every size, opcode and flag bit comes from `firmware_specs.load_profile()`; nothing here is typed twice.

This module is pure: no bleak, no bumble, no I/O, no logging. Bad bytes raise `MalformedPacket` (a
`ValueError`), and nothing else, so a receiver can count and skip them.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from firmware_specs import SensorProfile, load_profile
from sensorlink.errors import InvalidConfiguration, MalformedPacket, UnsupportedFirmware
from sensorlink.profile import AdvertisedSensor, StartInfo, StreamSettings

__all__ = [
    "DEFAULT_CONFIG",
    "PROFILE",
    "RAW_DTYPE",
    "AdvertisementInfo",
    "ControlOpcode",
    "ControlRequest",
    "ControlResponse",
    "ControlResult",
    "FirmwareVersion",
    "ImuPacket",
    "SensorConfig",
    "StartInfo",
    "StatusReport",
    "check_firmware_revision",
    "check_protocol_major",
    "encode_samples",
    "local_name_for",
    "packet_distance",
    "packets_since",
    "signed_wrap",
]

PROFILE: SensorProfile = load_profile()
"""The version-1 profile every value below is encoded with."""

RAW_DTYPE = np.dtype(PROFILE.imu_packet.axis_format)
"""Raw sensor counts on the air: little-endian int16."""

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

_PKT = PROFILE.imu_packet
_CFG = PROFILE.configuration
_CTL = PROFILE.control
_STS = PROFILE.status
_ADV = PROFILE.advertising

# Layouts from the profile; the field order each one unpacks to is the spec's (see the TOML comments).
_HEADER = struct.Struct(_PKT.header_format)  # seq, sensor_time_us, sample_count, flags
_CONFIG = struct.Struct(_CFG.format)  # sample_rate_hz, acc_range_g, gyr_range_dps, samples_per_packet
_STATUS = struct.Struct(_STS.format)  # battery_pct, flags
_ADV_DATA = struct.Struct(_ADV.manufacturer_data_format)  # protocol_major, battery_pct, flags
_IDENTIFY_PAYLOAD = struct.Struct(_CTL.identify_request_format)  # duration_s
_START_PAYLOAD = struct.Struct(
    _CTL.start_response_format
)  # next_seq, sensor_time_us, resumed, samples/packet
_TIME_SYNC_PAYLOAD = struct.Struct(_CTL.time_sync_response_format)  # sensor_time_us at receipt
_INT16_MIN, _INT16_MAX = int(np.iinfo(RAW_DTYPE).min), int(np.iinfo(RAW_DTYPE).max)


def _check_uint(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be an unsigned {bits}-bit integer, got {value}")


# --- configuration ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorConfig(StreamSettings):
    """Sampling settings of the sensor (the Configuration characteristic): `StreamSettings` as spec v1 allows.

    Attributes
    ----------
    sample_rate_hz : int
        Output data rate of accelerometer and gyroscope, one of the profile's `sample_rates_hz`.
    acc_range_g : int
        Accelerometer full-scale range, +-g.
    gyr_range_dps : int
        Gyroscope full-scale range, +-deg/s.
    samples_per_packet : int
        Samples per IMU notification; must also fit the link's ATT MTU (`max_samples_per_packet`).
    """

    sample_rate_hz: int = _CFG.default_sample_rate_hz
    acc_range_g: int = _CFG.default_acc_range_g
    gyr_range_dps: int = _CFG.default_gyr_range_dps
    samples_per_packet: int = _CFG.default_samples_per_packet

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in _CFG.sample_rates_hz:
            raise InvalidConfiguration(
                f"sample_rate_hz {self.sample_rate_hz} is not supported; "
                f"choose one of {list(_CFG.sample_rates_hz)}"
            )
        if self.acc_range_g not in _CFG.acc_ranges_g:
            raise InvalidConfiguration(
                f"acc_range_g {self.acc_range_g} is not supported; choose one of {list(_CFG.acc_ranges_g)}"
            )
        if self.gyr_range_dps not in _CFG.gyr_ranges_dps:
            raise InvalidConfiguration(
                f"gyr_range_dps {self.gyr_range_dps} is not supported; "
                f"choose one of {list(_CFG.gyr_ranges_dps)}"
            )
        if not _CFG.min_samples_per_packet <= self.samples_per_packet <= _CFG.max_samples_per_packet:
            raise InvalidConfiguration(
                f"samples_per_packet {self.samples_per_packet} is outside "
                f"[{_CFG.min_samples_per_packet}, {_CFG.max_samples_per_packet}]"
            )

    @classmethod
    def from_bytes(cls, data: bytes) -> SensorConfig:
        """Decode: wrong length -> `MalformedPacket`, bad value -> `InvalidConfiguration`."""
        if len(data) != _CONFIG.size:
            raise MalformedPacket("configuration", f"expected {_CONFIG.size} bytes", length=len(data))
        rate, acc, gyr, spp = _CONFIG.unpack(data)
        return cls(sample_rate_hz=rate, acc_range_g=acc, gyr_range_dps=gyr, samples_per_packet=spp)

    def __bytes__(self) -> bytes:
        return _CONFIG.pack(
            self.sample_rate_hz, self.acc_range_g, self.gyr_range_dps, self.samples_per_packet
        )

    @property
    def acc_mps2_per_lsb(self) -> float:
        """Accelerometer scale: m/s^2 per count (range in g x standard gravity / 32768)."""
        return self.acc_range_g * PROFILE.scale.standard_gravity_mps2 / PROFILE.scale.counts_full_scale

    @property
    def gyr_dps_per_lsb(self) -> float:
        """Gyroscope scale: deg/s per count (range / 32768)."""
        return self.gyr_range_dps / PROFILE.scale.counts_full_scale

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> SensorConfig:
        """The same settings, checked against the spec (`InvalidConfiguration` if it does not allow them)."""
        if isinstance(settings, SensorConfig):
            return settings
        return cls(
            settings.sample_rate_hz, settings.acc_range_g, settings.gyr_range_dps, settings.samples_per_packet
        )

    @staticmethod
    def max_samples_per_packet(mtu: int) -> int:
        """Most samples one notification carries at this ATT MTU: 8 + 12 n <= MTU - 3 (19 at 247, 1 at 23)."""
        return PROFILE.max_samples_for_mtu(mtu)

    def fitted_to_mtu(self, mtu: int) -> SensorConfig:
        """This configuration with `samples_per_packet` lowered, if needed, to fit the ATT MTU."""
        limit = self.max_samples_per_packet(mtu)
        if limit < _CFG.min_samples_per_packet:
            raise InvalidConfiguration(f"ATT MTU {mtu} is too small to carry even one sample")
        if self.samples_per_packet <= limit:
            return self
        return SensorConfig(self.sample_rate_hz, self.acc_range_g, self.gyr_range_dps, limit)


DEFAULT_CONFIG = SensorConfig()
"""What a sensor powers up with: 208 Hz, +-16 g, +-1000 deg/s, 8 samples per packet."""


# --- IMU data -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ImuPacket:
    """One IMU data notification: a header and `sample_count` samples of raw counts.

    Attributes
    ----------
    seq : int
        Packet counter, u16, wraps at 65536; increments for every packet the sensor produces, sent or not.
    sensor_time_us : int
        Sensor clock at the first sample of the packet, microseconds, u32, wraps at 2^32.
    flags : int
        Packet flag bits (`FLAG_*`): saturation and session start.
    raw : (n, 6) int16 array
        acc x, y, z then gyr x, y, z in counts; read-only.
    """

    seq: int
    sensor_time_us: int
    flags: int
    raw: Int16Array = field(repr=False)

    FLAG_ACC_SATURATED: ClassVar[int] = _PKT.flag_acc_saturated
    FLAG_GYR_SATURATED: ClassVar[int] = _PKT.flag_gyr_saturated
    FLAG_SESSION_START: ClassVar[int] = _PKT.flag_session_start

    def __post_init__(self) -> None:
        _check_uint("seq", self.seq, 16)
        _check_uint("sensor_time_us", self.sensor_time_us, 32)
        _check_uint("flags", self.flags, 8)
        raw = self.raw
        if not isinstance(raw, np.ndarray) or raw.dtype != np.int16:
            raise TypeError(
                "raw must be an int16 numpy array (use encode_samples to quantise physical values)"
            )
        if raw.ndim != 2 or raw.shape[1] != _PKT.axes_per_sample or not 1 <= raw.shape[0] <= 255:
            raise ValueError(
                f"raw must have shape (n, {_PKT.axes_per_sample}) with 1 <= n <= 255, got {raw.shape}"
            )
        if raw.flags.writeable:
            raw = raw.copy()
            raw.flags.writeable = False
            object.__setattr__(self, "raw", raw)

    @property
    def sample_count(self) -> int:
        return int(self.raw.shape[0])

    @classmethod
    def from_bytes(cls, data: bytes) -> ImuPacket:
        """Decode one notification; too short or a length not matching sample_count -> `MalformedPacket`."""
        data = bytes(data)
        length = len(data)
        if length < _PKT.header_size:
            raise MalformedPacket(
                "imu packet", f"shorter than the {_PKT.header_size}-byte header", length=length
            )
        seq, sensor_time_us, count, flags = _HEADER.unpack_from(data)
        expected = _PKT.header_size + count * _PKT.sample_size
        if count == 0 or length != expected:
            raise MalformedPacket(
                "imu packet", f"sample_count {count} needs {expected} bytes", length=length, seq=seq
            )
        raw = np.frombuffer(data, dtype=RAW_DTYPE, offset=_PKT.header_size).reshape(
            count, _PKT.axes_per_sample
        )
        return cls(seq, sensor_time_us, flags, raw.astype(np.int16, copy=False))

    def __bytes__(self) -> bytes:
        header = _HEADER.pack(self.seq, self.sensor_time_us, self.sample_count, self.flags)
        return header + self.raw.astype(RAW_DTYPE, copy=False).tobytes()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImuPacket):
            return NotImplemented
        return (
            self.seq == other.seq
            and self.sensor_time_us == other.sensor_time_us
            and self.flags == other.flags
            and np.array_equal(self.raw, other.raw)
        )

    __hash__ = None  # type: ignore[assignment]  # holds an array: not hashable, like numpy arrays themselves

    def decode(self, config: SensorConfig) -> tuple[FloatArray, FloatArray]:
        """Physical values of the samples under the configuration they were taken with.

        Returns
        -------
        acc_mps2 : (n, 3) array, m/s^2
            Specific force, gravity included.
        gyr_dps : (n, 3) array, deg/s
        """
        # int16 x Python float promotes to float64 in one pass (no intermediate float copy of raw).
        acc: FloatArray = np.multiply(self.raw[:, :3], config.acc_mps2_per_lsb, dtype=np.float64)
        gyr: FloatArray = np.multiply(self.raw[:, 3:], config.gyr_dps_per_lsb, dtype=np.float64)
        return acc, gyr

    def sample_times_us(self, config: SensorConfig) -> FloatArray:
        """Sensor-clock time of each sample, microseconds, unwrapped from this packet's `sensor_time_us`."""
        offsets_us = np.arange(self.sample_count, dtype=np.float64) * config.sample_period_us
        times_us: FloatArray = offsets_us + float(self.sensor_time_us)
        return times_us


def encode_samples(acc_mps2: FloatArray, gyr_dps: FloatArray, config: SensorConfig) -> tuple[Int16Array, int]:
    """Quantise physical samples to raw counts, as the sensor's IMU does.

    Rounds to the nearest count and saturates to the int16 range, like a real IMU clipping at full scale.

    Parameters
    ----------
    acc_mps2 : (n, 3) array, m/s^2
    gyr_dps : (n, 3) array, deg/s
    config : SensorConfig
        Provides the full-scale ranges.

    Returns
    -------
    raw : (n, 6) int16 array
        Counts in packet order (acc x, y, z, gyr x, y, z).
    flags : int
        `ImuPacket.FLAG_ACC_SATURATED` / `FLAG_GYR_SATURATED` if any value was clipped.
    """
    acc = np.asarray(acc_mps2, dtype=np.float64)
    gyr = np.asarray(gyr_dps, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise ValueError(f"acc_mps2 and gyr_dps must both have shape (n, 3), got {acc.shape} and {gyr.shape}")
    if not (np.isfinite(acc).all() and np.isfinite(gyr).all()):
        raise ValueError("acc_mps2 and gyr_dps must be finite")
    counts = np.empty((acc.shape[0], 6), dtype=np.float64)
    np.rint(acc / config.acc_mps2_per_lsb, out=counts[:, :3])
    np.rint(gyr / config.gyr_dps_per_lsb, out=counts[:, 3:])
    out_of_range = (counts < _INT16_MIN) | (counts > _INT16_MAX)
    flags = 0
    if out_of_range[:, :3].any():
        flags |= _PKT.flag_acc_saturated
    if out_of_range[:, 3:].any():
        flags |= _PKT.flag_gyr_saturated
    np.clip(counts, _INT16_MIN, _INT16_MAX, out=counts)
    return counts.astype(np.int16), flags


def packets_since(
    last_seq: int, last_sensor_time_us: int, seq: int, sensor_time_us: int, config: SensorConfig
) -> int:
    """How many packets after the last accepted one this packet is (spec section "Receiver rules").

    The u16 `seq` alone is ambiguous after a gap of 65536 packets or more (157 s at 416 Hz with one sample per
    packet), so the distance is unwrapped with the u32 sensor clock: of all values congruent to the seq
    difference modulo 65536, the one closest to the elapsed sensor time divided by the packet period.

    Returns
    -------
    int
        1 for the next packet in order; k > 1 means k - 1 packets (x samples_per_packet samples) were lost;
        0 is a duplicate; negative is a late (reordered) packet. The receiver drops 0 and negative.

    Notes
    -----
    Valid while the sensor clock moved less than half its wrap (2^31 us, about 35.8 minutes) between the two
    packets, and within one streaming session (a packet flagged session-start restarts tracking).
    """
    return packet_distance(
        last_seq, last_sensor_time_us, seq, sensor_time_us, packet_period_us=config.packet_period_s * 1e6
    )


def signed_wrap(delta: int, modulo: int) -> int:
    """A modular difference mapped to [-modulo/2, modulo/2)."""
    half = modulo // 2
    return (delta + half) % modulo - half


def packet_distance(
    last_seq: int,
    last_sensor_time_us: int,
    seq: int,
    sensor_time_us: int,
    *,
    packet_period_us: float | None,
    seq_modulo: int = _PKT.seq_modulo,
    sensor_time_modulo_us: int = _PKT.sensor_time_modulo,
) -> int:
    """`packets_since` for a known packet period; without one, the seq difference within half its range.

    The wrap-arounds default to this spec's (u16 seq, u32 microseconds); other profiles pass theirs.
    """
    d = (seq - last_seq) % seq_modulo
    if packet_period_us is None:
        return signed_wrap(d, seq_modulo)
    expected = signed_wrap(sensor_time_us - last_sensor_time_us, sensor_time_modulo_us) / packet_period_us
    return d + seq_modulo * round((expected - d) / seq_modulo)


# --- control point ------------------------------------------------------------------------------------------


class ControlOpcode(enum.IntEnum):
    """Control point opcodes (spec section "Control point")."""

    START = _CTL.opcode_start
    STOP = _CTL.opcode_stop
    TIME_SYNC = _CTL.opcode_time_sync
    IDENTIFY = _CTL.opcode_identify


class ControlResult(enum.IntEnum):
    """Result codes in a control point response."""

    SUCCESS = _CTL.result_success
    OPCODE_NOT_SUPPORTED = _CTL.result_opcode_not_supported
    INVALID_PARAMETER = _CTL.result_invalid_parameter
    INVALID_STATE = _CTL.result_invalid_state


_REQUEST_PAYLOAD_SIZE = {
    ControlOpcode.START: 0,
    ControlOpcode.STOP: 0,
    ControlOpcode.TIME_SYNC: 0,
    ControlOpcode.IDENTIFY: _IDENTIFY_PAYLOAD.size,
}
_RESPONSE_PAYLOAD_SIZE = {
    ControlOpcode.START: _START_PAYLOAD.size,
    ControlOpcode.STOP: 0,
    ControlOpcode.TIME_SYNC: _TIME_SYNC_PAYLOAD.size,
    ControlOpcode.IDENTIFY: 0,
}


def _opcode(value: int, kind: str, length: int) -> ControlOpcode:
    try:
        return ControlOpcode(value)
    except ValueError:
        raise MalformedPacket(kind, f"unknown opcode 0x{value:02x}", length=length) from None


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A write to the control point: u8 opcode, then its payload."""

    opcode: ControlOpcode
    payload: bytes = b""

    def __post_init__(self) -> None:
        size = _REQUEST_PAYLOAD_SIZE[ControlOpcode(self.opcode)]
        if len(self.payload) != size:
            raise ValueError(
                f"{ControlOpcode(self.opcode).name} takes a {size}-byte payload, got {len(self.payload)}"
            )

    @classmethod
    def start(cls) -> ControlRequest:
        return cls(ControlOpcode.START)

    @classmethod
    def stop(cls) -> ControlRequest:
        return cls(ControlOpcode.STOP)

    @classmethod
    def time_sync(cls) -> ControlRequest:
        return cls(ControlOpcode.TIME_SYNC)

    @classmethod
    def identify(cls, duration_s: int = 3) -> ControlRequest:
        _check_uint("duration_s", duration_s, 8)
        return cls(ControlOpcode.IDENTIFY, _IDENTIFY_PAYLOAD.pack(duration_s))

    @property
    def identify_duration_s(self) -> int:
        """Blink duration of an IDENTIFY request, seconds."""
        if self.opcode != ControlOpcode.IDENTIFY:
            raise ValueError(f"{self.opcode.name} has no duration")
        return int(_IDENTIFY_PAYLOAD.unpack(self.payload)[0])

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlRequest:
        data = bytes(data)
        if not data:
            raise MalformedPacket("control request", "empty", length=0)
        opcode = _opcode(data[0], "control request", len(data))
        if len(data) - 1 != _REQUEST_PAYLOAD_SIZE[opcode]:
            raise MalformedPacket(
                "control request",
                f"{opcode.name} takes {_REQUEST_PAYLOAD_SIZE[opcode]} payload bytes",
                length=len(data),
            )
        return cls(opcode, data[1:])

    def __bytes__(self) -> bytes:
        return bytes([self.opcode]) + self.payload


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """The control point indication: u8 0x80, u8 request opcode, u8 result, then a payload on success."""

    opcode: ControlOpcode
    result: ControlResult
    payload: bytes = b""

    def __post_init__(self) -> None:
        expected = _RESPONSE_PAYLOAD_SIZE[self.opcode] if self.result == ControlResult.SUCCESS else 0
        if len(self.payload) != expected:
            raise ValueError(
                f"{self.opcode.name} {self.result.name} response takes {expected} payload bytes, "
                f"got {len(self.payload)}"
            )

    @classmethod
    def start_success(
        cls, next_seq: int, sensor_time_us: int, *, resumed: bool, samples_per_packet: int
    ) -> ControlResponse:
        payload = _START_PAYLOAD.pack(next_seq, sensor_time_us, int(resumed), samples_per_packet)
        return cls(ControlOpcode.START, ControlResult.SUCCESS, payload)

    @classmethod
    def time_sync_success(cls, sensor_time_us: int) -> ControlResponse:
        return cls(ControlOpcode.TIME_SYNC, ControlResult.SUCCESS, _TIME_SYNC_PAYLOAD.pack(sensor_time_us))

    @property
    def ok(self) -> bool:
        return self.result == ControlResult.SUCCESS

    def start_info(self) -> StartInfo:
        """The payload of a successful START response."""
        if self.opcode != ControlOpcode.START or not self.ok:
            raise ValueError(f"not a successful START response: {self}")
        next_seq, sensor_time_us, resumed, samples_per_packet = _START_PAYLOAD.unpack(self.payload)
        return StartInfo(next_seq, sensor_time_us, bool(resumed), samples_per_packet)

    def time_sync_sensor_time_us(self) -> int:
        """Sensor clock when the TIME_SYNC request arrived, microseconds (u32)."""
        if self.opcode != ControlOpcode.TIME_SYNC or not self.ok:
            raise ValueError(f"not a successful TIME_SYNC response: {self}")
        return int(_TIME_SYNC_PAYLOAD.unpack(self.payload)[0])

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlResponse:
        data = bytes(data)
        kind = "control response"
        if len(data) < 3 or data[0] != _CTL.response_code:
            raise MalformedPacket(
                kind, f"must start with 0x{_CTL.response_code:02x}, opcode, result", length=len(data)
            )
        opcode = _opcode(data[1], kind, len(data))
        try:
            result = ControlResult(data[2])
        except ValueError:
            raise MalformedPacket(kind, f"unknown result 0x{data[2]:02x}", length=len(data)) from None
        expected = _RESPONSE_PAYLOAD_SIZE[opcode] if result == ControlResult.SUCCESS else 0
        if len(data) - 3 != expected:
            raise MalformedPacket(
                kind, f"{opcode.name} {result.name} takes {expected} payload bytes", length=len(data)
            )
        return cls(opcode, result, data[3:])

    def __bytes__(self) -> bytes:
        return bytes([_CTL.response_code, self.opcode, self.result]) + self.payload


# --- status and advertising ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The Status characteristic: battery level and condition flags."""

    battery_pct: int
    flags: int = 0

    FLAG_BUFFER_OVERFLOW: ClassVar[int] = _STS.flag_buffer_overflow
    FLAG_SENSOR_FAULT: ClassVar[int] = _STS.flag_sensor_fault
    FLAG_LOW_BATTERY: ClassVar[int] = _STS.flag_low_battery
    FLAG_STREAMING: ClassVar[int] = _STS.flag_streaming

    def __post_init__(self) -> None:
        if not 0 <= self.battery_pct <= 100:
            raise ValueError(f"battery_pct must be within 0..100, got {self.battery_pct}")
        _check_uint("flags", self.flags, 8)

    @property
    def buffer_overflow(self) -> bool:
        return bool(self.flags & _STS.flag_buffer_overflow)

    @property
    def sensor_fault(self) -> bool:
        return bool(self.flags & _STS.flag_sensor_fault)

    @property
    def low_battery(self) -> bool:
        return bool(self.flags & _STS.flag_low_battery)

    @property
    def streaming(self) -> bool:
        return bool(self.flags & _STS.flag_streaming)

    @classmethod
    def from_bytes(cls, data: bytes) -> StatusReport:
        if len(data) != _STATUS.size:
            raise MalformedPacket("status", f"expected {_STATUS.size} bytes", length=len(data))
        battery_pct, flags = _STATUS.unpack(bytes(data))
        if battery_pct > 100:
            raise MalformedPacket("status", f"battery {battery_pct} % is above 100", length=len(data))
        return cls(battery_pct, flags)

    def __bytes__(self) -> bytes:
        return _STATUS.pack(self.battery_pct, self.flags)


@dataclass(frozen=True, slots=True)
class AdvertisementInfo:
    """Manufacturer-specific advertising data (after the company id): protocol major, battery, flags.

    Lets a scanner show battery and pairing mode, and refuse an incompatible sensor, before connecting.
    """

    protocol_major: int
    battery_pct: int
    flags: int = 0

    COMPANY_ID: ClassVar[int] = _ADV.company_id
    FLAG_PAIRING_MODE: ClassVar[int] = _ADV.flag_pairing_mode

    def __post_init__(self) -> None:
        _check_uint("protocol_major", self.protocol_major, 8)
        if not 0 <= self.battery_pct <= 100:
            raise ValueError(f"battery_pct must be within 0..100, got {self.battery_pct}")
        _check_uint("flags", self.flags, 8)

    @property
    def pairing_mode(self) -> bool:
        return bool(self.flags & _ADV.flag_pairing_mode)

    @classmethod
    def from_bytes(cls, data: bytes) -> AdvertisementInfo:
        """Decode the manufacturer data payload (bleak's `manufacturer_data[0xFFFF]`, no company id)."""
        if len(data) != _ADV_DATA.size:
            raise MalformedPacket("advertisement", f"expected {_ADV_DATA.size} bytes", length=len(data))
        major, battery_pct, flags = _ADV_DATA.unpack(bytes(data))
        if battery_pct > 100:
            raise MalformedPacket("advertisement", f"battery {battery_pct} % is above 100", length=len(data))
        return cls(major, battery_pct, flags)

    def __bytes__(self) -> bytes:
        return _ADV_DATA.pack(self.protocol_major, self.battery_pct, self.flags)

    @classmethod
    def from_manufacturer_data(cls, manufacturer_data: dict[int, bytes]) -> AdvertisementInfo | None:
        """Our entry of a scanner's company-id -> payload map; None if the device is not a posture sensor."""
        payload = manufacturer_data.get(_ADV.company_id)
        return None if payload is None else cls.from_bytes(payload)

    def to_manufacturer_data(self) -> bytes:
        """The full AD structure payload: little-endian company id, then `bytes(self)`."""
        return struct.pack("<H", _ADV.company_id) + bytes(self)


def local_name_for(address: str) -> str:
    """Advertised name of a sensor: the profile prefix and the last two bytes of its address as 4 hex digits.

    "C4:5E:00:00:12:AB" -> "PostureSensor-12AB" (lets a runner tell two sensors apart in `posture scan`).
    """
    octets = address.split(":")
    if len(octets) != 6 or not all(len(o) == 2 for o in octets):
        raise ValueError(f"address must look like 'C4:5E:00:00:12:AB', got {address!r}")
    return f"{_ADV.local_name_prefix}{octets[4].upper()}{octets[5].upper()}"


# --- firmware version ---------------------------------------------------------------------------------------

_REVISION = re.compile(r"^\s*(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True, order=True)
class FirmwareVersion:
    """A firmware revision "MAJOR.MINOR.PATCH"; MAJOR is the protocol major version."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, revision: str) -> FirmwareVersion | None:
        match = _REVISION.match(revision)
        if match is None:
            return None
        return cls(*(int(g) for g in match.groups()))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def check_firmware_revision(revision: str) -> FirmwareVersion:
    """Parse the Device Information firmware revision and refuse a protocol major version we do not speak.

    Raises
    ------
    UnsupportedFirmware
        With a message telling the user to update posture (newer sensor) or the sensor (older or unparseable).
    """
    version = FirmwareVersion.parse(revision)
    supported = PROFILE.protocol.major
    if version is None:
        raise UnsupportedFirmware(revision, supported, reported_major=None)
    if version.major != supported:
        raise UnsupportedFirmware(revision, supported, reported_major=version.major)
    return version


def check_protocol_major(advertisement: AdvertisementInfo | AdvertisedSensor) -> None:
    """Refuse a sensor whose advertisement announces another protocol major version (before connecting).

    Takes the raw manufacturer data or what the profile read from it (`FoundSensor.info`); a sensor that
    announces no version is not refused here (its firmware revision is checked on connecting).
    """
    if advertisement.protocol_major is not None and advertisement.protocol_major != PROFILE.protocol.major:
        raise UnsupportedFirmware(
            f"with protocol {advertisement.protocol_major}",
            PROFILE.protocol.major,
            reported_major=advertisement.protocol_major,
        )
