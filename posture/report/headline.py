"""The report's headline: what went well and what to work on, in plain words, from the run's numbers.

Form cues, never a diagnosis. The rules, in the order they are applied:

What to work on (at most `MAX_WORK_ON` items, most pressing first):
1. The alerts (events.json), once per metric, by severity and then time: the advice's cue of the most
   pressing one (its message when the catalog has no such advice), the metric and side, and when it
   started (with the number of alerts when there were more).
2. Every metric that drifted clearly the wrong way on either side, from the runner's first minutes to the
   last window of the run (`drift_verdict` is "worse", `posture.report.drift`), and has no alert already:
   when a problem started is worth more to a runner than that it exists.
3. Every metric whose left and right differ clearly (`side_verdict` is "uneven") and is not named above.
When nothing qualifies: one line saying that nothing stood out.

What went well:
1. The metrics whose left and right were even.
2. Form held steady: no metric drifted clearly the wrong way on either side (only for runs long enough to
   tell: the drift is given).
3. No alerts.
When nothing qualifies: the run itself (duration and steps), because it still counts.

A recording without a single step gets neither: it says no steps were found and how to wear the sensor.

Thresholds: for the ratio metrics (times, bounce, braking, impact) the zones of Garmin's ground contact time
balance, the left/right share that runners already know from their watches: 49.3 to 50.7 % is balanced
(|SI| <= 2.8 %), beyond 52.2 % is its red zone (|SI| > 8.8 %), with SI = 100 (R - L) / (0.5 (R + L)) =
200 (1 - 2 share of L). For the angles (no ratio makes sense: docs/design.md) a left/right difference under
1 deg is within the step-to-step spread of a good sensor, over 2 deg is visible to a coach watching the
hips. Drift: a 5 % change in a time or force, or 2 deg in an angle, against the first minutes of the run
(the changes that a running watch's weekly form trend flags, and twice the angle noise above).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from posture.labels import event_subject, format_clock, label_for, worse_side_text
from posture.report.advice import AdviceItem
from posture.report.drift import SideDrift
from posture.report.run import FormEvent, MetricSummary, RunSummary
from processing.asymmetry import METRIC_DIRECTIONS

__all__ = [
    "DRIFT_DEG",
    "DRIFT_PCT",
    "EVEN_DIFF_DEG",
    "EVEN_SI_PCT",
    "MAX_WORK_ON",
    "NO_STEPS",
    "UNEVEN_DIFF_DEG",
    "UNEVEN_SI_PCT",
    "Headline",
    "drift_verdict",
    "headline",
    "severity_rank",
    "side_verdict",
]

#: Ratio metrics: |SI| up to this is even (Garmin's balanced zone, 49.3 to 50.7 %), %.
EVEN_SI_PCT = 2.8
#: Ratio metrics: |SI| over this is uneven (Garmin's red zone, beyond 52.2 %), %.
UNEVEN_SI_PCT = 8.8
#: Angles: a right-minus-left under this is even, deg.
EVEN_DIFF_DEG = 1.0
#: Angles: a right-minus-left over this is uneven, deg.
UNEVEN_DIFF_DEG = 2.0
#: Drift the wrong way that counts as tiring: ratio metrics, % of the baseline ...
DRIFT_PCT = 5.0
#: ... and angles, deg.
DRIFT_DEG = 2.0
#: The headline names at most this many things to work on: more would bury the first.
MAX_WORK_ON = 4
#: What to work on when the recording holds no step at all.
NO_STEPS = (
    "No steps were found: clip the sensor on your waistband over your spine, stand still for a moment, "
    "then run."
)
#: Severities as events may name them, most pressing first; unknown words rank with "low".
_SEVERITY_ORDER = ("critical", "high", "alert", "warning", "medium", "moderate", "low", "info")

SideVerdict = Literal["even", "slight", "uneven", "unknown"]
DriftVerdict = Literal["steady", "worse", "better", "unknown"]


@dataclass(frozen=True, slots=True)
class Headline:
    """The top of the report.

    Attributes
    ----------
    summary : str
        The run in one line: duration, steps, cadence.
    went_well, work_on : tuple of str
        One plain sentence each, most important first; never empty.
    """

    summary: str
    went_well: tuple[str, ...]
    work_on: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.went_well or not self.work_on:
            raise ValueError("a headline says at least one thing that went well and one to work on")


def _is_angle(metric: str) -> bool:
    return METRIC_DIRECTIONS.get(metric, ("ratio", True))[0] == "angle"


def side_verdict(m: MetricSummary) -> SideVerdict:
    """How different left and right were over the run: "even", "slight", "uneven" or "unknown".

    Ratio metrics are judged by |SI|, angles by |right - left| (module notes give the thresholds). A metric
    that summary.json calls even (no worse side: the difference is within its uncertainty) is even whatever
    its size.
    """
    if m.metric not in METRIC_DIRECTIONS:
        return "unknown"
    size, even, uneven = (
        (abs(m.right_minus_left), EVEN_DIFF_DEG, UNEVEN_DIFF_DEG)
        if _is_angle(m.metric)
        else (abs(m.si_pct), EVEN_SI_PCT, UNEVEN_SI_PCT)
    )
    if not math.isfinite(size):
        return "unknown"
    if m.worse_side is None or size <= even:
        return "even"
    return "uneven" if size > uneven else "slight"


def drift_verdict(d: SideDrift) -> DriftVerdict:
    """How a metric changed on one side from the first minutes of running to the last window: "steady",
    "worse", "better", or "unknown" (a metric without a direction, or a missing value)."""
    if d.metric not in METRIC_DIRECTIONS:
        return "unknown"
    change, limit = (d.change, DRIFT_DEG) if _is_angle(d.metric) else (d.change_pct, DRIFT_PCT)
    if not math.isfinite(change):
        return "unknown"
    if abs(change) < limit:
        return "steady"
    higher_is_worse = METRIC_DIRECTIONS[d.metric][1]
    return "worse" if (change > 0) == higher_is_worse else "better"


def severity_rank(severity: str) -> int:
    """Sort key of an event's severity: 0 is the most pressing."""
    word = severity.strip().lower()
    return _SEVERITY_ORDER.index(word) if word in _SEVERITY_ORDER else _SEVERITY_ORDER.index("low")


