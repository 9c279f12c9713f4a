"""Streaming equals batch: any split of the steps into update() calls gives the batch events, and the live
updates tell the same story."""

from __future__ import annotations

import itertools
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.advice import load_catalog
from processing.events import EventEngine, FormEvent, detect_events, load_rules
from processing.events.evaluation import run_scenario
from processing.simulation import scenario_by_name
from processing.steps import StepMetrics

from .conftest import synthetic_run

RULES = load_rules(load_catalog())


@cache
def simulated_steps() -> tuple[StepMetrics, ...]:
    # The whole pipeline on a run with a fault that grows (events open, escalate and close on it)
    return run_scenario(scenario_by_name("progressive_right_hip_drop")).steps


@cache
def synthetic_steps() -> tuple[StepMetrics, ...]:
    # Opens and closes several rules, with a walking stretch in the middle and a tilt that comes and goes
    def tilt(k: int) -> float:
        return 11.0 if 30 <= k < 90 or k >= 150 else 4.0

    def step_r(k: int) -> float:
        return 0.35 * (1.06 if k >= 100 else 1.0)

    return tuple(
        synthetic_run(
            220,
            tilt=tilt,
            step_r=step_r,
            drop_l=lambda k: 6.0 + 5.0 * k / 220,
            running=lambda k: not 60 <= k < 70,
        )
    )


def streamed(steps: tuple[StepMetrics, ...], cuts: list[int]) -> tuple[tuple[FormEvent, ...], list[str]]:
    engine = EventEngine(RULES)
    edges = [0, *sorted(set(cuts)), len(steps)]
    kinds: list[str] = []
    for a, b in itertools.pairwise(edges):
        kinds.extend(f"{u.kind}:{u.event.rule}:{u.event.side}" for u in engine.update(steps[a:b]))
    return engine.finish(), kinds


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_of_a_simulated_run_gives_the_batch_events(data: st.DataObject) -> None:
    steps = simulated_steps()
    cuts = data.draw(st.lists(st.integers(0, len(steps)), max_size=12))
    events, _ = streamed(steps, cuts)
    assert events == detect_events(steps, RULES)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_split_of_a_synthetic_run_gives_the_batch_events_and_updates(data: st.DataObject) -> None:
    steps = synthetic_steps()
    cuts = data.draw(st.lists(st.integers(0, len(steps)), max_size=30))
    events, kinds = streamed(steps, cuts)
    batch_events, batch_kinds = streamed(steps, [])
    assert events == batch_events == detect_events(steps, RULES)
    assert kinds == batch_kinds


def test_the_batch_run_has_events_to_compare() -> None:
    # the split tests above would pass vacuously on a run without events
    simulated = [e.rule for e in detect_events(simulated_steps(), RULES) if e.type != "summary"]
    assert {"pelvic_drop_high", "drop_asymmetry"} <= set(simulated)
    _, kinds = streamed(synthetic_steps(), [])
    assert {k.split(":")[0] for k in kinds} == {"opened", "closed", "escalated"}
    closed = [k for k in kinds if k.startswith("closed")]
    assert len(closed) >= 1
