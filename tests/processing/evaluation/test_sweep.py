"""The robustness sweep: valid random scenarios across the issue's ranges, and a CI-sized run of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from processing.evaluation import SWEEP_METRICS, SweepResult, random_scenario, run_sweep, summarize_sweep
from processing.evaluation.sweep import metric_value, sweep_draw
from processing.simulation import Scenario


def test_draws_are_valid_scenarios_spanning_the_issue_ranges() -> None:
    rng = np.random.default_rng(0)
    draws = [random_scenario(rng, i) for i in range(300)]
    scenarios = [d.scenario for d in draws]
    assert all(isinstance(s, Scenario) for s in scenarios)
    speed = np.array([s.speed_mps for s in scenarios])
    cadence = np.array([s.cadence_spm for s in scenarios])
    rate = np.array([s.sampling_rate_hz for s in scenarios])
    run_s = np.array([s.duration_s for s in scenarios])
    assert 2.5 <= speed.min() < 3.0
    assert 5.5 < speed.max() <= 6.0
    assert 150.0 <= cadence.min() < 155.0
    assert 195.0 < cadence.max() <= 200.0
    assert rate.min() == 50.0
    assert rate.max() == 500.0
    assert not np.all(np.isin(rate, (52.0, 104.0, 208.0, 416.0)))
    assert 60.0 <= run_s.min() < 70.0
    assert 900.0 < run_s.max() <= 1200.0
    upside_down = [s for s in scenarios if (s.mounting_rotation @ np.array([0.0, 0.0, 1.0]))[2] < -0.5]
    assert upside_down
    assert any(d.accelerometer_only for d in draws)
    assert not all(d.accelerometer_only for d in draws)
    assert any(s.standing_s == 0.0 for s in scenarios)
    assert any(s.pauses for s in scenarios)
    assert any(s.turns for s in scenarios)
    assert any(s.warmup_walk_s > 0 for s in scenarios)
    assert any(s.step_time_asymmetry_pct > 4 for s in scenarios)
    assert any(s.step_time_asymmetry_pct < -4 for s in scenarios)


def test_the_same_seed_draws_the_same_scenarios() -> None:
    a = [random_scenario(np.random.default_rng(5), i) for i in range(1)]
    b = [random_scenario(np.random.default_rng(5), i) for i in range(1)]
    assert a == b


def test_one_draw_of_a_sweep_is_rebuilt_from_its_seed_and_index() -> None:
    rng = np.random.default_rng(2026)
    draws = [random_scenario(rng, i, seed=2026, max_run_s=90.0) for i in range(4)]
    assert sweep_draw(2026, 3, max_run_s=90.0) == draws[3]
    assert sweep_draw(2026, 3, max_run_s=90.0).scenario.name == "sweep2026_003"


@pytest.fixture(scope="module")
def ci_sweep() -> list[SweepResult]:
    # six draws of at most 60 s of running each: about 3 s
    return list(run_sweep(6, seed=11, max_run_s=60.0))


def test_a_ci_sized_sweep_runs_without_a_crash(ci_sweep: list[SweepResult]) -> None:
    assert [r.error for r in ci_sweep] == [""] * 6
    assert all(r.row is not None for r in ci_sweep)


@pytest.mark.parametrize(
    "key", ["ic_f1", "median_ic_error_ms", "contact_mae_ms", "side_accuracy", "cadence_error_spm"]
)
def test_a_ci_sized_sweep_meets_the_event_targets_on_every_draw(
    ci_sweep: list[SweepResult], key: str
) -> None:
    (dist,) = [d for d in summarize_sweep(ci_sweep) if d.key == key]
    assert dist.n == 6
    assert dist.n_missed == 0, [ci_sweep[i].draw.scenario for i in dist.missed]


def test_the_summary_counts_a_missed_target(ci_sweep: list[SweepResult]) -> None:
    row = ci_sweep[0].row
    assert row is not None
    bad_row = dataclasses.replace(row, drop_rl_error_deg=0.9)
    results = [dataclasses.replace(ci_sweep[0], row=bad_row), *ci_sweep[1:]]
    dist = {d.key: d for d in summarize_sweep(results)}
    assert 0 in dist["drop_rl_error_deg"].missed
    assert dist["drop_rl_error_deg"].worst >= 0.9
    assert {key for key, *_ in SWEEP_METRICS} == set(dist)
    assert metric_value(bad_row, "drop_rl_error_deg") == 0.9
