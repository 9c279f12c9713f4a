"""Bytes <-> types for the MetaWear command protocol (MbientLab MetaMotionS, MetaMotionRL): IMU streaming.

Every MetaWear message is `[module id, register id, payload...]`: commands are written (without response) to
one characteristic, answers and data arrive as notifications on another. Bit 7 of the register id (0x80)
marks a read and its answer; register 0x00 read is a module's info (implementation id, revision). One class
per message, each with `from_bytes` and `__bytes__`, used by the client profile (`metawear.py`) and the
simulated board (`sensorlink.simsensor.sim_metawear`) alike, so that encoder and decoder cannot drift apart.

Facts, not code, from MbientLab's published sources (docs/sensors.md lists them):

- MetaWear-SDK-Cpp: module ids (`src/metawear/core/module.h`), register ids
  (`src/metawear/sensor/cpp/accelerometer_bosch_register.h`, `gyro_bosch_register.h`,
  `src/metawear/core/cpp/settings_register.h`), the BMI160/BMI270 implementation ids, ODR/range bit fields
  and scale factors (`accelerometer_bosch.cpp`, `gyro_bosch.cpp`), the GATT UUIDs
  (`src/metawear/impl/cpp/metawearboard.cpp`); its unit tests (`test/test_accelerometer_bmi160.py`,
  `test_accelerometer_bmi270.py`, `test_gyro_bmi160.py`, `test_settings.py`, `common.py`) give the golden
  vectors of tests/sensorlink/test_metawear_protocol.py.
- docs.mbientlab.com/protocol-reference: the packet header, write-without-response for every command but
  macros, "an absent module answers its info read with the two header bytes only".

Streaming data carry no counter and no clock: an unpacked notification is one sample of one sensor (x, y, z
int16 little endian), a packed one three consecutive samples. Accelerometer and gyroscope notify separately.

This module is pure (numpy only): bad bytes raise `MalformedPacket`, bad values `InvalidConfiguration`, and
nothing else.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.errors import InvalidConfiguration, MalformedPacket

__all__ = [
    "ACC_LSB_PER_G",
    "ACC_ODR_HZ",
    "COMMAND_UUID",
    "GYRO_LSB_PER_DPS",
    "GYRO_ODR_HZ",
    "NOTIFY_UUID",
    "PACKED_SAMPLES",
    "SERVICE_UUID",
    "AccConfig",
    "BatteryRead",
    "BatteryState",
    "Chip",
    "Command",
    "ConfigRead",
    "ConnectionParameters",
    "DataSubscription",
    "GyroConfig",
    "InfoRead",
    "Module",
    "ModuleInfo",
    "MotionData",
    "Notification",
    "PowerMode",
    "SamplingEnable",
    "acc_implementation",
    "chip_from_info",
    "data_register",
    "gyro_implementation",
    "parse_command",
    "parse_notification",
    "quantise",
]

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

# --- GATT (MetaWear-SDK-Cpp metawearboard.cpp: METAWEAR_SERVICE_NOTIFY_CHAR, METAWEAR_COMMAND_CHAR) ---
SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"

READ_BIT = 0x80
"""Register-id bit of a read request and of its answer (SDK register.h READ_REGISTER)."""
INFO_REGISTER = 0x00
"""Every module's register 0: implementation id and revision (SDK metawearboard.cpp READ_INFO_REGISTER)."""
PACKED_SAMPLES = 3
"""Samples in one packed notification: 3 x (x, y, z) int16 = 18 bytes after the header (firmware >= 1.2.3)."""
_AXES = 3


class Module(enum.IntEnum):
    """The module ids streaming needs (SDK module.h MblMwModule)."""

    ACCELEROMETER = 0x03
    SETTINGS = 0x11
    GYRO = 0x13


