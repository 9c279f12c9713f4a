"""The central's Bumble host on a transport: `sim` (an in-process virtual link) or any Bumble transport spec.

One `BumbleAdapter` is shared by the scanner and client backends of a process, the way an operating system's
Bluetooth adapter is shared by every bleak scanner and client. `open_adapter` builds it:

- ``sim``: a `bumble.link.LocalLink` with the central's virtual controller, plus every simulated peripheral
  the caller passes (helper A's simulated sensor), started on the same link. Nothing leaves the process.
- ``usb:0``, ``tcp-client:127.0.0.1:9000``, ``serial:/dev/ttyACM0``, ...: `bumble.transport.open_transport`,
  so a real USB dongle (or `posture sim` in another process) is driven by the same code path.

Pairing keys go to a JSON key store at `key_store_path` (in the user's config dir, next to the bonds file), so
a sensor paired in one process is encrypted again, without pairing, in the next.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bumble import hci
from bumble.core import BaseBumbleError
from bumble.device import Device, DeviceConfiguration
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from sensorlink.bumble_backend.keystore import PrivateJsonKeyStore
from sensorlink.bumble_backend.virtual import QuietHost, VirtualController
from sensorlink.errors import AdapterUnavailable
from sensorlink.private_files import make_private, write_private_text

logger = logging.getLogger(__name__)

SIM_ADAPTER = "sim"
# The central's random static address when no key store is given (tests, benchmarks). With a key store, each
# installation draws its own once and keeps it next to the keys, so that the bond a sensor stores for us stays
# valid across processes and two installations in one room do not share an address.
CENTRAL_ADDRESS = "C0:5E:17:00:00:01"
CENTRAL_IDENTITY_FILE = "bumble-central-identity.txt"
CENTRAL_NAME = "posture-central"
PREFERRED_MTU = 247
# Opening a transport: a TCP peer that never answers would otherwise hold us for the OS's connect timeout
# (minutes); a local USB or serial device opens at once.
OPEN_TRANSPORT_TIMEOUT_S = 10.0
# A controller powers on in well under a second (a USB dongle included).
POWER_ON_TIMEOUT_S = 10.0


class SimulatedPeripheral(Protocol):
    """What a simulated peripheral started on the virtual link must offer (helper A's SimulatedSensor
    does)."""

    async def stop(self) -> None: ...


SimulatedPeripheralFactory = Callable[[LocalLink], Awaitable[SimulatedPeripheral]]


@dataclass(frozen=True, slots=True)
class BumbleAdapter:
    """A powered-on Bumble central.

    Attributes
    ----------
    spec : str
        The adapter spec it was opened with ("sim", "usb:0", ...).
    device : bumble.device.Device
        The central's host-side device; scanner and client backends drive it.
    link : bumble.link.LocalLink or None
        The virtual link for ``sim`` (None for real transports).
    peripherals : tuple
        Simulated peripherals started on the link (for tests and the demo to reach their logs and faults).
    """

    spec: str
    device: Any
    link: Any
    peripherals: tuple[SimulatedPeripheral, ...]

    @property
    def preferred_mtu(self) -> int:
        return PREFERRED_MTU


def _configure_security(device: Device, key_store_path: Path | None) -> None:
    # LE Secure Connections, Just Works, with bonding: what the firmware spec's [security] section asks for.
    device.pairing_config_factory = lambda _connection: PairingConfig(
        sc=True,
        mitm=False,
        bonding=True,
        delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
    )
    if key_store_path is not None:
        key_store_path.parent.mkdir(parents=True, exist_ok=True)
        device.keystore = PrivateJsonKeyStore(key_store_path)


@dataclass(frozen=True, slots=True)
class CentralIdentity:
    """The central's random static address and identity resolving key (IRK), both given to bonded sensors."""

    address: str
    irk: bytes


