"""Sensor profiles: one module per kind of sensor, each implementing `sensorlink.profile.SensorProfile`.

`POSTURE_V1` (our own firmware spec) is the first and the default. A further IMU is a further module here
with its UUIDs, commands, settings and packet decoding, based on the vendor's published documentation.
"""

from sensorlink.profiles.posture_v1 import POSTURE_V1, STREAMING_CONFIG, PostureSensorV1, PostureV1Session

__all__ = ["POSTURE_V1", "STREAMING_CONFIG", "PostureSensorV1", "PostureV1Session"]
