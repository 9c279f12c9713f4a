"""Rolling-window asymmetry of the whole pipeline on simulated runs: it shows when asymmetry emerges."""

from __future__ import annotations

from functools import cache

import numpy as np

from processing.asymmetry import WindowMetric, asymmetry_timeline, symmetry_index_pct
from processing.pipeline import analyze
from processing.simulation import SimulatedRun, scenario_by_name, simulate


@cache
def pipeline_timeline(name: str) -> tuple[SimulatedRun, tuple[WindowMetric, ...]]:
    run = simulate(scenario_by_name(name))
    steps = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).steps
    return run, asymmetry_timeline(steps)


def of_metric(rows: tuple[WindowMetric, ...], metric: str) -> list[WindowMetric]:
    return [r for r in rows if r.asymmetry.metric == metric]


def truth_side_means(run: SimulatedRun, row: WindowMetric, metric: str) -> tuple[float, float]:
    """The truth's (right, left) means over the running steps whose IC lies in the window."""
    s = run.truth.steps
    inside = s.is_running & (s.t_ic_s >= row.t_start_s - 0.05) & (s.t_ic_s <= row.t_end_s + 0.05)
    values = getattr(s, metric)
    return float(values[inside & (s.side == "R")].mean()), float(values[inside & (s.side == "L")].mean())


def truth_right_minus_left(run: SimulatedRun, row: WindowMetric, metric: str) -> float:
    right, left = truth_side_means(run, row, metric)
    return right - left


def test_progressive_hip_drop_grows_window_by_window_on_the_left_stance_side() -> None:
    # The right hip sags more and more during left stance: the left steps' drop grows by 6 deg over the run.
    run, rows = pipeline_timeline("progressive_right_hip_drop")
    drop = of_metric(rows, "pelvic_drop_deg")
    assert len(drop) >= 10
    rl = np.array([r.asymmetry.right_minus_left for r in drop])
    t = np.array([0.5 * (r.t_start_s + r.t_end_s) for r in drop])
    truth_rl = np.array([truth_right_minus_left(run, r, "pelvic_drop_deg") for r in drop])
    rise, truth_rise = (np.polyfit(t, x, 1)[0] * (t[-1] - t[0]) for x in (rl, truth_rl))
    assert truth_rise < -4.0
    assert rise < 0.85 * truth_rise  # the trend a coach looks for, at least 85 % of its true size
    # each window within twice the whole run's R-L bar (0.5 deg): a window has a fraction of the steps
    np.testing.assert_allclose(rl, truth_rl, atol=1.0)
    # worse side: the stance side whose hip lets the other side sag (left), once the asymmetry is clear
    assert all(r.asymmetry.worse_side == "L" for r in drop if r.asymmetry.right_minus_left < -1.0)
    assert drop[-1].asymmetry.worse_side == "L"
    assert drop[-1].change_from_baseline > 1.0  # the drop has grown against the first minutes
    assert all(np.isnan(r.asymmetry.si_pct) for r in drop)  # angles: right minus left, no ratio


def test_emerging_step_time_asymmetry_shows_as_a_growing_si_with_the_right_side_worse() -> None:
    run, rows = pipeline_timeline("emerging_asymmetry")
    step_time = of_metric(rows, "step_time_s")
    si = np.array([r.asymmetry.si_pct for r in step_time])
    truth_si = np.array([symmetry_index_pct(*truth_side_means(run, r, "step_time_s")) for r in step_time])
    np.testing.assert_allclose(si, truth_si, atol=2.0)  # the SI error bar, in every window
    assert abs(si[0]) < 2.0
    assert si[-1] > 4.0
    assert np.polyfit(np.arange(si.size), si, 1)[0] > 0
    assert of_metric(rows, "step_time_s")[-1].asymmetry.worse_side == "R"


def test_a_symmetric_run_stays_near_zero_in_every_window() -> None:
    _, rows = pipeline_timeline("clean_run")
    assert len(of_metric(rows, "step_time_s")) >= 5
    for metric in ("step_time_s", "contact_time_s"):
        si = np.array([r.asymmetry.si_pct for r in of_metric(rows, metric)])
        assert np.abs(si).max() < 2.0, metric  # the SI error bar, met by every window
    for metric in ("pelvic_drop_deg", "pelvic_tilt_deg", "pelvic_rotation_deg"):
        rl = np.array([r.asymmetry.right_minus_left for r in of_metric(rows, metric)])
        assert np.abs(rl).max() < 1.0, metric  # 20 steps a side: about twice the whole run's 0.5 deg bar