# Registers shared by the Bosch accelerometer and gyroscope of both chips (SDK *_register.h).
_POWER_MODE = 0x01
_DATA_INTERRUPT_ENABLE = 0x02
_CONFIG = 0x03
_ACC_DATA = 0x04  # AccelerometerBmi160Register / Bmi270Register DATA_INTERRUPT
# Settings registers (SDK settings_register.h).
_CONNECTION_PARAMS = 0x09
_BATTERY_STATE = 0x0C


class Chip(enum.Enum):
    """The Bosch IMU of a board: BMI160 (MetaMotionR, MetaMotionRL) or BMI270 (MetaMotionS)."""

    BMI160 = "BMI160"
    BMI270 = "BMI270"


@dataclass(frozen=True, slots=True)
class _ChipLayout:
    """What differs between the chips on the wire (SDK accelerometer_bosch.cpp, gyro_bosch.cpp)."""

    acc_implementation: int
    gyro_implementation: int
    acc_packed_register: int
    gyro_data_register: int
    gyro_packed_register: int
    acc_range_codes: MappingProxyType[int, int]  # +-g -> ACC_RANGE field
    acc_range_mask: int
    acc_conf_high_bits: int  # ACC_CONF bits 4..7 the SDK writes for ODRs of 12.5 Hz and above


_LAYOUTS = MappingProxyType(
    {
        # BMI160: ACC_CONF acc_us = 0, acc_bwp = 2 (normal filter); ACC_RANGE bit masks 0x3/0x5/0x8/0xc.
        Chip.BMI160: _ChipLayout(
            acc_implementation=1,
            gyro_implementation=0,
            acc_packed_register=0x1C,
            gyro_data_register=0x05,
            gyro_packed_register=0x07,
            acc_range_codes=MappingProxyType({2: 0x3, 4: 0x5, 8: 0x8, 16: 0xC}),
            acc_range_mask=0x0F,
            acc_conf_high_bits=0x20,
        ),
        # BMI270: ACC_CONF acc_filter_perf = 1, acc_bwp = 2; ACC_RANGE 0..3.
        Chip.BMI270: _ChipLayout(
            acc_implementation=4,
            gyro_implementation=1,
            acc_packed_register=0x05,
            gyro_data_register=0x04,
            gyro_packed_register=0x05,
            acc_range_codes=MappingProxyType({2: 0x0, 4: 0x1, 8: 0x2, 16: 0x3}),
            acc_range_mask=0x07,
            acc_conf_high_bits=0xA0,
        ),
    }
)

# Output data rates: the Bosch ODR field is the same code for accelerometer and gyroscope on both chips
# (SDK: MblMwAccBmi160Odr/MblMwAccBmi270Odr + 1, MblMwGyroBoschOdr). Rates below 25 Hz (accelerometer only,
# undersampled) are left out: a running monitor has no use for them.
_ODR_CODES = MappingProxyType({25: 6, 50: 7, 100: 8, 200: 9, 400: 10, 800: 11, 1600: 12, 3200: 13})
ACC_ODR_HZ: tuple[int, ...] = (25, 50, 100, 200, 400, 800, 1600)
"""Accelerometer output data rates of both chips (integer rates from 25 Hz)."""
GYRO_ODR_HZ: tuple[int, ...] = (25, 50, 100, 200, 400, 800, 1600, 3200)
"""Gyroscope output data rates of both chips."""

ACC_LSB_PER_G = MappingProxyType({2: 16384.0, 4: 8192.0, 8: 4096.0, 16: 2048.0})
"""Accelerometer counts per g by +-range (SDK BMI160_FSR_SCALE, BMI270_FSR_SCALE: the same on both chips)."""
_GYRO_RANGE_CODES = MappingProxyType({2000: 0, 1000: 1, 500: 2, 250: 3, 125: 4})
GYRO_LSB_PER_DPS = MappingProxyType({2000: 16.4, 1000: 32.8, 500: 65.6, 250: 131.2, 125: 262.4})
"""Gyroscope counts per deg/s by +-range (SDK gyro_bosch.cpp FSR_SCALE, both chips)."""
_GYRO_CONF_HIGH_BITS = 0x20  # gyr_bwp = 2 (normal filter), as the SDK's default configuration


