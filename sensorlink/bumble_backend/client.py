"""A bleak client backend that connects through a Bumble central (virtual link, USB dongle, TCP bridge).

bleak accepts ``BleakClient(device, backend=BumbleClient, bumble_adapter=adapter)``; everything above this
module uses bleak's public API only. Bumble errors are re-raised as `bleak.exc.BleakError` so callers need not
know which backend runs.

Security follows what an operating system does for a bonded sensor: on connect, a stored long-term key is used
to encrypt the link; ``pair=True`` (or a GATT operation refused with Insufficient Encryption/Authentication)
runs LE Secure Connections pairing, Just Works, with bonding. If the sensor has lost its side of the bond,
encryption fails and the client pairs again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic, CharacteristicPropertyName
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble import att, hci
from bumble.core import BaseBumbleError
from bumble.device import Connection, Peer
from bumble.gatt import Characteristic

from sensorlink.bumble_backend.adapter import BumbleAdapter
from sensorlink.bumble_backend.scanner import _uuid128_str

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)
_SECURITY_ERRORS = {att.ErrorCode.INSUFFICIENT_ENCRYPTION, att.ErrorCode.INSUFFICIENT_AUTHENTICATION}
# Core Spec Vol 3 Part H 3.4: a pairing procedure that has not finished within 30 s has failed. Encryption
# with a stored key gets the same bound.
SECURITY_TIMEOUT_S = 30.0
# Bumble waits for the Disconnection Complete event without a timeout, and its virtual controller never sends
# one for a connection the other side has already ended (it answers HCI Disconnect with Command Status only).
DISCONNECT_TIMEOUT_S = 5.0


def _is_security_error(exc: BaseException) -> bool:
    return isinstance(exc, att.ATT_Error) and exc.error_code in _SECURITY_ERRORS


class BumbleClient(BaseBleakClient):
    """bleak client backend on a `BumbleAdapter` (keyword argument ``bumble_adapter``)."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        bumble_adapter: BumbleAdapter,
        **_platform_kwargs: Any,  # bleak passes bluez= and winrt= to every backend
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._adapter = bumble_adapter
        details = address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        self._peer_address = details if isinstance(details, hci.Address) else hci.Address(self.address)
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # --- connection -----------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    @property
    def connection(self) -> Connection | None:
        """The Bumble connection (backend-specific: RSSI, PHY)."""
        return self._connection

    def _on_disconnection(self, reason: int) -> None:
        logger.info("disconnected from %s (HCI reason 0x%02X)", self.address, reason)
        self._connection, self._peer = None, None
        self._subscribers.clear()
        if not self._disconnecting and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _bleak_errors(self, operation: str, awaitable: Awaitable[_T]) -> _T:
        try:
            return await awaitable
        except (TimeoutError, BaseBumbleError) as exc:
            raise BleakError(
                f"{operation} on {self.address} failed: {type(exc).__name__} {exc}".rstrip()
            ) from exc

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        device = self._adapter.device
        self._disconnecting = False
        connection = await self._bleak_errors(
            "connect", device.connect(self._peer_address, timeout=kwargs.get("timeout", self._timeout))
        )
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            self._peer = Peer(connection)
            await self._bleak_errors("MTU exchange", self._peer.request_mtu(self._adapter.preferred_mtu))
            if pair or (
                device.keystore is not None and await device.keystore.get(str(connection.peer_address))
            ):
                await self._secure(force_pairing=False)
            await self._bleak_errors("service discovery", self._discover())
        except BaseException:
            await self.disconnect()
            raise
        logger.info("connected to %s, ATT MTU %d", self.address, self.mtu_size)

    async def _secure(self, *, force_pairing: bool) -> None:
        """Encrypt with the stored key, or pair (Just Works, bonding) when there is none or it is refused."""
        connection = self._require_connection()
        if connection.is_encrypted:
            return
        keystore = self._adapter.device.keystore
        has_keys = keystore is not None and await keystore.get(str(connection.peer_address)) is not None
        if has_keys and not force_pairing:
            try:
                async with asyncio.timeout(SECURITY_TIMEOUT_S):
                    await connection.encrypt()
                logger.info("link to %s encrypted with the stored key", self.address)
                return
            except (TimeoutError, BaseBumbleError) as exc:
                if self._connection is None:
                    raise BleakError(f"{self.address} disconnected during encryption") from exc
                logger.warning("stored key for %s was refused (%s); pairing again", self.address, exc)
        await self._bleak_errors("pairing", _bounded(connection.pair(), SECURITY_TIMEOUT_S))
        logger.info("paired with %s (LE Secure Connections, bonded)", self.address)

    async def _discover(self) -> None:
        peer = self._require_peer()
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service_proxy in peer.services:
            service_uuid = _uuid128_str(service_proxy.uuid)
            if self._service_filter is not None and service_uuid not in self._service_filter:
                continue
            await peer.discover_characteristics(service=service_proxy)
            service = BleakGATTService(service_proxy, service_proxy.handle, service_uuid)
            collection.add_service(service)
            for char_proxy in service_proxy.characteristics:
                await peer.discover_descriptors(characteristic=char_proxy)
                properties = [name for flag, name in _PROPERTY_NAMES if char_proxy.properties & flag]
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    _uuid128_str(char_proxy.uuid),
                    properties,
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for descriptor_proxy in char_proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor_proxy,
                            descriptor_proxy.handle,
                            _uuid128_str(descriptor_proxy.type),
                            characteristic,
                        )
                    )
        self.services = collection

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await connection.disconnect()
        except (TimeoutError, BaseBumbleError) as exc:
            logger.info("disconnect from %s not confirmed: %s", self.address, _reason(exc))
        finally:
            self._connection, self._peer = None, None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        await self._secure(force_pairing=True)

    async def unpair(self) -> None:
        keystore = self._adapter.device.keystore
        if keystore is not None:
            await keystore.delete(str(self._peer_address))

    # --- GATT -----------------------------------------------------------------------------------------------

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError(f"not connected to {self.address}")
        return self._connection

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    async def _secured(self, operation: str, make: Callable[[], Awaitable[_T]]) -> _T:
        """Run a GATT operation; on Insufficient Encryption/Authentication secure the link and retry once."""
        try:
            return await make()
        except att.ATT_Error as exc:
            if not _is_security_error(exc):
                raise BleakError(
                    f"{operation} on {self.address} failed: {type(exc).__name__} {exc}".rstrip()
                ) from exc
        except (TimeoutError, BaseBumbleError) as exc:
            raise BleakError(
                f"{operation} on {self.address} failed: {type(exc).__name__} {exc}".rstrip()
            ) from exc
        logger.info("%s needs an encrypted link; securing it", operation)
        await self._secure(force_pairing=False)
        return await self._bleak_errors(operation, make())

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        value = await self._secured("read", lambda: peer.read_value(characteristic.obj))
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        value = await self._secured("descriptor read", lambda: peer.read_value(descriptor.handle))
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        payload = bytes(data)
        await self._secured(
            "write", lambda: peer.write_value(characteristic.obj, payload, with_response=response)
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        payload = bytes(data)
        await self._secured(
            "descriptor write", lambda: peer.write_value(descriptor.handle, payload, with_response=True)
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        prefer_notify = "notify" in characteristic.properties
        await self._secured(
            "subscribe", lambda: peer.subscribe(characteristic.obj, subscriber, prefer_notify)
        )
        self._subscribers[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._bleak_errors("unsubscribe", peer.unsubscribe(characteristic.obj, subscriber))


async def read_rssi_dbm(client: Any) -> int | None:
    """RSSI of a bleak client's connection when its backend is `BumbleClient` (None otherwise or on error)."""
    backend = getattr(client, "_backend", None)
    if not isinstance(backend, BumbleClient) or backend.connection is None:
        return None
    try:
        return int(await backend._adapter.device.get_connection_rssi(backend.connection))
    except (TimeoutError, BaseBumbleError):
        return None


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _bounded(awaitable: Awaitable[_T], timeout_s: float) -> _T:
    """`awaitable` within `timeout_s` (`asyncio.timeout`: 3.11's `wait_for` can lose a cancellation)."""
    async with asyncio.timeout(timeout_s):
        return await awaitable
