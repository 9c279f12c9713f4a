"""Every planted fault of the simulator raises its event, on the right side, with the right advice, within a
stated number of strides of its onset; clean runs raise no form event (only the summary event).

The suite's scenarios (60 to 120 s of running) go through the whole pipeline (`processing.pipeline.analyze`
on the raw sensor samples) and the event engine with its default rules. The stated bound: an event is raised
within its rule's `min_strides` plus one window (20 strides) of the onset (the truth reaching the threshold;
stride 0 for a fault present from the start). benchmarks/bench_events.py measures the delays (docs/events.md).
"""

from __future__ import annotations

from functools import cache

import pytest

from processing.advice import load_catalog
from processing.events import EngineParams, load_rules
from processing.events.evaluation import (
    DERIVED_SCENARIOS,
    PLANTED_FAULTS,
    PlantedFault,
    ScenarioRun,
    clean_scenario_names,
    evaluate_fault,
    run_scenario,
)
from processing.simulation import Scenario, scenario_by_name

RULES = load_rules(load_catalog())


def scenario(name: str) -> Scenario:
    derived = {s.name: s for s in DERIVED_SCENARIOS if isinstance(s, Scenario)}
    return derived[name] if name in derived else scenario_by_name(name)


@cache
def run(name: str) -> ScenarioRun:
    return run_scenario(scenario(name), RULES)


def max_delay_strides(rule_id: str) -> int:
    rule = next(r for r in RULES if r.id == rule_id)
    return rule.min_strides + EngineParams().window_strides


@pytest.mark.parametrize("fault", PLANTED_FAULTS, ids=lambda f: f"{f.scenario}-{f.rule}")
def test_a_planted_fault_raises_its_event_on_the_right_side_soon_after_its_onset(fault: PlantedFault) -> None:
    outcome = evaluate_fault(fault, run(fault.scenario), RULES)
    assert outcome.fired, f"{fault.rule} did not fire on {fault.scenario}"
    assert outcome.side_ok, f"{fault.rule} named {outcome.event and outcome.event.side}, not {fault.side}"
    assert outcome.advice_ok
    assert outcome.event is not None
    assert outcome.event.message
    assert outcome.onset_stride is not None, "the truth never reaches the threshold"
    delay = outcome.delay_strides
    assert delay is not None
    assert 0 <= delay <= max_delay_strides(fault.rule), delay


@pytest.mark.parametrize("name", sorted({f.scenario for f in PLANTED_FAULTS}))
def test_a_faulty_run_raises_only_the_events_of_its_faults(name: str) -> None:
    expected = {(f.rule, f.side) for f in PLANTED_FAULTS if f.scenario == name}
    fired = {(e.rule, e.side) for e in run(name).form_events}
    assert fired == expected


@pytest.mark.parametrize("name", clean_scenario_names())
def test_a_clean_run_raises_no_form_event(name: str) -> None:
    events = run(name).events
    assert [e.type for e in events] == ["summary"], [(e.rule, e.side) for e in events]
    assert events[0].value == 0


def test_the_clean_runs_are_the_suite_without_its_faults() -> None:
    clean = set(clean_scenario_names())
    assert {"clean_run", "track_turns", "traffic_light_pause", "loose_clip", "off_centre_clip"} <= clean
    assert not clean & {f.scenario for f in PLANTED_FAULTS}