def central_identity(key_store_path: Path | None) -> CentralIdentity:
    """This installation's identity, drawn once and kept next to the pairing keys.

    Core Spec Vol 6 Part B 1.3.2.1: a random static address has its two top bits set. Without a key store
    (tests, benchmarks) a fixed address and an IRK derived from it are used.
    """
    if key_store_path is None:
        return CentralIdentity(CENTRAL_ADDRESS, (bytes(hci.Address(CENTRAL_ADDRESS)) * 3)[:16])
    path = key_store_path.parent / CENTRAL_IDENTITY_FILE
    make_private(path)  # the IRK resolves our private addresses: as secret as the keys
    try:
        lines = path.read_text(encoding="ascii").split()
        if (
            len(lines) == 2
            and re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}", lines[0])
            and int(lines[0][:2], 16) >= 0xC0
            and re.fullmatch(r"[0-9a-f]{32}", lines[1])
        ):
            return CentralIdentity(lines[0], bytes.fromhex(lines[1]))
        logger.warning("ignoring unreadable %s; drawing a new central identity (pair again)", path)
    except FileNotFoundError:
        pass
    octets = bytearray(secrets.token_bytes(6))
    octets[0] |= 0xC0
    identity = CentralIdentity(":".join(f"{o:02X}" for o in octets), secrets.token_bytes(16))
    write_private_text(path, f"{identity.address}\n{identity.irk.hex()}\n")
    return identity


def _central_config(identity: CentralIdentity) -> DeviceConfiguration:
    config = DeviceConfiguration()
    config.name = CENTRAL_NAME
    config.address = hci.Address(identity.address)
    config.irk = identity.irk
    return config


@asynccontextmanager
async def open_adapter(
    spec: str,
    *,
    key_store_path: Path | None = None,
    simulated_peripherals: Sequence[SimulatedPeripheralFactory] = (),
) -> AsyncIterator[BumbleAdapter]:
    """Open and power on the central for `spec`; close everything (peripherals, transport) on exit.

    Raises
    ------
    AdapterUnavailable
        The transport cannot be opened (no dongle, nothing listening on the TCP port, bad spec).
    """
    async with AsyncExitStack() as stack:
        link: LocalLink | None = None
        if spec == SIM_ADAPTER:
            link = LocalLink()
            controller = VirtualController("posture-central", link=link)
            host = QuietHost(controller, AsyncPipeSink(controller))
            device = Device(config=_central_config(central_identity(key_store_path)), host=host)
        else:
            try:
                async with asyncio.timeout(OPEN_TRANSPORT_TIMEOUT_S):
                    transport = await open_transport(spec)
            except Exception as exc:
                # Transports fail in their own ways (libusb's USBError is no OSError, serial and TCP raise
                # theirs): whatever stops the transport from opening means this adapter is unavailable.
                # CancelledError is not an Exception, so cancellation still propagates.
                raise AdapterUnavailable(
                    spec, f"cannot open the Bumble transport ({type(exc).__name__}: {exc})"
                ) from exc
            stack.push_async_callback(transport.close)
            host = QuietHost(transport.source, transport.sink)
            device = Device(config=_central_config(central_identity(key_store_path)), host=host)
        _configure_security(device, key_store_path)
        try:
            # Bumble's power-on (HCI Reset, then reading the controller's features) waits for each answer
            # without a timeout: a controller (or TCP bridge) that is there but frozen would hold us forever.
            async with asyncio.timeout(POWER_ON_TIMEOUT_S):
                await device.power_on()
        except TimeoutError as exc:
            raise AdapterUnavailable(
                spec, f"the controller did not answer within {POWER_ON_TIMEOUT_S:g} s"
            ) from exc
        except (BaseBumbleError, OSError) as exc:
            raise AdapterUnavailable(spec, f"the controller did not answer ({exc})") from exc
        peripherals: list[SimulatedPeripheral] = []
        if link is not None:
            for factory in simulated_peripherals:
                peripheral = await factory(link)
                stack.push_async_callback(peripheral.stop)
                peripherals.append(peripheral)
        elif simulated_peripherals:
            raise ValueError("simulated peripherals need the 'sim' adapter")
        logger.info("Bumble central up on %s (%d simulated peripherals)", spec, len(peripherals))
        yield BumbleAdapter(spec=spec, device=device, link=link, peripherals=tuple(peripherals))
        logger.debug("closing Bumble central on %s", spec)
