"""The event engine against the simulator's planted faults: did each fault raise its event, on the right side,
with the right advice, how many strides after its onset; and how often do clean runs raise anything.

Shared by the tests (`tests/processing/events`) and the benchmark (`benchmarks/bench_events.py`, which writes
docs/events.md). Runs go through the same path as `processing.evaluation` (the suite's scenarios, `simulate`,
then the whole pipeline `processing.pipeline.analyze` on the raw sensor samples); nothing is levelled with the
truth.

Onset of a fault: the rule's measure computed on the simulator's truth steps over sliding windows of the same
length (one stride apart). A fault present from the start (the first window already beyond the threshold) has
its onset at stride 0; a progressive one at the centre of the first window whose truth reaches the threshold,
i.e. when the truth crosses it. Strides are counted from the first running step. The detection delay is the
number of running strides from the onset to the event's `t_detected_s`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from processing.events.engine import EngineParams, EventEngine
from processing.events.measures import baseline_means, readings, window_stats
from processing.events.model import FormEvent
from processing.events.rules import Rule
from processing.steps import Side, StepMetrics

__all__ = [
    "DERIVED_SCENARIOS",
    "PLANTED_FAULTS",
    "FaultOutcome",
    "PlantedFault",
    "ScenarioRun",
    "clean_scenario_names",
    "evaluate_fault",
    "run_scenario",
    "truth_distance_m",
    "truth_onset_stride",
    "truth_step_metrics",
    "window_values",
]


@dataclass(frozen=True, slots=True)
class PlantedFault:
    """A fault a scenario plants and the event it should raise.

    Attributes
    ----------
    scenario : str
        A scenario of `processing.simulation.SCENARIO_SUITE` (or of `DERIVED_SCENARIOS`).
    rule : str
        The rule that should fire.
    side : "L", "R" or None
        The side the event should name (for pelvic drop the stance side), None for both sides.
    advice : str
        An advice id the event must carry (the one that addresses the fault most directly).
    """

    scenario: str
    rule: str
    side: Side | None
    advice: str


#: Every planted fault of the suite and the event it must raise (the sides follow `Scenario`'s per-side
#: fields: `drop_left_deg` is the drop during left stance; a positive step-time SI means right steps last
#: longer).
PLANTED_FAULTS: tuple[PlantedFault, ...] = (
    PlantedFault("drop_asymmetry_left_stance", "pelvic_drop_high", "L", "form_hips_level"),
    PlantedFault("drop_asymmetry_left_stance", "drop_asymmetry", "L", "form_hips_level"),
    PlantedFault("drop_asymmetry_right_stance", "pelvic_drop_high", "R", "form_hips_level"),
    PlantedFault("drop_asymmetry_right_stance", "drop_asymmetry", "R", "form_hips_level"),
    PlantedFault("progressive_right_hip_drop", "pelvic_drop_high", "L", "form_hips_level"),
    PlantedFault("progressive_right_hip_drop", "drop_asymmetry", "L", "form_hips_level"),
    PlantedFault("step_time_asymmetry_right_longer", "step_time_asymmetry", "R", "cause_muscle_imbalance"),
    PlantedFault("step_time_asymmetry_left_longer", "step_time_asymmetry", "L", "cause_muscle_imbalance"),
    PlantedFault("step_time_asymmetry_left_longer", "contact_time_asymmetry", "L", "cause_muscle_imbalance"),
    PlantedFault("contact_time_asymmetry_right", "contact_time_asymmetry", "R", "cause_muscle_imbalance"),
    PlantedFault("emerging_asymmetry", "step_time_asymmetry", "R", "cause_muscle_imbalance"),
    PlantedFault("overstriding_high_braking", "overstriding_braking", None, "form_no_overstriding"),
    PlantedFault("excessive_rotation", "rotation_excessive", None, "form_shoulders_relaxed"),
    PlantedFault("high_anterior_tilt", "pelvic_tilt_high", None, "cause_poor_form"),
    PlantedFault("fatigue_drift", "form_fatigue", None, "cause_overuse"),
    PlantedFault("fatigue_drift", "pelvic_tilt_rising", None, "prevent_strengthen_core_back"),
    PlantedFault("fatigue_drift", "cadence_falling", None, "form_no_overstriding"),
    PlantedFault("high_impact_bounding", "impact_high", None, "form_no_overstriding"),
    # Not a fault but a true rise in tilt: the forward lean of a 12 % climb (3.6 deg, Vernillo 2017) is
    # above the rule's 2 deg, and one sensor cannot tell a hill's lean from a tiring runner's (it measures
    # no slope).
    PlantedFault("rolling_hills", "pelvic_tilt_rising", None, "prevent_strengthen_core_back"),
)


def _derived_scenarios() -> tuple[object, ...]:
    from processing.simulation import scenario_by_name

    # No suite scenario plants a high sacral impact (the suite's impact transients stay below 3.5 g at the
    # sacrum): a fast, low-cadence bounding runner with short contacts, derived from the clean run.
    return (
        replace(
            scenario_by_name("clean_run"),
            name="high_impact_bounding",
            seed=38,
            speed_mps=5.5,
            cadence_spm=158.0,
            contact_time_s=0.16,
            impact_peak_bw=1.2,
        ),
    )


#: Scenarios made here for faults the suite does not plant (clearly not part of the suite).
DERIVED_SCENARIOS: tuple[object, ...] = _derived_scenarios()


def clean_scenario_names() -> tuple[str, ...]:
    """The suite's scenarios without a planted fault: every form event on them is a false alarm."""
    from processing.simulation import SCENARIO_SUITE

    faulty = {f.scenario for f in PLANTED_FAULTS}
    return tuple(s.name for s in SCENARIO_SUITE if s.name not in faulty)


