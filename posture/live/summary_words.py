"""The end of a run in plain words: readable metric names, times from the start of the run, the cues.

What `posture run`, `posture replay` and `posture demo` print when a run ends, from the summary document and
the events (the same files the report reads).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from posture.messages import MetricSummary
from posture.report.labels import METRIC_LABELS, format_clock
from processing.events import FormEvent

__all__ = ["metric_summaries", "summary_lines"]

#: The metrics the end-of-run lines show, in this order (the report shows them all).
HEADLINE_METRICS = ("pelvic_drop_deg", "pelvic_tilt_deg", "pelvic_rotation_deg", "contact_time_s")


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def metric_summaries(summary: Mapping[str, object]) -> dict[str, MetricSummary]:
    """Per metric of summary.json, the line of the `summary` message."""
    metrics = summary.get("metrics")
    out: dict[str, MetricSummary] = {}
    if not isinstance(metrics, Mapping):
        return out
    for name, entry in metrics.items():
        if not isinstance(entry, Mapping):
            continue
        worse = entry.get("worse_side")
        out[str(name)] = MetricSummary(
            mean=_number(entry.get("mean")),
            left_mean=_number(entry.get("left_mean")),
            right_mean=_number(entry.get("right_mean")),
            right_minus_left=_number(entry.get("right_minus_left")),
            si_pct=_number(entry.get("si_pct")),
            worse_side=worse if worse in ("L", "R", "even") else None,
        )
    return out


def summary_lines(summary: Mapping[str, object], events: Sequence[FormEvent]) -> list[str]:
    """A few lines for the terminal: steps and cadence, left against right, and every cue with its time."""
    steps = summary.get("steps")
    total = steps.get("total", 0) if isinstance(steps, Mapping) else 0
    cadence = _number(summary.get("cadence_spm"))
    duration = _number(summary.get("duration_s"))
    lines = [
        f"run of {format_clock(duration)}: {total} steps"
        + (f", cadence {cadence:.0f} steps/min" if math.isfinite(cadence) else "")
    ]
    metrics = metric_summaries(summary)
    for name in HEADLINE_METRICS:
        m = metrics.get(name)
        label = METRIC_LABELS.get(name)
        if m is None or label is None or not math.isfinite(m.mean):
            continue
        side = {"L": "left side worse", "R": "right side worse", "even": "even"}.get(m.worse_side or "", "")
        lines.append(
            f"  {label.name}: left {label.format(m.left_mean)}, right {label.format(m.right_mean)}"
            + (f" ({side})" if side else "")
        )
    form = [e for e in events if e.type != "summary"]
    if not form:
        lines.append("no form alerts: form held steady")
    for event in form:
        lines.append(f"  at {format_clock(event.t_start_s)}: {event.message}")
    return lines
