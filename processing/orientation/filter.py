"""Sensor orientation with VQF (Laidig and Seel, Information Fusion 2023, doi:10.1016/j.inffus.2022.10.014).

We use the 6D (gyroscope + accelerometer) estimate of `vqf.VQF`, the causal filter, through its compiled batch
update: the pipeline feeds it block by block and the filter's state carries over, so a recording fed as one
block and the same recording fed in any split give the same quaternions (the same per-sample arithmetic runs
in the same order). The offline variant (`vqf.offlineVQF`) is acausal and is deliberately not used: it would
make streaming and batch differ.

The 6D quaternion maps sensor-frame vectors into an earth frame with z up; its heading drifts slowly (no
magnetometer), which is why the pelvic rotation is taken relative to the direction of travel.

After a gap in the samples (a link drop that split the stream, `processing.pipeline.gaps`) the pelvis has
turned by an unknown amount: `OrientationEstimator.resume` re-estimates the orientation at the first sample
after the gap by running VQF backwards in time over the samples that follow it, and keeps the gyroscope bias.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from vqf import VQF

from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

BoolArray = npt.NDArray[np.bool_]

__all__ = ["OrientationEstimator", "OrientationParams"]

#: VQF state entries that express the orientation (and the low-passed accelerometer in its frame): what
#: `OrientationEstimator.resume` takes from the backward pass.
_ORIENTATION_STATE = ("gyrQuat", "accQuat", "accLpState", "lastAccLp")
#: VQF state entries read in the old orientation's frame, or from the signal before the gap (rest detection,
#: the low-passed rotation of the motion bias estimation): started afresh after a gap, as VQF starts them.
_RESTARTED_STATE = (
    "motionBiasEstRLpState",
    "motionBiasEstBiasLpState",
    "restAccLpState",
    "restGyrLpState",
    "restLastAccLp",
    "restLastGyrLp",
    "restLastSquaredDeviations",
    "restT",
    "restDetected",
)


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
    bias_clip_dps : float, deg/s
        Largest gyroscope bias VQF may estimate; above it VQF also refuses to detect rest. VQF's default
        (2 deg/s) suits calibrated research IMUs; the zero-rate offset of uncalibrated consumer MEMS
        gyroscopes reaches several deg/s, and with a 3 deg/s offset VQF would never see rest at all.
    bias_forgetting_time_s : float, s
        VQF's `biasForgettingTime` once the filter starts from a gyroscope bias measured at rest
        (`OrientationEstimator.set_bias`): the time in which the uncertainty of its bias estimate grows from
        0 to a tenth of its initial 0.5 deg/s, i.e. how fast it assumes the bias wanders (a random walk of
        0.05 / sqrt(T) deg/s/sqrt(s)). Deviation from VQF's default (100 s, 0.005 deg/s/sqrt(s), a
        calibrated research IMU): the bias of uncalibrated consumer MEMS gyroscopes wanders several times
        faster (bias instability, the sensor warming up against the body), and every bit of bias the filter
        does not follow tilts its vertical by bias x `tau_acc_s`. For the obliquity that offset adds to one
        side's drop and subtracts from the other's: a right-minus-left error of twice the offset. 10 s
        (0.016 deg/s/sqrt(s)) lets VQF follow such a drift during running, while the running accelerations,
        which average out over strides, barely move it. Without a measured bias VQF keeps its default: it
        then starts mid-run from one accelerometer sample, degrees off, and a bias estimate that forgets fast
        would take much of that start-up error for bias (and release it only slowly).
    tau_acc_hold_s : float, s
        Accelerometer time constant while the specific force is known not to point along gravity on average:
        in turns (centripetal acceleration) and while speeding up after standing. Deviation from VQF: VQF
        keeps one time constant; the running sacrum sees sustained horizontal accelerations of 0.5 to 3 m/s^2
        there, which would tilt the estimated vertical by 3 to 17 deg, whereas the gyroscope (bias known from
        standing) drifts by a fraction of a degree over such a segment.
    """

    tau_acc_s: float = 3.0
    motion_bias_estimation: bool = True
    bias_clip_dps: float = 8.0
    tau_acc_hold_s: float = 20.0
    bias_forgetting_time_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.tau_acc_s > 0:
            raise ValueError(f"tau_acc_s must be positive, got {self.tau_acc_s}")
        if not self.bias_forgetting_time_s > 0:
            raise ValueError(f"bias_forgetting_time_s must be positive, got {self.bias_forgetting_time_s}")


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
        self._holding = False
        self._forgetting_s: float | None = None  # VQF's default until `set_bias`
        self._vqf = self._new_vqf()

    def _new_vqf(self, *, bias_estimation: bool = True) -> VQF:
        """A VQF with our parameters (and the bias forgetting time in force)."""
        forgetting = {} if self._forgetting_s is None else {"biasForgettingTime": self._forgetting_s}
        rest = {} if bias_estimation else {"restBiasEstEnabled": False}
        return VQF(
            1.0 / self.sampling_rate_hz,
            tauAcc=self.params.tau_acc_hold_s if self._holding else self.params.tau_acc_s,
            motionBiasEstEnabled=self.params.motion_bias_estimation and bias_estimation,
            biasClip=self.params.bias_clip_dps,
            **forgetting,
            **rest,
        )

    @property
    def holding(self) -> bool:
        """Whether the accelerometer correction is held (`tau_acc_hold_s`) at the last sample."""
        return self._holding

    def clone(self) -> OrientationEstimator:
        """An independent estimator in the same state (e.g. to run ahead on samples without disturbing this
        one)."""
        other = OrientationEstimator.__new__(OrientationEstimator)
        other.params = self.params
        other.sampling_rate_hz = self.sampling_rate_hz
        other._holding = self._holding
        other._forgetting_s = self._forgetting_s
        other._vqf = other._new_vqf()
        other._vqf.state = self._vqf.state
        return other

    @property
    def state(self) -> dict[str, object]:
        """The filter state (a copy): restore it with `estimator.state = saved`."""
        return dict(self._vqf.state)

    @state.setter
    def state(self, value: dict[str, object]) -> None:
        self._vqf.state = value

    def set_bias(self, bias_dps: FloatArray, *, sigma_dps: float = 0.1) -> None:
        """Start from a known gyroscope bias (e.g. the mean rate while standing still), deg/s.

        From then on the bias estimate follows drift with `OrientationParams.bias_forgetting_time_s`; the
        filter state (if any samples went in already) carries over.
        """
        state = self._vqf.state
        self._forgetting_s = self.params.bias_forgetting_time_s
        self._vqf = self._new_vqf()
        self._vqf.state = state
        bias = np.asarray(bias_dps, dtype=np.float64) * (math.pi / 180.0)
        self._vqf.setBiasEstimate(np.ascontiguousarray(bias), sigma_dps * math.pi / 180.0)

    def resume(self, gyr_dps: FloatArray, acc_mps2: FloatArray) -> None:
        """Restart the orientation after a gap from the samples that follow it; the bias estimate stays.

        While no samples came the pelvis kept moving: the orientation at the gap's start is stale by the
        difference between two instants of the gait cycle (up to 10 deg of obliquity), which VQF would pull
        back only over several `tau_acc_s`. Instead VQF runs backwards in time over the given samples (the
        first ones after the gap; the gyroscope negated, with the bias it has estimated, its own bias
        estimation off), from the orientation before the gap: the accelerometer average over them (VQF's own
        start-up averaging, `filterVec`, over up to `tau_acc_s`) levels it, and the gyroscope carries it back
        to the first sample. The forward filter continues from there, with that accelerometer average as its
        low-pass state (the same inertial frame); its gyroscope bias estimate and uncertainty carry over (a
        sensor's bias does not jump in seconds), while its rest detection and the low-passed rotation of its
        motion bias estimation start afresh, as VQF starts them. Then call `update` with the same samples.

        Parameters
        ----------
        gyr_dps : (n, 3) array, deg/s
            The first samples after the gap (a second or two: the longer, the better the levelling).
        acc_mps2 : (n, 3) array, m/s^2
        """
        if acc_mps2.shape[0] == 0:
            return
        state = self._vqf.state
        backward = self._new_vqf(bias_estimation=False)
        start = dict(backward.state)
        start["gyrQuat"] = state["gyrQuat"]
        start["accQuat"] = state["accQuat"]
        start["bias"] = -np.asarray(state["bias"])  # the negated rate carries the negated bias
        backward.state = start
        rate_rps = -np.ascontiguousarray(gyr_dps[::-1], dtype=np.float64) * (math.pi / 180.0)
        backward.updateBatch(rate_rps, np.ascontiguousarray(acc_mps2[::-1], dtype=np.float64))
        levelled = backward.state
        fresh = self._new_vqf().state
        for key in _ORIENTATION_STATE:
            state[key] = levelled[key]
        for key in _RESTARTED_STATE:
            state[key] = fresh[key]
        self._vqf.state = state

    def update(
        self, gyr_dps: FloatArray, acc_mps2: FloatArray, *, hold: BoolArray | None = None
    ) -> FloatArray:
        """Feed one block; returns the (n, 4) sensor-to-earth quaternions [w, x, y, z] of its samples.

        Parameters
        ----------
        gyr_dps : (n, 3) array, deg/s
        acc_mps2 : (n, 3) array, m/s^2, gravity included
        hold : (n,) bool array or None
            Samples during which the accelerometer correction uses `tau_acc_hold_s` (turns, speeding up).
            The filter switches at the same samples however the stream is split, so results stay equal.
        """
        if gyr_dps.shape != acc_mps2.shape or acc_mps2.ndim != 2 or acc_mps2.shape[1] != 3:
            raise InvalidSamplesError(
                f"gyr {gyr_dps.shape} and acc {acc_mps2.shape} must both be (n, 3)", reason="shape"
            )
        if acc_mps2.shape[0] == 0:
            return np.empty((0, 4))
        gyr_rps = np.ascontiguousarray(gyr_dps, dtype=np.float64) * (math.pi / 180.0)
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        if hold is None:
            hold = np.zeros(acc.shape[0], dtype=bool)
        # Runs of constant mode: [edges[i], edges[i + 1]).
        edges = np.concatenate([[0], np.flatnonzero(np.diff(hold.astype(np.int8))) + 1, [acc.shape[0]]])
        out = np.empty((acc.shape[0], 4))
        for a, b in itertools.pairwise(edges.tolist()):
            holding = bool(hold[a])
            if holding != self._holding:
                self._vqf.setTauAcc(self.params.tau_acc_hold_s if holding else self.params.tau_acc_s)
                self._holding = holding
            out[a:b] = self._vqf.updateBatch(
                np.ascontiguousarray(gyr_rps[a:b]), np.ascontiguousarray(acc[a:b])
            )["quat6D"]
        return out