def _header(data: bytes, kind: str, size: int) -> None:
    if len(data) != size:
        raise MalformedPacket(kind, f"expected {size} bytes", length=len(data))


def _code_to_key(codes: MappingProxyType[int, int], code: int) -> int | None:
    for key, value in codes.items():
        if value == code:
            return key
    return None


# --- module discovery ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InfoRead:
    """Read a module's info register: `[module, 0x80]` (the SDK's module discovery)."""

    module: int

    def __post_init__(self) -> None:
        if not 0 <= self.module <= 0xFF:
            raise ValueError(f"module id must be a byte, got {self.module}")

    def __bytes__(self) -> bytes:
        return bytes([self.module, READ_BIT | INFO_REGISTER])

    @property
    def answer_header(self) -> tuple[int, int]:
        """The (module, register) bytes that start the board's answer."""
        return (self.module, READ_BIT | INFO_REGISTER)


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A module's answer to `InfoRead`: `[module, 0x80, implementation, revision, extra...]`.

    An absent module answers with the two header bytes only (implementation and revision None).

    Attributes
    ----------
    module : int
    implementation : int or None
        Which chip implements the module (accelerometer: 1 BMI160, 4 BMI270; gyroscope: 0 BMI160, 1 BMI270).
    revision : int or None
        The module's firmware revision (packed data needs revision >= 1 on the BMI160 boards).
    extra : bytes
        Module-specific bytes after the revision (kept, not interpreted).
    """

    module: int
    implementation: int | None
    revision: int | None
    extra: bytes = b""

    KIND: ClassVar[str] = "module info"

    def __post_init__(self) -> None:
        if (self.implementation is None) != (self.revision is None):
            raise ValueError("implementation and revision are both given or both None")
        if self.implementation is None and self.extra:
            raise ValueError("an absent module carries no extra bytes")
        for value in (self.module, self.implementation, self.revision):
            if value is not None and not 0 <= value <= 0xFF:
                raise ValueError(f"module info fields are bytes, got {value}")

    @property
    def present(self) -> bool:
        return self.implementation is not None

    @classmethod
    def from_bytes(cls, data: bytes) -> ModuleInfo:
        if len(data) < 2 or data[1] != READ_BIT | INFO_REGISTER:
            raise MalformedPacket(cls.KIND, "not an info-register answer", length=len(data))
        if len(data) == 2:
            return cls(data[0], None, None)
        if len(data) == 3:
            raise MalformedPacket(cls.KIND, "implementation without revision", length=len(data))
        return cls(data[0], data[2], data[3], bytes(data[4:]))

    def __bytes__(self) -> bytes:
        if self.implementation is None or self.revision is None:
            return bytes([self.module, READ_BIT | INFO_REGISTER])
        return bytes([self.module, READ_BIT | INFO_REGISTER, self.implementation, self.revision]) + self.extra


def chip_from_info(accelerometer: ModuleInfo) -> Chip:
    """The board's IMU from its accelerometer module info (SDK MBL_MW_MODULE_ACC_TYPE_BMI160 / _BMI270).

    Raises
    ------
    InvalidConfiguration
        No accelerometer, or one whose implementation id is neither chip's.
    """
    if accelerometer.module != Module.ACCELEROMETER:
        raise ValueError(f"expected the accelerometer's module info, got module {accelerometer.module:#04x}")
    if not accelerometer.present:
        raise InvalidConfiguration("this MetaWear board reports no accelerometer module")
    for chip, layout in _LAYOUTS.items():
        if accelerometer.implementation == layout.acc_implementation:
            return chip
    raise InvalidConfiguration(
        f"this MetaWear board's accelerometer has implementation id {accelerometer.implementation}, neither "
        "a BMI160 (1) nor a BMI270 (4): posture supports the MetaMotionS and MetaMotionR/RL only"
    )


def gyro_implementation(chip: Chip) -> int:
    """The gyroscope module's implementation id on a board with this chip."""
    return _LAYOUTS[chip].gyro_implementation


