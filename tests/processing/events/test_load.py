"""Training load: rolling weeks, the acute:chronic ratio, its blind spots, and the distance estimate."""

from __future__ import annotations

import math

import pytest

from processing.events import RunLoad, assess_load, estimate_distance_m, weekly_loads
from processing.events.evaluation import run_scenario
from processing.events.load import DAY_NS, WALK_STEP_LENGTH_M, WEEK_NS, running_speed_mps, step_length_m
from processing.simulation import scenario_by_name

from .conftest import synthetic_run

NOW = 200 * WEEK_NS


def weeks_of(*km_per_week: float, runs_per_week: int = 3) -> list[RunLoad]:
    """Runs spread over past weeks: km_per_week[0] this week, [1] the week before, ..."""
    out = []
    for k, km in enumerate(km_per_week):
        for j in range(runs_per_week):
            start = NOW - k * WEEK_NS - (j + 1) * 2 * DAY_NS + DAY_NS // 2
            out.append(RunLoad(start, 1800.0, 1000.0 * km / runs_per_week))
    return out


def test_weeks_are_rolling_seven_day_blocks_ending_now() -> None:
    runs = [RunLoad(NOW, 60.0, 1.0), RunLoad(NOW - WEEK_NS + 1, 60.0, 2.0), RunLoad(NOW - WEEK_NS, 60.0, 4.0)]
    runs += [RunLoad(NOW + 1, 60.0, 8.0), RunLoad(NOW - 5 * WEEK_NS, 60.0, 16.0)]  # future, too old
    weeks = weekly_loads(runs, at_ns=NOW, weeks=5)
    assert [w.distance_m for w in weeks] == [3.0, 4.0, 0.0, 0.0, 0.0]
    assert [w.runs for w in weeks] == [2, 1, 0, 0, 0]
    assert (weeks[0].start_ns, weeks[0].end_ns) == (NOW - WEEK_NS, NOW)
    with pytest.raises(ValueError, match="at least 1"):
        weekly_loads(runs, at_ns=NOW, weeks=0)


def test_the_ratio_is_this_week_over_the_mean_of_the_four_before() -> None:
    a = assess_load(weeks_of(26.0, 20.0, 20.0, 18.0, 22.0), at_ns=NOW)
    assert a.acute_m == pytest.approx(26_000.0)
    assert a.chronic_m == pytest.approx(20_000.0)
    assert a.ratio == pytest.approx(1.3)
    assert a.change_pct == pytest.approx(30.0)  # against last week: the "10 % rule" figure
    assert a.enough_history
    assert a.history_weeks == 4


def test_no_verdict_without_history_or_with_a_tiny_load() -> None:
    new_runner = assess_load(weeks_of(10.0, 5.0), at_ns=NOW)
    assert new_runner.history_weeks == 1
    assert not new_runner.enough_history
    tiny = assess_load(weeks_of(4.0, 2.0, 2.0, 2.0, 2.0), at_ns=NOW)  # 2 km a week: one run doubles it
    assert tiny.ratio == pytest.approx(2.0)
    assert not tiny.enough_history
    empty = assess_load([], at_ns=NOW)
    assert math.isnan(empty.ratio)
    assert math.isnan(empty.change_pct)


def test_run_loads_are_validated() -> None:
    with pytest.raises(ValueError, match="started_ns"):
        RunLoad(-1, 10.0, 10.0)
    with pytest.raises(ValueError, match="distance_m"):
        RunLoad(0, 10.0, math.nan)


def test_the_speed_model_follows_contact_time() -> None:
    assert running_speed_mps(0.52 * 3.5**-0.6) == pytest.approx(3.5)
    assert running_speed_mps(0.30) == pytest.approx(2.5, abs=0.05)
    assert running_speed_mps(0.18) == pytest.approx(5.9, abs=0.2)
    assert math.isnan(running_speed_mps(math.nan))
    assert math.isnan(running_speed_mps(0.9))


def test_walking_steps_count_a_walking_step() -> None:
    walk = synthetic_run(10, running=lambda _k: False)
    assert estimate_distance_m(walk) == pytest.approx(20 * WALK_STEP_LENGTH_M)
    assert step_length_m(walk[0]) == WALK_STEP_LENGTH_M


def test_the_estimated_distance_of_a_clean_simulated_run_is_within_ten_percent() -> None:
    run = run_scenario(scenario_by_name("clean_run"))
    assert run.distance_m == pytest.approx(run.truth_distance_m, rel=0.10)
    assert estimate_distance_m(run.steps) == pytest.approx(run.distance_m)
