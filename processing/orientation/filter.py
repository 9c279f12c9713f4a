"""Sensor orientation with VQF (Laidig and Seel, Information Fusion 2023, doi:10.1016/j.inffus.2022.10.014).

We use the 6D (gyroscope + accelerometer) estimate of `vqf.VQF`, the causal filter, through its compiled batch
update: the pipeline feeds it block by block and the filter's state carries over, so a recording fed as one
block and the same recording fed in any split give the same quaternions (the same per-sample arithmetic runs
in the same order). The offline variant (`vqf.offlineVQF`) is acausal and is deliberately not used: it would
make streaming and batch differ.

The 6D quaternion maps sensor-frame vectors into an earth frame with z up; its heading drifts slowly (no
magnetometer), which is why the pelvic rotation is taken relative to the direction of travel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from vqf import VQF

from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

__all__ = ["OrientationEstimator", "OrientationParams"]


@dataclass(frozen=True, slots=True)
class OrientationParams:
    """The VQF parameters we set; everything else keeps the published defaults.

    Attributes
    ----------
    tau_acc_s : float, s
        Time constant of the accelerometer correction. VQF's default (3 s) suits running: the sacrum's
        accelerations average out over a few strides, while gyroscope drift needs minutes to matter.
    motion_bias_estimation : bool
        Estimate the gyroscope bias during motion as well as at rest (VQF's default).
    """

    tau_acc_s: float = 3.0
    motion_bias_estimation: bool = True

    def __post_init__(self) -> None:
        if not self.tau_acc_s > 0:
            raise ValueError(f"tau_acc_s must be positive, got {self.tau_acc_s}")


class OrientationEstimator:
    """A streaming VQF: `update(gyr, acc)` per block returns one quaternion per sample.

    Parameters
    ----------
    sampling_rate_hz : float
        The constant sampling rate of the blocks.
    params : OrientationParams
        Filter parameters.

    Notes
    -----
    `state` and `state = ...` read and restore the complete filter state (VQF's own state dictionary), so a
    processor can be checkpointed and resumed.
    """

    def __init__(self, sampling_rate_hz: float, params: OrientationParams | None = None) -> None:
        if not sampling_rate_hz > 0:
            raise InvalidSamplesError(
                f"sampling rate must be positive, got {sampling_rate_hz} Hz", reason="rate"
            )
        self.params = params or OrientationParams()
        self.sampling_rate_hz = float(sampling_rate_hz)
        self._vqf = VQF(
            1.0 / self.sampling_rate_hz,
            tauAcc=self.params.tau_acc_s,
            motionBiasEstEnabled=self.params.motion_bias_estimation,
        )

    @property
    def state(self) -> dict[str, object]:
        """The filter state (a copy): restore it with `estimator.state = saved`."""
        return dict(self._vqf.state)

    @state.setter
    def state(self, value: dict[str, object]) -> None:
        self._vqf.state = value

    def update(self, gyr_dps: FloatArray, acc_mps2: FloatArray) -> FloatArray:
        """Feed one block; returns the (n, 4) sensor-to-earth quaternions [w, x, y, z] of its samples.

        Parameters
        ----------
        gyr_dps : (n, 3) array, deg/s
        acc_mps2 : (n, 3) array, m/s^2, gravity included
        """
        if gyr_dps.shape != acc_mps2.shape or acc_mps2.ndim != 2 or acc_mps2.shape[1] != 3:
            raise InvalidSamplesError(
                f"gyr {gyr_dps.shape} and acc {acc_mps2.shape} must both be (n, 3)", reason="shape"
            )
        if acc_mps2.shape[0] == 0:
            return np.empty((0, 4))
        gyr_rps = np.ascontiguousarray(gyr_dps, dtype=np.float64) * (math.pi / 180.0)
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        out = self._vqf.updateBatch(gyr_rps, acc)
        return np.asarray(out["quat6D"], dtype=np.float64)
