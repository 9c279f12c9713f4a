"""Training load: how fast this week's running rises against the weeks before (the guide's gradual progress).

Pure: the run history is handed in (`posture.history` keeps it in SQLite). The load of a run is its estimated
running distance; weeks are rolling 7-day blocks ending at the moment assessed (the end of the current run),
so "this week" is the last 7 days whatever the weekday. The acute:chronic workload ratio (ACWR) is this week's
distance over the mean weekly distance of the `chronic_weeks` weeks before it (uncoupled: this week is not
part of its own reference). The rule (`weekly_load_jump` in rules.toml) opens at 1.3 and escalates at 1.5
(Gabbett 2016); its source lists the figure's limits.

No event is raised without enough history (`min_history_weeks` of the chronic weeks with at least one run)
or with a very small chronic load (`min_chronic_m` a week), where one extra run doubles the ratio: a new user
or someone coming back from a break gets no load event, which is the ratio's known blind spot.

Distance estimate (`step_length_m`, `estimate_distance_m`): a single sacral sensor cannot measure speed (the
integral of the forward acceleration over a step is zero whatever the pace), so distance comes from a model.
Each running step covers speed x step time, with the speed from the step's contact time through
contact_time = 0.52 v^-0.6 (s, m/s), an empirical fit that gives 0.30 s at 2.5 m/s and 0.18 s at 6 m/s,
inside published ranges for recreational runners. The simulator generates contact times with the same
relation, so on simulated runs the estimate checks only the arithmetic and the pipeline's contact times
(docs/events.md: a median error of about 7 % and at most 11 % on the clean scenarios, where the detected
contact times run a few milliseconds short; 14 to 40 % where a scenario sets the contact time away from the
relation, as overstriding and the bounding runner do). On
real runners, contact time at a given speed varies by about 10 to 15 % between runners, which the exponent
(1 / 0.6) turns into a distance error of about 15 to 25 %, mostly constant for one runner, so that the
acute:chronic ratio (a ratio of the same runner's distances) is affected far less. Walking steps count
`WALK_STEP_LENGTH_M`; running steps without a contact time count `FALLBACK_SPEED_MPS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from processing.steps import StepMetrics

__all__ = [
    "CHRONIC_WEEKS",
    "DAY_NS",
    "FALLBACK_SPEED_MPS",
    "MIN_CHRONIC_M",
    "MIN_HISTORY_WEEKS",
    "WALK_STEP_LENGTH_M",
    "WEEK_NS",
    "LoadAssessment",
    "RunLoad",
    "WeeklyLoad",
    "assess_load",
    "estimate_distance_m",
    "running_speed_mps",
    "step_length_m",
    "weekly_loads",
]

DAY_NS = 86_400 * 1_000_000_000
WEEK_NS = 7 * DAY_NS
#: The chronic load: the mean of this many weeks before the current one (Gabbett 2016 uses four).
CHRONIC_WEEKS = 4
#: No load event unless at least this many of the chronic weeks hold a run.
MIN_HISTORY_WEEKS = 3
#: No load event when the chronic load is below this many metres a week (one run would double the ratio).
MIN_CHRONIC_M = 5_000.0
#: Contact-time model of running speed: contact_time_s = A * speed_mps ** B (module notes).
_CONTACT_A_S = 0.52
_CONTACT_B = -0.6
#: Speeds the model may return, m/s (a jog to a fast race pace).
_SPEED_RANGE_MPS = (1.8, 8.0)
#: A running step without a contact time counts this speed, m/s.
FALLBACK_SPEED_MPS = 3.2
#: A walking step, m (an adult walking at 1.3 to 1.4 m/s and 110 to 115 steps/min).
WALK_STEP_LENGTH_M = 0.7
#: A running step longer than this (a pause, a bout's end) counts this long at most, s.
_MAX_RUNNING_STEP_S = 0.6


def running_speed_mps(contact_time_s: float) -> float:
    """Running speed from contact time by the model of the module notes; NaN for an unusable contact time."""
    if not (math.isfinite(contact_time_s) and 0.08 <= contact_time_s <= 0.6):
        return math.nan
    speed = (contact_time_s / _CONTACT_A_S) ** (1.0 / _CONTACT_B)
    return min(max(speed, _SPEED_RANGE_MPS[0]), _SPEED_RANGE_MPS[1])


def step_length_m(step: StepMetrics) -> float:
    """The distance one step covers, by the model of the module notes, m."""
    if not step.is_running:
        return WALK_STEP_LENGTH_M
    speed = running_speed_mps(step.contact_time_s)
    if not math.isfinite(speed):
        speed = FALLBACK_SPEED_MPS
    return speed * min(step.step_time_s, _MAX_RUNNING_STEP_S)


def estimate_distance_m(steps: Iterable[StepMetrics]) -> float:
    """The estimated distance of a run: the sum of `step_length_m` over its steps (module notes), m."""
    total = 0.0
    for step in steps:
        total += step_length_m(step)
    return total


@dataclass(frozen=True, slots=True)
class RunLoad:
    """One run of the history, as the load rule sees it.

    Attributes
    ----------
    started_ns : int
        Start, ns since the Unix epoch.
    duration_s : float, s
    distance_m : float, m
        Estimated (`estimate_distance_m`).
    """

    started_ns: int
    duration_s: float
    distance_m: float

    def __post_init__(self) -> None:
        if isinstance(self.started_ns, bool) or not isinstance(self.started_ns, int) or self.started_ns < 0:
            raise ValueError(f"started_ns must be a non-negative integer, got {self.started_ns!r}")
        for name in ("duration_s", "distance_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and non-negative, got {value}")


@dataclass(frozen=True, slots=True)
class WeeklyLoad:
    """The runs of one rolling 7-day block (start_ns, end_ns].

    Attributes
    ----------
    start_ns, end_ns : int
        The block, ns since the epoch; a run belongs to the block that holds its start.
    runs : int
    distance_m : float, m
    duration_s : float, s
    """

    start_ns: int
    end_ns: int
    runs: int
    distance_m: float
    duration_s: float


def weekly_loads(
    runs: Iterable[RunLoad], *, at_ns: int, weeks: int = CHRONIC_WEEKS + 1
) -> tuple[WeeklyLoad, ...]:
    """Rolling 7-day blocks ending at `at_ns`: [0] is (at_ns - 7 days, at_ns], [1] the 7 days before, ...

    Runs that start after `at_ns` or before the oldest block are left out.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    counts = [0] * weeks
    dist = [0.0] * weeks
    dur = [0.0] * weeks
    for run in sorted(runs, key=lambda r: r.started_ns):
        age = at_ns - run.started_ns
        if age < 0:
            continue
        k = age // WEEK_NS  # start in (at - (k + 1) week, at - k week]
        if k >= weeks:
            continue
        counts[k] += 1
        dist[k] += run.distance_m
        dur[k] += run.duration_s
    return tuple(
        WeeklyLoad(at_ns - (k + 1) * WEEK_NS, at_ns - k * WEEK_NS, counts[k], dist[k], dur[k])
        for k in range(weeks)
    )


