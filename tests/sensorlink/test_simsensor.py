"""The simulated sensor behaves as firmware_specs/posture_sensor_v1.md says, seen by a raw Bumble central.

Each test puts the sensor and a central on one `bumble.link.LocalLink`, time-scaled so that seconds of
streaming take a fraction of a second, on the virtual event-loop clock (conftest.py): the sensor's pacing, its
radio model and the test's own waits all read that clock, so what arrives when is the same on an idle laptop
and on a loaded 2-core CI runner. (On the real clock a starved event loop let the sensor fall behind its
pacing, and a run under load received 245 of the 260 packets that 10 s at 208 Hz owe.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID, ProtocolError
from bumble.device import Connection, Device, Peer
from bumble.gatt import GATT_BATTERY_LEVEL_CHARACTERISTIC, GATT_FIRMWARE_REVISION_STRING_CHARACTERISTIC
from bumble.gatt_client import CharacteristicProxy
from bumble.keys import MemoryKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from sensorlink.bumble_backend.virtual import QuietHost, VirtualController
from sensorlink.errors import MalformedPacket, UnsupportedFirmware
from sensorlink.protocol import (
    PROFILE,
    AdvertisementInfo,
    ControlRequest,
    ControlResponse,
    ControlResult,
    ImuPacket,
    SensorConfig,
    StartInfo,
    StatusReport,
    check_firmware_revision,
    packets_since,
)
from sensorlink.simsensor import (
    FaultPlan,
    LinkDrop,
    PacketFate,
    SimulatedSensor,
    SimulatedSensorOptions,
    start_simulated_sensor,
)

TIME_SCALE = 20.0
pytestmark = pytest.mark.asyncio(loop_factories=["virtual_time"])
CENTRAL_ADDRESS = "F0:F1:F2:F3:F4:F5"


@dataclass
class CentralLink:
    """One connection of the test central to the sensor, with everything it received."""

    connection: Connection
    peer: Peer
    imu: CharacteristicProxy[bytes]
    configuration: CharacteristicProxy[bytes]
    control: CharacteristicProxy[bytes]
    status: CharacteristicProxy[bytes]
    notifications: list[bytes] = field(default_factory=list)
    arrivals_true_s: list[float] = field(default_factory=list)
    clock: Callable[[], float] | None = None
    responses: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    statuses: list[bytes] = field(default_factory=list)
    disconnected: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    async def subscribe(self) -> None:
        await self.imu.subscribe(self._on_imu)
        await self.control.subscribe(
            lambda value: self.responses.put_nowait(bytes(value)), prefer_notify=False
        )
        await self.status.subscribe(lambda value: self.statuses.append(bytes(value)))

    def _on_imu(self, value: bytes) -> None:
        self.notifications.append(bytes(value))
        if self.clock is not None:
            self.arrivals_true_s.append(self.clock())

    async def command(self, request: ControlRequest) -> ControlResponse:
        await self.control.write_value(bytes(request), with_response=True)
        async with asyncio.timeout(2):
            return ControlResponse.from_bytes(await self.responses.get())

    async def start(self) -> StartInfo:
        return (await self.command(ControlRequest.start())).start_info()

    def packets(self) -> list[ImuPacket]:
        return [ImuPacket.from_bytes(data) for data in self.notifications]


def _pairing_config(_connection: Connection) -> PairingConfig:
    delegate = PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT)
    return PairingConfig(sc=True, mitm=False, bonding=True, delegate=delegate)


async def _central(link: LocalLink, address: str = CENTRAL_ADDRESS) -> Device:
    controller = VirtualController(f"test-central-{address}", link=link)
    device = Device(
        name="central",
        address=hci.Address(address),
        host=QuietHost(controller, AsyncPipeSink(controller)),
    )
    device.keystore = MemoryKeyStore()
    device.pairing_config_factory = _pairing_config
    await device.power_on()
    return device


async def _connect(
    central: Device, sensor: SimulatedSensor, *, pair: bool = True, mtu: int | None = 247
) -> CentralLink:
    connection = await central.connect(sensor.device.random_address)
    if pair:
        await connection.pair()
    peer = Peer(connection)
    if mtu is not None:
        await peer.request_mtu(mtu)
    await peer.discover_services()
    await peer.discover_characteristics()
    gatt = PROFILE.gatt

    def characteristic(uuid: str) -> CharacteristicProxy[bytes]:
        return peer.get_characteristics_by_uuid(UUID(uuid))[0]

    link = CentralLink(
        connection,
        peer,
        characteristic(gatt.imu_data_uuid),
        characteristic(gatt.configuration_uuid),
        characteristic(gatt.control_point_uuid),
        characteristic(gatt.status_uuid),
        clock=sensor.true_time_s,
    )

    def on_disconnection(reason: int) -> None:
        if not link.disconnected.done():
            link.disconnected.set_result(reason)

    connection.on("disconnection", on_disconnection)
    return link


@contextlib.asynccontextmanager
async def _setup(
    options: SimulatedSensorOptions | None = None,
) -> AsyncIterator[tuple[SimulatedSensor, Device]]:
    link = LocalLink()
    sensor = await start_simulated_sensor(link, options or SimulatedSensorOptions(time_scale=TIME_SCALE))
    central = await _central(link)
    try:
        yield sensor, central
    finally:
        await sensor.stop()
        await central.power_off()


async def _stream_for(sensor: SimulatedSensor, true_s: float) -> None:
    await asyncio.sleep(true_s / sensor.options.time_scale)


async def _stop_and_settle(link: CentralLink) -> None:
    await link.command(ControlRequest.stop())
    await asyncio.sleep(0.02)


# --- streaming ----------------------------------------------------------------------------------------------


async def test_streams_paced_packets_that_decode_to_exactly_the_sent_samples() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        info = await link.start()
        assert info == StartInfo(
            next_seq=0, sensor_time_us=info.sensor_time_us, resumed=False, samples_per_packet=8
        )
        # 10 s of samples, and time for the radio to carry the last of them (see the lateness bound below).
        interval_s = sensor.options.connection_interval_s
        radio_hold_s = 5 * interval_s
        await _stream_for(sensor, 10.0 + radio_hold_s)
        await _stop_and_settle(link)

        received = link.packets()
        sent = sensor.log.packets(PacketFate.SENT)
        assert received == sent  # every packet once, in order, bit-exact
        assert [p.seq for p in received] == list(range(len(received)))
        assert received[0].flags & ImuPacket.FLAG_SESSION_START
        assert not any(p.flags & ImuPacket.FLAG_SESSION_START for p in received[1:])
        # Paced at 208 Hz of simulated time: no packet arrives before its last sample is taken, nor is held
        # back longer than its connection event plus whole intervals for the events the radio model loses.
        ready_true_s = np.array([r.ready_true_s for r in sensor.log.records if r.fate is PacketFate.SENT])
        lateness_s = np.array(link.arrivals_true_s) - ready_true_s
        assert lateness_s.min() >= 0
        assert np.median(lateness_s) <= interval_s + 1e-9
        assert lateness_s.max() <= radio_hold_s + 1e-9
        assert len(received) >= 10.0 * 208 / 8  # never slower than 208 Hz
        acc = np.concatenate([p.decode(SensorConfig())[0] for p in received])
        np.testing.assert_array_equal(acc, sensor.log.raw()[:, :3] * SensorConfig().acc_mps2_per_lsb)
        # Sensor timestamps advance exactly one packet period (no drift planned).
        steps = np.diff([p.sensor_time_us for p in received])
        assert np.all(np.abs(steps - 8e6 / 208) <= 1)


async def test_advertises_service_name_and_protocol_version() -> None:
    async with _setup() as (sensor, central):
        seen: list[object] = []
        central.on("advertisement", seen.append)
        await central.start_scanning(active=True)
        await asyncio.sleep(0.3)
        await central.stop_scanning()
        ads = [a for a in seen if a.address == sensor.device.random_address]  # type: ignore[attr-defined]
        assert ads
        manufacturer = {}
        names = set()
        uuids: list[UUID] = []
        for adv in ads:
            data = adv.data  # type: ignore[attr-defined]
            if (entry := data.get(0xFF)) is not None:
                company_id, payload = entry
                manufacturer[company_id] = bytes(payload)
            if (name := data.get(0x09)) is not None:
                names.add(name)
            uuids += data.get(0x07) or []
        info = AdvertisementInfo.from_manufacturer_data(manufacturer)
        assert info == AdvertisementInfo(1, 87, AdvertisementInfo.FLAG_PAIRING_MODE)
        assert UUID(PROFILE.gatt.service_uuid) in uuids
        # The name travels in the scan response (Bumble's virtual controller echoes the advertising data there
        # instead, so check the sensor's scan response itself) and in the GAP Device Name.
        assert sensor.scan_response_data() == bytes([19, 0x09]) + b"PostureSensor-0001"
        assert sensor.device.name == "PostureSensor-0001"
        del names


async def test_posture_characteristics_need_an_encrypted_link() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor, pair=False)
        with pytest.raises(ATT_Error) as read_error:
            await link.configuration.read_value()
        assert read_error.value.error_code == 0x0F  # Insufficient Encryption
        with pytest.raises(ATT_Error) as subscribe_error:
            await link.imu.subscribe(lambda _value: None)
        assert subscribe_error.value.error_code == 0x0F
        # Device Information is readable before pairing (a client checks the firmware first).
        revision = await link.peer.get_characteristics_by_uuid(GATT_FIRMWARE_REVISION_STRING_CHARACTERISTIC)[
            0
        ].read_value()
        assert bytes(revision).decode() == PROFILE.protocol.firmware_revision
        await link.connection.pair()
        assert SensorConfig.from_bytes(await link.configuration.read_value()) == SensorConfig()


async def test_bonded_central_re_encrypts_without_pairing_again() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        await link.connection.disconnect()
        await asyncio.sleep(0.05)
        again = await _connect(central, sensor, pair=False)
        await again.connection.encrypt()
        assert again.connection.is_encrypted
        await again.subscribe()
        assert (await again.start()).resumed is False


async def test_out_of_pairing_mode_the_sensor_refuses_a_new_bond() -> None:
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, pairing_mode=False)) as (sensor, central):
        assert not AdvertisementInfo.from_bytes(sensor.advertising_data()[-3:]).pairing_mode
        link = await _connect(central, sensor, pair=False)
        with pytest.raises(ProtocolError, match="PAIRING_NOT_SUPPORTED"):
            await link.connection.pair()
        assert not link.connection.is_encrypted


async def test_config_write_changes_rate_ranges_and_packet_size() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        config = SensorConfig(sample_rate_hz=104, acc_range_g=4, gyr_range_dps=250, samples_per_packet=19)
        await link.configuration.write_value(bytes(config), with_response=True)
        assert SensorConfig.from_bytes(await link.configuration.read_value()) == config
        await link.subscribe()
        assert (await link.start()).samples_per_packet == 19
        t0 = sensor.true_time_s()
        await _stream_for(sensor, 8.0)
        await _stop_and_settle(link)
        elapsed_s = sensor.true_time_s() - t0
        received = link.packets()
        assert all(p.sample_count == 19 for p in received)
        assert len(received) <= elapsed_s * 104 / 19 + 1  # never faster than the configured rate
        assert len(received) >= 0.5 * elapsed_s * 104 / 19
        steps = np.diff([p.sensor_time_us for p in received])
        assert np.all(np.abs(steps - 19e6 / 104) <= 1)
        # Quantised with the new ranges: the standing sensor reads 1 g = 8192 counts at +-4 g.
        acc, _ = received[0].decode(config)
        assert acc[:, 2].mean() == pytest.approx(9.80665, abs=0.1)
        assert abs(int(received[0].raw[:, 2].mean()) - 8192) < 100


@pytest.mark.parametrize(
    ("value", "att_error"),
    [
        (bytes(SensorConfig())[:-1], 0x0D),  # wrong length
        (b"\x64\x00\x10\xe8\x03\x08", 0x13),  # 100 Hz: value not allowed
        (b"\xd0\x00\x10\xe8\x03\x14", 0x13),  # 20 samples per packet
    ],
)
async def test_invalid_config_is_rejected_with_an_att_error(value: bytes, att_error: int) -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        with pytest.raises(ATT_Error) as error:
            await link.configuration.write_value(value, with_response=True)
        assert error.value.error_code == att_error
        assert sensor.config == SensorConfig()


async def test_config_cannot_change_while_streaming() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        await link.start()
        with pytest.raises(ATT_Error) as error:
            await link.configuration.write_value(bytes(SensorConfig(sample_rate_hz=52)), with_response=True)
        assert error.value.error_code == 0xFC
        await _stop_and_settle(link)
        await link.configuration.write_value(bytes(SensorConfig(sample_rate_hz=52)), with_response=True)
        assert sensor.config.sample_rate_hz == 52


async def test_default_mtu_carries_one_sample_per_packet() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor, mtu=None)
        await link.subscribe()
        assert (await link.start()).samples_per_packet == 1
        await _stream_for(sensor, 1.0)
        await _stop_and_settle(link)
        assert link.packets()
        assert all(len(data) == 20 for data in link.notifications)


async def test_control_point_answers_time_sync_identify_and_unknown_opcodes() -> None:
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, initial_sensor_time_us=5_000_000)) as (
        sensor,
        central,
    ):
        link = await _connect(central, sensor)
        with pytest.raises(ATT_Error) as error:  # indications not enabled yet
            await link.control.write_value(bytes(ControlRequest.time_sync()), with_response=True)
        assert error.value.error_code == 0xFD
        await link.subscribe()
        response = await link.command(ControlRequest.time_sync())
        expected_us = 5_000_000 + sensor.true_time_s() * 1e6
        assert response.time_sync_sensor_time_us() == pytest.approx(expected_us, abs=0.1 * 1e6 * TIME_SCALE)
        assert (await link.command(ControlRequest.identify(3))).ok
        await link.control.write_value(b"\x7f", with_response=True)
        assert await link.responses.get() == b"\x80\x7f\x01"  # opcode not supported
        await link.control.write_value(b"\x01\x00", with_response=True)
        assert (
            ControlResponse.from_bytes(await link.responses.get()).result is ControlResult.INVALID_PARAMETER
        )


async def test_stop_then_start_begins_a_new_session_with_the_running_seq() -> None:
    async with _setup() as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        await link.start()
        await _stream_for(sensor, 1.0)
        await _stop_and_settle(link)
        first_session = link.packets()
        info = await link.start()
        assert info.resumed is False
        assert info.next_seq == first_session[-1].seq + 1
        await _stream_for(sensor, 1.0)
        await _stop_and_settle(link)
        second = link.packets()[len(first_session) :]
        assert second[0].seq == info.next_seq
        assert second[0].flags & ImuPacket.FLAG_SESSION_START
        assert link.packets() == sensor.log.packets()


async def test_status_reports_streaming_low_battery_and_sensor_fault() -> None:
    faults = FaultPlan(low_battery_at_s=1.0, low_battery_pct=12, sensor_fault_at_s=1.5)
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, faults=faults)) as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        battery = link.peer.get_characteristics_by_uuid(GATT_BATTERY_LEVEL_CHARACTERISTIC)[0]
        assert (await battery.read_value()) == bytes([87])
        await link.start()
        await _stream_for(sensor, 3.0)  # the battery falls 1 s after START
        status = StatusReport.from_bytes(await link.status.read_value())
        assert status.streaming
        assert status.low_battery
        assert status.battery_pct == 12
        assert status.sensor_fault
        notified = [StatusReport.from_bytes(s) for s in link.statuses]
        assert notified[0].streaming
        assert not notified[0].low_battery
        assert notified[-1].low_battery
        await _stop_and_settle(link)


async def test_one_central_at_a_time_a_second_one_waits_or_is_refused() -> None:
    link = LocalLink()
    sensor = await start_simulated_sensor(link, SimulatedSensorOptions(time_scale=TIME_SCALE))
    first, second, third = [await _central(link, f"F0:F1:F2:F3:F4:0{i}") for i in (1, 2, 3)]
    try:
        held = await _connect(first, sensor)
        await held.subscribe()
        await held.start()
        # Connected, the sensor does not advertise: the others' connects wait for an advertisement.
        reasons: dict[str, int] = {}
        for central in (second, third):
            central.on(
                "connection",
                lambda connection: connection.on(
                    "disconnection", lambda reason: reasons.setdefault(str(connection.self_address), reason)
                ),
            )
        waiting = [
            asyncio.ensure_future(central.connect(sensor.device.random_address, timeout=None))
            for central in (second, third)
        ]
        await _stream_for(sensor, 2.0)
        assert not any(w.done() for w in waiting)
        assert not held.disconnected.done()
        assert sensor.connections_total == 1
        # The first central leaves; both waiting centrals answer the same advertisement. One gets the sensor;
        # the other's CONNECT_IND goes unanswered and its connection fails to be established (0x3E).
        await held.connection.disconnect()
        connections = await asyncio.gather(*waiting)
        await asyncio.sleep(0.05)
        assert list(reasons.values()) == [hci.HCI_CONNECTION_FAILED_TO_BE_ESTABLISHED_ERROR]
        kept = [c for c in connections if str(c.self_address) not in reasons]
        assert len(kept) == 1
        assert sensor.connection is not None
        assert sensor.connection.peer_address == kept[0].self_address
        assert sensor.connections_total == 2
    finally:
        await sensor.stop()
        for central in (first, second, third):
            await central.power_off()


# --- faults -------------------------------------------------------------------------------------------------


async def _reconnect(central: Device, sensor: SimulatedSensor, timeout_s: float) -> CentralLink:
    """Scan until the sensor advertises again, then connect, re-encrypt with the bond and re-subscribe."""
    async with asyncio.timeout(timeout_s):
        while not sensor.device.is_advertising:  # noqa: ASYNC110 - bumble offers no event for this
            await asyncio.sleep(0.01)
    link = await _connect(central, sensor, pair=False)
    await link.connection.encrypt()
    await link.subscribe()
    return link


async def test_link_drop_disconnects_and_seq_continues_with_exact_loss() -> None:
    faults = FaultPlan(link_drops=(LinkDrop(at_s=2.0, duration_s=3.0),))
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, faults=faults)) as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        await link.start()
        async with asyncio.timeout(10):
            reason = await link.disconnected
        assert reason == hci.HCI_CONNECTION_TIMEOUT_ERROR  # the central sees the radio link time out
        dropped_at = sensor.true_time_s()
        before = link.packets()
        # While out of range the sensor neither advertises nor stops its session.
        await asyncio.sleep(1.0 / TIME_SCALE)
        assert not sensor.device.is_advertising
        assert sensor.core.streaming

        again = await _reconnect(central, sensor, timeout_s=5)
        info = await again.start()
        assert info.resumed is True
        assert sensor.true_time_s() - dropped_at >= 3.0
        await _stream_for(sensor, 1.0)
        await _stop_and_settle(again)
        after = again.packets()

        assert after[0].seq == info.next_seq
        k = packets_since(
            before[-1].seq, before[-1].sensor_time_us, after[0].seq, after[0].sensor_time_us, sensor.config
        )
        missing_samples = (k - 1) * info.samples_per_packet
        assert (
            missing_samples
            == sensor.log.sample_count(PacketFate.SUPPRESSED)
            == sensor.log.undelivered_samples
        )
        assert missing_samples >= 3.0 * 208 - 8  # at least the 3 s out of range
        assert before + after == sensor.log.packets(PacketFate.SENT)
        assert not any(p.flags & ImuPacket.FLAG_SESSION_START for p in after)


async def test_lost_corrupted_and_duplicated_packets() -> None:
    faults = FaultPlan(
        lost_seqs=frozenset({5}), corrupted_seqs=frozenset({8}), duplicated_seqs=frozenset({10})
    )
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, faults=faults)) as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        await link.start()
        await _stream_for(sensor, 1.0)
        await _stop_and_settle(link)
        seqs: list[int] = []
        malformed: list[MalformedPacket] = []
        for data in link.notifications:
            try:
                seqs.append(ImuPacket.from_bytes(data).seq)
            except MalformedPacket as exc:
                malformed.append(exc)
        assert seqs[:12] == [0, 1, 2, 3, 4, 6, 7, 9, 10, 10, 11, 12]
        assert [(e.seq, e.length) for e in malformed] == [(8, 8 + 8 * 12 - 1)]
        assert sensor.log.seqs(PacketFate.FAULT_LOST) == [5]
        assert sensor.log.seqs(PacketFate.CORRUPTED) == [8]
        assert [r.seq for r in sensor.log.records if r.duplicated] == [10]


async def test_unknown_firmware_is_reported_and_refused_by_the_client_check() -> None:
    faults = FaultPlan(firmware_revision="2.0.0")
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, faults=faults)) as (sensor, central):
        advertisement = AdvertisementInfo.from_bytes(sensor.advertising_data()[-3:])
        assert advertisement.protocol_major == 2
        link = await _connect(central, sensor, pair=False)
        proxy = link.peer.get_characteristics_by_uuid(GATT_FIRMWARE_REVISION_STRING_CHARACTERISTIC)[0]
        revision = bytes(await proxy.read_value()).decode()
        with pytest.raises(
            UnsupportedFirmware, match=r"firmware 2\.0\.0; posture supports 1\.x: update posture"
        ):
            check_firmware_revision(revision)


async def test_seq_and_sensor_time_wrap_without_a_gap() -> None:
    wrap_in_us = 20_000_000  # the sensor clock wraps 20 s of sensor time after power-on (1 s of wall time)
    options = SimulatedSensorOptions(
        time_scale=TIME_SCALE, initial_seq=65530, initial_sensor_time_us=2**32 - wrap_in_us
    )
    async with _setup(options) as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        start = await link.start()
        assert start.sensor_time_us > 2**32 - wrap_in_us  # set up before the wrap
        async with asyncio.timeout(2 * wrap_in_us / 1e6 / TIME_SCALE):
            while not any(p.sensor_time_us < start.sensor_time_us for p in link.packets()):
                await _stream_for(sensor, 1.0)
        await _stop_and_settle(link)
        packets = link.packets()
        assert packets[0].seq == 65530
        assert any(p.seq == 0 for p in packets)
        steps = [
            packets_since(a.seq, a.sensor_time_us, b.seq, b.sensor_time_us, sensor.config)
            for a, b in itertools.pairwise(packets)
        ]
        assert set(steps) == {1}


async def test_drifting_oscillator_sets_both_timestamps_and_sample_instants() -> None:
    """At +50 ppm the sensor clock gains 50 us per true second, and packets come 50 ppm more often."""
    faults = FaultPlan(drift_ppm=50.0)
    async with _setup(SimulatedSensorOptions(time_scale=TIME_SCALE, faults=faults)) as (sensor, central):
        link = await _connect(central, sensor)
        await link.subscribe()
        await link.start()
        await _stream_for(sensor, 20.0)
        await _stop_and_settle(link)
        received = link.packets()
        ready_true_s = np.array([r.ready_true_s for r in sensor.log.records if r.fate is PacketFate.SENT])
        sensor_us = np.array([p.sensor_time_us for p in received], dtype=np.float64)
        slope = np.polyfit(ready_true_s, sensor_us, 1)[0]
        assert (slope / 1e6 - 1) * 1e6 == pytest.approx(50.0, abs=0.5)
        # In sensor time the samples stay exactly one nominal period apart.
        assert np.all(np.abs(np.diff(sensor_us) - 8e6 / 208) <= 1)
