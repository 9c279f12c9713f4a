"""What each rule reads from a window of strides: window statistics, the runner's baseline, and readings.

A window is `window_strides` strides of running (2 steps a stride) counted from the first running step, a new
one every `hop_strides` (processing.asymmetry's windows: 20 and 10 by default), so a stream gets the same
windows as a whole recording. Its statistics are the per-metric asymmetry of `processing.asymmetry` (left and
right means, SI, right minus left, its standard error and the worse side or "even") and the window mean of
every metric. The baseline is the mean of every metric over the runner's first strides (after the first few,
while the runner settles into the pace).

`readings(rule, window, baseline)` turns those into the rule's values, one per side for sided rules, oriented
so that larger is worse; `Reading.qualifies` is False where an asymmetry's side is not clear (the difference
within its own uncertainty), which keeps an event from opening on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from processing.asymmetry import METRIC_DIRECTIONS, MetricAsymmetry, summarize_asymmetry
from processing.events.rules import Rule
from processing.steps import METRIC_UNITS, Side, StepMetrics

__all__ = ["Reading", "WindowStats", "baseline_means", "readings", "window_stats"]


@dataclass(frozen=True, slots=True, eq=False)
class WindowStats:
    """One window of running strides.

    Attributes
    ----------
    index : int
        0, 1, ... in time order.
    first_stride, end_stride : int
        The window covers running strides [first_stride, end_stride), counted from the first running step.
    t_start_s, t_end_s : float, s
        Initial contacts of the window's first and last step.
    asymmetry : mapping of metric to MetricAsymmetry
        For every metric with a left/right direction (`processing.asymmetry.ASYMMETRY_METRICS`).
    means : mapping of metric to float
        Mean over the window's steps of both sides (finite values only; NaN without any), every metric of
        `processing.steps.METRIC_UNITS`.
    """

    index: int
    first_stride: int
    end_stride: int
    t_start_s: float
    t_end_s: float
    asymmetry: Mapping[str, MetricAsymmetry]
    means: Mapping[str, float]


def _means(steps: Sequence[StepMetrics]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in METRIC_UNITS:
        values = np.array([getattr(s, name) for s in steps], dtype=np.float64)
        values = values[np.isfinite(values)]
        out[name] = float(values.mean()) if values.size else math.nan
    return out


def window_stats(
    steps: Sequence[StepMetrics], *, index: int, first_stride: int, window_strides: int
) -> WindowStats:
    """The statistics of one window of consecutive running steps."""
    return WindowStats(
        index=index,
        first_stride=first_stride,
        end_stride=first_stride + window_strides,
        t_start_s=float(steps[0].t_ic_s),
        t_end_s=float(steps[-1].t_ic_s),
        asymmetry=MappingProxyType({a.metric: a for a in summarize_asymmetry(steps)}),
        means=MappingProxyType(_means(steps)),
    )


def baseline_means(steps: Sequence[StepMetrics]) -> dict[str, float]:
    """The runner's baseline: the mean of every metric over the given (baseline) steps."""
    return _means(steps)


@dataclass(frozen=True, slots=True)
class Reading:
    """A rule's value in one window, for one side (or None for both).

    Attributes
    ----------
    side : "L", "R" or None
    value : float
        In the rule's unit, larger is worse; NaN when the window has no data for it.
    qualifies : bool
        False when the value may not open an event (an asymmetry whose worse side is not this one, or not
        clear from the step-to-step spread); it still holds an open event above its release.
    """

    side: Side | None
    value: float
    qualifies: bool = True


def _asymmetry_readings(rule: Rule, a: MetricAsymmetry) -> tuple[Reading, ...]:
    kind, higher_is_worse = METRIC_DIRECTIONS[a.metric]
    signed = a.si_pct if kind == "ratio" else a.right_minus_left  # > 0: right larger
    toward_right = signed if higher_is_worse else -signed  # > 0: the right side is worse
    return (
        Reading("L", -toward_right, a.worse_side == "L"),
        Reading("R", toward_right, a.worse_side == "R"),
    )


def readings(rule: Rule, window: WindowStats, baseline: Mapping[str, float] | None) -> tuple[Reading, ...]:
    """The rule's readings in `window`: one per side for sided rules, one otherwise; none for a rule on the
    baseline before it is known (or for rules not evaluated on windows: training load, summary)."""
    m = rule.measure
    sign = 1.0 if rule.direction == "up" else -1.0
    if m == "asymmetry" and rule.metric is not None:
        return _asymmetry_readings(rule, window.asymmetry[rule.metric])
    if m == "side_mean" and rule.metric is not None:
        a = window.asymmetry[rule.metric]
        return (Reading("L", a.left_mean), Reading("R", a.right_mean))
    if m == "mean" and rule.metric is not None:
        return (Reading(None, window.means[rule.metric]),)
    if baseline is None:
        return ()
    if m in ("change", "change_pct") and rule.metric is not None:
        base, value = baseline[rule.metric], window.means[rule.metric]
        change = sign * (value - base)
        if m == "change_pct":
            change = 100.0 * change / abs(base) if math.isfinite(base) and base != 0 else math.nan
        return (Reading(None, change),)
    if m == "drifting_metrics":
        count = 0
        for c in rule.components:
            moved = window.means[c.metric] - baseline[c.metric]
            if math.isfinite(moved) and moved * math.copysign(1.0, c.change) >= abs(c.change):
                count += 1
        return (Reading(None, float(count)),)
    return ()
