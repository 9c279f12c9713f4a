"""Movesense's GATT SensorData Protocol (GSP), bytes to types and back: no BLE, no I/O.

GSP is not in the Movesense factory firmware: it is the protocol of Movesense's published sample firmware
`gatt_sensordata_app` (movesense-device-lib, samples/gatt_sensordata_app), which a user flashes onto the
sensor (docs/sensors.md, "Movesense"). A Movesense without it has no GSP service, and this profile cannot
stream from it.

The facts below come from that sample (GATTSensorDataClient.cpp, releases 2.1 to 2.3), its Python and web
clients, the GSP specification page (movesense.com/docs/esw/gatt_sensordata_protocol) and the Movesense API
definition meas/imu.yaml; docs/sensors.md lists the exact sources.

- One service, two characteristics sharing one 128-bit root UUID: commands are written to 34800001-...,
  responses and data come back as notifications on 34800002-... (delivery not guaranteed, the spec says).
- A command is `command (1 byte), client reference (1 byte, not zero), data`: HELLO (0) answers
  COMMAND_RESULT "Hello"; SUBSCRIBE (1) carries a Whiteboard resource path such as `/Meas/IMU6/208` as text;
  UNSUBSCRIBE (2) carries nothing and names the subscription by its reference.
- A notification is `response type (1 byte), client reference (1 byte), body`. COMMAND_RESULT (1) bodies are
  "Hello" or a 2-byte status (the sample sends 507 Insufficient Storage as 0x01 0xFB, high byte first, when
  its 4 subscription slots are taken; a successful SUBSCRIBE is not answered at all). DATA (2) bodies are
  the resource's SBEM serialisation; a body longer than 150 bytes is sent as DATA with the first 150 bytes
  and DATA_PART2 (3) with the rest (releases 2.2 and later).
- IMU6 data (imu.yaml `IMU6Data`): `Timestamp` uint32, milliseconds, "local timestamp of first
  measurement"; `ArrayAcc` then `ArrayGyro`, each n vectors of three float32 (x, y, z), m/s^2 and deg/s,
  little-endian. The arrays follow one another, they are not interleaved (the sample's Python client reads
  IMU9 this way), so n = (len - 4) / 24. There is no length field and no checksum: a notification cut at a
  whole 24-byte boundary reads as fewer (and shuffled) samples; only the next timestamp shows the gap.
- Sample rates of IMU6 (the `/Meas/IMU/Info` SampleRates of the sensor, and the sample's web client menu):
  13, 26, 52, 104, 208, 416, 833 and 1666 Hz; a path with another rate is refused by the sensor (501), which
  GSP does not report back, so a client must only ask for these.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sensorlink.errors import MalformedPacket

__all__ = [
    "DATA_PART_MAX_BYTES",
    "GSP_COMMAND_UUID",
    "GSP_DATA_UUID",
    "GSP_SERVICE_UUID",
    "IMU6_SAMPLE_RATES_HZ",
    "TIMESTAMP_MODULO_MS",
    "CommandResult",
    "GspCommand",
    "GspNotification",
    "GspRequest",
    "GspResponse",
    "Imu6Data",
    "Imu6Reassembler",
    "data_notifications",
    "imu6_path",
    "parse_imu6_path",
]

FloatArray = npt.NDArray[np.float64]

GSP_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
"""The GSP service (sample firmware gatt_sensordata_app only)."""
GSP_COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
"""Client to sensor: commands (write)."""
GSP_DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
"""Sensor to client: command results and subscription data (notify)."""

IMU6_SAMPLE_RATES_HZ: tuple[int, ...] = (13, 26, 52, 104, 208, 416, 833, 1666)
"""Rates `/Meas/IMU6/{SampleRate}` accepts on the sensor (its /Meas/IMU/Info SampleRates)."""

DATA_PART_MAX_BYTES = 150
"""Body bytes in a DATA notification; the rest of a longer body follows in DATA_PART2 (sample >= 2.2)."""

TIMESTAMP_MODULO_MS = 2**32
"""The IMU6 timestamp is a uint32 of milliseconds: it wraps after 49.7 days."""

_IMU6_PREFIX = "/Meas/IMU6/"
_TIMESTAMP = struct.Struct("<I")
_VECTOR_BYTES = 12  # FloatVector3D: three float32
_SAMPLE_BYTES = 2 * _VECTOR_BYTES  # one acc and one gyro vector
_HELLO = b"Hello"
_MAX_PATH_BYTES = 159  # the sample copies the path into a 160-byte buffer and terminates it


class GspCommand(enum.IntEnum):
    """First byte of a command written to GSP_COMMAND_UUID."""

    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class GspResponse(enum.IntEnum):
    """First byte of a notification on GSP_DATA_UUID."""

    COMMAND_RESULT = 1
    DATA = 2
    DATA_PART2 = 3


def imu6_path(sample_rate_hz: int) -> str:
    """The Whiteboard resource of combined accelerometer and gyroscope samples at this rate."""
    return f"{_IMU6_PREFIX}{sample_rate_hz}"


def parse_imu6_path(path: str) -> int | None:
    """The rate of an IMU6 resource path, or None if `path` is not `/Meas/IMU6/<integer>`."""
    if not path.startswith(_IMU6_PREFIX):
        return None
    tail = path[len(_IMU6_PREFIX) :]
    return int(tail) if tail.isdecimal() and tail.isascii() else None


@dataclass(frozen=True, slots=True)
class GspRequest:
    """One command as written to the command characteristic.

    Attributes
    ----------
    command : GspCommand
    reference : int
        Client-chosen 1..255 (the sample treats 0 as a free subscription slot); results and data carry it.
    path : str
        The resource for SUBSCRIBE (ASCII, e.g. "/Meas/IMU6/208"); empty for the other commands.
    """

    command: GspCommand
    reference: int
    path: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.reference <= 255:
            raise ValueError(f"a GSP client reference is 1..255, got {self.reference}")
        if (self.command is GspCommand.SUBSCRIBE) != bool(self.path):
            raise ValueError("SUBSCRIBE carries a resource path, the other commands none")
        if not self.path.isascii() or len(self.path) > _MAX_PATH_BYTES:
            raise ValueError(f"a GSP resource path is ASCII of at most {_MAX_PATH_BYTES} bytes")

    @classmethod
    def hello(cls, reference: int) -> GspRequest:
        return cls(GspCommand.HELLO, reference)

    @classmethod
    def subscribe(cls, reference: int, path: str) -> GspRequest:
        return cls(GspCommand.SUBSCRIBE, reference, path)

    @classmethod
    def unsubscribe(cls, reference: int) -> GspRequest:
        return cls(GspCommand.UNSUBSCRIBE, reference)

    def __bytes__(self) -> bytes:
        return bytes([self.command, self.reference]) + self.path.encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> GspRequest:
        """Parse a command (the simulated sensor's side).

        Raises
        ------
        MalformedPacket
            Shorter than 2 bytes, an unknown command, reference 0, or a path that is missing, not ASCII or
            where none belongs.
        """
        if len(data) < 2:
            raise MalformedPacket("GSP command", "shorter than command and reference", length=len(data))
        try:
            command = GspCommand(data[0])
        except ValueError:
            raise MalformedPacket("GSP command", f"unknown command {data[0]}", length=len(data)) from None
        try:
            return cls(command, data[1], data[2:].decode("ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedPacket("GSP command", str(exc), length=len(data)) from None


@dataclass(frozen=True, slots=True)
class GspNotification:
    """One notification on the data characteristic: response type, client reference, body."""

    response: GspResponse
    reference: int
    body: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.reference <= 255:
            raise ValueError(f"reference must be a byte, got {self.reference}")

    def __bytes__(self) -> bytes:
        return bytes([self.response, self.reference]) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> GspNotification:
        """Raises MalformedPacket for fewer than 2 bytes or an unknown response type."""
        if len(data) < 2:
            raise MalformedPacket("GSP notification", "shorter than type and reference", length=len(data))
        try:
            response = GspResponse(data[0])
        except ValueError:
            raise MalformedPacket(
                "GSP notification", f"unknown response type {data[0]}", length=len(data)
            ) from None
        return cls(response, data[1], bytes(data[2:]))


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The body of a COMMAND_RESULT: the HELLO answer, or an HTTP-like status.

    Attributes
    ----------
    reference : int
    hello : bool
        The answer to HELLO ("Hello").
    status : int or None
        The status of a failed SUBSCRIBE (507: no free subscription slot), sent high byte first.
    """

    reference: int
    hello: bool = False
    status: int | None = None

    def __post_init__(self) -> None:
        if self.hello == (self.status is not None):
            raise ValueError("a command result is either the HELLO answer or a status")
        if self.status is not None and not 0 <= self.status <= 0xFFFF:
            raise ValueError("a status is a uint16")

    def to_notification(self) -> GspNotification:
        body = _HELLO if self.hello else (self.status or 0).to_bytes(2, "big")
        return GspNotification(GspResponse.COMMAND_RESULT, self.reference, body)

    @classmethod
    def from_notification(cls, notification: GspNotification) -> CommandResult:
        """Raises MalformedPacket if the body is neither "Hello" nor 2 status bytes."""
        body = notification.body
        if notification.response is not GspResponse.COMMAND_RESULT:
            raise MalformedPacket("GSP command result", "not a COMMAND_RESULT", length=len(body) + 2)
        if body == _HELLO:
            return cls(notification.reference, hello=True)
        if len(body) == 2:
            return cls(notification.reference, status=int.from_bytes(body, "big"))
        raise MalformedPacket(
            "GSP command result", "body is neither Hello nor a status", length=len(body) + 2
        )


@dataclass(frozen=True, slots=True, eq=False)
class Imu6Data:
    """One IMU6 notification's samples as the sensor serialises them (SBEM of imu.yaml `IMU6Data`).

    Attributes
    ----------
    timestamp_ms : int
        The sensor's millisecond clock at the FIRST sample (imu.yaml: "local timestamp of first
        measurement"), uint32.
    acc_mps2 : (n, 3) array, m/s^2
        Float32 values on the air.
    gyr_dps : (n, 3) array, deg/s
    """

    timestamp_ms: int
    acc_mps2: FloatArray = field(repr=False)
    gyr_dps: FloatArray = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.timestamp_ms < TIMESTAMP_MODULO_MS:
            raise ValueError(f"timestamp_ms must be a uint32, got {self.timestamp_ms}")
        shape = self.acc_mps2.shape
        if len(shape) != 2 or shape[1] != 3 or shape[0] < 1 or self.gyr_dps.shape != shape:
            raise ValueError(
                f"acc_mps2 and gyr_dps must both be (n >= 1, 3), got {shape}, {self.gyr_dps.shape}"
            )

    @property
    def sample_count(self) -> int:
        return int(self.acc_mps2.shape[0])

    def to_bytes(self) -> bytes:
        """The SBEM body: timestamp, then all accelerometer vectors, then all gyroscope vectors."""
        return (
            _TIMESTAMP.pack(self.timestamp_ms)
            + self.acc_mps2.astype("<f4").tobytes()
            + self.gyr_dps.astype("<f4").tobytes()
        )

    @classmethod
    def from_bytes(cls, body: bytes) -> Imu6Data:
        """Parse an IMU6 body (the DATA body, or DATA and DATA_PART2 bodies joined).

        Raises
        ------
        MalformedPacket
            Not 4 + 24 n bytes with n >= 1, or a value that is not finite (a real sensor sends none).
        """
        n, rest = divmod(len(body) - _TIMESTAMP.size, _SAMPLE_BYTES)
        if n < 1 or rest:
            raise MalformedPacket(
                "Movesense IMU6 data", "length is not 4 + 24 n bytes (n >= 1)", length=len(body)
            )
        values = np.frombuffer(body, dtype="<f4", offset=_TIMESTAMP.size).astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise MalformedPacket("Movesense IMU6 data", "a value is not finite", length=len(body))
        acc_mps2 = values[: 3 * n].reshape(n, 3)
        gyr_dps = values[3 * n :].reshape(n, 3)
        return cls(_TIMESTAMP.unpack_from(body)[0], acc_mps2, gyr_dps)


def data_notifications(reference: int, body: bytes) -> list[bytes]:
    """The notifications that carry one subscription body: DATA, and DATA_PART2 if it exceeds 150 bytes.

    The sample firmware sends at most two parts (its buffer is 158 bytes); longer bodies are refused.
    """
    if len(body) > 2 * DATA_PART_MAX_BYTES:
        raise ValueError(f"a GSP data body is at most {2 * DATA_PART_MAX_BYTES} bytes, got {len(body)}")
    first = GspNotification(GspResponse.DATA, reference, body[:DATA_PART_MAX_BYTES])
    if len(body) <= DATA_PART_MAX_BYTES:
        return [bytes(first)]
    second = GspNotification(GspResponse.DATA_PART2, reference, body[DATA_PART_MAX_BYTES:])
    return [bytes(first), bytes(second)]


@dataclass(slots=True)
class Imu6Reassembler:
    """Joins DATA and DATA_PART2 notifications of one IMU6 subscription into `Imu6Data` (per stream state).

    A DATA body of exactly 150 bytes cannot be a whole IMU6 body (4 + 24 n is never 150), so it is the first
    part and waits for its DATA_PART2. A lost DATA_PART2 leaves its first part unusable: it is dropped when
    the next DATA arrives and counted in `abandoned_parts` (its samples show as a gap in the sensor's
    timestamps, where the link counts them as lost). A DATA_PART2 whose first part was lost is malformed.

    Parameters
    ----------
    reference : int
        The client reference the subscription was made with; notifications for others are refused.
    """

    reference: int
    abandoned_parts: int = 0
    _pending: bytes | None = None

    def feed(self, data: bytes) -> Imu6Data | None:
        """The samples this notification completes, None while a first part waits for its second.

        Raises
        ------
        MalformedPacket
            Not a DATA/DATA_PART2 for this reference, a DATA_PART2 without its first part, or a bad body.
        """
        notification = GspNotification.from_bytes(data)
        if notification.response is GspResponse.COMMAND_RESULT:
            raise MalformedPacket("GSP data", "a command result where data was expected", length=len(data))
        if notification.reference != self.reference:
            raise MalformedPacket(
                "GSP data",
                f"reference {notification.reference}, subscribed as {self.reference}",
                length=len(data),
            )
        pending, self._pending = self._pending, None
        if notification.response is GspResponse.DATA_PART2:
            if pending is None:
                raise MalformedPacket("GSP data", "DATA_PART2 without its first part", length=len(data))
            return Imu6Data.from_bytes(pending + notification.body)
        if pending is not None:
            self.abandoned_parts += 1
        if len(notification.body) == DATA_PART_MAX_BYTES:
            self._pending = notification.body
            return None
        return Imu6Data.from_bytes(notification.body)
