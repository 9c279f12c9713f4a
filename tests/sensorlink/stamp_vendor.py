"""Made-up vendors for the profile-interface tests: what Polar's and MetaWear's devices make the link do.

"Stamp" devices share nothing with our firmware spec. A chunk of samples goes out as two notifications, an
accelerometer frame and a gyroscope frame, each ``kind u8, device time of the LAST sample u64 ns, n x 3
float32``, and chunks vary in size (5, 9, 13 samples): separate streams with their own timestamps, a
last-sample clock and variable frames, with no packet counter. A start command is ``0x01, rate u16``, stop
``0x00``. `StampDevice` is a `VendorPeripheral`; `STAMP` is its profile; `StampDecoding` merges the two
frames into 6-axis samples. The accelerometer-only variant (`STAMP_ACC`, `StampAccDevice`) sends the
accelerometer frame only, as Polar's H10 does. "Tick" devices (`TickDevice`, `TICK`) send frames with no
clock and no counter at all, ``0x03, n x 6 float32`` (acc, then gyr), as WitMotion's and MetaWear's
streaming do: `TickDecoding` times them with `sensorlink.host_clock.HostSampleClock`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from bleak import BleakClient
from bleak.backends.scanner import AdvertisementData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sensorlink.errors import MalformedPacket
from sensorlink.host_clock import HostSampleClock
from sensorlink.profile import (
    AdvertisedSensor,
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    PacketCounters,
    SampleTiming,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles.standard_gatt import read_standard_battery_pct, require_services
from sensorlink.simsensor.gap import AD_COMPLETE_128_BIT_UUIDS, ad_flags, ad_structure, uuid128_le
from sensorlink.simsensor.vendor import SampleChunk, VendorPeripheral, VendorStream

TICK_SERVICE_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000d0"
TICK_FRAME = 0x03
TICK_SAMPLES_PER_FRAME = 2

STAMP_SERVICE_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000b0"
STAMP_ACC_SERVICE_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000c0"
STAMP_DATA_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000b1"
STAMP_COMMAND_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000b2"
STAMP_RATES_HZ = (52, 104, 208)
CHUNK_SIZES = (5, 9, 13)
FRAME_HEAD = struct.Struct("<BQ")
ACC_FRAME, GYR_FRAME = 0x01, 0x02
START, STOP = 0x01, 0x00
# Device time at power-on: the clock runs in ns since 2000-01-01 (a date in 2026), far beyond 2^32 us.
INITIAL_DEVICE_TIME_NS = 836_000_000 * 10**9


def frame(kind: int, last_ns: int, values: np.ndarray) -> bytes:
    return FRAME_HEAD.pack(kind, last_ns) + values.astype("<f4").tobytes()


class StampDecoding:
    """Merges an accelerometer frame with the gyroscope frame of the same last-sample time (per stream).

    A frame whose partner never comes (lost on the air) is dropped when the next chunk's frame arrives: the
    link then sees a gap in sample time and counts the loss.
    """

    def __init__(self, settings: StreamSettings, *, with_gyroscope: bool = True) -> None:
        self._period_ns = 1e9 / settings.sample_rate_hz
        self._with_gyroscope = with_gyroscope
        self._acc: tuple[int, np.ndarray] | None = None

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        if len(data) < FRAME_HEAD.size or (len(data) - FRAME_HEAD.size) % 12:
            raise MalformedPacket("stamp frame", "not a header and whole samples", length=len(data))
        kind, last_ns = FRAME_HEAD.unpack_from(data)
        values = np.frombuffer(data, "<f4", offset=FRAME_HEAD.size).reshape(-1, 3).astype(np.float64)
        if kind not in (ACC_FRAME, GYR_FRAME) or len(values) == 0:
            raise MalformedPacket("stamp frame", f"kind {kind} with {len(values)} samples", length=len(data))
        if kind == ACC_FRAME:
            if not self._with_gyroscope:
                return (self._packet(last_ns, values, None),)
            self._acc = (last_ns, values)
            return ()
        acc = self._acc
        if acc is None or acc[0] != last_ns or len(acc[1]) != len(values):
            return ()  # its accelerometer frame was lost: these samples are lost with it
        self._acc = None
        return (self._packet(last_ns, acc[1], values),)

    def _packet(self, last_ns: int, acc: np.ndarray, gyr: np.ndarray | None) -> DecodedPacket:
        first_ns = last_ns - round((len(acc) - 1) * self._period_ns)
        return DecodedPacket(acc_mps2=acc, gyr_dps=gyr, sensor_time_us=first_ns // 1000)


class StampSession:
    def __init__(self, client: BleakClient, profile: StampProfile) -> None:
        self._client = client
        self._profile = profile
        self._display_name = profile.display_name
        self._rate_hz = 0

    @property
    def firmware_revision(self) -> str:
        return "stamp"

    async def check_device(self) -> str:
        require_services(self._client, self._profile.discovery.service_uuids, self._display_name)
        return "stamp"

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        await self.check_device()
        self._profile.capabilities.check(requested, self._display_name)
        self._rate_hz = requested.sample_rate_hz
        return StreamSettings(requested.sample_rate_hz, 16, 2000, 9)

    async def subscribe_data(self, on_data: DataCallback) -> None:
        await self._client.start_notify(STAMP_DATA_UUID, lambda _c, data: on_data(data))

    async def start(self) -> StartInfo:
        command = struct.pack("<BH", START, self._rate_hz)
        await self._client.write_gatt_char(STAMP_COMMAND_UUID, command, response=True)
        return StartInfo(next_seq=0, sensor_time_us=0, resumed=False, samples_per_packet=9)

    async def stop(self) -> None:
        await self._client.write_gatt_char(STAMP_COMMAND_UUID, bytes([STOP]), response=True)

    async def time_sync(self) -> int | None:
        return None

    async def read_battery_pct(self) -> int | None:
        return await read_standard_battery_pct(self._client)


class StampProfile:
    counters = PacketCounters(seq_modulo=2, sensor_time_modulo_us=2**64 // 1000)
    default_settings = StreamSettings(208, 16, 2000, 9)
    timing = SampleTiming(
        clock="device",
        loss_checkable=True,
        description="a 64-bit nanosecond clock stamps the last sample of each frame; no packet counter",
    )
    requires_bonding = False

    def __init__(self, kind: str, service_uuid: str, *, with_gyroscope: bool) -> None:
        self.kind = self.name = kind
        self.display_name = f"the {kind} device"
        # By service: Bumble's virtual controller never delivers the scan response with the name.
        self.discovery = Discovery(service_uuids=(service_uuid,))
        self.capabilities = Capabilities(STAMP_RATES_HZ, (16,), (2000,) if with_gyroscope else ())
        self._with_gyroscope = with_gyroscope

    def recognises(self, advertisement: AdvertisementData) -> bool:
        return self.discovery.matches(advertisement)

    def advertised(
        self, address: str, advertisement: AdvertisementData
    ) -> tuple[str | None, AdvertisedSensor | None]:
        return advertisement.local_name, None

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> StampSession:
        return StampSession(client, self)

    def decoding(self, settings: StreamSettings) -> StampDecoding:
        return StampDecoding(settings, with_gyroscope=self._with_gyroscope)


STAMP = StampProfile("stamp", STAMP_SERVICE_UUID, with_gyroscope=True)
STAMP_ACC = StampProfile("stamp-acc", STAMP_ACC_SERVICE_UUID, with_gyroscope=False)


class StampDevice(VendorPeripheral):
    """The simulated Stamp device: the vendor base with the Stamp GATT, advertisement and frames."""

    kind = "stamp"
    default_address = "D5:7A:00:00:00:01"
    name_prefix = "Stamp"
    manufacturer_name = "Stamp Inc."
    model_number = "S-1"
    with_gyroscope = True
    service_uuid = STAMP_SERVICE_UUID

    def build_services(self) -> list[Service]:
        self.data_characteristic = Characteristic(
            STAMP_DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.command: Characteristic[bytes] = Characteristic(
            STAMP_COMMAND_UUID,
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        return [Service(self.service_uuid, [self.data_characteristic, self.command])]

    def advertising_data(self) -> bytes:
        return ad_flags() + ad_structure(AD_COMPLETE_128_BIT_UUIDS, uuid128_le(self.service_uuid))

    def chunk_samples(self, stream: VendorStream) -> int:
        return CHUNK_SIZES[(stream.samples_made // 9) % len(CHUNK_SIZES)]

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        last_ns = int(chunk.device_time_ns[-1])
        frames = [frame(ACC_FRAME, last_ns, chunk.acc_mps2)]
        if self.with_gyroscope:
            frames.append(frame(GYR_FRAME, last_ns, chunk.gyr_dps))
        return frames

    def _on_command(self, _connection: Connection, value: bytes) -> None:
        if value[:1] == bytes([START]) and len(value) == 3:
            (rate_hz,) = struct.unpack_from("<H", value, 1)
            self.start_stream(rate_hz, 9)
        elif value[:1] == bytes([STOP]):
            self.stop_stream()


class StampAccDevice(StampDevice):
    kind = "stamp-acc"
    default_address = "D5:7A:00:00:00:02"
    name_prefix = "StampAcc"
    with_gyroscope = False
    service_uuid = STAMP_ACC_SERVICE_UUID


class TickDecoding:
    """Frames without time: numbered and timed from arrivals by the stream's host clock."""

    def __init__(self, settings: StreamSettings) -> None:
        self.clock: HostSampleClock[np.ndarray] = HostSampleClock(settings.sample_rate_hz)

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        if len(data) < 1 + 24 or (len(data) - 1) % 24 or data[0] != TICK_FRAME:
            raise MalformedPacket("tick frame", "not a kind byte and whole 6-axis samples", length=len(data))
        values = np.frombuffer(data, "<f4", offset=1).reshape(-1, 6).astype(np.float64)
        return [
            DecodedPacket(
                acc_mps2=p.payload[:, :3],
                gyr_dps=p.payload[:, 3:],
                host_time_s=p.t_s,
                samples_lost_before=p.samples_lost_before,
            )
            for p in self.clock.push(host_ns, len(values), values)
        ]


