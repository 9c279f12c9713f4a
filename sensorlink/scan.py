"""Find sensors of the known profiles, and open the BLE backend an `--adapter` spec names (the only wiring
of bleak backends).

`open_ble_backend("auto" | "sim" | "sim:KIND" | Bumble transport spec)` yields a `BleBackend`: how to make a
scanner and a client for that adapter. `auto` is the operating system's Bluetooth through bleak's own
backends; everything else goes through our Bumble backend (`sensorlink.bumble_backend`), so the same code
path serves a virtual link (``sim:KIND``: a simulated device of that profile kind on it), a USB dongle and a
TCP bridge to `posture sim`. A scan attributes each device to the first profile of the registry
(`sensorlink.profiles.PROFILES`) that recognises it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from sensorlink.errors import AdapterUnavailable, SensorNotFound
from sensorlink.link import ClientFactory, RssiReader
from sensorlink.profile import AdvertisedSensor, SensorProfile
from sensorlink.profiles import POSTURE_V1, PROFILES
from sensorlink.simsensor.kinds import SIM_ADAPTER, simulated_kind

logger = logging.getLogger(__name__)

AUTO_ADAPTER = "auto"
DEFAULT_SCAN_TIMEOUT_S = 5.0
DEFAULT_PROFILES: tuple[SensorProfile, ...] = PROFILES
"""The sensors a scan looks for unless told otherwise: every profile of the registry."""
# Where BlueZ is reached on Linux; without it bleak's BlueZ backend cannot start.
_DBUS_SYSTEM_SOCKET = Path("/run/dbus/system_bus_socket")


@dataclass(frozen=True, slots=True)
class BleBackend:
    """How to scan and connect through one adapter.

    Attributes
    ----------
    adapter : str
        The spec it was opened with.
    description : str
        What it is, in plain words (for `posture doctor`).
    make_scanner : callable
        ``make_scanner(detection_callback)`` -> a `bleak.BleakScanner`.
    client_factory : ClientFactory
        Builds a `bleak.BleakClient` for a device (what `Link` takes).
    rssi_reader : RssiReader or None
        Reads a connection's RSSI when the backend can.
    simulated : tuple
        Simulated peripherals started in-process (``sim`` and ``sim:KIND`` only).
    """

    adapter: str
    description: str
    make_scanner: Callable[[Callable[[BLEDevice, AdvertisementData], None] | None], BleakScanner]
    client_factory: ClientFactory
    pair_client_factory: ClientFactory
    rssi_reader: RssiReader | None = None
    simulated: tuple[object, ...] = field(default=())


@dataclass(frozen=True, slots=True, eq=False)
class FoundSensor:
    """A sensor of a known profile seen advertising.

    Attributes
    ----------
    device : BLEDevice
        What a `Link` connects to.
    name : str or None
    rssi_dbm : int
    info : AdvertisedSensor or None
        Protocol major version, battery and pairing mode from the advertisement (None if unreadable).
    profile : SensorProfile
        The profile that recognised it: what a `Link` to it streams with.
    """

    device: BLEDevice
    name: str | None
    rssi_dbm: int
    info: AdvertisedSensor | None
    profile: SensorProfile = POSTURE_V1

    @property
    def address(self) -> str:
        return self.device.address

    @property
    def supported(self) -> bool:
        """True when the sensor speaks a protocol version its profile implements."""
        return self.info is not None and self.info.supported


def is_posture_sensor(advertisement: AdvertisementData) -> bool:
    """Our own sensor's advertisement (service UUID, name prefix or company id: `POSTURE_V1.recognises`)."""
    return POSTURE_V1.recognises(advertisement)


def _found(
    device: BLEDevice, advertisement: AdvertisementData, profile: SensorProfile = POSTURE_V1
) -> FoundSensor:
    derived_name, info = profile.advertised(device.address, advertisement)
    name = advertisement.local_name or device.name or derived_name
    return FoundSensor(device, name, advertisement.rssi, info, profile)


async def scan_for_sensors(
    backend: BleBackend,
    *,
    timeout_s: float = DEFAULT_SCAN_TIMEOUT_S,
    stop_when: str | None = None,
    profiles: Sequence[SensorProfile] = DEFAULT_PROFILES,
) -> list[FoundSensor]:
    """Sensors of the given profiles heard within `timeout_s`, strongest first.

    Parameters
    ----------
    stop_when : str, optional
        Stop as soon as the sensor with this address has been heard.
    profiles : sequence of SensorProfile
        What to look for; a device is attributed to the first profile that recognises it.
    """
    seen: dict[str, FoundSensor] = {}
    heard = asyncio.Event()

    def on_advertisement(device: BLEDevice, advertisement: AdvertisementData) -> None:
        profile = next((p for p in profiles if p.recognises(advertisement)), None)
        if profile is None:
            return
        previous = seen.get(device.address)
        found = _found(device, advertisement, profile)
        if previous is not None and found.name is None:  # a scan response without the name: keep the name
            found = FoundSensor(device, previous.name, found.rssi_dbm, found.info or previous.info, profile)
        seen[device.address] = found
        if stop_when is not None and device.address.upper() == stop_when.upper():
            heard.set()

    try:
        async with backend.make_scanner(on_advertisement):
            try:
                async with asyncio.timeout(timeout_s):
                    await heard.wait()
            except TimeoutError:
                pass
    except (BleakError, OSError) as exc:
        raise AdapterUnavailable(backend.adapter, f"scanning failed ({exc})") from exc
    return sorted(seen.values(), key=lambda s: -s.rssi_dbm)


