"""Pelvic tilt, obliquity and rotation in the body frame, continuous and per step."""

from processing.pelvis.angles import (
    BODY_SIGNAL_COLUMNS,
    angle_at_sample_instants,
    body_signals,
    levelled_body_frame,
    pelvis_euler_deg,
    rotation_relative_to_travel,
)
from processing.pelvis.per_step import (
    PelvicStepAngles,
    sample_ranges,
    segment_mean,
    segment_reduce,
    step_pelvic_angles,
)

__all__ = [
    "BODY_SIGNAL_COLUMNS",
    "PelvicStepAngles",
    "angle_at_sample_instants",
    "body_signals",
    "levelled_body_frame",
    "pelvis_euler_deg",
    "rotation_relative_to_travel",
    "sample_ranges",
    "segment_mean",
    "segment_reduce",
    "step_pelvic_angles",
]
