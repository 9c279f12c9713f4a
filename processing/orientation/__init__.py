"""Sensor orientation from gyroscope and accelerometer with VQF (`vqf`), streaming and batch alike."""

from processing.orientation._quaternion import quat_to_matrix, quat_to_matrix_entries, rotate
from processing.orientation.filter import OrientationEstimator, OrientationParams

__all__ = ["OrientationEstimator", "OrientationParams", "quat_to_matrix", "quat_to_matrix_entries", "rotate"]
