"""The bleak backend on Bumble: scan, connect, pair (remembered in a key store), read, write, notify,
disconnect.

A minimal GATT peripheral written here (not the simulated sensor) keeps these tests about the backend alone:
one service with an encrypted readable/writable characteristic and a notify characteristic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError
from bumble import hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device, DeviceConfiguration
from bumble.gatt import Characteristic, Service
from bumble.host import Host
from bumble.keys import JsonKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from sensorlink.bumble_backend import BumbleAdapter, BumbleClient, BumbleScanner, open_adapter, read_rssi_dbm

SERVICE_UUID = "0b0e0001-1111-4222-8333-944455556666"
SECRET_UUID = "0b0e0002-1111-4222-8333-944455556666"
STREAM_UUID = "0b0e0003-1111-4222-8333-944455556666"
PERIPHERAL_ADDRESS = "F1:F2:F3:F4:F5:F6"


class ScriptedPeripheral:
    """Advertises as 'BackendTest' with manufacturer data; its 'secret' needs an encrypted link."""

    def __init__(self, link: LocalLink, key_store_path: Path) -> None:
        controller = Controller("peripheral", link=link)
        config = DeviceConfiguration()
        config.name = "BackendTest"
        config.address = hci.Address(PERIPHERAL_ADDRESS)
        config.irk = bytes(16)
        self.device = Device(config=config, host=Host(controller, AsyncPipeSink(controller)))
        self.device.keystore = JsonKeyStore(None, str(key_store_path))
        self.device.pairing_config_factory = lambda _c: PairingConfig(
            sc=True, mitm=False, bonding=True, delegate=PairingDelegate()
        )
        self.written: list[bytes] = []
        self.secret = Characteristic(
            SECRET_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            Characteristic.READ_REQUIRES_ENCRYPTION | Characteristic.WRITE_REQUIRES_ENCRYPTION,
            b"s3cret",
        )
        self.stream = Characteristic(
            STREAM_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.device.add_service(Service(SERVICE_UUID, [self.secret, self.stream]))

    async def start(self) -> ScriptedPeripheral:
        await self.device.power_on()
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, b"BackendTest"),
                    (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, b"\xff\xff\x01\x02\x03"),
                ]
            )
        )
        await self.device.start_advertising(
            auto_restart=True,
            advertising_data=self.device.advertising_data,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        return self

    async def stop(self) -> None:
        await self.device.stop_advertising()


@asynccontextmanager
async def sim_with_peripheral(tmp_path: Path) -> AsyncIterator[tuple[BumbleAdapter, ScriptedPeripheral]]:
    made: list[ScriptedPeripheral] = []

    async def factory(link: LocalLink) -> ScriptedPeripheral:
        made.append(await ScriptedPeripheral(link, tmp_path / "peripheral-keys.json").start())
        return made[-1]

    async with open_adapter(
        "sim", key_store_path=tmp_path / "central-keys.json", simulated_peripherals=[factory]
    ) as ad:
        yield ad, made[0]


async def test_the_scanner_reports_name_manufacturer_data_and_the_bumble_address(tmp_path: Path) -> None:
    async with sim_with_peripheral(tmp_path) as (adapter, _):
        # bleak hands extra keyword arguments to the backend; its overloads do not list ours
        found = await BleakScanner.discover(  # type: ignore[call-overload]
            0.3, return_adv=True, backend=BumbleScanner, bumble_adapter=adapter
        )
    device, adv = next(iter(found.values()))
    assert adv.local_name == "BackendTest"
    assert adv.manufacturer_data == {0xFFFF: b"\x01\x02\x03"}
    assert device.address == PERIPHERAL_ADDRESS
    assert isinstance(device.details, hci.Address)


async def test_a_client_reads_an_encrypted_characteristic_by_pairing_on_demand(tmp_path: Path) -> None:
    async with (
        sim_with_peripheral(tmp_path) as (adapter, _),
        BleakClient(PERIPHERAL_ADDRESS, backend=BumbleClient, bumble_adapter=adapter) as client,
    ):
        assert client.mtu_size == 247
        assert SECRET_UUID in {c.uuid for c in client.services.characteristics.values()}
        assert await client.read_gatt_char(SECRET_UUID) == bytearray(b"s3cret")
    assert (tmp_path / "central-keys.json").is_file()  # the bond is in the central's key store


async def test_the_virtual_link_reports_a_connection_rssi_without_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        sim_with_peripheral(tmp_path) as (adapter, _),
        BleakClient(PERIPHERAL_ADDRESS, backend=BumbleClient, bumble_adapter=adapter) as client,
    ):
        assert await read_rssi_dbm(client) == -50  # what its advertising reports say
    assert not [r for r in caplog.records if r.levelname == "WARNING" and "RSSI" in r.getMessage()]


async def test_writes_and_notifications_go_through(tmp_path: Path) -> None:
    received: list[bytes] = []
    async with sim_with_peripheral(tmp_path) as (adapter, peripheral):
        async with BleakClient(
            PERIPHERAL_ADDRESS, backend=BumbleClient, bumble_adapter=adapter, pair=True
        ) as client:
            await client.write_gatt_char(SECRET_UUID, b"new", response=True)
            await client.start_notify(STREAM_UUID, lambda _c, data: received.append(bytes(data)))
            for i in range(50):
                await peripheral.device.notify_subscribers(peripheral.stream, bytes([i]) * 200)
            await asyncio.sleep(0.1)
            await client.stop_notify(STREAM_UUID)
        assert peripheral.secret.value == b"new"
    assert received == [bytes([i]) * 200 for i in range(50)]


async def test_a_stored_key_encrypts_a_later_connection_without_pairing_again(tmp_path: Path) -> None:
    async with (
        sim_with_peripheral(tmp_path) as (adapter, _),
        BleakClient(PERIPHERAL_ADDRESS, backend=BumbleClient, bumble_adapter=adapter, pair=True),
    ):
        pass
    # A new process: new central and new peripheral objects, same key stores on disk.
    async with sim_with_peripheral(tmp_path) as (adapter, _):
        client = BleakClient(PERIPHERAL_ADDRESS, backend=BumbleClient, bumble_adapter=adapter)
        async with client:
            backend = client._backend
            assert isinstance(backend, BumbleClient)
            assert backend.connection is not None
            assert backend.connection.is_encrypted
            assert await client.read_gatt_char(SECRET_UUID) == bytearray(b"s3cret")


async def test_an_unsolicited_disconnect_calls_back_and_operations_then_raise_bleak_errors(
    tmp_path: Path,
) -> None:
    lost = asyncio.Event()
    async with sim_with_peripheral(tmp_path) as (adapter, peripheral):
        client = BleakClient(
            PERIPHERAL_ADDRESS, lambda _c: lost.set(), backend=BumbleClient, bumble_adapter=adapter, pair=True
        )
        await client.connect()
        for connection in list(peripheral.device.connections.values()):
            await connection.disconnect()
        await asyncio.wait_for(lost.wait(), 2)
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(SECRET_UUID)


async def test_connecting_to_an_absent_device_fails_with_a_bleak_error(tmp_path: Path) -> None:
    async with open_adapter("sim", key_store_path=tmp_path / "k.json") as adapter:
        client = BleakClient("E0:E0:E0:E0:E0:E0", backend=BumbleClient, bumble_adapter=adapter, timeout=0.5)
        with pytest.raises((BleakError, TimeoutError)):
            await client.connect()


def test_each_installation_draws_one_central_identity_and_keeps_it(tmp_path: Path) -> None:
    from sensorlink.bumble_backend.adapter import central_identity

    first = central_identity(tmp_path / "keys.json")
    again = central_identity(tmp_path / "keys.json")
    other = central_identity(tmp_path / "elsewhere" / "keys.json")
    assert first == again
    assert first != other
    assert int(first.address[:2], 16) & 0xC0 == 0xC0  # random static address
    assert len(first.irk) == 16
