"""The end of a run in plain words: readable metric names, times from the start of the run, the cues.

What `posture run`, `posture replay`, `posture analyze` and `posture demo` print when a run ends, from the
run's summary and events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from posture.labels import METRIC_LABELS, format_clock
from posture.messages import MetricSummary
from posture.summary import RunSummary
from processing.events import FormEvent

__all__ = ["metric_summaries", "summary_lines"]

#: The metrics the end-of-run lines show, in this order (the report shows them all).
HEADLINE_METRICS = ("pelvic_drop_deg", "pelvic_tilt_deg", "pelvic_rotation_deg", "contact_time_s")
_SIDE_WORDS = {"L": "left side worse", "R": "right side worse", "even": "even"}


def metric_summaries(summary: RunSummary) -> dict[str, MetricSummary]:
    """Per metric of the summary, its line of the `summary` message."""
    return {
        name: MetricSummary(
            mean=line.mean,
            left_mean=line.left_mean,
            right_mean=line.right_mean,
            right_minus_left=line.right_minus_left,
            si_pct=line.si_pct,
            worse_side=line.worse_side,
        )
        for name, line in summary.metrics.items()
    }


def summary_lines(summary: RunSummary, events: Sequence[FormEvent]) -> list[str]:
    """A few lines for the terminal: steps and cadence, left against right, and every cue with its time."""
    cadence = summary.cadence_spm
    lines = [
        f"run of {format_clock(summary.duration_s)}: {summary.steps.total} steps"
        + (f", cadence {cadence:.0f} steps/min" if math.isfinite(cadence) else "")
    ]
    for name in HEADLINE_METRICS:
        line = summary.metrics.get(name)
        label = METRIC_LABELS.get(name)
        if line is None or label is None or not line.has_sides or not math.isfinite(line.mean):
            continue
        side = _SIDE_WORDS.get(line.worse_side or "", "")
        lines.append(
            f"  {label.name}: left {label.format(line.left_mean)}, right {label.format(line.right_mean)}"
            + (f" ({side})" if side else "")
        )
    form = [e for e in events if e.type != "summary"]
    if not form and summary.steps.total:
        lines.append("no form alerts: form held steady")
    for event in form:
        lines.append(f"  at {format_clock(event.t_start_s)}: {event.message}")
    return lines
