"""Bytes <-> types for Polar Measurement Data (PMD): control point, settings, data frames (both directions).

Pure: no bleak, no bumble, no I/O, no logging. The profile (`polar_pmd`) decodes with it and the simulated
Polar peripheral (`simsensor.sim_polar`) encodes with it, so the two cannot drift apart. Bad bytes raise
`MalformedPacket` (a `ValueError`) and nothing else.

Sources (facts only; the code is ours; details in docs/sensors.md, "Polar Verity Sense and H10"):

- Polar, "Polar Measurement Data general description", technical_documentation/online_measurement.pdf in
  github.com/polarofficial/polar-ble-sdk (v1.0, August 2024): UUIDs (table 3), control-point commands
  (table 4), setting types and sizes (table 5), frame layout (table 6), ACC/GYRO frame types (tables 7-12),
  delta-frame decoding (4.3.2, 4.3.3).
- polar-ble-sdk Android sources, .../api/ble/model/gatt/client/pmd/: PmdControlPointCommand.kt (op codes,
  0x01 "online measurement stopped"), PmdControlPointResponse.kt (0xF0 response layout, error codes 0..14),
  PmdMeasurementType.kt (type ids, 0x3F mask, feature bit map), PmdSetting.kt (TLV sizes),
  BlePMDClient.kt (UUIDs, SDK mode = start/stop with type 9, delta parsing), model/AccData.kt and
  model/GyrData.kt (frame types per measurement and units), model/PmdTimeStampUtils.kt (timestamp of the
  last sample).
- Its unit tests (AccDataTest.kt, GyrDataTest.kt, BlePmdClientParsersTest.kt, PmdSettingTest.kt,
  BlePmdClientControlPointResponseTest.kt) hold the frames our golden tests decode.

Layout in brief
---------------
Control point write: ``op_code, [measurement type | 0x80 if offline], [setting TLVs]``.
Control point indication: ``0xF0, op_code, measurement type, status, more, parameters...``.
Setting TLV: ``type, count, count * value`` (little-endian; sizes in `SETTING_FIELD_BYTES`).
Data notification: ``measurement type, timestamp (uint64 LE, ns since 2000-01-01T00:00:00 of the LAST
sample), frame type (bit 7: delta compressed), content``. Delta content: a reference sample of
``channels * ceil(resolution / 8)`` bytes, then blocks ``delta bit width, sample count, packed deltas``
(two's complement, bits least significant first, channel after channel, sample after sample).
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from sensorlink.errors import MalformedPacket

__all__ = [
    "ACC_MG_TO_MPS2",
    "BATTERY_LEVEL_UUID",
    "CONTROL_POINT_RESPONSE_CODE",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "POLAR_EPOCH_UNIX_NS",
    "ControlPointRequest",
    "ControlPointResponse",
    "DataFrame",
    "FrameFormat",
    "MeasurementStopped",
    "MeasurementType",
    "OpCode",
    "PmdFeatures",
    "PmdSettings",
    "ResponseStatus",
    "SettingType",
    "decode_delta_samples",
    "decode_raw_samples",
    "encode_delta_samples",
    "encode_raw_samples",
    "frame_format",
]

# --- UUIDs (online_measurement.pdf table 3; BlePMDClient.kt companion object) -------------------------------
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
"""Read (features), write (requests), indicate (responses)."""
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
"""Notify: data frames."""
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
"""Bluetooth SIG Battery Level (Battery Service 0x180F), which Polar sensors carry."""

CONTROL_POINT_RESPONSE_CODE = 0xF0
POLAR_EPOCH_UNIX_NS = 946_684_800 * 1_000_000_000
"""2000-01-01T00:00:00Z in Unix nanoseconds: the epoch of PMD timestamps (TimeSystemExplained.md)."""
ACC_MG_TO_MPS2 = 9.80665e-3
"""One milli-g (the unit of PMD acceleration) in m/s^2 (standard gravity)."""

_MEASUREMENT_TYPE_MASK = 0x3F
_OFFLINE_BIT = 0x80
_DELTA_FRAME_BIT = 0x80
_FRAME_TYPE_MASK = 0x7F
_TIMESTAMP = struct.Struct("<Q")
_FLOAT32 = struct.Struct("<f")
_HEADER_BYTES = 1 + _TIMESTAMP.size + 1


class OpCode(enum.IntEnum):
    """Control-point requests, client to sensor (PmdControlPointCommand.kt)."""

    GET_MEASUREMENT_SETTINGS = 0x01
    REQUEST_MEASUREMENT_START = 0x02
    STOP_MEASUREMENT = 0x03
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05
    GET_SDK_MODE_STATUS = 0x06


_OPS_WITH_TYPE = frozenset(
    {
        OpCode.GET_MEASUREMENT_SETTINGS,
        OpCode.REQUEST_MEASUREMENT_START,
        OpCode.STOP_MEASUREMENT,
        OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS,
    }
)


class MeasurementType(enum.IntEnum):
    """PMD measurement types (table 2; PmdMeasurementType.kt). SDK_MODE is a pseudo-measurement."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class ResponseStatus(enum.IntEnum):
    """Error codes of a control-point response (PmdControlPointResponse.kt)."""

    SUCCESS = 0
    ERROR_INVALID_OP_CODE = 1
    ERROR_INVALID_MEASUREMENT_TYPE = 2
    ERROR_NOT_SUPPORTED = 3
    ERROR_INVALID_LENGTH = 4
    ERROR_INVALID_PARAMETER = 5
    ERROR_ALREADY_IN_STATE = 6
    ERROR_INVALID_RESOLUTION = 7
    ERROR_INVALID_SAMPLE_RATE = 8
    ERROR_INVALID_RANGE = 9
    ERROR_INVALID_MTU = 10
    ERROR_INVALID_NUMBER_OF_CHANNELS = 11
    ERROR_INVALID_STATE = 12
    ERROR_DEVICE_IN_CHARGER = 13
    ERROR_DISK_FULL = 14


