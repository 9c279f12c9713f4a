"""Left/right asymmetry per metric, over the whole run and over rolling windows of strides, and drift.

- Symmetry index (DESIGN.md): SI = 100 (R - L) / (0.5 (R + L)), in percent, for the timing and force metrics.
  Angles can be near zero or change sign (tilt), where a ratio is meaningless: for them we report the
  right-minus-left difference in degrees (as every metric also carries).
- The worse side: the side whose mean is worse by the metric's direction (`METRIC_DIRECTIONS`); for pelvic
  drop that is the stance side whose opposite hip sags more, i.e. the side of the steps with the larger drop.
- Drift: each metric over rolling windows against the runner's own baseline, the mean over the first
  `baseline_s` of running (fatigue shows as a change from there, whatever the runner's normal is).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from processing.steps import Side, StepMetrics

__all__ = [
    "ASYMMETRY_METRICS",
    "METRIC_DIRECTIONS",
    "AsymmetryWindow",
    "MetricAsymmetry",
    "MetricDrift",
    "drift_against_baseline",
    "rolling_asymmetry",
    "summarize_asymmetry",
    "symmetry_index_pct",
]

MetricKind = Literal["ratio", "angle"]

# One home for each metric's meaning in asymmetry: (kind, higher_is_worse).
METRIC_DIRECTIONS: dict[str, tuple[MetricKind, bool]] = {
    "step_time_s": ("ratio", True),
    "contact_time_s": ("ratio", True),
    "flight_time_s": ("ratio", False),
    "pelvic_tilt_deg": ("angle", True),
    "pelvic_drop_deg": ("angle", True),
    "pelvic_rotation_deg": ("angle", True),
    "vertical_oscillation_m": ("ratio", True),
    "braking_peak_mps2": ("ratio", True),
    "braking_dv_mps": ("ratio", True),
    "impact_peak_g": ("ratio", True),
}
ASYMMETRY_METRICS: tuple[str, ...] = tuple(METRIC_DIRECTIONS)


def symmetry_index_pct(right: float, left: float) -> float:
    """SI = 100 (R - L) / (0.5 (R + L)); NaN when either is NaN or R + L is 0."""
    total = right + left
    if not (math.isfinite(right) and math.isfinite(left)) or total == 0:
        return math.nan
    return 100.0 * (right - left) / (0.5 * total)


@dataclass(frozen=True, slots=True)
class MetricAsymmetry:
    """Left/right comparison of one metric over a set of steps.

    Attributes
    ----------
    metric : str
        A `StepMetrics` field name.
    left_mean, right_mean : float
        Means over the left and right steps (NaN values left out), in the metric's unit.
    n_left, n_right : int
        Steps with a finite value on each side.
    si_pct : float, %
        Symmetry index; NaN for angles (see the module notes) or without data on a side.
    right_minus_left : float
        In the metric's unit.
    worse_side : "L", "R" or None
        None when equal or undetermined.
    """

    metric: str
    left_mean: float
    right_mean: float
    n_left: int
    n_right: int
    si_pct: float
    right_minus_left: float
    worse_side: Side | None


def _metric_asymmetry(metric: str, values: np.ndarray, is_left: np.ndarray) -> MetricAsymmetry:
    kind, higher_is_worse = METRIC_DIRECTIONS[metric]
    left = values[is_left & np.isfinite(values)]
    right = values[~is_left & np.isfinite(values)]
    lm = float(left.mean()) if left.size else math.nan
    rm = float(right.mean()) if right.size else math.nan
    diff = rm - lm
    si = symmetry_index_pct(rm, lm) if kind == "ratio" else math.nan
    worse: Side | None = None
    if math.isfinite(diff) and diff != 0:
        worse = "R" if (diff > 0) == higher_is_worse else "L"
    return MetricAsymmetry(metric, lm, rm, int(left.size), int(right.size), si, diff, worse)


def _columns(steps: Sequence[StepMetrics]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    cols = {m: np.array([getattr(s, m) for s in steps], dtype=np.float64) for m in ASYMMETRY_METRICS}
    return cols, np.array([s.side == "L" for s in steps], dtype=bool)


def summarize_asymmetry(steps: Sequence[StepMetrics]) -> tuple[MetricAsymmetry, ...]:
    """Asymmetry of every metric over all given steps."""
    cols, is_left = _columns(steps)
    return tuple(_metric_asymmetry(m, cols[m], is_left) for m in ASYMMETRY_METRICS)


@dataclass(frozen=True, slots=True)
class AsymmetryWindow:
    """Asymmetry over one window of consecutive steps.

    Attributes
    ----------
    t_start_s, t_end_s : float, s
        First and last initial contact in the window.
    metrics : tuple of MetricAsymmetry
    """

    t_start_s: float
    t_end_s: float
    metrics: tuple[MetricAsymmetry, ...]


def rolling_asymmetry(
    steps: Sequence[StepMetrics], *, window_strides: int = 20, hop_strides: int = 10
) -> tuple[AsymmetryWindow, ...]:
    """Asymmetry over rolling windows of `window_strides` strides (2 steps each), every `hop_strides`.

    Windows are counted in steps from the first step, so a stream gets the same windows as the batch run.
    """
    if window_strides < 1 or hop_strides < 1:
        raise ValueError("window_strides and hop_strides must be at least 1")
    cols, is_left = _columns(steps)
    size, hop = 2 * window_strides, 2 * hop_strides
    out = []
    for a in range(0, max(0, len(steps) - size) + 1, hop):
        if len(steps) < size:
            break
        b = a + size
        out.append(
            AsymmetryWindow(
                steps[a].t_ic_s,
                steps[b - 1].t_ic_s,
                tuple(_metric_asymmetry(m, cols[m][a:b], is_left[a:b]) for m in ASYMMETRY_METRICS),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MetricDrift:
    """One metric in one window against the runner's baseline.

    Attributes
    ----------
    metric : str
    t_start_s, t_end_s : float, s
    baseline : float
        Mean over the baseline period (first `baseline_s` of running steps), in the metric's unit.
    value : float
        Mean over the window.
    change : float
        value - baseline.
    change_pct : float, %
        100 change / |baseline| (NaN for a zero baseline).
    """

    metric: str
    t_start_s: float
    t_end_s: float
    baseline: float
    value: float
    change: float
    change_pct: float


def drift_against_baseline(
    steps: Sequence[StepMetrics],
    *,
    baseline_s: float = 180.0,
    window_strides: int = 20,
    hop_strides: int = 10,
) -> tuple[MetricDrift, ...]:
    """Each metric over rolling windows against its mean over the first `baseline_s` of running.

    Only running steps count (walking warm-ups would bias the baseline); with no running step at all, all
    steps count.
    """
    run = [s for s in steps if s.is_running] or list(steps)
    if not run:
        return ()
    cols, _ = _columns(run)
    t = np.array([s.t_ic_s for s in run])
    base_mask = t < t[0] + baseline_s
    size, hop = 2 * window_strides, 2 * hop_strides
    out: list[MetricDrift] = []
    for m in ASYMMETRY_METRICS:
        base_vals = cols[m][base_mask]
        base_vals = base_vals[np.isfinite(base_vals)]
        base = float(base_vals.mean()) if base_vals.size else math.nan
        for a in range(0, max(0, len(run) - size) + 1, hop):
            if len(run) < size:
                break
            vals = cols[m][a : a + size]
            vals = vals[np.isfinite(vals)]
            value = float(vals.mean()) if vals.size else math.nan
            change = value - base
            pct = 100.0 * change / abs(base) if math.isfinite(base) and base != 0 else math.nan
            out.append(MetricDrift(m, float(t[a]), float(t[a + size - 1]), base, value, change, pct))
    return tuple(out)
