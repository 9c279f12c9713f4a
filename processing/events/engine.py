"""The event engine: form events from steps, live or after the run, with the same result either way.

Design (VQF's shape, as `processing.pipeline.StreamingProcessor`): frozen parameters (`EngineParams`, the
rules), an explicit state (`EventEngine.state` reads a copy, `engine.state = saved` restores it), and one code
path: `update(steps)` takes any number of steps and handles them one at a time; `detect_events(steps)` is
`update(all)` then `finish()`. So any split of the steps into `update()` calls gives the batch result.

1. Windows. Running steps only (a walking warm-up or a pause would mix two gaits in one mean; a session
   without running gets only the summary event). Window k holds running steps [2 k hop, 2 (k hop + window))
   and is evaluated when its last step arrives (`processing.events.measures`).
2. Baseline. The mean of every metric over running strides [baseline_skip, baseline_skip + baseline) is the
   runner's own reference; rules that compare with it (drift, cadence, form fatigue) read only the windows
   that start after it.
3. Each rule, per side for sided rules, runs a small state machine over the windows:
   - quiet -> pending: a window's value reaches the threshold (and, for an asymmetry, that side is the clear
     worse side: the difference beyond two standard errors);
   - pending -> open: the value has stayed at or above the release (and the side clear) in every window for
     `min_strides` strides
     (1 + ceil((min_strides - window) / hop) windows) and the rule's cool-down has passed. The event starts at
     the first pending window's first contact (`t_start_s`) and is raised at the confirming window's last
     contact (`t_detected_s`);
   - pending -> quiet: a window falls below the release;
   - open: every window at or above the release extends it (`t_end_s` = that window's last contact) and may
     raise the severity to "alert" (`alert_threshold`); the first window below the release closes it and
     starts the cool-down (`cooldown_strides`, counted in window ends).
   A window without a value (NaN: no angles from an accelerometer-only logger) leaves an open event as it is
   and resets a pending one.
4. `finish()` closes the events still open at the end of the run at the last window that showed them (so
   every event it returns has a `t_end_s`; only the live `opened` updates carry `t_end_s` None), adds the
   training-load event when a history is given (`LoadContext`) and the rule fires, and the summary event.

Memory is bounded: the last window of steps, the baseline's steps until the baseline is known, one state per
rule and side, and the events. Times are those of the steps (`t_ic_s`): the recording's time axis.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from processing.advice import load_catalog
from processing.asymmetry import HOP_STRIDES, WINDOW_STRIDES
from processing.events.errors import InvalidStepsError
from processing.events.load import LoadAssessment, RunLoad, assess_load, step_length_m
from processing.events.measures import Reading, WindowStats, baseline_means, readings, window_stats
from processing.events.model import EventUpdate, FormEvent, Severity
from processing.events.rules import Rule, load_rules
from processing.steps import Side, StepMetrics

__all__ = ["EngineParams", "EngineState", "EventEngine", "LoadContext", "detect_events", "required_windows"]

_SEVERITY_RANK = {"info": 0, "warning": 1, "alert": 2}


@dataclass(frozen=True, slots=True)
class EngineParams:
    """Parameters of the event engine (in strides: 2 steps, one of each foot).

    Attributes
    ----------
    window_strides, hop_strides : int
        Rolling windows (`processing.asymmetry.WINDOW_STRIDES` and `HOP_STRIDES`: 20 strides every 10; the
        module notes of `processing.asymmetry.indices` say why).
    baseline_skip_strides : int
        Running strides left out at the start before the baseline (the runner settles into the pace).
    baseline_strides : int
        Running strides of the baseline. The default, 40 strides after 10 (about half a minute from the
        seventh second at 170 steps/min), fits the one- to two-minute runs of the simulator and a live alert
        within the first minutes; a longer baseline (the first few minutes) is steadier on long runs.
    """

    window_strides: int = WINDOW_STRIDES
    hop_strides: int = HOP_STRIDES
    baseline_skip_strides: int = 10
    baseline_strides: int = 40

    def __post_init__(self) -> None:
        for name in ("window_strides", "hop_strides", "baseline_strides"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer of at least 1, got {value!r}")
        if not isinstance(self.baseline_skip_strides, int) or self.baseline_skip_strides < 0:
            raise ValueError(
                f"baseline_skip_strides must be a non-negative integer, got {self.baseline_skip_strides!r}"
            )
        if self.hop_strides > self.window_strides:
            raise ValueError("hop_strides must not exceed window_strides (windows would leave strides out)")

    @property
    def baseline_end_stride(self) -> int:
        """Windows that start at or after this running stride are compared with the baseline."""
        return self.baseline_skip_strides + self.baseline_strides


def required_windows(rule: Rule, params: EngineParams) -> int:
    """Consecutive windows a rule's value must hold to cover `min_strides` strides:
    1 + ceil((min_strides - window) / hop)."""
    extra = max(0, rule.min_strides - params.window_strides)
    return 1 + -(-extra // params.hop_strides)


@dataclass(frozen=True, slots=True)
class LoadContext:
    """What the training-load rule needs besides the steps.

    Attributes
    ----------
    history : tuple of RunLoad
        The runner's earlier runs (`posture.history.RunHistory.load_history`), not this one.
    started_ns : int
        This run's start, ns since the Unix epoch (its steps' times are relative to the recording).
    """

    history: tuple[RunLoad, ...]
    started_ns: int


@dataclass(slots=True)
class _Track:
    """The state machine of one rule and side (module notes, 3)."""

    pending: int = 0
    pending_start_s: float = math.nan
    pending_peak: float = math.nan
    event: FormEvent | None = None  # open event
    last_hold_end_s: float = math.nan
    peak: float = math.nan
    cooldown_until_stride: int = 0


@dataclass(slots=True)
class EngineState:
    """Everything the engine remembers between `update()` calls (read a copy with `EventEngine.state`).

    Attributes
    ----------
    window_steps : list of StepMetrics
        The running steps not yet past the last window (at most one window's worth).
    n_running : int
        Running steps seen.
    n_steps : int
        Steps seen (all).
    next_window : int
        Index of the next window to evaluate.
    baseline_steps : list of StepMetrics
        The baseline's steps until the baseline is known (then empty).
    baseline : mapping or None
        The runner's baseline means, once known.
    tracks : dict
        (rule id, side) -> the rule's state machine.
    closed : list of FormEvent
        Events closed so far, in the order they closed.
    first_t_s, last_t_ic_s, last_end_s : float, s
        First initial contact, last initial contact, and the end (next contact) of the last step.
    distance_m : float, m
        Estimated distance so far (`processing.events.load.step_length_m`).
    finished : bool
    """

    window_steps: list[StepMetrics] = field(default_factory=list)
    n_running: int = 0
    n_steps: int = 0
    next_window: int = 0
    baseline_steps: list[StepMetrics] = field(default_factory=list)
    baseline: dict[str, float] | None = None
    tracks: dict[tuple[str, Side | None], _Track] = field(default_factory=dict)
    closed: list[FormEvent] = field(default_factory=list)
    first_t_s: float = math.nan
    last_t_ic_s: float = -math.inf
    last_end_s: float = math.nan
    distance_m: float = 0.0
    finished: bool = False


class EventEngine:
    """Form events from steps, streaming (`update`) or after the run (`detect_events`), with equal results.

    Parameters
    ----------
    rules : sequence of Rule or None
        Default: `load_rules(load_catalog())`. Apply a runner's thresholds with `rules_with_overrides`.
    params : EngineParams or None
    load : LoadContext or None
        The run history for the training-load rule; None: no load event.

    Attributes
    ----------
    load_assessment_ : LoadAssessment or None
        After `finish()` with a `LoadContext`: this week's load against the weeks before.
    """

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        *,
        params: EngineParams | None = None,
        load: LoadContext | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(load_rules(load_catalog()) if rules is None else rules)
        if not all(isinstance(r, Rule) for r in self.rules):
            raise TypeError("rules must be processing.events.Rule objects (see load_rules)")
        self.params = params or EngineParams()
        self.load = load
        self._form_rules = tuple(r for r in self.rules if r.is_form_rule)
        self._windows_needed = {r.id: required_windows(r, self.params) for r in self._form_rules}
        self._order = {r.id: k for k, r in enumerate(self.rules)}
        self._state = EngineState()
        self.load_assessment_: LoadAssessment | None = None

    # ---- state ------------------------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        """A copy of the engine's state; `engine.state = saved` restores it."""
        return copy.deepcopy(self._state)

    @state.setter
    def state(self, value: EngineState) -> None:
        if not isinstance(value, EngineState):
            raise TypeError("state must be an EngineState (from EventEngine.state)")
        self._state = copy.deepcopy(value)

    @property
    def distance_m(self) -> float:
        """Estimated distance of the steps so far, m."""
        return self._state.distance_m

    @property
    def open_events(self) -> tuple[FormEvent, ...]:
        """The events open now (t_end_s None)."""
        return tuple(t.event for t in self._state.tracks.values() if t.event is not None)

    # ---- streaming --------------------------------------------------------------------------------------

    def update(self, steps: Iterable[StepMetrics]) -> list[EventUpdate]:
        """Feed steps in time order (any number, as the pipeline emits them); returns the events that opened,
        escalated or closed, in order."""
        st = self._state
        out: list[EventUpdate] = []
        for step in steps:
            if st.finished:
                raise InvalidStepsError(
                    "the engine has finished: start a new EventEngine for another run", t_ic_s=step.t_ic_s
                )
            if not step.t_ic_s > st.last_t_ic_s:
                raise InvalidStepsError(
                    f"step at {step.t_ic_s:.3f} s does not follow the previous one at "
                    f"{st.last_t_ic_s:.3f} s: feed the steps in time order, each once",
                    t_ic_s=step.t_ic_s,
                )
            self._add_step(step, out)
        return out

    def _add_step(self, step: StepMetrics, out: list[EventUpdate]) -> None:
        st, p = self._state, self.params
        if st.n_steps == 0:
            st.first_t_s = step.t_ic_s
        st.n_steps += 1
        st.last_t_ic_s = step.t_ic_s
        st.last_end_s = step.t_ic_s + step.step_time_s
        st.distance_m += step_length_m(step)
        if not step.is_running:
            return
        k = st.n_running
        st.n_running += 1
        if st.baseline is None and 2 * p.baseline_skip_strides <= k < 2 * p.baseline_end_stride:
            st.baseline_steps.append(step)
            if k == 2 * p.baseline_end_stride - 1:
                st.baseline = baseline_means(st.baseline_steps)
                st.baseline_steps = []
        st.window_steps.append(step)
        size, hop = 2 * p.window_strides, 2 * p.hop_strides
        first = st.next_window * hop  # running-step index of the next window's first step
        if st.n_running == first + size:
            offset = st.n_running - len(st.window_steps)
            window = window_stats(
                st.window_steps[first - offset :],
                index=st.next_window,
                first_stride=st.next_window * p.hop_strides,
                window_strides=p.window_strides,
            )
            st.next_window += 1
            st.window_steps = st.window_steps[first + hop - offset :]
            self._evaluate(window, out)

    def _evaluate(self, window: WindowStats, out: list[EventUpdate]) -> None:
        st = self._state
        for rule in self._form_rules:
            if rule.uses_baseline and window.first_stride < self.params.baseline_end_stride:
                continue
            for reading in readings(rule, window, st.baseline):
                key = (rule.id, reading.side)
                track = st.tracks.get(key)
                if track is None:
                    track = st.tracks[key] = _Track()
                update = self._step_track(rule, track, reading, window)
                if update is not None:
                    out.append(update)

    def _step_track(self, rule: Rule, t: _Track, r: Reading, w: WindowStats) -> EventUpdate | None:
        threshold = float(rule.threshold) if rule.threshold is not None else math.inf
        v = r.value
        if t.event is not None:  # open
            if math.isnan(v):
                return None
            if v < rule.release:
                closed = replace(t.event, t_end_s=t.last_hold_end_s, value=t.peak)
                self._state.closed.append(closed)
                t.event = None
                t.pending = 0
                t.cooldown_until_stride = w.end_stride + rule.cooldown_strides
                return EventUpdate("closed", closed)
            t.last_hold_end_s = w.t_end_s
            t.peak = max(t.peak, v)
            severity = self._severity(rule, t.peak)
            if severity != t.event.severity:
                t.event = replace(t.event, severity=severity, value=t.peak)
                return EventUpdate("escalated", t.event)
            return None
        # quiet or pending: every pending window must show the problem on this side (for an asymmetry, the
        # side clear of its uncertainty) at least down to the release
        if t.pending and r.qualifies and v >= rule.release:
            t.pending += 1
            t.pending_peak = max(t.pending_peak, v)
        elif r.qualifies and v >= threshold:
            t.pending, t.pending_start_s, t.pending_peak = 1, w.t_start_s, v
        else:
            t.pending = 0
            return None
        if t.pending < self._windows_needed[rule.id] or w.end_stride < t.cooldown_until_stride:
            return None
        t.peak = t.pending_peak
        t.last_hold_end_s = w.t_end_s
        t.pending = 0
        t.event = FormEvent(
            rule=rule.id,
            type=rule.type,
            metric=rule.metric,
            side=r.side,
            t_start_s=t.pending_start_s,
            t_end_s=None,
            severity=self._severity(rule, t.peak),
            advice=rule.advice,
            message=rule.message(r.side),
            value=t.peak,
            threshold=rule.threshold,
            unit=rule.unit,
            t_detected_s=w.t_end_s,
        )
        return EventUpdate("opened", t.event)

    @staticmethod
    def _severity(rule: Rule, peak: float) -> Severity:
        if rule.alert_threshold is not None and peak >= rule.alert_threshold:
            return "alert"
        return rule.severity

    # ---- the end of the run -------------------------------------------------------------------------------

    def finish(self) -> tuple[FormEvent, ...]:
        """Close what is open (at the last window that showed it) and return every event of the run: the
        form events in order of their start (then rule order, left before right), the training-load event if
        any, and the summary event last. The engine takes no steps afterwards."""
        st = self._state
        if st.finished:
            raise InvalidStepsError("finish() was called already: start a new EventEngine", t_ic_s=math.nan)
        st.finished = True
        for track in st.tracks.values():
            if track.event is not None:
                st.closed.append(replace(track.event, t_end_s=track.last_hold_end_s, value=track.peak))
                track.event = None
        form = sorted(
            st.closed,
            key=lambda e: (e.t_start_s, self._order[e.rule], e.side or ""),
        )
        extra: list[FormEvent] = []
        load_event = self._load_event()
        if load_event is not None:
            extra.append(load_event)
        summary = self._summary_event(form, extra)
        if summary is not None:
            extra.append(summary)
        return (*form, *extra)

    def _span(self) -> tuple[float, float]:
        st = self._state
        if st.n_steps == 0:
            return 0.0, 0.0
        return st.first_t_s, max(st.last_end_s, st.first_t_s)

    def _load_event(self) -> FormEvent | None:
        rule = next((r for r in self.rules if r.type == "load"), None)
        if self.load is None or rule is None or rule.threshold is None:
            return None
        t0, t1 = self._span()
        duration_s = t1 - t0
        this_run = RunLoad(self.load.started_ns, duration_s, self._state.distance_m)
        at_ns = self.load.started_ns + round(duration_s * 1e9)
        assessment = assess_load((*self.load.history, this_run), at_ns=at_ns)
        self.load_assessment_ = assessment
        if not (assessment.enough_history and assessment.ratio >= rule.threshold):
            return None
        return FormEvent(
            rule=rule.id,
            type="load",
            metric=None,
            side=None,
            t_start_s=t0,
            t_end_s=t1,
            severity=self._severity(rule, assessment.ratio),
            advice=rule.advice,
            message=rule.message(),
            value=assessment.ratio,
            threshold=rule.threshold,
            unit=rule.unit,
            t_detected_s=t1,
        )

    def _summary_event(self, form: Sequence[FormEvent], extra: Sequence[FormEvent]) -> FormEvent | None:
        rule = next((r for r in self.rules if r.type == "summary"), None)
        if rule is None:
            return None
        titles = {r.id: r.title for r in self.rules}
        groups: dict[tuple[str, Side | None], int] = {}
        for e in form:
            groups[(e.rule, e.side)] = groups.get((e.rule, e.side), 0) + 1
        parts = []
        for (rule_id, side), count in groups.items():
            text = titles.get(rule_id, rule_id)
            if side is not None:
                text += ", left side" if side == "L" else ", right side"
            parts.append(text + (f" ({count} times)" if count > 1 else ""))
        n = len(form)
        if n == 0:
            message = f"{rule.cue} No form alerts in this run."
        else:
            message = f"{rule.cue} {n} form alert{'s' if n != 1 else ''}: {'; '.join(parts)}."
        message += "".join(f" {e.message}" for e in extra)
        advice: list[str] = []
        for e in (*form, *extra):
            advice.extend(a for a in e.advice if a not in advice)
        t0, t1 = self._span()
        return FormEvent(
            rule=rule.id,
            type="summary",
            metric=None,
            side=None,
            t_start_s=t0,
            t_end_s=t1,
            severity=rule.severity,
            advice=tuple(advice),
            message=message[:500],
            value=float(n),
            threshold=None,
            unit=rule.unit,
            t_detected_s=None,
        )


def detect_events(
    steps: Iterable[StepMetrics],
    rules: Sequence[Rule] | None = None,
    *,
    params: EngineParams | None = None,
    load: LoadContext | None = None,
) -> tuple[FormEvent, ...]:
    """Every event of a run from its steps (in time order): `EventEngine(...).update(steps)` then
    `finish()`, so the live engine gives the same events."""
    engine = EventEngine(rules, params=params, load=load)
    engine.update(steps)
    return engine.finish()