def acc_implementation(chip: Chip) -> int:
    """The accelerometer module's implementation id on a board with this chip."""
    return _LAYOUTS[chip].acc_implementation


# --- configuration ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccConfig:
    """Accelerometer ODR and range: the 2-byte ACC_CONF/ACC_RANGE image of register 0x03.

    Written as `[0x03, 0x03, conf, range]`; read back as `[0x03, 0x83]` -> `[0x03, 0x83, conf, range]`.
    """

    chip: Chip
    odr_hz: int
    range_g: int

    KIND: ClassVar[str] = "accelerometer config"

    def __post_init__(self) -> None:
        if self.odr_hz not in ACC_ODR_HZ:
            raise InvalidConfiguration(
                f"the {self.chip.value} accelerometer has no {self.odr_hz} Hz rate; it offers "
                f"{', '.join(map(str, ACC_ODR_HZ))} Hz"
            )
        if self.range_g not in ACC_LSB_PER_G:
            raise InvalidConfiguration(
                f"the {self.chip.value} accelerometer has no +-{self.range_g} g range; it offers "
                f"{', '.join(map(str, ACC_LSB_PER_G))} g"
            )

    @property
    def lsb_per_g(self) -> float:
        return ACC_LSB_PER_G[self.range_g]

    def payload(self) -> bytes:
        layout = _LAYOUTS[self.chip]
        return bytes(
            [layout.acc_conf_high_bits | _ODR_CODES[self.odr_hz], layout.acc_range_codes[self.range_g]]
        )

    def __bytes__(self) -> bytes:
        """The write command."""
        return bytes([Module.ACCELEROMETER, _CONFIG]) + self.payload()

    def read_response(self) -> bytes:
        """What the board answers to `ConfigRead(Module.ACCELEROMETER)`."""
        return bytes([Module.ACCELEROMETER, READ_BIT | _CONFIG]) + self.payload()

    @classmethod
    def from_payload(cls, chip: Chip, payload: bytes) -> AccConfig:
        """Decode the 2-byte image; the filter bits are not checked (boards may set their own)."""
        if len(payload) != 2:
            raise MalformedPacket(cls.KIND, "expected a 2-byte configuration", length=len(payload))
        layout = _LAYOUTS[chip]
        odr_hz = _code_to_key(_ODR_CODES, payload[0] & 0x0F)
        range_g = _code_to_key(layout.acc_range_codes, payload[1] & layout.acc_range_mask)
        if odr_hz is None or odr_hz not in ACC_ODR_HZ or range_g is None:
            raise MalformedPacket(cls.KIND, f"unknown ODR or range code {payload.hex()}", length=len(payload))
        return cls(chip, odr_hz, range_g)


@dataclass(frozen=True, slots=True)
class GyroConfig:
    """Gyroscope ODR and range: the 2-byte GYR_CONF/GYR_RANGE image of register 0x03 (same on both chips).

    Written as `[0x13, 0x03, conf, range]`; read back as `[0x13, 0x83]` -> `[0x13, 0x83, conf, range]`.
    """

    odr_hz: int
    range_dps: int

    KIND: ClassVar[str] = "gyroscope config"

    def __post_init__(self) -> None:
        if self.odr_hz not in GYRO_ODR_HZ:
            raise InvalidConfiguration(
                f"the gyroscope has no {self.odr_hz} Hz rate; it offers {', '.join(map(str, GYRO_ODR_HZ))} Hz"
            )
        if self.range_dps not in GYRO_LSB_PER_DPS:
            raise InvalidConfiguration(
                f"the gyroscope has no +-{self.range_dps} deg/s range; it offers "
                f"{', '.join(map(str, GYRO_LSB_PER_DPS))} deg/s"
            )

    @property
    def lsb_per_dps(self) -> float:
        return GYRO_LSB_PER_DPS[self.range_dps]

    def payload(self) -> bytes:
        return bytes([_GYRO_CONF_HIGH_BITS | _ODR_CODES[self.odr_hz], _GYRO_RANGE_CODES[self.range_dps]])

    def __bytes__(self) -> bytes:
        """The write command."""
        return bytes([Module.GYRO, _CONFIG]) + self.payload()

    def read_response(self) -> bytes:
        return bytes([Module.GYRO, READ_BIT | _CONFIG]) + self.payload()

    @classmethod
    def from_payload(cls, payload: bytes) -> GyroConfig:
        if len(payload) != 2:
            raise MalformedPacket(cls.KIND, "expected a 2-byte configuration", length=len(payload))
        odr_hz = _code_to_key(_ODR_CODES, payload[0] & 0x0F)
        range_dps = _code_to_key(_GYRO_RANGE_CODES, payload[1] & 0x07)
        if odr_hz is None or range_dps is None:
            raise MalformedPacket(cls.KIND, f"unknown ODR or range code {payload.hex()}", length=len(payload))
        return cls(odr_hz, range_dps)