def truth_step_metrics(truth: object) -> tuple[StepMetrics, ...]:
    """The simulator's truth steps (`processing.simulation.StepTruth`) as `StepMetrics` (steps without a
    next contact, before a pause, left out)."""
    from processing.simulation import StepTruth

    if not isinstance(truth, StepTruth):
        raise TypeError(f"expected a processing.simulation.StepTruth, got {type(truth).__name__}")
    out = []
    for i in range(len(truth)):
        step_s = float(truth.step_time_s[i])
        if not (math.isfinite(step_s) and step_s > 0):
            continue
        out.append(
            StepMetrics(
                t_ic_s=float(truth.t_ic_s[i]),
                side="L" if truth.side[i] == "L" else "R",
                t_to_s=float(truth.t_to_s[i]),
                step_time_s=step_s,
                contact_time_s=float(truth.contact_time_s[i]),
                flight_time_s=float(truth.flight_time_s[i]),
                cadence_spm=60.0 / step_s,
                pelvic_tilt_deg=float(truth.pelvic_tilt_deg[i]),
                pelvic_drop_deg=float(truth.pelvic_drop_deg[i]),
                pelvic_rotation_deg=float(truth.pelvic_rotation_deg[i]),
                vertical_oscillation_m=float(truth.vertical_oscillation_m[i]),
                braking_peak_mps2=float(truth.braking_peak_mps2[i]),
                braking_dv_mps=float(truth.braking_dv_mps[i]),
                impact_peak_g=float(truth.impact_peak_g[i]),
                is_running=bool(truth.is_running[i]),
            )
        )
    return tuple(out)


def truth_distance_m(truth: object) -> float:
    """The distance the simulated runner covered: speed times step time over the truth's steps, m."""
    from processing.simulation import StepTruth

    if not isinstance(truth, StepTruth):
        raise TypeError(f"expected a processing.simulation.StepTruth, got {type(truth).__name__}")
    d = np.asarray(truth.speed_mps, dtype=float) * np.asarray(truth.step_time_s, dtype=float)
    return float(d[np.isfinite(d)].sum())


