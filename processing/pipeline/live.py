"""The newest pelvic angles, for the live topic: straight from the orientation filter, no step to wait for.

The committed steps read VQF `orientation_lookahead_s` behind the newest sample (its turn detection is a
centred filter). The live angles cannot wait that long (the live topic's goal: under 250 ms from a sample's
arrival to its message), so `StreamingProcessor.live_angles` runs a copy of VQF from where the look-ahead left
it over the newest samples, holding the accelerometer correction as it was there (turning or not, decided
with the look-ahead), and reads tilt and obliquity of the newest sample. The copy is thrown away: the
committed steps never see it.

Rotation is taken against the direction of travel, which needs the heading around the sample, half of it in
the future. The live approximation is causal: the mean heading over the last `TRAVEL_WINDOW_STRIDES` strides
(whole strides cancel the stride-periodic rotation, as in `processing.pelvis.rotation_relative_to_travel`),
carried forward by half that window at the rate between the last two such means (a steady turn is then
followed without lag; a turn's start and end lag by about a window). On a straight it equals the centred
estimate up to step-to-step irregularity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from processing.pelvis.angles import TRAVEL_WINDOW_STRIDES
from processing.samples import FloatArray

__all__ = ["DEFAULT_STRIDE_S", "LiveAngles", "causal_travel_heading_deg", "travel_history_s"]

#: Stride length before any step is committed, s (two steps at 170 steps/min).
DEFAULT_STRIDE_S = 0.7


@dataclass(frozen=True, slots=True)
class LiveAngles:
    """The pelvic angles of the newest sample (docs/design.md "Body frame and definitions").

    Attributes
    ----------
    t_s : float, s
        Time of the sample (the stream's time axis).
    pelvic_tilt_deg, pelvic_obliquity_deg : float, deg
        Relative to the calibration's neutral posture; NaN while the filter settles without a standing start.
    pelvic_rotation_deg : float, deg
        Against a causal estimate of the direction of travel (module docstring); positive to the left.
    """

    t_s: float
    pelvic_tilt_deg: float
    pelvic_obliquity_deg: float
    pelvic_rotation_deg: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.t_s):
            raise ValueError(f"t_s must be finite, got {self.t_s}")


def travel_history_s(stride_s: float) -> float:
    """How far back `causal_travel_heading_deg` reads the heading, s (two windows)."""
    return 2.0 * TRAVEL_WINDOW_STRIDES * stride_s


def causal_travel_heading_deg(t_s: FloatArray, heading_deg: FloatArray, *, stride_s: float) -> float:
    """Direction of travel at the last sample, from the heading up to it.

    Parameters
    ----------
    t_s : (n,) array, s
        Increasing, on a regular grid (one segment of a stream).
    heading_deg : (n,) array, deg, unwrapped
    stride_s : float, s
        The current stride length (the window is `TRAVEL_WINDOW_STRIDES` strides).

    Returns
    -------
    float, deg
        The mean heading of the last window, moved forward to the last sample at the rate between the last
        two windows' means (no rate with less than a window before the last one).
    """
    window_s = TRAVEL_WINDOW_STRIDES * stride_s
    t_end = float(t_s[-1])
    last = t_s > t_end - window_s
    m1, c1 = float(np.mean(heading_deg[last])), float(np.mean(t_s[last]))
    before = (t_s > t_end - travel_history_s(stride_s)) & ~last
    if np.count_nonzero(before) * 2 < np.count_nonzero(last):  # too little history for a rate
        return m1
    m0, c0 = float(np.mean(heading_deg[before])), float(np.mean(t_s[before]))
    return m1 + (m1 - m0) / (c1 - c0) * (t_end - c1)
