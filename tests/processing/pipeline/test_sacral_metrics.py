"""Vertical oscillation, braking and impact: the sacrum's, as the sensor measures them, against the truth of
the same definitions (`processing.simulation.truth.StepTruth`)."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from processing.evaluation.matching import match_events
from processing.pipeline import analyze
from processing.simulation import SimulatedRun, scenario_by_name, simulate

FloatArray = npt.NDArray[np.float64]


@cache
def matched(name: str, metric: str, truth_field: str = "") -> tuple[FloatArray, FloatArray]:
    """(pipeline, truth) per matched running step."""
    run: SimulatedRun = simulate(scenario_by_name(name))
    steps = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).steps
    tr = run.truth.steps
    m = match_events(np.array([s.t_ic_s for s in steps]), tr.t_ic_s, tolerance_s=0.05)
    running = tr.is_running[m.reference_idx]
    detected = np.array([getattr(steps[i], metric) for i in m.detected_idx[running]])
    truth = np.asarray(getattr(tr, truth_field or metric))[m.reference_idx[running]]
    ok = np.isfinite(detected) & np.isfinite(truth)
    return detected[ok], truth[ok]


def test_vertical_oscillation_is_the_sacrums_bounce_not_the_centre_of_mass() -> None:
    vo, sacrum = matched("clean_run", "vertical_oscillation_m")
    _, com = matched("clean_run", "vertical_oscillation_m", "com_vertical_oscillation_m")
    assert abs(np.mean(vo - sacrum)) < 0.005
    assert np.sqrt(np.mean((vo - sacrum) ** 2)) < 0.005
    # the sacrum sits behind the hip axis: anterior tilt lifts it, so it bounces more than the COM
    assert np.mean(sacrum - com) > 0.01


def test_impact_is_the_peak_vertical_loading_during_contact() -> None:
    for name in ("clean_run", "forefoot_striker_right_first"):
        impact, truth = matched(name, "impact_peak_g")
        assert 2.0 < truth.mean() < 3.5, name
        assert np.sqrt(np.mean((impact - truth) ** 2)) < 0.15, name


def test_braking_speed_loss_matches_and_overstriding_brakes_harder() -> None:
    dv, truth = matched("clean_run", "braking_dv_mps")
    assert np.sqrt(np.mean((dv - truth) ** 2)) < 0.05
    peak_clean, truth_clean = matched("clean_run", "braking_peak_mps2")
    peak_over, truth_over = matched("overstriding_high_braking", "braking_peak_mps2")
    assert truth_over.mean() > 1.8 * truth_clean.mean()
    assert peak_over.mean() > 1.8 * peak_clean.mean()
    # The peak reads high where a heel strike rings the strap (about 20 % on clean_run): a known limit,
    # bounded here so that it cannot grow unnoticed.
    assert 0.0 < np.mean(peak_clean - truth_clean) < 0.3 * truth_clean.mean()
