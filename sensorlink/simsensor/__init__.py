"""The simulated posture sensor: a Bumble peripheral implementing firmware_specs/posture_sensor_v1.md.

Use in-process with `start_simulated_sensor(link, options)` on a `bumble.link.LocalLink`, or as its own
process with `posture sim --transport tcp-server:127.0.0.1:PORT` (`run_on_transport`). Fed by a
`MotionSource`; faults come from a `FaultPlan`; what was sent is in `sensor.log` (a `SentLog`).
"""

from sensorlink.simsensor.core import FaultPlan, LinkDrop, PacketFate, SensorCore, SentLog, SentRecord
from sensorlink.simsensor.motion import ArrayMotionSource, MotionSource, StandThenRunMotion
from sensorlink.simsensor.peripheral import SimulatedSensor, SimulatedSensorOptions, start_simulated_sensor

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
