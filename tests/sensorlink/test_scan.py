"""Sensor discovery: what counts as a posture sensor, names, protocol support, and the `auto` adapter here."""

from __future__ import annotations

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from sensorlink.errors import AdapterUnavailable
from sensorlink.link import epoch_clock_ns
from sensorlink.protocol import PROFILE, AdvertisementInfo
from sensorlink.scan import HostBluetooth, _found, is_posture_sensor, open_ble_backend


def advertisement(
    *, name: str | None = None, uuids: list[str] | None = None, manufacturer: dict[int, bytes] | None = None
) -> AdvertisementData:
    return AdvertisementData(name, manufacturer or {}, {}, uuids or [], None, -60, ())


def test_a_sensor_is_recognised_by_service_name_or_manufacturer_data() -> None:
    assert is_posture_sensor(advertisement(uuids=[PROFILE.gatt.service_uuid]))
    assert is_posture_sensor(advertisement(name="PostureSensor-12AB"))
    info = AdvertisementInfo(PROFILE.protocol.major, 80, AdvertisementInfo.FLAG_PAIRING_MODE)
    assert is_posture_sensor(advertisement(manufacturer={PROFILE.advertising.company_id: bytes(info)}))
    assert not is_posture_sensor(
        advertisement(name="Heart Rate", uuids=["0000180d-0000-1000-8000-00805f9b34fb"])
    )


def test_a_sensor_without_a_name_gets_the_one_the_spec_derives_from_its_address() -> None:
    found = _found(
        BLEDevice("C4:5E:00:00:12:AB", None, None), advertisement(uuids=[PROFILE.gatt.service_uuid])
    )
    assert found.name == "PostureSensor-12AB"


def test_a_newer_protocol_is_flagged_unsupported_and_garbage_manufacturer_data_is_tolerated() -> None:
    company = PROFILE.advertising.company_id
    newer = AdvertisementInfo(PROFILE.protocol.major + 1, 50, 0)
    device = BLEDevice("C4:5E:00:00:00:02", "PostureSensor-0002", None)
    assert not _found(device, advertisement(manufacturer={company: bytes(newer)})).supported
    garbled = _found(device, advertisement(manufacturer={company: b"\x01"}))
    assert garbled.info is None
    assert not garbled.supported


async def test_auto_on_a_machine_without_bluez_is_refused_with_what_to_do_instead() -> None:
    if HostBluetooth.probe().dbus_system_bus:
        pytest.skip("this machine has a D-Bus system bus: `auto` may work here")
    with pytest.raises(AdapterUnavailable, match="--adapter sim"):
        async with open_ble_backend("auto"):
            pass


def test_the_scaled_host_clock_runs_time_scale_times_faster() -> None:
    import time

    clock = epoch_clock_ns(50.0)
    start_ns, start_mono = clock(), time.monotonic()
    time.sleep(0.2)
    elapsed_ns, mono_elapsed = clock() - start_ns, time.monotonic() - start_mono
    assert elapsed_ns / 1e9 == pytest.approx(50.0 * mono_elapsed, rel=0.05)