@dataclass(frozen=True, slots=True)
class ConfigRead:
    """Read the accelerometer's or gyroscope's configuration: `[module, 0x83]`."""

    module: Module

    def __bytes__(self) -> bytes:
        return bytes([self.module, READ_BIT | _CONFIG])

    @property
    def answer_header(self) -> tuple[int, int]:
        """The (module, register) bytes that start the board's answer."""
        return (self.module, READ_BIT | _CONFIG)


# --- streaming switches -----------------------------------------------------------------------------------


def data_register(chip: Chip, module: Module, *, packed: bool) -> int:
    """The register whose notifications carry a sensor's samples (SDK *_RESPONSE_HEADER)."""
    layout = _LAYOUTS[chip]
    if module is Module.ACCELEROMETER:
        return layout.acc_packed_register if packed else _ACC_DATA
    if module is Module.GYRO:
        return layout.gyro_packed_register if packed else layout.gyro_data_register
    raise ValueError(f"module {module!r} streams no motion data")


@dataclass(frozen=True, slots=True)
class DataSubscription:
    """Turn the notifications of one data register on or off: `[module, register, 1 | 0]`.

    The board notifies a data register only while it is subscribed (SDK mbl_mw_datasignal_subscribe).
    """

    module: Module
    register: int
    enabled: bool

    def __bytes__(self) -> bytes:
        return bytes([self.module, self.register, int(self.enabled)])


@dataclass(frozen=True, slots=True)
class SamplingEnable:
    """Route the sensor's data-ready to its data register: `[module, 0x02, 1, 0]` on, `[.., 0, 1]` off.

    The two bytes are an enable mask and a disable mask (SDK mbl_mw_acc_bosch_enable_acceleration_sampling,
    mbl_mw_gyro_bmi160_enable_rotation_sampling).
    """

    module: Module
    enabled: bool

    def __bytes__(self) -> bytes:
        return bytes([self.module, _DATA_INTERRUPT_ENABLE, 1, 0] if self.enabled else [self.module, 2, 0, 1])


@dataclass(frozen=True, slots=True)
class PowerMode:
    """Switch a sensor between active and standby: `[module, 0x01, 1 | 0]` (SDK *_start / *_stop)."""

    module: Module
    active: bool

    def __bytes__(self) -> bytes:
        return bytes([self.module, _POWER_MODE, int(self.active)])


# --- settings module ---------------------------------------------------------------------------------------

_CONN_PARAMS = struct.Struct("<HHHH")
_CONN_INTERVAL_STEP_MS = 1.25  # SDK settings.cpp CONN_INTERVAL_STEP
_TIMEOUT_STEP_MS = 10.0  # SDK settings.cpp TIMEOUT_STEP


