"""A bleak backend built on Bumble: the same sensorlink code path on a virtual link, a USB dongle or TCP.

Use ``BleakScanner(backend=BumbleScanner, bumble_adapter=adapter)`` and
``BleakClient(device, backend=BumbleClient, bumble_adapter=adapter)`` with an adapter from `open_adapter`.
This package is the only part of sensorlink that imports bumble (the simulated sensor aside).
"""

from sensorlink.bumble_backend.adapter import (
    SIM_ADAPTER,
    BumbleAdapter,
    SimulatedPeripheral,
    SimulatedPeripheralFactory,
    open_adapter,
)
from sensorlink.bumble_backend.client import BumbleClient, read_rssi_dbm
from sensorlink.bumble_backend.scanner import BumbleScanner, advertisement_data
from sensorlink.bumble_backend.virtual import QuietController, QuietHost, VirtualController

__all__ = [
    "SIM_ADAPTER",
    "BumbleAdapter",
    "BumbleClient",
    "BumbleScanner",
    "QuietController",
    "QuietHost",
    "SimulatedPeripheral",
    "SimulatedPeripheralFactory",
    "VirtualController",
    "advertisement_data",
    "open_adapter",
    "read_rssi_dbm",
]