async def locate_sensor(
    backend: BleBackend,
    address: str,
    *,
    timeout_s: float = DEFAULT_SCAN_TIMEOUT_S,
    profiles: Sequence[SensorProfile] = DEFAULT_PROFILES,
) -> FoundSensor:
    """Scan until the sensor with `address` advertises, with the profile that recognised it.

    Raises
    ------
    SensorNotFound
        Nothing of a known profile with that address within `timeout_s`.
    """
    for sensor in await scan_for_sensors(backend, timeout_s=timeout_s, stop_when=address, profiles=profiles):
        if sensor.address.upper() == address.upper():
            return sensor
    raise SensorNotFound(timeout_s, address)


async def find_sensor(
    backend: BleBackend,
    address: str,
    *,
    timeout_s: float = DEFAULT_SCAN_TIMEOUT_S,
    profiles: Sequence[SensorProfile] = DEFAULT_PROFILES,
) -> BLEDevice:
    """Scan until the sensor with `address` advertises; `SensorNotFound` after `timeout_s`."""
    return (await locate_sensor(backend, address, timeout_s=timeout_s, profiles=profiles)).device


def _auto_backend() -> BleBackend:
    """bleak's own backend for this operating system; refuse early where it cannot work."""
    if sys.platform.startswith("linux") and not _DBUS_SYSTEM_SOCKET.exists():
        raise AdapterUnavailable(
            AUTO_ADAPTER,
            f"this machine has no BlueZ Bluetooth service (no D-Bus system bus at {_DBUS_SYSTEM_SOCKET})",
        )

    def make_scanner(callback: Callable[[BLEDevice, AdvertisementData], None] | None) -> BleakScanner:
        return BleakScanner(callback)

    def client_factory(device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]) -> BleakClient:
        return BleakClient(device, on_disconnect)

    def pair_factory(device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]) -> BleakClient:
        return BleakClient(device, on_disconnect, pair=True)

    return BleBackend(
        AUTO_ADAPTER,
        f"the operating system's Bluetooth (bleak, {sys.platform})",
        make_scanner,
        client_factory,
        pair_factory,
    )


@asynccontextmanager
async def open_ble_backend(
    adapter: str,
    *,
    key_store_path: Path | None = None,
    simulated_peripherals: Sequence[object] = (),
) -> AsyncIterator[BleBackend]:
    """Open the adapter named by `adapter` for as long as the context lasts.

    Parameters
    ----------
    adapter : str
        "auto", "sim", "sim:KIND" or a Bumble transport spec ("usb:0", "tcp-client:127.0.0.1:9000", ...).
    key_store_path : Path, optional
        The Bumble backend's pairing key store (the OS keeps its own keys for "auto").
    simulated_peripherals : sequence
        For "sim" and "sim:KIND": async factories ``(LocalLink) -> peripheral`` started on the virtual link
        (`posture.sensors` builds them from `sensorlink.simsensor.kinds`).

    Raises
    ------
    AdapterUnavailable
    InvalidConfiguration
        "sim:KIND" with an unknown kind (one line listing the kinds).
    """
    if adapter == AUTO_ADAPTER:
        yield _auto_backend()
        return
    kind = simulated_kind(adapter)
    bumble_spec = SIM_ADAPTER if kind is not None else adapter
    # Deferred: bumble is only imported when a Bumble adapter is used.
    from sensorlink.bumble_backend import BumbleClient, BumbleScanner, open_adapter, read_rssi_dbm

    async with open_adapter(
        bumble_spec,
        key_store_path=key_store_path,
        simulated_peripherals=simulated_peripherals,  # type: ignore[arg-type]
    ) as bumble_adapter:

        def make_scanner(callback: Callable[[BLEDevice, AdvertisementData], None] | None) -> BleakScanner:
            return BleakScanner(callback, backend=BumbleScanner, bumble_adapter=bumble_adapter)

        def client_factory(
            device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]
        ) -> BleakClient:
            return BleakClient(device, on_disconnect, backend=BumbleClient, bumble_adapter=bumble_adapter)

        def pair_factory(
            device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]
        ) -> BleakClient:
            return BleakClient(
                device, on_disconnect, backend=BumbleClient, bumble_adapter=bumble_adapter, pair=True
            )

        description = (
            f"a simulated {kind.kind} sensor on an in-process virtual Bluetooth link (Bumble)"
            if kind is not None
            else f"a Bumble host on transport {adapter}"
        )
        yield BleBackend(
            adapter,
            description,
            make_scanner,
            client_factory,
            pair_factory,
            read_rssi_dbm,
            tuple(bumble_adapter.peripherals),
        )


def bumble_key_store_path(config_dir: Path) -> Path:
    """The Bumble backend's pairing keys, next to the bonds file in the user's config directory."""
    return config_dir / "bumble-keys.json"


@dataclass(frozen=True, slots=True)
class HostBluetooth:
    """What this machine offers for `--adapter auto` (for `posture doctor`)."""

    platform: str
    dbus_system_bus: bool
    kernel_bluetooth: bool

    @classmethod
    def probe(cls) -> HostBluetooth:
        return cls(
            platform=sys.platform,
            dbus_system_bus=_DBUS_SYSTEM_SOCKET.exists(),
            kernel_bluetooth=os.path.isdir("/sys/class/bluetooth")
            and bool(os.listdir("/sys/class/bluetooth")),
        )