def _names(metrics: Sequence[MetricSummary]) -> str:
    names = [label_for(m.metric).name for m in metrics]
    names = [n[0].lower() + n[1:] for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _alert_line(event: FormEvent, count: int, first_s: float, advice: Mapping[str, AdviceItem]) -> str:
    """The line of the most pressing alert of a metric: its cue, what and where, and when the first of the
    metric's `count` alerts began (`first_s`): "Keep your hips level: pelvic drop when standing on your
    left leg (right hip sags); 2 alerts, the first at 1:30."."""
    item = next((advice[a] for a in event.advice if a in advice), None)
    cue = (item.cue if item is not None else event.message).rstrip(".")
    subject = event_subject(event.metric, event.type)
    what = subject[0].lower() + subject[1:]
    if event.metric and event.side:
        what = f"{what} {worse_side_text(event.metric, event.side)}"
    when = format_clock(first_s)
    return f"{cue}: {what}; " + (f"{count} alerts, the first at {when}." if count > 1 else f"at {when}.")


def _uneven_line(m: MetricSummary) -> str:
    label = label_for(m.metric)
    more = "more" if METRIC_DIRECTIONS[m.metric][1] else "less"
    side = worse_side_text(m.metric, m.worse_side) if m.worse_side else "on one side"
    # "Pelvic drop: 3.2° more when standing on your left leg (right hip sags)."
    amount = label.format(abs(m.right_minus_left)) if _is_angle(m.metric) else f"{abs(m.si_pct):.0f} %"
    return f"{label.name}: {amount} {more} {side}."


def _drift_line(d: SideDrift) -> str:
    label = label_for(d.metric)
    rose = "rose" if d.change > 0 else "fell"
    pct = "" if _is_angle(d.metric) else f" ({d.change_pct:+.0f} %)"
    return (
        f"{label.name} {worse_side_text(d.metric, d.side)} {rose} from {label.format(d.baseline)} in your "
        f"first minutes to {label.format(d.last_window)}{pct} by the end: a sign of tiring."
    )


def headline(
    summary: RunSummary,
    alerts: Sequence[FormEvent],
    advice: Mapping[str, AdviceItem] | None = None,
    drifts: Sequence[SideDrift] = (),
) -> Headline:
    """What went well and what to work on (the rules are in the module notes).

    Parameters
    ----------
    summary : RunSummary
    alerts : sequence of FormEvent
        The run's alerts (summary events are left out here whatever is passed).
    advice : mapping of advice id to AdviceItem, optional
        The catalog; without it an alert shows its own message.
    drifts : sequence of SideDrift
        Per-side drift (`posture.report.drift.side_drifts`); empty when the run is too short to tell.
    """
    if summary.steps_total == 0:
        return Headline(
            summary=f"{format_clock(summary.duration_s)} of recording, no steps found.",
            went_well=(f"The sensor recorded {format_clock(summary.duration_s)}.",),
            work_on=(NO_STEPS,),
        )
    advice = advice or {}
    alerts = sorted((e for e in alerts if e.is_alert), key=lambda e: (severity_rank(e.severity), e.t_start_s))
    metrics = [m for m in summary.metrics if m.metric in METRIC_DIRECTIONS]
    sides = {m.metric: side_verdict(m) for m in metrics}
    verdicts = [(d, drift_verdict(d)) for d in drifts]
    # per metric, the side that drifted most the wrong way
    worse: dict[str, SideDrift] = {}
    for d, verdict in sorted(verdicts, key=lambda dv: -abs(dv[0].change)):
        if verdict == "worse":
            worse.setdefault(d.metric, d)

    work_on: list[str] = []
    named: set[str] = set()
    # one line per metric (or per rule for alerts without one): the most pressing alert, and how many
    pressing: dict[str, FormEvent] = {}
    counts: dict[str, int] = {}
    first_s: dict[str, float] = {}
    for e in alerts:
        key = e.metric or f"rule:{e.rule}"
        pressing.setdefault(key, e)
        counts[key] = counts.get(key, 0) + 1
        first_s[key] = min(first_s.get(key, math.inf), e.t_start_s)
    for key, e in pressing.items():
        work_on.append(_alert_line(e, counts[key], first_s[key], advice))
        named.add(key)
    for m in metrics:
        if m.metric in worse and m.metric not in named:
            work_on.append(_drift_line(worse[m.metric]))
            named.add(m.metric)
    for m in metrics:
        if sides[m.metric] == "uneven" and m.metric not in named:
            work_on.append(_uneven_line(m))
            named.add(m.metric)
    if not work_on:
        work_on.append("Nothing stood out in this run: keep running the way you did.")

    went_well: list[str] = []
    even = [m for m in metrics if sides[m.metric] == "even"]
    if even and len(even) == len(metrics):
        went_well.append("Left and right were even in every measure.")
    elif even:
        went_well.append(f"Left and right were even: {_names(even)}.")
    known = [v for _, v in verdicts if v != "unknown"]
    if known and "worse" not in known:
        went_well.append("Your form held steady from the first minutes to the end of the run.")
    if not alerts:
        went_well.append("No form alerts during the run.")
    if not went_well:
        done = f"{summary.steps_total} steps in {format_clock(summary.duration_s)}"
        went_well.append(f"You got the run done: {done}.")

    cadence = f", {summary.cadence_spm:.0f} steps/min" if math.isfinite(summary.cadence_spm) else ""
    line = f"{format_clock(summary.duration_s)} of recording, {summary.steps_total} steps{cadence}."
    return Headline(summary=line, went_well=tuple(went_well), work_on=tuple(work_on[:MAX_WORK_ON]))