@dataclass(frozen=True, slots=True)
class ConnectionParameters:
    """Ask the board to request these connection parameters from the central: `[0x11, 0x09, 4 x u16]`.

    The board then sends an L2CAP connection parameter update request (Core Spec Vol 3 Part A 4.20); the
    central may refuse it. Intervals travel in 1.25 ms units, the supervision timeout in 10 ms units.
    MbientLab's high-frequency streaming recipe asks for 7.5 ms / 7.5 ms / latency 0 / 6000 ms.

    Attributes
    ----------
    min_interval_ms, max_interval_ms : float
        Connection interval bounds, 7.5 to 4000 ms, multiples of 1.25 ms.
    latency : int
        Connection events the peripheral may skip (0 for streaming).
    supervision_timeout_ms : float
        100 to 32000 ms, a multiple of 10 ms.
    """

    min_interval_ms: float
    max_interval_ms: float
    latency: int
    supervision_timeout_ms: float

    KIND: ClassVar[str] = "connection parameters"

    def __post_init__(self) -> None:
        for name in ("min_interval_ms", "max_interval_ms"):
            value = getattr(self, name)
            if not 7.5 <= value <= 4000 or (value / _CONN_INTERVAL_STEP_MS) % 1:
                raise InvalidConfiguration(
                    f"{name} must be a multiple of 1.25 ms within 7.5..4000, got {value}"
                )
        if self.min_interval_ms > self.max_interval_ms:
            raise InvalidConfiguration("min_interval_ms must not exceed max_interval_ms")
        if not 0 <= self.latency <= 499:
            raise InvalidConfiguration(f"latency must be within 0..499, got {self.latency}")
        timeout = self.supervision_timeout_ms
        if not 100 <= timeout <= 32000 or (timeout / _TIMEOUT_STEP_MS) % 1:
            raise InvalidConfiguration(
                f"supervision timeout must be a multiple of 10 ms within 100..32000, got {timeout}"
            )

    def __bytes__(self) -> bytes:
        return bytes([Module.SETTINGS, _CONNECTION_PARAMS]) + _CONN_PARAMS.pack(
            round(self.min_interval_ms / _CONN_INTERVAL_STEP_MS),
            round(self.max_interval_ms / _CONN_INTERVAL_STEP_MS),
            self.latency,
            round(self.supervision_timeout_ms / _TIMEOUT_STEP_MS),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ConnectionParameters:
        _header(data, cls.KIND, 2 + _CONN_PARAMS.size)
        lo, hi, latency, timeout = _CONN_PARAMS.unpack_from(data, 2)
        try:
            return cls(
                lo * _CONN_INTERVAL_STEP_MS, hi * _CONN_INTERVAL_STEP_MS, latency, timeout * _TIMEOUT_STEP_MS
            )
        except InvalidConfiguration as exc:
            raise MalformedPacket(cls.KIND, str(exc), length=len(data)) from None


@dataclass(frozen=True, slots=True)
class BatteryRead:
    """Read the battery state: `[0x11, 0x8c]` (settings revision >= 3)."""

    def __bytes__(self) -> bytes:
        return bytes([Module.SETTINGS, READ_BIT | _BATTERY_STATE])

    @property
    def answer_header(self) -> tuple[int, int]:
        """The (module, register) bytes that start the board's answer."""
        return (Module.SETTINGS, READ_BIT | _BATTERY_STATE)


@dataclass(frozen=True, slots=True)
class BatteryState:
    """The answer to `BatteryRead`: `[0x11, 0x8c, charge %, voltage mV (u16)]`."""

    charge_pct: int
    voltage_mv: int

    KIND: ClassVar[str] = "battery state"
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BH")

    def __post_init__(self) -> None:
        if not 0 <= self.charge_pct <= 100 or not 0 <= self.voltage_mv <= 0xFFFF:
            raise ValueError(f"battery state out of range: {self.charge_pct} %, {self.voltage_mv} mV")

    def __bytes__(self) -> bytes:
        return bytes([Module.SETTINGS, READ_BIT | _BATTERY_STATE]) + self._LAYOUT.pack(
            self.charge_pct, self.voltage_mv
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BatteryState:
        _header(data, cls.KIND, 2 + cls._LAYOUT.size)
        charge, voltage = cls._LAYOUT.unpack_from(data, 2)
        if charge > 100:
            raise MalformedPacket(cls.KIND, f"charge {charge} % is above 100", length=len(data))
        return cls(charge, voltage)


# --- data ------------------------------------------------------------------------------------------------

_SAMPLE_DTYPE = np.dtype("<i2")


@dataclass(frozen=True, slots=True, eq=False)
class MotionData:
    """One data notification of one sensor: one sample (unpacked) or `PACKED_SAMPLES` samples (packed).

    `[module, data register, (x, y, z int16 LE) x n]`: 8 bytes unpacked, 20 packed; no counter, no clock.

    Attributes
    ----------
    module : Module
        ACCELEROMETER or GYRO.
    packed : bool
    raw : (n, 3) int16 array
        Counts, oldest sample first.
    """

    module: Module
    packed: bool
    raw: Int16Array = field(repr=False)

    KIND: ClassVar[str] = "motion data"

    def __post_init__(self) -> None:
        n = PACKED_SAMPLES if self.packed else 1
        if self.raw.shape != (n, _AXES) or self.raw.dtype != np.int16:
            raise ValueError(f"raw must be int16 of shape ({n}, 3), got {self.raw.dtype} {self.raw.shape}")
        if self.module not in (Module.ACCELEROMETER, Module.GYRO):
            raise ValueError(f"module {self.module!r} streams no motion data")

    @property
    def sample_count(self) -> int:
        return int(self.raw.shape[0])

    def to_bytes(self, chip: Chip) -> bytes:
        register = data_register(chip, self.module, packed=self.packed)
        return bytes([self.module, register]) + self.raw.astype(_SAMPLE_DTYPE).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, chip: Chip) -> MotionData:
        if len(data) < 2:
            raise MalformedPacket(cls.KIND, "shorter than its header", length=len(data))
        module, register = data[0], data[1]
        for candidate in (Module.ACCELEROMETER, Module.GYRO):
            if module != candidate:
                continue
            for packed in (False, True):
                if register == data_register(chip, candidate, packed=packed):
                    n = PACKED_SAMPLES if packed else 1
                    _header(data, cls.KIND, 2 + n * _AXES * _SAMPLE_DTYPE.itemsize)
                    raw = (
                        np.frombuffer(data, dtype=_SAMPLE_DTYPE, offset=2).astype(np.int16).reshape(n, _AXES)
                    )
                    return cls(candidate, packed, raw)
        raise MalformedPacket(
            cls.KIND,
            f"register {module:#04x}/{register:#04x} carries no {chip.value} motion data",
            length=len(data),
        )

    def acc_mps2(self, config: AccConfig) -> FloatArray:
        """Specific force of the samples, m/s^2, under the accelerometer's range."""
        scale = STANDARD_GRAVITY_MPS2 / config.lsb_per_g
        return np.multiply(self.raw, scale, dtype=np.float64)

    def gyr_dps(self, config: GyroConfig) -> FloatArray:
        """Angular rate of the samples, deg/s, under the gyroscope's range."""
        return np.multiply(self.raw, 1.0 / config.lsb_per_dps, dtype=np.float64)

    def same_as(self, other: MotionData) -> bool:
        """Field-wise equality (the class holds an array, so `==` is identity)."""
        return (
            self.module == other.module
            and self.packed == other.packed
            and np.array_equal(self.raw, other.raw)
        )


def quantise(values: FloatArray, counts_per_unit: float) -> Int16Array:
    """Physical values to counts as the IMU does: nearest count, saturated to int16 (full-scale clipping)."""
    counts = np.rint(np.asarray(values, dtype=np.float64) * counts_per_unit)
    return np.clip(counts, -32768, 32767).astype(np.int16)


# --- parsing -----------------------------------------------------------------------------------------------

Command: TypeAlias = (
    InfoRead
    | AccConfig
    | GyroConfig
    | ConfigRead
    | DataSubscription
    | SamplingEnable
    | PowerMode
    | ConnectionParameters
    | BatteryRead
)
"""Everything a central writes to the command characteristic for streaming."""

Notification: TypeAlias = ModuleInfo | AccConfig | GyroConfig | BatteryState | MotionData
"""Everything the board notifies that streaming reads."""


def _config(data: bytes, chip: Chip, sensor: Module) -> AccConfig | GyroConfig:
    """A configuration write or read answer, `[module, 0x03 | 0x83, conf, range]`."""
    _header(data, "configuration", 4)
    try:
        if sensor is Module.ACCELEROMETER:
            return AccConfig.from_payload(chip, bytes(data[2:]))
        return GyroConfig.from_payload(bytes(data[2:]))
    except MalformedPacket as exc:
        raise MalformedPacket(exc.kind, exc.reason, length=len(data)) from None


def parse_command(data: bytes, chip: Chip) -> Command:
    """A written command as its type (the simulated board's side).

    Raises
    ------
    MalformedPacket
        Not one of the commands above, or a bad length or value.
    """
    kind = "command"
    if len(data) < 2:
        raise MalformedPacket(kind, "shorter than its header", length=len(data))
    module, register = data[0], data[1]
    if register == READ_BIT | INFO_REGISTER:
        _header(data, kind, 2)
        return InfoRead(module)
    if module in (Module.ACCELEROMETER, Module.GYRO):
        sensor = Module(module)
        if register == _CONFIG:
            return _config(data, chip, sensor)
        if register == READ_BIT | _CONFIG:
            _header(data, kind, 2)
            return ConfigRead(sensor)
        if register == _POWER_MODE:
            _header(data, kind, 3)
            if data[2] > 1:
                raise MalformedPacket(kind, f"power mode {data[2]}", length=len(data))
            return PowerMode(sensor, bool(data[2]))
        if register == _DATA_INTERRUPT_ENABLE:
            _header(data, kind, 4)
            if (data[2], data[3]) not in ((1, 0), (0, 1)):
                raise MalformedPacket(kind, f"sampling masks {data[2:].hex()}", length=len(data))
            return SamplingEnable(sensor, data[2] == 1)
        if register in (data_register(chip, sensor, packed=False), data_register(chip, sensor, packed=True)):
            _header(data, kind, 3)
            if data[2] > 1:
                raise MalformedPacket(kind, f"subscription value {data[2]}", length=len(data))
            return DataSubscription(sensor, register, bool(data[2]))
    if module == Module.SETTINGS:
        if register == _CONNECTION_PARAMS:
            return ConnectionParameters.from_bytes(data)
        if register == READ_BIT | _BATTERY_STATE:
            _header(data, kind, 2)
            return BatteryRead()
    raise MalformedPacket(
        kind, f"register {module:#04x}/{register:#04x} is not a streaming command", length=len(data)
    )


def parse_notification(data: bytes, chip: Chip | None) -> Notification:
    """A notification as its type (the central's side); before discovery (`chip` None) only module infos.

    Raises
    ------
    MalformedPacket
        Not one of the notifications above, or a bad length or value.
    """
    kind = "notification"
    if len(data) < 2:
        raise MalformedPacket(kind, "shorter than its header", length=len(data))
    module, register = data[0], data[1]
    if register == READ_BIT | INFO_REGISTER:
        return ModuleInfo.from_bytes(data)
    if chip is None:
        raise MalformedPacket(kind, "data before the board's chip is known", length=len(data))
    if register == READ_BIT | _CONFIG and module in (Module.ACCELEROMETER, Module.GYRO):
        return _config(data, chip, Module(module))
    if module == Module.SETTINGS and register == READ_BIT | _BATTERY_STATE:
        return BatteryState.from_bytes(data)
    return MotionData.from_bytes(data, chip)
