"""Fatigue drift per side: each metric's left and right means at the end of the run against the runner's own
first minutes.

summary.json's drift is the mean of both sides, which halves a change that shows on one side only: a left
stance drop growing from 5 to 10 deg while the right stays at 5 reads as 2.5 deg there. A runner needs the
side. The baseline follows `processing.asymmetry.drift_against_baseline` (running steps from the first
running step for `BASELINE_S`; all steps when there is no running), taken per side from steps.csv; the end
is the last rolling window of asymmetry.csv, per side. Only a last window that starts after the baseline
period ends is compared: before that, it lies inside the minutes it is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from posture.report.run import RunData
from processing.asymmetry import BASELINE_S, METRIC_DIRECTIONS

__all__ = ["SideDrift", "side_drifts"]

Side = Literal["L", "R"]


@dataclass(frozen=True, slots=True)
class SideDrift:
    """One metric on one side: the first minutes against the last window (values in the file's unit).

    Attributes
    ----------
    metric : str
    side : "L" or "R"
    baseline : float
        Mean over the side's running steps in the first `BASELINE_S` of running.
    last_window : float
        The side's mean over the run's last rolling window.
    """

    metric: str
    side: Side
    baseline: float
    last_window: float

    @property
    def change(self) -> float:
        """last_window - baseline."""
        return self.last_window - self.baseline

    @property
    def change_pct(self) -> float:
        """The change in % of |baseline|; NaN for a zero baseline."""
        return 100.0 * self.change / abs(self.baseline) if self.baseline else math.nan


def side_drifts(run: RunData, *, baseline_s: float = BASELINE_S) -> tuple[SideDrift, ...]:
    """Per-side drift of every metric with rolling windows; empty when the run's last window does not start
    after the baseline period (too short a run to tell)."""
    steps = run.steps
    basis = steps.is_running if steps.is_running.any() else np.ones(len(steps), dtype=bool)
    if not basis.any():
        return ()
    t0 = float(steps.t_s[basis][0])
    in_baseline = basis & (steps.t_s < t0 + baseline_s)
    out = []
    for w in run.windows:
        if w.metric not in METRIC_DIRECTIONS or w.metric not in steps.values or not len(w.t_start_s):
            continue
        if not w.t_start_s[-1] >= t0 + baseline_s:
            continue
        values = steps.values[w.metric]
        sides: tuple[tuple[Side, np.ndarray, float], ...] = (
            ("L", steps.is_left, float(w.left_mean[-1])),
            ("R", ~steps.is_left, float(w.right_mean[-1])),
        )
        for side, on_side, last in sides:
            base = values[in_baseline & on_side]
            base = base[np.isfinite(base)]
            if base.size and math.isfinite(last):
                out.append(SideDrift(w.metric, side, float(base.mean()), last))
    return tuple(out)
