"""Sensor-to-body alignment: gravity at rest gives up, the direction of travel gives forward."""

from processing.alignment.mounting import Mounting, MountingEstimator, find_still_periods, moving_std

__all__ = ["Mounting", "MountingEstimator", "find_still_periods", "moving_std"]
