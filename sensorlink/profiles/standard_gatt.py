"""Standard GATT services several sensors share: Battery (0x180F) and Device Information (0x180A).

Bluetooth SIG Assigned Numbers 3.4 and 3.8 give the UUIDs; Battery Service 1.0 (section 3.1) the one-byte
level in percent, readable and, where the device allows, notified. Profiles call these instead of retyping
the UUIDs, so that a device that has the standard service reports its battery the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bleak import BleakClient
from bleak.uuids import normalize_uuid_16

from sensorlink.errors import InvalidConfiguration
from sensorlink.profile import SensorStatus, StatusCallback

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FIRMWARE_REVISION_UUID",
    "MODEL_NUMBER_UUID",
    "read_firmware_revision",
    "read_standard_battery_pct",
    "require_services",
    "subscribe_standard_battery",
]

logger = logging.getLogger(__name__)

BATTERY_SERVICE_UUID = normalize_uuid_16(0x180F)
BATTERY_LEVEL_UUID = normalize_uuid_16(0x2A19)
DEVICE_INFORMATION_SERVICE_UUID = normalize_uuid_16(0x180A)
MODEL_NUMBER_UUID = normalize_uuid_16(0x2A24)
FIRMWARE_REVISION_UUID = normalize_uuid_16(0x2A26)


def _has_characteristic(client: BleakClient, uuid: str) -> bool:
    return client.services.get_characteristic(uuid) is not None


async def read_standard_battery_pct(client: BleakClient) -> int | None:
    """The Battery Level in percent; None when the device has no Battery Service or says nothing."""
    if not _has_characteristic(client, BATTERY_LEVEL_UUID):
        return None
    value = bytes(await client.read_gatt_char(BATTERY_LEVEL_UUID))
    return min(int(value[0]), 100) if value else None


async def subscribe_standard_battery(client: BleakClient, on_status: StatusCallback) -> bool:
    """Forward Battery Level notifications as `SensorStatus`; False when the device cannot notify it."""
    characteristic = client.services.get_characteristic(BATTERY_LEVEL_UUID)
    if characteristic is None or "notify" not in characteristic.properties:
        return False

    def on_level(_characteristic: object, data: bytearray) -> None:
        if data:
            on_status(SensorStatus(battery_pct=min(int(data[0]), 100)))

    await client.start_notify(BATTERY_LEVEL_UUID, on_level)
    return True


async def read_firmware_revision(client: BleakClient) -> str | None:
    """The Device Information firmware revision string; None when the device does not have one."""
    if not _has_characteristic(client, FIRMWARE_REVISION_UUID):
        return None
    return bytes(await client.read_gatt_char(FIRMWARE_REVISION_UUID)).decode("utf-8", errors="replace")


def require_services(client: BleakClient, uuids: Iterable[str], device: str) -> None:
    """Refuse, in one line, a device that lacks a service the profile needs (a wrong or updated device).

    Raises
    ------
    InvalidConfiguration
    """
    present = {s.uuid.lower() for s in client.services}
    missing = [u for u in uuids if u.lower() not in present]
    if missing:
        raise InvalidConfiguration(
            f"the device does not offer the {device} service(s) {', '.join(missing)}: it is not a {device} "
            "or runs firmware without them"
        )
