"""Symmetry index, the worse side, rolling windows of strides, drift against the first minutes."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from processing.asymmetry import (
    ASYMMETRY_METRICS,
    HOP_STRIDES,
    SIDE_CONFIDENCE_SE,
    WINDOW_STRIDES,
    asymmetry_timeline,
    difference_se,
    drift_against_baseline,
    rolling_asymmetry,
    summarize_asymmetry,
    symmetry_index_pct,
)
from processing.steps import StepMetrics


def make_steps(
    n: int,
    *,
    contact_l: float = 0.25,
    contact_r: float = 0.25,
    drop_l: float = 5.0,
    drop_r: float = 5.0,
    t0: float = 0.0,
    is_running: bool = True,
) -> list[StepMetrics]:
    steps = []
    for k in range(n):
        left = k % 2 == 0
        contact = contact_l if left else contact_r
        steps.append(
            StepMetrics(
                t_ic_s=t0 + 0.35 * k,
                side="L" if left else "R",
                t_to_s=t0 + 0.35 * k + contact,
                step_time_s=0.35,
                contact_time_s=contact,
                flight_time_s=0.35 - contact,
                cadence_spm=60 / 0.35,
                pelvic_tilt_deg=4.0,
                pelvic_drop_deg=drop_l if left else drop_r,
                pelvic_rotation_deg=12.0,
                vertical_oscillation_m=0.08,
                braking_peak_mps2=6.0,
                braking_dv_mps=0.3,
                impact_peak_g=2.5,
                is_running=is_running,
            )
        )
    return steps


def test_symmetry_index_formula() -> None:
    assert symmetry_index_pct(1.1, 0.9) == pytest.approx(20.0)
    assert symmetry_index_pct(0.9, 1.1) == pytest.approx(-20.0)
    assert math.isnan(symmetry_index_pct(math.nan, 1.0))
    assert math.isnan(symmetry_index_pct(0.0, 0.0))


def test_summary_reports_si_difference_and_the_worse_side() -> None:
    by_metric = {a.metric: a for a in summarize_asymmetry(make_steps(40, contact_r=0.275, drop_l=8.0))}
    assert set(by_metric) == set(ASYMMETRY_METRICS)
    contact = by_metric["contact_time_s"]
    assert contact.si_pct == pytest.approx(100 * 0.025 / 0.2625)
    assert contact.worse_side == "R"  # longer contact on the right
    drop = by_metric["pelvic_drop_deg"]
    assert drop.right_minus_left == pytest.approx(-3.0)
    assert drop.worse_side == "L"  # larger drop during left stance: the left hip lets the right side sag
    assert math.isnan(drop.si_pct)  # angles get a difference, not a ratio
    assert by_metric["pelvic_tilt_deg"].worse_side is None
    assert drop.n_left == drop.n_right == 20


def test_rolling_windows_count_strides_from_the_first_step() -> None:
    windows = rolling_asymmetry(make_steps(100), window_strides=20, hop_strides=10)
    assert len(windows) == 4  # windows start at steps 0, 20, 40, 60
    assert windows[1].t_start_s == pytest.approx(0.35 * 20)
    assert rolling_asymmetry(make_steps(30), window_strides=20) == ()
    with pytest.raises(ValueError, match="at least 1"):
        rolling_asymmetry(make_steps(10), window_strides=0)


def test_drift_compares_each_window_with_the_first_minutes() -> None:
    early = make_steps(600, drop_l=5.0, drop_r=5.0)  # 210 s
    late = make_steps(200, drop_l=7.0, drop_r=7.0, t0=210.0)
    drift = [
        d for d in drift_against_baseline(early + late, baseline_s=180.0) if d.metric == "pelvic_drop_deg"
    ]
    assert drift[0].change == pytest.approx(0.0)
    assert drift[-1].baseline == pytest.approx(5.0)
    assert drift[-1].change == pytest.approx(2.0)
    assert drift[-1].change_pct == pytest.approx(40.0)


def test_drift_ignores_a_walking_warm_up() -> None:
    walk = make_steps(100, drop_l=2.0, drop_r=2.0, is_running=False)
    run = make_steps(200, t0=40.0)
    drift = [d for d in drift_against_baseline(walk + run) if d.metric == "pelvic_drop_deg"]
    assert drift[0].baseline == pytest.approx(5.0)


def test_timeline_rows_are_the_rolling_windows_with_their_drift() -> None:
    steps = make_steps(600, drop_l=5.0, drop_r=5.0) + make_steps(200, drop_l=5.0, drop_r=8.0, t0=210.0)
    rows = asymmetry_timeline(steps)
    windows = rolling_asymmetry(steps, window_strides=WINDOW_STRIDES, hop_strides=HOP_STRIDES)
    assert len(rows) == len(windows) * len(ASYMMETRY_METRICS)
    assert [r.asymmetry.metric for r in rows[: len(ASYMMETRY_METRICS)]] == list(ASYMMETRY_METRICS)
    assert [r.window for r in rows[:: len(ASYMMETRY_METRICS)]] == list(range(len(windows)))
    drop = [r for r in rows if r.asymmetry.metric == "pelvic_drop_deg"]
    first, last = drop[0], drop[-1]
    assert first.n_steps == 2 * WINDOW_STRIDES
    assert first.asymmetry.right_minus_left == pytest.approx(0.0)
    assert first.asymmetry.worse_side is None
    assert last.asymmetry.right_minus_left == pytest.approx(3.0)
    assert last.asymmetry.worse_side == "R"  # larger drop in right stance: the left side sags
    assert last.baseline_mean == pytest.approx(5.0)
    assert last.window_mean == pytest.approx(6.5)
    assert last.change_from_baseline_pct == pytest.approx(30.0)
    assert (last.t_start_s, last.t_end_s) == (windows[-1].t_start_s, windows[-1].t_end_s)


def test_timeline_windows_run_over_the_running_steps() -> None:
    walk = make_steps(100, drop_l=2.0, drop_r=9.0, is_running=False)
    rows = asymmetry_timeline(walk + make_steps(200, t0=40.0))
    drop = [r for r in rows if r.asymmetry.metric == "pelvic_drop_deg"]
    assert len(drop) == (200 - 2 * WINDOW_STRIDES) // (2 * HOP_STRIDES) + 1
    assert drop[0].t_start_s == pytest.approx(40.0)
    assert all(r.asymmetry.right_minus_left == pytest.approx(0.0) for r in drop)
    # without any running the walking steps are the basis
    assert len(asymmetry_timeline(walk)) == 4 * len(ASYMMETRY_METRICS)
    assert asymmetry_timeline(make_steps(2 * WINDOW_STRIDES - 1)) == ()


def test_window_length_suits_runs_of_five_minutes_to_three_hours() -> None:
    step_s = 60.0 / 170.0
    window_s = 2 * WINDOW_STRIDES * step_s
    assert 10.0 < window_s < 20.0  # sees a trend within a minute or two, averages 20 steps a side
    n_short = int(300.0 / step_s)
    n_long = int(3 * 3600.0 / step_s)
    assert (n_short - 2 * WINDOW_STRIDES) // (2 * HOP_STRIDES) + 1 >= 30
    assert ((n_long - 2 * WINDOW_STRIDES) // (2 * HOP_STRIDES) + 1) * len(ASYMMETRY_METRICS) < 20_000


def noisy_contacts(n: int, *, left_s: float, right_s: float, sd_s: float, seed: int) -> list[StepMetrics]:
    """Steps whose contact times vary from step to step (normal, `sd_s`) around a mean per side."""
    rng = np.random.default_rng(seed)
    steps = make_steps(n)
    return [
        replace(s, contact_time_s=(left_s if s.side == "L" else right_s) + float(rng.normal(0.0, sd_s)))
        for s in steps
    ]


def test_a_side_is_named_only_when_the_difference_exceeds_its_uncertainty() -> None:
    # 0.0001 s between the sides on 20 steps a side that vary by 5 ms: no worse side, the sides are even
    tiny = {
        a.metric: a
        for a in summarize_asymmetry(noisy_contacts(40, left_s=0.25, right_s=0.2501, sd_s=0.005, seed=3))
    }
    contact = tiny["contact_time_s"]
    assert contact.worse_side is None
    assert contact.side_verdict == "even"
    assert contact.right_minus_left_se == pytest.approx(0.005 * math.sqrt(2 / 20), rel=0.4)
    # 20 ms on the same spread: far beyond two standard errors, the right side is named
    clear = {
        a.metric: a
        for a in summarize_asymmetry(noisy_contacts(40, left_s=0.25, right_s=0.27, sd_s=0.005, seed=3))
    }
    assert clear["contact_time_s"].worse_side == "R"
    assert clear["contact_time_s"].side_verdict == "R"
    assert (
        abs(clear["contact_time_s"].right_minus_left)
        > SIDE_CONFIDENCE_SE * clear["contact_time_s"].right_minus_left_se
    )


def test_the_uncertainty_is_the_standard_error_of_the_difference_of_means() -> None:
    left = np.array([1.0, 2.0, 3.0, 4.0])
    right = np.array([2.0, 2.0, 4.0])
    expected = math.sqrt(left.var(ddof=1) / 4 + right.var(ddof=1) / 3)
    assert difference_se(left, right) == pytest.approx(expected)
    assert math.isnan(difference_se(np.array([1.0]), right))  # one step: no spread, no uncertainty


def test_without_two_steps_a_side_no_call_is_made() -> None:
    one_each = {a.metric: a for a in summarize_asymmetry(make_steps(2, contact_r=0.3))}
    assert one_each["contact_time_s"].worse_side is None
    assert one_each["contact_time_s"].side_verdict is None  # undetermined, not "even"


def test_rolling_windows_call_a_side_only_where_it_is_clear() -> None:
    # the first window's sides are even (0.1 ms on a 5 ms spread); in the last one the right contact is
    # 20 ms longer
    steps = noisy_contacts(40, left_s=0.25, right_s=0.2501, sd_s=0.005, seed=5) + [
        replace(s, t_ic_s=s.t_ic_s + 14.0, t_to_s=s.t_to_s + 14.0)
        for s in noisy_contacts(40, left_s=0.25, right_s=0.27, sd_s=0.005, seed=6)
    ]
    windows = rolling_asymmetry(steps, window_strides=20, hop_strides=20)
    verdicts = [{a.metric: a for a in w.metrics}["contact_time_s"].side_verdict for w in windows]
    assert verdicts == ["even", "R"]
