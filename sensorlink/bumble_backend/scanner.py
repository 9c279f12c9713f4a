"""A bleak scanner backend that listens for advertisements through a Bumble central."""

from __future__ import annotations

import logging
from typing import Any, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement

from sensorlink.bumble_backend.adapter import BumbleAdapter

logger = logging.getLogger(__name__)

_UUID_LIST_TYPES = {
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}


def _uuid128_str(uuid: UUID) -> str:
    """bleak's form of a UUID: the full 128-bit UUID, lower case, dashed."""
    raw = uuid.uuid_128_bytes[::-1].hex()
    return f"{raw[0:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Translate a Bumble advertisement (with its scan response merged) into bleak's `AdvertisementData`."""
    local_name: str | None = None
    manufacturer_data: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    for ad_type, ad_data in advertisement.data.ad_structures:
        if ad_type in (AdvertisingData.COMPLETE_LOCAL_NAME, AdvertisingData.SHORTENED_LOCAL_NAME):
            if local_name is None or ad_type == AdvertisingData.COMPLETE_LOCAL_NAME:
                local_name = bytes(ad_data).decode("utf-8", errors="replace")
        elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(ad_data) >= 2:
            manufacturer_data[int.from_bytes(ad_data[:2], "little")] = bytes(ad_data[2:])
        elif ad_type in _UUID_LIST_TYPES:
            size = _UUID_LIST_TYPES[ad_type]
            for start in range(0, len(ad_data) - size + 1, size):
                service_uuids.append(_uuid128_str(UUID.from_bytes(bytes(ad_data[start : start + size]))))
        elif ad_type == AdvertisingData.SERVICE_DATA_16_BIT_UUID and len(ad_data) >= 2:
            service_data[_uuid128_str(UUID.from_bytes(bytes(ad_data[:2])))] = bytes(ad_data[2:])
        elif ad_type == AdvertisingData.SERVICE_DATA_128_BIT_UUID and len(ad_data) >= 16:
            service_data[_uuid128_str(UUID.from_bytes(bytes(ad_data[:16])))] = bytes(ad_data[16:])
        elif ad_type == AdvertisingData.TX_POWER_LEVEL and len(ad_data) == 1:
            tx_power = int.from_bytes(ad_data, "little", signed=True)
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend on a Bumble central: pass ``backend=BumbleScanner, bumble_adapter=adapter``.

    The `BLEDevice.address` is Bumble's address string (with a ``/P`` suffix for public addresses) and
    `BLEDevice.details` the `bumble.hci.Address`, which `BumbleClient` connects to.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble_adapter: BumbleAdapter,
        **_platform_kwargs: Any,  # bleak passes bluez= and cb= to every backend
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._adapter = bumble_adapter
        self._active = scanning_mode == "active"
        self._scanning = False

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(advertisement.address)
        device = self.create_or_update_device(address, address, data.local_name, advertisement.address, data)
        self.call_detection_callbacks(device, data)

    async def start(self) -> None:
        self.seen_devices = {}
        device = self._adapter.device
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await device.start_scanning(active=self._active, filter_duplicates=False)
        self._scanning = True
        logger.debug("scanning on %s", self._adapter.spec)

    async def stop(self) -> None:
        device = self._adapter.device
        device.remove_listener(device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if self._scanning:
            self._scanning = False
            await device.stop_scanning()
