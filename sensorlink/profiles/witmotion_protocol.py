"""WitMotion WT901BLE (WT901BLECL, BWT901BLECL5.0) BLE protocol, bytes to types and back: no BLE, no I/O.

Facts from the WT901BLECL datasheet (section 6, "Communication Protocol") and WitMotion's own BLE 5.0 SDKs
(github.com/WITMOTION/WitBluetooth_BWT901BLE5_0: Python device_model.py, Android DeviceModel.java, iOS
Bwt901ble.swift); docs/sensors.md lists the exact sources.

- Service FFE5 with characteristics FFE4 (notify: data from the sensor) and FFE9 (write: commands). Every
  WitMotion SDK spells them as 128-bit UUIDs on the base 0000xxxx-0000-1000-8000-00805f9a34fb, which differs
  from the Bluetooth SIG base (...-00805f9b34fb) in one digit: the 16-bit short forms would not match.
- The default data packet is 20 bytes: 0x55, flag 0x61, then nine int16 little-endian: acceleration x, y, z
  (value / 32768 * 16 g), angular velocity x, y, z (/ 32768 * 2000 deg/s), angle x, y, z (/ 32768 * 180
  deg). No checksum, no counter and no timestamp: a lost notification cannot be seen, and sample times can
  only come from the host's arrival times (`sensorlink.host_clock`).
- Flag 0x71 answers a register read (`FF AA 27 REG 00`): start register (uint16) and 8 registers.
- A register is written as `FF AA REG VALUE_L VALUE_H`, after the unlock `FF AA 69 88 B5` (valid 10 s) and
  followed by save `FF AA 00 00 00`. The return rate is register 0x03; the codes the BLE 5.0 SDK offers
  are 0x03 = 1 Hz, 0x05 = 5 Hz, 0x06 = 10 Hz (default), 0x08 = 50 Hz, 0x09 = 100 Hz, 0x0B = 200 Hz, and
  WitMotion's common register table adds 0x04 = 2 Hz and 0x07 = 20 Hz (0x0A is 125 Hz there but 200 Hz in
  the WTVB01-BT50 manual: ambiguous, so not used). 200 Hz is the highest rate of the BLE version.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sensorlink.errors import MalformedPacket

__all__ = [
    "ACC_FULL_SCALE_G",
    "ANGLE_FULL_SCALE_DEG",
    "GYR_FULL_SCALE_DPS",
    "HEADER",
    "PACKET_BYTES",
    "RETURN_RATE_CODES",
    "UNLOCK_KEY",
    "WIT_NOTIFY_UUID",
    "WIT_SERVICE_UUID",
    "WIT_WRITE_UUID",
    "PacketFlag",
    "Register",
    "RegisterRead",
    "WitCommand",
    "WitImuPacket",
    "parse_notification",
]

FloatArray = npt.NDArray[np.float64]
Int16Array = npt.NDArray[np.int16]

WIT_SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
"""The WitMotion BLE service (WitMotion's base UUID, not the SIG's: see the module docstring)."""
WIT_NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
"""Sensor to client: data packets (notify)."""
WIT_WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
"""Client to sensor: register commands (write)."""

HEADER = 0x55
PACKET_BYTES = 20
"""Every packet, IMU or register answer, is 20 bytes (one BLE notification of the default ATT MTU)."""
ACC_FULL_SCALE_G = 16
GYR_FULL_SCALE_DPS = 2000
ANGLE_FULL_SCALE_DEG = 180
_COUNTS = 32768.0
_INT16S = struct.Struct("<9h")

_COMMAND_PREFIX = b"\xff\xaa"


class PacketFlag(enum.IntEnum):
    """Second byte of a packet from the sensor."""

    IMU = 0x61
    """Acceleration, angular velocity and angle (sent continuously at the return rate)."""
    REGISTERS = 0x71
    """Answer to a register read."""


class Register(enum.IntEnum):
    """Registers the profile writes or reads (WitMotion register table)."""

    SAVE = 0x00
    RETURN_RATE = 0x03
    READ = 0x27
    UNLOCK = 0x69


UNLOCK_KEY = 0xB588
"""Written to UNLOCK (bytes 88 B5) before a register write; the unlock lasts 10 s."""

RETURN_RATE_CODES: dict[int, int] = {
    1: 0x03,
    2: 0x04,
    5: 0x05,
    10: 0x06,
    20: 0x07,
    50: 0x08,
    100: 0x09,
    200: 0x0B,
}
"""Return rate (Hz) to the value of register 0x03 (see the module docstring for the sources)."""


@dataclass(frozen=True, slots=True)
class WitCommand:
    """One command written to FFE9: `FF AA register value_low value_high`."""

    register: int
    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.register <= 0xFF or not 0 <= self.value <= 0xFFFF:
            raise ValueError(f"register is a byte and value a uint16, got {self.register}, {self.value}")

    @classmethod
    def unlock(cls) -> WitCommand:
        return cls(Register.UNLOCK, UNLOCK_KEY)

    @classmethod
    def save(cls) -> WitCommand:
        return cls(Register.SAVE, 0)

    @classmethod
    def set_return_rate(cls, rate_hz: int) -> WitCommand:
        """Raises ValueError for a rate the device does not offer (`RETURN_RATE_CODES`)."""
        try:
            return cls(Register.RETURN_RATE, RETURN_RATE_CODES[rate_hz])
        except KeyError:
            raise ValueError(f"WitMotion offers no return rate of {rate_hz} Hz") from None

    @classmethod
    def read(cls, register: int) -> WitCommand:
        """Ask for a 0x71 packet with this register and the 7 after it."""
        return cls(Register.READ, register)

    def __bytes__(self) -> bytes:
        return _COMMAND_PREFIX + bytes([self.register]) + self.value.to_bytes(2, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> WitCommand:
        """Parse a command (the simulated sensor's side); MalformedPacket if not `FF AA` and 3 bytes."""
        if len(data) != 5 or data[:2] != _COMMAND_PREFIX:
            raise MalformedPacket("WitMotion command", "not FF AA followed by 3 bytes", length=len(data))
        return cls(data[2], int.from_bytes(data[3:5], "little"))

    @property
    def return_rate_hz(self) -> int | None:
        """The rate this command sets, if it writes the return-rate register with a known code."""
        if self.register != Register.RETURN_RATE:
            return None
        return next((hz for hz, code in RETURN_RATE_CODES.items() if code == self.value), None)


@dataclass(frozen=True, slots=True, eq=False)
class WitImuPacket:
    """One 0x55 0x61 packet as its nine raw int16 counts.

    Attributes
    ----------
    raw : (9,) int16 array
        Acceleration x, y, z; angular velocity x, y, z; angle x, y, z (counts of +-32768 full scale).
    """

    raw: Int16Array = field(repr=False)

    def __post_init__(self) -> None:
        if self.raw.shape != (9,) or self.raw.dtype != np.int16:
            raise ValueError(f"raw must be nine int16 counts, got {self.raw.shape} {self.raw.dtype}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WitImuPacket) and bool(np.array_equal(self.raw, other.raw))

    __hash__ = None  # type: ignore[assignment]

    @property
    def acc_g(self) -> FloatArray:
        """Acceleration x, y, z in g (gravity included)."""
        return self.raw[0:3].astype(np.float64) / _COUNTS * ACC_FULL_SCALE_G

    @property
    def gyr_dps(self) -> FloatArray:
        return self.raw[3:6].astype(np.float64) / _COUNTS * GYR_FULL_SCALE_DPS

    @property
    def angle_deg(self) -> FloatArray:
        """Roll, pitch, yaw from the sensor's own fusion (not used by the processing)."""
        return self.raw[6:9].astype(np.float64) / _COUNTS * ANGLE_FULL_SCALE_DEG

    @classmethod
    def from_physical(cls, acc_g: FloatArray, gyr_dps: FloatArray, angle_deg: FloatArray) -> WitImuPacket:
        """Quantise physical values as the sensor does (rounded, saturated at the int16 limits)."""
        scaled = np.concatenate(
            [
                np.asarray(acc_g, dtype=np.float64) / ACC_FULL_SCALE_G,
                np.asarray(gyr_dps, dtype=np.float64) / GYR_FULL_SCALE_DPS,
                np.asarray(angle_deg, dtype=np.float64) / ANGLE_FULL_SCALE_DEG,
            ]
        )
        counts = np.clip(np.rint(scaled * _COUNTS), -32768, 32767)
        return cls(counts.astype(np.int16))

    def __bytes__(self) -> bytes:
        return bytes([HEADER, PacketFlag.IMU]) + _INT16S.pack(*(int(v) for v in self.raw))

    @classmethod
    def from_bytes(cls, data: bytes) -> WitImuPacket:
        """Raises MalformedPacket unless `data` is 20 bytes starting 0x55 0x61."""
        if len(data) != PACKET_BYTES or data[0] != HEADER or data[1] != PacketFlag.IMU:
            raise MalformedPacket("WitMotion 0x61 packet", "not 20 bytes starting 55 61", length=len(data))
        return cls(np.array(_INT16S.unpack_from(data, 2), dtype=np.int16))


@dataclass(frozen=True, slots=True)
class RegisterRead:
    """A 0x55 0x71 answer: the start register and the values of it and the 7 registers after it."""

    start_register: int
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.values) != 8 or not all(0 <= v <= 0xFFFF for v in self.values):
            raise ValueError("a register answer holds 8 uint16 values")

    def __bytes__(self) -> bytes:
        return bytes([HEADER, PacketFlag.REGISTERS]) + struct.pack("<H8H", self.start_register, *self.values)

    @classmethod
    def from_bytes(cls, data: bytes) -> RegisterRead:
        if len(data) != PACKET_BYTES or data[0] != HEADER or data[1] != PacketFlag.REGISTERS:
            raise MalformedPacket("WitMotion 0x71 packet", "not 20 bytes starting 55 71", length=len(data))
        start, *values = struct.unpack_from("<H8H", data, 2)
        return cls(start, tuple(values))


def parse_notification(data: bytes) -> tuple[list[WitImuPacket], list[RegisterRead]]:
    """The packets of one FFE4 notification: one 20-byte packet as sent, or several back to back.

    WitMotion's Python SDK reassembles a byte stream, so a notification holding more than one whole packet is
    accepted; anything that is not a whole number of well-formed packets is refused whole.

    Raises
    ------
    MalformedPacket
        Empty, not a multiple of 20 bytes, a packet not starting 0x55, or an unknown flag.
    """
    if not data or len(data) % PACKET_BYTES:
        raise MalformedPacket(
            "WitMotion notification", "not a whole number of 20-byte packets", length=len(data)
        )
    imu: list[WitImuPacket] = []
    registers: list[RegisterRead] = []
    for start in range(0, len(data), PACKET_BYTES):
        chunk = bytes(data[start : start + PACKET_BYTES])
        if chunk[0] == HEADER and chunk[1] == PacketFlag.IMU:
            imu.append(WitImuPacket.from_bytes(chunk))
        elif chunk[0] == HEADER and chunk[1] == PacketFlag.REGISTERS:
            registers.append(RegisterRead.from_bytes(chunk))
        else:
            raise MalformedPacket(
                "WitMotion notification", f"packet starts {chunk[0]:02x} {chunk[1]:02x}", length=len(data)
            )
    return imu, registers