def truth_onset_stride(
    rule: Rule, truth_steps: Sequence[StepMetrics], side: Side | None, params: EngineParams | None = None
) -> float | None:
    """The running stride at which the truth reaches the rule's threshold (module notes); None if never."""
    p = params or EngineParams()
    run = [s for s in truth_steps if s.is_running]
    size = 2 * p.window_strides
    baseline = None
    if rule.uses_baseline:
        base = run[2 * p.baseline_skip_strides : 2 * p.baseline_end_stride]
        if len(base) < 2 * p.baseline_strides:
            return None
        baseline = baseline_means(base)
    first = p.baseline_end_stride if rule.uses_baseline else 0
    threshold = float(rule.threshold) if rule.threshold is not None else math.inf
    for s in range(first, len(run) // 2 - p.window_strides + 1):
        window = window_stats(
            run[2 * s : 2 * s + size], index=0, first_stride=s, window_strides=p.window_strides
        )
        values = [r.value for r in readings(rule, window, baseline) if side is None or r.side == side]
        if any(v >= threshold for v in values):
            return float(s) if s == first else s + p.window_strides / 2
    return None


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioRun:
    """A simulated scenario through the pipeline and the event engine.

    Attributes
    ----------
    name : str
    steps : tuple of StepMetrics
        What the pipeline found.
    truth_steps : tuple of StepMetrics
        The simulator's truth, as steps.
    events : tuple of FormEvent
        The engine's events on `steps` (the summary last).
    running_s : float, s
        Running time of the truth (its running steps' step times).
    distance_m : float, m
        The engine's estimated distance.
    truth_distance_m : float, m
    """

    name: str
    steps: tuple[StepMetrics, ...]
    truth_steps: tuple[StepMetrics, ...]
    events: tuple[FormEvent, ...]
    running_s: float
    distance_m: float
    truth_distance_m: float

    @property
    def form_events(self) -> tuple[FormEvent, ...]:
        """The events but the summary (and training load)."""
        return tuple(e for e in self.events if e.type not in ("summary", "load"))

    def running_stride_at(self, t_s: float) -> float:
        """Running strides from the first running step to the step with initial contact `t_s`, inclusive."""
        t = np.array([s.t_ic_s for s in self.steps if s.is_running])
        return float(np.searchsorted(t, t_s + 1e-9, side="left")) / 2.0


def run_scenario(
    scenario: object, rules: Sequence[Rule] | None = None, params: EngineParams | None = None
) -> ScenarioRun:
    """Simulate `scenario` (a `processing.simulation.Scenario`), run the pipeline and the event engine."""
    from processing.evaluation import as_recorded
    from processing.pipeline import analyze
    from processing.simulation import Scenario, simulate

    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a processing.simulation.Scenario, got {type(scenario).__name__}")
    run = simulate(scenario)
    samples, sampling_rate_hz = as_recorded(run)  # host-stamped scenarios through the time-base repair
    steps = analyze(samples, sampling_rate_hz=sampling_rate_hz).steps
    engine = EventEngine(rules, params=params)
    engine.update(steps)
    events = engine.finish()
    truth = run.truth.steps
    running = np.asarray(truth.is_running, dtype=bool)
    step_s = np.asarray(truth.step_time_s, dtype=float)[running]
    return ScenarioRun(
        name=scenario.name,
        steps=steps,
        truth_steps=truth_step_metrics(truth),
        events=events,
        running_s=float(step_s[np.isfinite(step_s)].sum()),
        distance_m=engine.distance_m,
        truth_distance_m=truth_distance_m(truth),
    )


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    """How the engine did on one planted fault.

    Attributes
    ----------
    fault : PlantedFault
    fired : bool
        An event of the rule was raised (on any side).
    event : FormEvent or None
        The first event of the rule on the expected side (or the first of the rule when none is).
    side_ok, advice_ok : bool
        The event names the expected side; it carries the expected advice id and the rule's advice.
    onset_stride : float or None
        When the truth reached the threshold (module notes); None if it never does.
    detected_stride : float or None
        Running strides from the first running step to the event's `t_detected_s`.
    """

    fault: PlantedFault
    fired: bool
    event: FormEvent | None
    side_ok: bool
    advice_ok: bool
    onset_stride: float | None
    detected_stride: float | None

    @property
    def delay_strides(self) -> float | None:
        """Strides from the onset to the detection; None without both."""
        if self.onset_stride is None or self.detected_stride is None:
            return None
        return self.detected_stride - self.onset_stride


def evaluate_fault(
    fault: PlantedFault, run: ScenarioRun, rules: Sequence[Rule], params: EngineParams | None = None
) -> FaultOutcome:
    """Score one planted fault on its scenario's run."""
    rule = next(r for r in rules if r.id == fault.rule)
    of_rule = [e for e in run.form_events if e.rule == fault.rule]
    on_side = [e for e in of_rule if e.side == fault.side]
    event = on_side[0] if on_side else (of_rule[0] if of_rule else None)
    onset = truth_onset_stride(rule, run.truth_steps, fault.side, params)
    detected = None
    if event is not None and event.t_detected_s is not None:
        detected = run.running_stride_at(event.t_detected_s)
    return FaultOutcome(
        fault=fault,
        fired=bool(of_rule),
        event=event,
        side_ok=bool(on_side),
        advice_ok=event is not None and fault.advice in event.advice and event.advice == rule.advice,
        onset_stride=onset,
        detected_stride=detected,
    )


def window_values(
    rule: Rule, steps: Sequence[StepMetrics], side: Side | None = None, params: EngineParams | None = None
) -> list[float]:
    """The rule's reading on `side` (None: the worst over the sides) in each window the engine evaluates on
    `steps`, in order: how close a run comes to the threshold (NaN where a window has none)."""
    p = params or EngineParams()
    run = [s for s in steps if s.is_running]
    size, hop = 2 * p.window_strides, 2 * p.hop_strides
    baseline = None
    if len(run) >= 2 * p.baseline_end_stride:
        baseline = baseline_means(run[2 * p.baseline_skip_strides : 2 * p.baseline_end_stride])
    out: list[float] = []
    for k, a in enumerate(range(0, len(run) - size + 1, hop)):
        window = window_stats(
            run[a : a + size], index=k, first_stride=k * p.hop_strides, window_strides=p.window_strides
        )
        if rule.uses_baseline and window.first_stride < p.baseline_end_stride:
            continue
        values = [
            r.value
            for r in readings(rule, window, baseline)
            if math.isfinite(r.value) and (side is None or r.side == side)
        ]
        out.append(max(values) if values else math.nan)
    return out
