"""Left/right asymmetry per metric, over the whole run and over rolling windows of strides, and drift.

- Symmetry index (docs/design.md): SI = 100 (R - L) / (0.5 (R + L)), in percent, for the timing and force
  metrics. Angles can be near zero or change sign (tilt), where a ratio is meaningless: for them we report the
  right-minus-left difference in degrees (as every metric also carries).
- The worse side: the side whose mean is worse by the metric's direction (`METRIC_DIRECTIONS`); for pelvic
  drop that is the stance side whose opposite hip sags more, i.e. the side of the steps with the larger drop.
  A side is named only when the difference of the means is larger than its own uncertainty: more than
  `SIDE_CONFIDENCE_SE` standard errors of the difference, from the step-to-step spread of each side
  (SE = sqrt(s_L^2 / n_L + s_R^2 / n_R), sample standard deviations). Otherwise the sides are "even"
  (`MetricAsymmetry.side_verdict`), however the means differ: 0.0001 s on 20 steps a side that vary by 5 ms
  is no asymmetry. At 2 SE a perfectly symmetric runner is called asymmetric in about 5 % of windows, and a
  real difference of 3 SE is named in about 84 % of them. Step-to-step values are treated as independent;
  stride-to-stride correlation (real step times are positively autocorrelated) makes the true uncertainty
  somewhat larger, so the call errs towards naming a side.
- Drift: each metric over rolling windows against the runner's own baseline, the mean over the first
  `baseline_s` of running (fatigue shows as a change from there, whatever the runner's normal is).
- Rolling windows (`WINDOW_STRIDES`, `HOP_STRIDES`): 20 strides (40 consecutive steps, 20 per side; about
  13 s at 180 and 16 s at 150 steps/min) every 10 strides, counted in steps from the first step, so a stream
  gets the same windows as the batch run and every window holds the same number of steps whatever the pace
  or the length of the run. Why 20 strides: with the step-to-step variability of running timing (2 to 3 %
  of the value) a window's SI then has a standard error of about 1 percentage point, so an SI of a few
  percent stands out from the noise, and pelvic drop's right-minus-left (per-step spread about 0.5 deg) one
  of about 0.15 deg; yet a window is short enough that asymmetry emerging over a minute or two shows as a
  trend. A 5-minute run gives about 40 windows, a 3-hour run about 1,500 (15,000 rows of
  `asymmetry_timeline`, a few MB of CSV).
- `asymmetry_timeline`: per window and metric, the asymmetry and the drift together, over the running steps
  (all steps when there is no running), the rows of `asymmetry.csv`.
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
    "BASELINE_S",
    "HOP_STRIDES",
    "METRIC_DIRECTIONS",
    "SIDE_CONFIDENCE_SE",
    "WINDOW_STRIDES",
    "AsymmetryWindow",
    "MetricAsymmetry",
    "MetricDrift",
    "WindowMetric",
    "asymmetry_timeline",
    "difference_se",
    "drift_against_baseline",
    "rolling_asymmetry",
    "summarize_asymmetry",
    "symmetry_index_pct",
]

MetricKind = Literal["ratio", "angle"]
#: What the left/right comparison says: the worse side, or "even" when the difference is within its
#: uncertainty.
SideVerdict = Literal["L", "R", "even"]

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
#: Rolling windows: strides (2 steps) per window and between window starts (module notes say why).
WINDOW_STRIDES = 20
HOP_STRIDES = 10
#: The runner's baseline for drift: the first this many seconds of running, s.
BASELINE_S = 180.0
#: A worse side is named only when |R - L| exceeds this many standard errors of the difference (module notes).
SIDE_CONFIDENCE_SE = 2.0


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
    right_minus_left_se : float
        Standard error of `right_minus_left` from the step-to-step spread of each side, in the metric's
        unit; NaN with fewer than 2 steps on a side.
    worse_side : "L", "R" or None
        The worse side when |right_minus_left| exceeds `SIDE_CONFIDENCE_SE` standard errors; None when the
        sides are even (within that uncertainty) or undetermined (`side_verdict` tells the two apart).
    """

    metric: str
    left_mean: float
    right_mean: float
    n_left: int
    n_right: int
    si_pct: float
    right_minus_left: float
    right_minus_left_se: float
    worse_side: Side | None

    @property
    def side_verdict(self) -> SideVerdict | None:
        """ "L" or "R" (the worse side), "even" (the difference is within its uncertainty), or None when a
        side has fewer than 2 steps with a value (no uncertainty, no call)."""
        if self.worse_side is not None:
            return self.worse_side
        if self.n_left < 2 or self.n_right < 2 or not math.isfinite(self.right_minus_left_se):
            return None
        return "even"