class SettingType(enum.IntEnum):
    """Setting TLV types (table 5; PmdSetting.kt). SECURITY (6, 16 bytes) is offline-only and not handled."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


SETTING_FIELD_BYTES: dict[SettingType, int] = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
}


def _malformed(kind: str, reason: str, data: bytes) -> MalformedPacket:
    return MalformedPacket(kind, reason, length=len(data))


def _measurement_type(value: int, kind: str, data: bytes) -> MeasurementType:
    try:
        return MeasurementType(value & _MEASUREMENT_TYPE_MASK)
    except ValueError:
        raise _malformed(kind, f"unknown measurement type {value & _MEASUREMENT_TYPE_MASK}", data) from None


# --- features (read of the control point) -------------------------------------------------------------------

# (byte index, bit) of each measurement type in the feature read (PmdMeasurementType.fromByteArray).
_FEATURE_BITS: dict[MeasurementType, tuple[int, int]] = {
    MeasurementType.ECG: (1, 0x01),
    MeasurementType.PPG: (1, 0x02),
    MeasurementType.ACC: (1, 0x04),
    MeasurementType.PPI: (1, 0x08),
    MeasurementType.GYRO: (1, 0x20),
    MeasurementType.MAGNETOMETER: (1, 0x40),
    MeasurementType.SKIN_TEMP: (1, 0x80),
    MeasurementType.SDK_MODE: (2, 0x02),
    MeasurementType.LOCATION: (2, 0x04),
    MeasurementType.PRESSURE: (2, 0x08),
    MeasurementType.TEMPERATURE: (2, 0x10),
    MeasurementType.OFFLINE_RECORDING: (2, 0x20),
    MeasurementType.OFFLINE_HR: (2, 0x40),
}
_FEATURE_READ_CODE = 0x0F


@dataclass(frozen=True, slots=True)
class PmdFeatures:
    """What a read of the control point announces: the measurement types the sensor offers.

    Byte 0 is 0x0F (a read, not a response); bytes 1 and 2 are bit maps (`_FEATURE_BITS`). Further bytes
    are tolerated and ignored (later firmware may announce more).
    """

    measurement_types: frozenset[MeasurementType]

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdFeatures:
        if len(data) < 3 or data[0] != _FEATURE_READ_CODE:
            raise _malformed("pmd features", "expected 0x0F and two bit-map bytes", data)
        return cls(frozenset(t for t, (index, bit) in _FEATURE_BITS.items() if data[index] & bit))

    def __bytes__(self) -> bytes:
        out = bytearray([_FEATURE_READ_CODE, 0, 0])
        for measurement in self.measurement_types:
            index, bit = _FEATURE_BITS[measurement]
            out[index] |= bit
        return bytes(out)


# --- settings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmdSettings:
    """A set of setting TLVs: the choices a sensor offers, or (one value each) the ones a start asks for.

    Attributes
    ----------
    sample_rates_hz : tuple of int
    resolutions_bits : tuple of int
    ranges : tuple of int
        +-g for ACC, +-deg/s for GYRO.
    range_milliunits : tuple of int
    channels : tuple of int
    factors : tuple of float
        Conversion factor(s) from raw counts to the measurement's unit (float32 on the air; the sensor
        sends it in the start response). Finite values only.
    """

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    range_milliunits: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()

    _FIELDS: ClassVar[tuple[tuple[SettingType, str], ...]] = (
        (SettingType.SAMPLE_RATE, "sample_rates_hz"),
        (SettingType.RESOLUTION, "resolutions_bits"),
        (SettingType.RANGE, "ranges"),
        (SettingType.RANGE_MILLIUNIT, "range_milliunits"),
        (SettingType.CHANNELS, "channels"),
        (SettingType.FACTOR, "factors"),
    )

    def __post_init__(self) -> None:
        for setting, name in self._FIELDS:
            values = getattr(self, name)
            if len(values) > 255:
                raise ValueError(f"{name}: at most 255 values in one TLV, got {len(values)}")
            if setting is SettingType.FACTOR:
                if not all(math.isfinite(v) for v in values):
                    raise ValueError(f"factors must be finite, got {values}")
                continue
            limit = 1 << (8 * SETTING_FIELD_BYTES[setting])
            if not all(0 <= v < limit for v in values):
                raise ValueError(f"{name} must fit an unsigned {SETTING_FIELD_BYTES[setting]}-byte field")

    @classmethod
    def selected(
        cls,
        *,
        sample_rate_hz: int,
        resolution_bits: int,
        range_: int | None = None,
        channels: int | None = None,
    ) -> PmdSettings:
        """One value per setting: what a start request carries."""
        return cls(
            sample_rates_hz=(sample_rate_hz,),
            resolutions_bits=(resolution_bits,),
            ranges=() if range_ is None else (range_,),
            channels=() if channels is None else (channels,),
        )

    @property
    def factor(self) -> float | None:
        """The conversion factor (first FACTOR value), None when the sensor sent none (then 1.0 applies)."""
        return self.factors[0] if self.factors else None

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdSettings:
        """Parse TLVs. A type this module does not know, a repeated type or a short value is malformed."""
        values: dict[str, tuple[int | float, ...]] = {}
        names = dict(cls._FIELDS)
        offset = 0
        while offset < len(data):
            if offset + 2 > len(data):
                raise _malformed("pmd settings", f"TLV header cut at byte {offset}", data)
            try:
                setting = SettingType(data[offset])
            except ValueError:
                raise _malformed("pmd settings", f"unknown setting type {data[offset]}", data) from None
            count = data[offset + 1]
            size = SETTING_FIELD_BYTES[setting]
            start, offset = offset + 2, offset + 2 + count * size
            if offset > len(data):
                raise _malformed("pmd settings", f"{setting.name} needs {count * size} bytes", data)
            if names[setting] in values:
                raise _malformed("pmd settings", f"{setting.name} appears twice", data)
            raw = data[start:offset]
            if setting is SettingType.FACTOR:
                floats = tuple(v for (v,) in _FLOAT32.iter_unpack(raw))
                if not all(math.isfinite(v) for v in floats):
                    raise _malformed("pmd settings", "a conversion factor is not finite", data)
                values[names[setting]] = floats
            else:
                values[names[setting]] = tuple(
                    int.from_bytes(raw[i : i + size], "little") for i in range(0, len(raw), size)
                )
        return cls(**values)  # type: ignore[arg-type]

    def __bytes__(self) -> bytes:
        out = bytearray()
        for setting, name in self._FIELDS:
            values = getattr(self, name)
            if not values:
                continue
            out += bytes([setting, len(values)])
            for value in values:
                if setting is SettingType.FACTOR:
                    out += _FLOAT32.pack(value)
                else:
                    out += int(value).to_bytes(SETTING_FIELD_BYTES[setting], "little")
        return bytes(out)


# --- control point ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlPointRequest:
    """A write to the control point.

    Attributes
    ----------
    op_code : OpCode
    measurement_type : MeasurementType or None
        Required by the op codes in `_OPS_WITH_TYPE`, absent for the status queries.
    settings : PmdSettings
        The TLVs of a start request (empty otherwise).
    offline : bool
        Bit 7 of the type byte: offline recording instead of online streaming (we only stream).
    """

    op_code: OpCode
    measurement_type: MeasurementType | None = None
    settings: PmdSettings = field(default_factory=PmdSettings)
    offline: bool = False

    def __post_init__(self) -> None:
        if (self.measurement_type is None) == (self.op_code in _OPS_WITH_TYPE):
            raise ValueError(
                f"{self.op_code.name} {'needs' if self.measurement_type is None else 'takes no'} type"
            )
        if bytes(self.settings) and self.op_code is not OpCode.REQUEST_MEASUREMENT_START:
            raise ValueError(f"{self.op_code.name} carries no settings")

    @classmethod
    def get_settings(cls, measurement: MeasurementType, *, sdk_mode: bool = False) -> ControlPointRequest:
        op = OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS if sdk_mode else OpCode.GET_MEASUREMENT_SETTINGS
        return cls(op, measurement)

    @classmethod
    def start(cls, measurement: MeasurementType, settings: PmdSettings | None = None) -> ControlPointRequest:
        """Start streaming `measurement`; `start(SDK_MODE)` switches SDK mode on (startSDKMode)."""
        return cls(OpCode.REQUEST_MEASUREMENT_START, measurement, settings or PmdSettings())

    @classmethod
    def stop(cls, measurement: MeasurementType) -> ControlPointRequest:
        """Stop streaming `measurement`; `stop(SDK_MODE)` switches SDK mode off."""
        return cls(OpCode.STOP_MEASUREMENT, measurement)

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlPointRequest:
        if not data:
            raise _malformed("pmd request", "empty", data)
        try:
            op = OpCode(data[0])
        except ValueError:
            raise _malformed("pmd request", f"unknown op code {data[0]}", data) from None
        if op not in _OPS_WITH_TYPE:
            if len(data) != 1:
                raise _malformed("pmd request", f"{op.name} takes no parameters", data)
            return cls(op)
        if len(data) < 2:
            raise _malformed("pmd request", f"{op.name} needs a measurement type", data)
        measurement = _measurement_type(data[1], "pmd request", data)
        rest = data[2:]
        if rest and op is not OpCode.REQUEST_MEASUREMENT_START:
            raise _malformed("pmd request", f"{op.name} carries no settings", data)
        return cls(op, measurement, PmdSettings.from_bytes(rest), offline=bool(data[1] & _OFFLINE_BIT))

    def __bytes__(self) -> bytes:
        if self.measurement_type is None:
            return bytes([self.op_code])
        type_byte = int(self.measurement_type) | (_OFFLINE_BIT if self.offline else 0)
        return bytes([self.op_code, type_byte]) + bytes(self.settings)


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """An indication of the control point answering a request: ``0xF0 op type status more parameters``.

    A 4-byte response (no "more" byte) is read as more = False; parameters follow only the "more" byte.

    Attributes
    ----------
    op_code : OpCode
    measurement_type : int
        As the sensor echoes it (0 for requests without a type); kept as a number, not checked.
    status : ResponseStatus
    more : bool
        Further indications carry the rest of the parameters (concatenate them).
    parameters : bytes
        Settings TLVs for settings queries and starts, one byte for GET_SDK_MODE_STATUS.
    """

    op_code: OpCode
    measurement_type: int
    status: ResponseStatus
    more: bool = False
    parameters: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.measurement_type <= 0xFF:
            raise ValueError(f"measurement_type must be a byte, got {self.measurement_type}")

    @property
    def ok(self) -> bool:
        return self.status is ResponseStatus.SUCCESS

    def settings(self) -> PmdSettings:
        """The parameters as setting TLVs (MalformedPacket if they are not)."""
        return PmdSettings.from_bytes(self.parameters)

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlPointResponse:
        if len(data) < 4 or data[0] != CONTROL_POINT_RESPONSE_CODE:
            raise _malformed("pmd response", "expected 0xF0 and at least 4 bytes", data)
        try:
            op = OpCode(data[1])
            status = ResponseStatus(data[3])
        except ValueError:
            raise _malformed("pmd response", f"unknown op code {data[1]} or status {data[3]}", data) from None
        more = len(data) > 4 and data[4] != 0
        return cls(op, data[2], status, more, bytes(data[5:]))

    def __bytes__(self) -> bytes:
        head = bytes([CONTROL_POINT_RESPONSE_CODE, self.op_code, self.measurement_type, self.status])
        return head + bytes([1 if self.more else 0]) + self.parameters


_MEASUREMENT_STOPPED_CODE = 0x01


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """An indication the sensor sends on its own: it stopped these streams (PmdControlPointCommand.kt)."""

    measurement_types: tuple[MeasurementType, ...]

    @classmethod
    def from_bytes(cls, data: bytes) -> MeasurementStopped:
        if not data or data[0] != _MEASUREMENT_STOPPED_CODE:
            raise _malformed("pmd stop indication", "expected 0x01", data)
        return cls(tuple(_measurement_type(b, "pmd stop indication", data) for b in data[1:]))

    def __bytes__(self) -> bytes:
        return bytes([_MEASUREMENT_STOPPED_CODE, *self.measurement_types])


# --- data frames --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataFrame:
    """One notification of the data characteristic, not yet unpacked into samples.

    Attributes
    ----------
    measurement_type : MeasurementType
    timestamp_ns : int
        Sensor time of the LAST sample in the frame, ns since 2000-01-01T00:00:00 (PmdTimeStampUtils.kt).
    frame_type : int
        0..127: the sample format within the measurement (`frame_format`).
    compressed : bool
        Delta compressed (bit 7 of the frame-type byte).
    content : bytes
    """

    measurement_type: MeasurementType
    timestamp_ns: int
    frame_type: int
    compressed: bool
    content: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.timestamp_ns < 1 << 64 or not 0 <= self.frame_type <= _FRAME_TYPE_MASK:
            raise ValueError("timestamp_ns must be uint64 and frame_type 0..127")

    @classmethod
    def from_bytes(cls, data: bytes) -> DataFrame:
        if len(data) < _HEADER_BYTES:
            raise _malformed("pmd data frame", f"shorter than the {_HEADER_BYTES}-byte header", data)
        (timestamp_ns,) = _TIMESTAMP.unpack_from(data, 1)
        return cls(
            measurement_type=_measurement_type(data[0], "pmd data frame", data),
            timestamp_ns=timestamp_ns,
            frame_type=data[9] & _FRAME_TYPE_MASK,
            compressed=bool(data[9] & _DELTA_FRAME_BIT),
            content=bytes(data[_HEADER_BYTES:]),
        )

    def __bytes__(self) -> bytes:
        frame_byte = self.frame_type | (_DELTA_FRAME_BIT if self.compressed else 0)
        return (
            bytes([self.measurement_type])
            + _TIMESTAMP.pack(self.timestamp_ns)
            + bytes([frame_byte])
            + self.content
        )

    def samples(self, factor: float | None = None) -> npt.NDArray[np.float64]:
        """The frame's samples in the measurement's unit (ACC: mG; GYRO: deg/s), shape (n, 3).

        `factor` is the conversion factor the start response carried (None: 1.0, as the SDK does). ACC
        compressed type 0 is the one format in g, so its values are also multiplied by 1000 (AccData.kt).

        Raises
        ------
        MalformedPacket
            An empty frame, a format this module does not know, or content that does not fit its format.
        """
        fmt = frame_format(self.measurement_type, self.frame_type, self.compressed)
        data = bytes(self)
        if fmt is None:
            raise _malformed(
                "pmd data frame",
                f"no decoder for {self.measurement_type.name} frame type {self.frame_type}"
                f"{' (delta)' if self.compressed else ''}",
                data,
            )
        if self.compressed:
            counts = decode_delta_samples(self.content, fmt.channels, fmt.bits, float32=fmt.float32)
        else:
            counts = decode_raw_samples(self.content, fmt.channels, fmt.bits // 8, float32=fmt.float32)
        if counts.shape[0] == 0:
            raise _malformed("pmd data frame", "no samples", data)
        if not np.isfinite(counts).all():
            raise _malformed("pmd data frame", "a float sample is not finite", data)
        return np.asarray(counts, dtype=np.float64) * ((1.0 if factor is None else factor) * fmt.unit_scale)


@dataclass(frozen=True, slots=True)
class FrameFormat:
    """How the samples of one (measurement, frame type, compressed) combination are stored.

    `bits` is the sample width (raw) or the resolution (delta); `float32` means the integers are IEEE 754
    bit patterns; `unit_scale` turns the format's unit into the measurement's (g -> mG for ACC delta type 0).
    """

    channels: int
    bits: int
    float32: bool = False
    unit_scale: float = 1.0


_FORMATS: dict[tuple[MeasurementType, int, bool], FrameFormat] = {
    # ACC: raw types 0/1/2 are 8/16/24-bit mG (tables 7-9; table 7 says the Verity Sense's 8-bit type 0 is
    # in g, a format neither profile asks for); delta type 0 is 16-bit in g scaled by the factor, delta type
    # 1 16-bit mG times the factor (AccData.kt).
    (MeasurementType.ACC, 0, False): FrameFormat(3, 8),
    (MeasurementType.ACC, 1, False): FrameFormat(3, 16),
    (MeasurementType.ACC, 2, False): FrameFormat(3, 24),
    (MeasurementType.ACC, 0, True): FrameFormat(3, 16, unit_scale=1000.0),
    (MeasurementType.ACC, 1, True): FrameFormat(3, 16),
    # GYRO: type 0 is 16-bit counts times the factor, type 1 float32 deg/s (tables 11-12; GyrData.kt).
    (MeasurementType.GYRO, 0, False): FrameFormat(3, 16),
    (MeasurementType.GYRO, 1, False): FrameFormat(3, 32, float32=True),
    (MeasurementType.GYRO, 0, True): FrameFormat(3, 16),
    (MeasurementType.GYRO, 1, True): FrameFormat(3, 32, float32=True),
}


def frame_format(measurement: MeasurementType, frame_type: int, compressed: bool) -> FrameFormat | None:
    """The sample format of an ACC or GYRO frame type; None for anything else."""
    return _FORMATS.get((measurement, frame_type, compressed))


IntArray = npt.NDArray[np.int64]


def _to_float32(counts: IntArray) -> npt.NDArray[np.float64]:
    return (counts & 0xFFFFFFFF).astype(np.uint32).view(np.float32).astype(np.float64)


def decode_raw_samples(
    content: bytes, channels: int, sample_bytes: int, *, float32: bool = False
) -> npt.NDArray[np.float64]:
    """Uncompressed content: little-endian signed integers, channel after channel (4.3.1), shape (n, ch)."""
    step = channels * sample_bytes
    if len(content) % step:
        raise _malformed(
            "pmd raw frame", f"{len(content)} bytes is not a whole number of {step}-byte samples", content
        )
    raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, sample_bytes).astype(np.int64)
    values = (raw << (8 * np.arange(sample_bytes, dtype=np.int64))).sum(axis=1)
    if float32:
        return _to_float32(values).reshape(-1, channels)
    sign = 1 << (8 * sample_bytes - 1)
    values = (values ^ sign) - sign
    return values.reshape(-1, channels).astype(np.float64)


def encode_raw_samples(samples: npt.ArrayLike, sample_bytes: int) -> bytes:
    """Inverse of `decode_raw_samples` for integer samples (n, ch); values must fit `sample_bytes`."""
    values = np.asarray(samples, dtype=np.int64)
    limit = 1 << (8 * sample_bytes - 1)
    if values.size and (values.min() < -limit or values.max() >= limit):
        raise ValueError(f"samples do not fit {sample_bytes} signed bytes")
    flat = values.reshape(-1) & ((1 << (8 * sample_bytes)) - 1)
    shifts = 8 * np.arange(sample_bytes, dtype=np.int64)
    return ((flat[:, None] >> shifts) & 0xFF).astype(np.uint8).tobytes()


def _sign_extend(values: IntArray, bits: int) -> IntArray:
    sign = np.int64(1) << (bits - 1)
    return (values ^ sign) - sign


def decode_delta_samples(
    content: bytes, channels: int, resolution_bits: int, *, float32: bool = False
) -> npt.NDArray[np.float64]:
    """Delta-compressed content (4.3.2-4.3.3) as samples, reference sample first, shape (n, ch).

    Integer formats are summed exactly; float32 formats sum their bit patterns modulo 2**32 (GyrData.kt type
    1) and are returned as floats.
    """
    ref_bytes = (resolution_bits + 7) // 8
    offset = channels * ref_bytes
    if len(content) < offset:
        raise _malformed("pmd delta frame", "shorter than its reference sample", content)
    ref = np.frombuffer(content[:offset], dtype=np.uint8).reshape(channels, ref_bytes).astype(np.int64)
    reference = (ref << (8 * np.arange(ref_bytes, dtype=np.int64))).sum(axis=1)
    if not float32:
        reference = _sign_extend(reference & ((1 << resolution_bits) - 1), resolution_bits)
    blocks: list[IntArray] = [reference[None, :]]
    while offset < len(content):
        if offset + 2 > len(content):
            raise _malformed("pmd delta frame", f"block header cut at byte {offset}", content)
        width, count = content[offset], content[offset + 1]
        if not 1 <= width <= 32:
            raise _malformed("pmd delta frame", f"delta width {width} bits is outside 1..32", content)
        n_bytes = (width * count * channels + 7) // 8
        start, offset = offset + 2, offset + 2 + n_bytes
        if offset > len(content):
            raise _malformed("pmd delta frame", f"block of {count} samples needs {n_bytes} bytes", content)
        packed = np.unpackbits(np.frombuffer(content[start:offset], dtype=np.uint8), bitorder="little")
        bits = packed[: width * count * channels].reshape(count * channels, width).astype(np.int64)
        deltas = _sign_extend(bits @ (np.int64(1) << np.arange(width, dtype=np.int64)), width)
        blocks.append(deltas.reshape(count, channels))
    counts = np.cumsum(np.concatenate(blocks), axis=0)
    if float32:
        return _to_float32(counts)
    return counts.astype(np.float64)


def _signed_width(values: IntArray) -> int:
    """Fewest two's complement bits that hold every value (at least 1)."""
    if not values.size:
        return 1
    high = int(values.max())
    low = int(values.min())
    return max(1, high.bit_length() + 1 if high > 0 else 1, (-low - 1).bit_length() + 1 if low < 0 else 1)


