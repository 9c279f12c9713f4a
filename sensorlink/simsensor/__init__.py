"""Simulated sensors on Bumble: ours (firmware_specs/posture_sensor_v1.md) and the vendors' (`vendor.py`).

Use ours in-process with `start_simulated_sensor(link, options)` on a `bumble.link.LocalLink`, or as its own
process with `posture sim --transport tcp-server:127.0.0.1:PORT` (`run_on_transport`). Fed by a
`MotionSource`; faults come from a `FaultPlan`; what was sent is in `sensor.log` (a `SentLog`). A simulated
device of any profile kind starts through `kinds.SIMULATED_KINDS` (what ``--adapter sim:KIND`` uses).

The names below load on first use (PEP 562): `sensorlink.simsensor.kinds`, which settings validation and the
scanner import, must not pull in Bumble.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sensorlink.simsensor.core import FaultPlan, LinkDrop, PacketFate, SensorCore, SentLog, SentRecord
    from sensorlink.simsensor.motion import ArrayMotionSource, MotionSource, StandThenRunMotion
    from sensorlink.simsensor.peripheral import (
        SimulatedSensor,
        SimulatedSensorOptions,
        start_simulated_sensor,
    )

__all__ = [
    "ArrayMotionSource",
    "FaultPlan",
    "LinkDrop",
    "MotionSource",
    "PacketFate",
    "SensorCore",
    "SentLog",
    "SentRecord",
    "SimulatedSensor",
    "SimulatedSensorOptions",
    "StandThenRunMotion",
    "start_simulated_sensor",
]

_HOMES = {
    "FaultPlan": "core",
    "LinkDrop": "core",
    "PacketFate": "core",
    "SensorCore": "core",
    "SentLog": "core",
    "SentRecord": "core",
    "ArrayMotionSource": "motion",
    "MotionSource": "motion",
    "StandThenRunMotion": "motion",
    "SimulatedSensor": "peripheral",
    "SimulatedSensorOptions": "peripheral",
    "start_simulated_sensor": "peripheral",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
