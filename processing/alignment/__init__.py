"""Sensor-to-body alignment: gravity at rest gives up, the direction of travel gives forward."""

from processing.alignment.mounting import (
    MIN_STANDING_S,
    STANDING_START_NEEDED_S,
    STANDING_TRIM_S,
    STILL_WINDOW_S,
    Mounting,
    MountingEstimator,
    find_still_periods,
    moving_std,
)

__all__ = [
    "MIN_STANDING_S",
    "STANDING_START_NEEDED_S",
    "STANDING_TRIM_S",
    "STILL_WINDOW_S",
    "Mounting",
    "MountingEstimator",
    "find_still_periods",
    "moving_std",
]
