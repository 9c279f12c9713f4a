"""Sensor orientation from gyroscope and accelerometer with VQF (`vqf`), streaming and batch alike."""

from processing.orientation._quaternion import quat_to_matrix, rotate
from processing.orientation.filter import OrientationEstimator, OrientationParams

__all__ = ["OrientationEstimator", "OrientationParams", "quat_to_matrix", "rotate"]