class TickProfile(StampProfile):
    timing = SampleTiming(
        clock="host", loss_checkable=False, description="no clock, no counter: times and losses from arrivals"
    )

    def decoding(self, settings: StreamSettings) -> TickDecoding:  # type: ignore[override]
        return TickDecoding(settings)


TICK = TickProfile("tick", TICK_SERVICE_UUID, with_gyroscope=True)


class TickDevice(StampDevice):
    kind = "tick"
    default_address = "D5:7A:00:00:00:03"
    name_prefix = "Tick"
    service_uuid = TICK_SERVICE_UUID

    def chunk_samples(self, stream: VendorStream) -> int:
        return TICK_SAMPLES_PER_FRAME

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        values = np.hstack([chunk.acc_mps2, chunk.gyr_dps]).astype("<f4")
        return [bytes([TICK_FRAME]) + values.tobytes()]


def float32(values: np.ndarray) -> np.ndarray:
    """What the frames carry: float32, back to float64."""
    return values.astype(np.float32).astype(np.float64)


__all__ = [
    "INITIAL_DEVICE_TIME_NS",
    "STAMP",
    "STAMP_ACC",
    "STAMP_ACC_SERVICE_UUID",
    "STAMP_SERVICE_UUID",
    "TICK",
    "StampAccDevice",
    "StampDevice",
    "TickDevice",
    "float32",
]
