"""The pure computational core: numpy and scipy only; no I/O, no clock, no logging configuration.

Subpackages answer one question each: `simulation` (running kinematics with known truth), `alignment`,
`orientation`, `gait_events`, `laterality`, `pelvis`, `asymmetry`, `pipeline` (batch and streaming).
"""

from processing.samples import STANDARD_GRAVITY_MPS2, ImuSamples

__all__ = ["STANDARD_GRAVITY_MPS2", "ImuSamples"]
