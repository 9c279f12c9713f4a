"""The one in-memory form of IMU samples that crosses into the processing core.

Both the BLE link (live blocks) and the CSV reader (recordings) produce `ImuSamples`; the processing core
takes nothing else. Arrays are float64, sensor frame, accelerometer including gravity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

STANDARD_GRAVITY_MPS2 = 9.80665

#: Sampling rates the processing core accepts, Hz (the one home of these limits: the pipeline, the gait-event
#: detector, the simulator and the CSV reader all check against them). The BLE sensor profile uses
#: 52/104/208/416 Hz; the rest of the range is for recordings from other loggers.
MIN_SAMPLING_RATE_HZ = 50.0
MAX_SAMPLING_RATE_HZ = 500.0


@dataclass(frozen=True, slots=True, eq=False)
class ImuSamples:
    """A run of consecutive samples from one sensor.

    Attributes
    ----------
    t_s : (n,) array, s
        Sample times on the host's time base (a recording's own axis for files); strictly increasing.
    acc_mps2 : (n, 3) array, m/s^2
        Specific force in the sensor frame, gravity included (reads +9.81 along the up axis at rest).
    gyr_dps : (n, 3) array, deg/s, or None
        Angular rate in the sensor frame; None for accelerometer-only loggers.
    """

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray | None

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        if self.t_s.ndim != 1:
            raise ValueError(f"t_s must be 1-D, got shape {self.t_s.shape}")
        if self.acc_mps2.shape != (n, 3):
            raise ValueError(f"acc_mps2 must have shape ({n}, 3), got {self.acc_mps2.shape}")
        if self.gyr_dps is not None and self.gyr_dps.shape != (n, 3):
            raise ValueError(f"gyr_dps must have shape ({n}, 3), got {self.gyr_dps.shape}")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def has_gyroscope(self) -> bool:
        return self.gyr_dps is not None

    def slice(self, start: int, stop: int) -> ImuSamples:
        """Samples [start, stop) as a new block (views, no copy)."""
        gyr = None if self.gyr_dps is None else self.gyr_dps[start:stop]
        return ImuSamples(self.t_s[start:stop], self.acc_mps2[start:stop], gyr)

    @staticmethod
    def concatenate(blocks: list[ImuSamples]) -> ImuSamples:
        """Join consecutive blocks; all must agree on having a gyroscope."""
        if not blocks:
            return ImuSamples(np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
        with_gyr = {b.has_gyroscope for b in blocks}
        if len(with_gyr) != 1:
            raise ValueError("cannot join blocks with and without gyroscope data")
        gyr_blocks = [b.gyr_dps for b in blocks if b.gyr_dps is not None]
        gyr = np.concatenate(gyr_blocks) if gyr_blocks else None
        return ImuSamples(
            np.concatenate([b.t_s for b in blocks]), np.concatenate([b.acc_mps2 for b in blocks]), gyr
        )
