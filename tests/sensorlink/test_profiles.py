"""The sensor-profile seam: a second kind of sensor streams through the same scanner and `Link`.

The profile below is made up for the test and shares nothing with the firmware spec: its own UUIDs, a
one-byte start/stop command with no answer, no time request, and a packet of a big-endian u32 counter, a u32
clock in 1/32768 s ticks and 8 samples of float32 gyroscope (rad/s) then accelerometer (g) at 100 Hz (a rate
spec v1 does not have). A small Bumble peripheral on the virtual link speaks it. If the link, the sequence
tracking or the clock mapping still assumed spec v1 anywhere, these samples would not come through exactly.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from bleak import BleakClient
from bleak.backends.scanner import AdvertisementData
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from sensorlink.blocks import SampleBlock
from sensorlink.bumble_backend.virtual import PeripheralController, QuietHost
from sensorlink.errors import InvalidConfiguration, MalformedPacket
from sensorlink.link import HostClock, Link, LinkOptions
from sensorlink.profile import (
    AdvertisedSensor,
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    PacketCounters,
    SampleTiming,
    SensorProfile,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles import POSTURE_V1
from sensorlink.scan import BleBackend, open_ble_backend, scan_for_sensors

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])

TOY_SERVICE_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000a0"
TOY_DATA_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000a1"
TOY_COMMAND_UUID = "5ee1f000-7e57-4d0e-9a11-0000000000a2"
TOY_ADDRESS = "D4:70:00:00:00:01"
TOY_RATE_HZ = 100
TOY_SAMPLES_PER_PACKET = 8
TOY_HEADER = struct.Struct(">II")  # counter, clock ticks
TOY_SAMPLE = struct.Struct(">6f")  # gyr x, y, z (rad/s), then acc x, y, z (g)
TICKS_PER_S = 32768
STANDARD_GRAVITY_MPS2 = 9.80665
START, STOP = b"\x01", b"\x00"
FIRST_COUNTER = 65530  # beyond spec v1's u16 seq after 6 packets
FIRST_TICKS = 5000 * TICKS_PER_S  # 5000 s: beyond spec v1's 2^32 us sensor clock

FloatArray = npt.NDArray[np.float64]


# --- the profile (host side) --------------------------------------------------------------------------------


class ToySession:
    def __init__(self, client: BleakClient) -> None:
        self._client = client

    @property
    def firmware_revision(self) -> str:
        return "toy"

    async def check_device(self) -> str:
        return "toy"

    async def read_battery_pct(self) -> int | None:
        return None  # the toy has no battery service

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        TOY.capabilities.check(requested, "the toy sensor")
        return StreamSettings(TOY_RATE_HZ, 16, 2000, TOY_SAMPLES_PER_PACKET)

    async def subscribe_data(self, on_data: DataCallback) -> None:
        await self._client.start_notify(TOY_DATA_UUID, lambda _c, data: on_data(data))

    async def start(self) -> StartInfo:
        await self._client.write_gatt_char(TOY_COMMAND_UUID, START, response=True)
        return StartInfo(
            next_seq=0, sensor_time_us=0, resumed=False, samples_per_packet=TOY_SAMPLES_PER_PACKET
        )

    async def stop(self) -> None:
        await self._client.write_gatt_char(TOY_COMMAND_UUID, STOP, response=True)

    async def time_sync(self) -> int | None:
        return None  # no time request: the link maps the clock from arrivals alone


class ToyDecoding:
    """Every toy packet carries its counter and clock: nothing to remember between packets."""

    def decode(self, data: bytes, host_ns: int) -> tuple[DecodedPacket]:
        if len(data) != TOY_HEADER.size + TOY_SAMPLES_PER_PACKET * TOY_SAMPLE.size:
            raise MalformedPacket("toy packet", "wrong length", length=len(data))
        counter, ticks = TOY_HEADER.unpack_from(data)
        values = np.frombuffer(data, dtype=">f4", offset=TOY_HEADER.size).reshape(-1, 6).astype(np.float64)
        return (
            DecodedPacket(
                acc_mps2=values[:, 3:] * STANDARD_GRAVITY_MPS2,
                gyr_dps=np.degrees(values[:, :3]),
                seq=counter,
                sensor_time_us=ticks * 1_000_000 // TICKS_PER_S,
                session_start=False,  # the toy has no session notion; the link starts tracking at connect
            ),
        )


class ToyProfile:
    kind = "toy"
    name = "toy"
    display_name = "the toy sensor"
    discovery = Discovery(service_uuids=(TOY_SERVICE_UUID,))
    capabilities = Capabilities(sample_rates_hz=(TOY_RATE_HZ,), acc_ranges_g=(16,), gyr_ranges_dps=(2000,))
    timing = SampleTiming(clock="device", loss_checkable=True, description="a u32 counter and 32 kHz ticks")
    requires_bonding = False
    counters = PacketCounters(seq_modulo=2**32, sensor_time_modulo_us=2**32 * 1_000_000 // TICKS_PER_S)
    default_settings = StreamSettings(TOY_RATE_HZ, 16, 2000, TOY_SAMPLES_PER_PACKET)

    def recognises(self, advertisement: AdvertisementData) -> bool:
        return self.discovery.matches(advertisement)

    def advertised(
        self, address: str, advertisement: AdvertisementData
    ) -> tuple[str | None, AdvertisedSensor | None]:
        return "Toy", None

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> ToySession:
        return ToySession(client)

    def decoding(self, settings: StreamSettings) -> ToyDecoding:
        return ToyDecoding()


TOY: SensorProfile = ToyProfile()


# --- the toy sensor (peripheral side) -----------------------------------------------------------------------


def toy_sample(index: int) -> tuple[float, ...]:
    """What the toy sensor measures at sample `index`: gyr (rad/s) then acc (g), all six axes different."""
    t_s = index / TOY_RATE_HZ
    return (
        0.5 * math.sin(2 * math.pi * 1.4 * t_s),
        -0.2,
        0.1 * math.cos(2 * math.pi * 2.8 * t_s),
        0.3 * math.sin(2 * math.pi * 2.8 * t_s),
        -0.05,
        1.0 + 0.6 * math.cos(2 * math.pi * 2.8 * t_s),
    )


class ToySensor:
    """A peripheral speaking the toy protocol; skips the packets in `lost_counters` as a lossy radio would.

    Its counter and clock start where spec v1's would have wrapped (u16 seq, 2^32 us), so a link that
    unwrapped them as spec v1 does would refuse or misnumber its packets.
    """

    def __init__(self, link: LocalLink, lost_counters: frozenset[int]) -> None:
        config = DeviceConfiguration()
        config.name = "Toy"
        config.address = hci.Address(TOY_ADDRESS)
        controller = PeripheralController("toy", link=link)
        self.device = Device(config=config, host=QuietHost(controller, AsyncPipeSink(controller)))
        self.data: Characteristic[bytes] = Characteristic(
            TOY_DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.command: Characteristic[bytes] = Characteristic(
            TOY_COMMAND_UUID,
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        self.device.add_service(Service(TOY_SERVICE_UUID, [self.data, self.command]))
        self.lost_counters = lost_counters
        self.sent: list[tuple[float, ...]] = []  # every sample of every packet sent, in order
        self._task: asyncio.Task[None] | None = None
        self._connection: Connection | None = None

    async def start(self) -> ToySensor:
        await self.device.power_on()
        await self.device.start_advertising(
            advertising_data=bytes(
                AdvertisingData(
                    [
                        (
                            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                            bytes(UUID(TOY_SERVICE_UUID)),
                        )
                    ]
                )
            ),
            advertising_interval_min=50,
            advertising_interval_max=50,
        )
        return self

    def _on_command(self, connection: Connection, value: bytes) -> None:
        if value == START and self._task is None:
            self._connection = connection
            self._task = asyncio.ensure_future(self._stream())
        elif value == STOP and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        counter = 0
        while True:
            first = counter * TOY_SAMPLES_PER_PACKET
            ready_s = t0 + (first + TOY_SAMPLES_PER_PACKET) / TOY_RATE_HZ
            await asyncio.sleep(max(0.0, ready_s - loop.time()))
            samples = [toy_sample(first + i) for i in range(TOY_SAMPLES_PER_PACKET)]
            ticks = FIRST_TICKS + first * TICKS_PER_S // TOY_RATE_HZ
            payload = TOY_HEADER.pack(FIRST_COUNTER + counter, ticks) + b"".join(
                TOY_SAMPLE.pack(*s) for s in samples
            )
            if counter not in self.lost_counters and self._connection is not None:
                self.sent.extend(samples)
                await self.device.notify_subscriber(self._connection, self.data, payload)
            counter += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.device.power_off()


@asynccontextmanager
async def toy_on_the_virtual_link(
    tmp_path: Path, lost_counters: frozenset[int] = frozenset()
) -> AsyncIterator[tuple[BleBackend, ToySensor]]:
    """The `sim` adapter (what `--adapter sim` opens) with the toy sensor instead of ours."""

    async def factory(link: LocalLink) -> ToySensor:
        return await ToySensor(link, lost_counters).start()

    async with open_ble_backend(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[factory]
    ) as backend:
        sensor = backend.simulated[0]
        assert isinstance(sensor, ToySensor)
        yield backend, sensor


def physical(samples: list[tuple[float, ...]]) -> tuple[FloatArray, FloatArray]:
    """acc (m/s^2) and gyr (deg/s) of sent samples, through float32 as on the air."""
    values = np.array(samples, dtype=np.float32).astype(np.float64)
    return values[:, 3:] * STANDARD_GRAVITY_MPS2, np.degrees(values[:, :3])


# --- tests --------------------------------------------------------------------------------------------------


@VIRTUAL_TIME
async def test_a_second_profile_streams_its_exact_samples_through_the_same_link(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    lost = frozenset({5})  # the sixth packet: counter 65535
    async with toy_on_the_virtual_link(tmp_path, lost) as (backend, sensor):
        link = Link(TOY_ADDRESS, client_factory=backend.client_factory, profile=TOY, host_clock_ns=loop_clock)
        blocks: list[SampleBlock] = []
        async with link:
            async for block in link.blocks():
                blocks.append(block)
                if sum(len(b) for b in blocks) >= 20 * TOY_RATE_HZ:
                    break
            assert link.config == StreamSettings(TOY_RATE_HZ, 16, 2000, TOY_SAMPLES_PER_PACKET)
            counters = link.counters
    acc = np.vstack([b.samples.acc_mps2 for b in blocks])
    gyr = np.vstack([b.samples.gyr_dps for b in blocks if b.samples.gyr_dps is not None])
    expected_acc, expected_gyr = physical(sensor.sent[: len(acc)])
    np.testing.assert_array_equal(acc, expected_acc)
    np.testing.assert_array_equal(gyr, expected_gyr)
    # Numbering, loss and rate from the toy's own counter and clock: packet 5 was lost, exactly 8 samples.
    assert [b.lost_samples_before for b in blocks if b.lost_samples_before] == [TOY_SAMPLES_PER_PACKET]
    assert counters.samples_lost == TOY_SAMPLES_PER_PACKET
    indices = [b.first_sample_index for b in blocks]
    assert indices == [i * TOY_SAMPLES_PER_PACKET for i in range(len(blocks) + 1) if i != 5][: len(blocks)]
    assert all(b.sampling_rate_hz == TOY_RATE_HZ for b in blocks)
    t_s = np.concatenate([b.samples.t_s for b in blocks])
    assert np.all(np.diff(t_s) > 0)
    assert np.median(np.diff(t_s)) == pytest.approx(1 / TOY_RATE_HZ, rel=1e-3)


@VIRTUAL_TIME
async def test_settings_the_profile_cannot_do_are_refused_before_streaming(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    async with toy_on_the_virtual_link(tmp_path) as (backend, _sensor):
        link = Link(
            TOY_ADDRESS,
            client_factory=backend.client_factory,
            profile=TOY,
            options=LinkOptions(config=StreamSettings(208, 16, 2000, 8), connect_attempts=1),
            host_clock_ns=loop_clock,
        )
        with pytest.raises(InvalidConfiguration, match="does not sample at 208 Hz; it offers 100 Hz"):
            async with link:
                pass


@VIRTUAL_TIME
async def test_a_scan_attributes_each_sensor_to_the_profile_that_recognises_it(tmp_path: Path) -> None:
    async with toy_on_the_virtual_link(tmp_path) as (backend, _sensor):
        found = await scan_for_sensors(backend, timeout_s=1.0, profiles=(POSTURE_V1, TOY))
        assert [(f.address, f.profile.name, f.name) for f in found] == [(TOY_ADDRESS, "toy", "Toy")]
        assert await scan_for_sensors(backend, timeout_s=1.0) == []  # by default: the registry's profiles