def encode_delta_samples(samples: npt.ArrayLike, resolution_bits: int, *, block_samples: int = 255) -> bytes:
    """Inverse of `decode_delta_samples` for integer samples (n, ch), n >= 1.

    Each block of up to `block_samples` deltas uses the fewest bits its deltas need, as a sensor would.
    """
    values = np.asarray(samples, dtype=np.int64)
    if values.ndim != 2 or values.shape[0] < 1:
        raise ValueError("samples must have shape (n, channels) with n >= 1")
    if not 1 <= block_samples <= 255:
        raise ValueError("block_samples must be in 1..255")
    ref_bytes = (resolution_bits + 7) // 8
    limit = 1 << (resolution_bits - 1)
    if values.min() < -limit or values.max() >= limit:
        raise ValueError(f"samples do not fit {resolution_bits} signed bits")
    out = bytearray(encode_raw_samples(values[:1], ref_bytes))
    deltas = np.diff(values, axis=0)
    for first in range(0, deltas.shape[0], block_samples):
        block = deltas[first : first + block_samples]
        width = _signed_width(block)
        if width > 32:
            raise ValueError("a delta needs more than 32 bits")
        flat = block.reshape(-1) & ((np.int64(1) << width) - 1)
        bits = ((flat[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8).reshape(-1)
        out += bytes([width, block.shape[0]]) + np.packbits(bits, bitorder="little").tobytes()
    return bytes(out)
