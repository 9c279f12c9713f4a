"""Sensor profiles: one module per kind of sensor, each implementing `sensorlink.profile.SensorProfile`.

`POSTURE_V1` (our own firmware spec) is the first and the default. A further IMU is a further module here
with its UUIDs, commands, settings and packet decoding, based on the vendor's published documentation, and
one more entry in `PROFILES`.
"""

from sensorlink.errors import UnknownProfile
from sensorlink.profile import SensorProfile
from sensorlink.profiles.posture_v1 import POSTURE_V1, STREAMING_CONFIG, PostureSensorV1, PostureV1Session

__all__ = [
    "POSTURE_V1",
    "PROFILES",
    "STREAMING_CONFIG",
    "PostureSensorV1",
    "PostureV1Session",
    "profile_by_name",
]

PROFILES: tuple[SensorProfile, ...] = (POSTURE_V1,)
"""Every profile this version knows, by `SensorProfile.name` (a session file names its sensor's)."""


def profile_by_name(name: str) -> SensorProfile:
    """The profile called `name`; `UnknownProfile` if this version has none by that name."""
    for profile in PROFILES:
        if profile.name == name:
            return profile
    raise UnknownProfile(name, tuple(p.name for p in PROFILES))