def _metric_asymmetry(metric: str, values: np.ndarray, is_left: np.ndarray) -> MetricAsymmetry:
    kind, higher_is_worse = METRIC_DIRECTIONS[metric]
    left = values[is_left & np.isfinite(values)]
    right = values[~is_left & np.isfinite(values)]
    lm = float(left.mean()) if left.size else math.nan
    rm = float(right.mean()) if right.size else math.nan
    diff = rm - lm
    si = symmetry_index_pct(rm, lm) if kind == "ratio" else math.nan
    se = difference_se(left, right)
    worse: Side | None = None
    if math.isfinite(diff) and math.isfinite(se) and abs(diff) > SIDE_CONFIDENCE_SE * se:
        worse = "R" if (diff > 0) == higher_is_worse else "L"
    return MetricAsymmetry(metric, lm, rm, int(left.size), int(right.size), si, diff, se, worse)


def difference_se(left: np.ndarray, right: np.ndarray) -> float:
    """Standard error of mean(right) - mean(left) from each side's sample variance (Welch); NaN with fewer
    than 2 values on a side."""
    if left.size < 2 or right.size < 2:
        return math.nan
    return math.sqrt(float(left.var(ddof=1)) / left.size + float(right.var(ddof=1)) / right.size)


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
    steps: Sequence[StepMetrics], *, window_strides: int = WINDOW_STRIDES, hop_strides: int = HOP_STRIDES
) -> tuple[AsymmetryWindow, ...]:
    """Asymmetry over rolling windows of `window_strides` strides (2 steps each), every `hop_strides`.

    Windows are counted in steps from the first step, so a stream gets the same windows as the batch run.
    A run shorter than one window gives no window.
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
    baseline_s: float = BASELINE_S,
    window_strides: int = WINDOW_STRIDES,
    hop_strides: int = HOP_STRIDES,
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


@dataclass(frozen=True, slots=True)
class WindowMetric:
    """One metric in one rolling window: its asymmetry and its drift against the baseline (a row of
    asymmetry.csv; values in the metric's own unit, the unit its name ends with).

    Attributes
    ----------
    window : int
        0, 1, ... in time order.
    t_start_s, t_end_s : float, s
        Initial contacts of the window's first and last step.
    n_steps : int
        Steps in the window (2 `window_strides`).
    asymmetry : MetricAsymmetry
        Left and right means, steps per side, SI (%, NaN for angles), right minus left and the worse side.
    window_mean : float
        Mean over the window's steps of both sides.
    baseline_mean : float
        Mean over the first `baseline_s` of running.
    change_from_baseline, change_from_baseline_pct : float
        window_mean - baseline_mean, and that in percent of |baseline_mean| (NaN for a zero baseline).
    """

    window: int
    t_start_s: float
    t_end_s: float
    n_steps: int
    asymmetry: MetricAsymmetry
    window_mean: float
    baseline_mean: float
    change_from_baseline: float
    change_from_baseline_pct: float


def asymmetry_timeline(
    steps: Sequence[StepMetrics],
    *,
    window_strides: int = WINDOW_STRIDES,
    hop_strides: int = HOP_STRIDES,
    baseline_s: float = BASELINE_S,
) -> tuple[WindowMetric, ...]:
    """Asymmetry and drift of every metric over rolling windows of strides: when asymmetry emerged.

    The windows run over the running steps (as the drift and the run's summary do: a walking warm-up would
    mix two gaits in one mean), or over all steps when there is no running. Rows are in window order, and
    within a window in `ASYMMETRY_METRICS` order.
    """
    basis = [s for s in steps if s.is_running] or list(steps)
    windows = rolling_asymmetry(basis, window_strides=window_strides, hop_strides=hop_strides)
    drift = drift_against_baseline(
        basis, baseline_s=baseline_s, window_strides=window_strides, hop_strides=hop_strides
    )
    n_windows = len(windows)
    out: list[WindowMetric] = []
    for w, window in enumerate(windows):
        for j, asym in enumerate(window.metrics):
            d = drift[j * n_windows + w]  # drift_against_baseline is metric-major over the same windows
            out.append(
                WindowMetric(
                    window=w,
                    t_start_s=window.t_start_s,
                    t_end_s=window.t_end_s,
                    n_steps=2 * window_strides,
                    asymmetry=asym,
                    window_mean=d.value,
                    baseline_mean=d.baseline,
                    change_from_baseline=d.change,
                    change_from_baseline_pct=d.change_pct,
                )
            )
    return tuple(out)