@dataclass(frozen=True, slots=True)
class LoadAssessment:
    """This week's load against the weeks before.

    Attributes
    ----------
    acute_m : float, m
        Running distance of the last 7 days (the current run included).
    chronic_m : float, m
        Mean weekly distance of the `CHRONIC_WEEKS` weeks before.
    ratio : float
        acute / chronic (NaN when the chronic load is 0).
    change_pct : float, %
        This week against the week before (the "10 % rule" figure), NaN when that week is empty.
    history_weeks : int
        Chronic weeks with at least one run.
    enough_history : bool
        True when the ratio may raise an event (module notes).
    weeks : tuple of WeeklyLoad
        [0] this week, then the weeks before.
    """

    acute_m: float
    chronic_m: float
    ratio: float
    change_pct: float
    history_weeks: int
    enough_history: bool
    weeks: tuple[WeeklyLoad, ...]


def assess_load(
    runs: Sequence[RunLoad],
    *,
    at_ns: int,
    chronic_weeks: int = CHRONIC_WEEKS,
    min_history_weeks: int = MIN_HISTORY_WEEKS,
    min_chronic_m: float = MIN_CHRONIC_M,
) -> LoadAssessment:
    """The acute:chronic ratio of running distance at `at_ns` (module notes)."""
    weeks = weekly_loads(runs, at_ns=at_ns, weeks=chronic_weeks + 1)
    acute = weeks[0].distance_m
    chronic = sum(w.distance_m for w in weeks[1:]) / chronic_weeks
    history = sum(w.runs > 0 for w in weeks[1:])
    ratio = acute / chronic if chronic > 0 else math.nan
    previous = weeks[1].distance_m
    change = 100.0 * (acute - previous) / previous if previous > 0 else math.nan
    enough = history >= min_history_weeks and chronic >= min_chronic_m
    return LoadAssessment(acute, chronic, ratio, change, history, enough, weeks)
