"""What the vendor-profile tests share: a simulated vendor device on the virtual link, found as `posture scan`
finds it, and streamed through `sensorlink.link.Link` as `posture record` streams it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sensorlink.link import HostClock, Link, LinkOptions
from sensorlink.profile import SensorProfile, StreamSettings
from sensorlink.scan import BleBackend, FoundSensor, open_ble_backend, scan_for_sensors
from sensorlink.simsensor.vendor import SimulatedDeviceOptions, VendorPeripheral

Device = TypeVar("Device", bound=VendorPeripheral)


@asynccontextmanager
async def simulated_vendor(
    tmp_path: Path, options: SimulatedDeviceOptions, device_class: type[Device]
) -> AsyncIterator[tuple[BleBackend, Device]]:
    """The backend of `--adapter sim` with one device of `device_class` on its virtual link."""

    async def start(link: object) -> Device:
        return await device_class.start(link, options)  # type: ignore[arg-type]

    async with open_ble_backend(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[start]
    ) as backend:
        (device,) = backend.simulated
        assert isinstance(device, device_class)
        yield backend, device


async def scan_one(backend: BleBackend, profile: SensorProfile) -> FoundSensor:
    """What `posture scan` does: find the device by its advertisement and attribute it to `profile`."""
    (found,) = await scan_for_sensors(backend, timeout_s=2.0, profiles=(profile,))
    assert found.profile.kind == profile.kind
    return found


def streaming_link(
    backend: BleBackend, found: FoundSensor, clock: HostClock, settings: StreamSettings
) -> Link:
    return Link(
        found.device,
        client_factory=backend.client_factory,
        profile=found.profile,
        host_clock_ns=clock,
        options=LinkOptions(config=settings),
    )
