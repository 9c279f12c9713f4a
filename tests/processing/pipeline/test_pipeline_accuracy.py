"""Pipeline accuracy on simulated runs with known truth (the issue's targets), and its contracts.

The metric side is tested with the simulator's true contacts (`TruthEvents`), so that a miss here is ours and
not the event detector's; one end-to-end case runs the project's detector. The whole suite is in
`posture evaluate`.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from processing.asymmetry import summarize_asymmetry, symmetry_index_pct
from processing.pipeline import PipelineParams, StreamingProcessor, analyze
from processing.samples import ImuSamples
from processing.simulation import SimulatedRun, scenario_by_name, simulate
from processing.steps import StepMetrics

ANGLES = ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg")
REPRESENTATIVE = (
    "clean_run",
    "upside_down_flat",
    "arbitrary_mount_a",
    "sideways_clip",
    "fast_6mps_416hz",
    "poor_imu",
    "track_turns",
    "walk_warmup_cooldown",
    "step_time_asymmetry_right_longer",
    "contact_time_asymmetry_right",
    "drop_asymmetry_left_stance",
)


@cache
def run_of(name: str) -> SimulatedRun:
    return simulate(scenario_by_name(name))


def matched(run: SimulatedRun, steps: tuple[StepMetrics, ...]) -> tuple[list[StepMetrics], np.ndarray]:
    """Running steps paired with the truth index of the same contact (within 50 ms)."""
    truth = run.truth.steps
    out, idx = [], []
    for s in steps:
        j = int(np.argmin(np.abs(truth.t_ic_s - s.t_ic_s)))
        if abs(truth.t_ic_s[j] - s.t_ic_s) < 0.05 and truth.is_running[j]:
            out.append(s)
            idx.append(j)
    return out, np.array(idx)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def analyzed_with_truth_events(
    name: str, truth_events: type
) -> tuple[SimulatedRun, list[StepMetrics], np.ndarray]:
    run = run_of(name)
    detector = truth_events(run)
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz, event_detector=detector)
    steps, j = matched(run, result.steps)
    assert len(steps) >= 0.98 * np.count_nonzero(run.truth.steps.is_running)
    return run, steps, j


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_per_step_pelvic_angles_within_1_5_deg(name: str, truth_events: type) -> None:
    run, steps, j = analyzed_with_truth_events(name, truth_events)
    for angle in ANGLES:
        got = np.array([getattr(s, angle) for s in steps])
        assert rmse(got, getattr(run.truth.steps, angle)[j]) <= 1.5, angle


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_symmetry_index_of_step_and_contact_time_within_2_points(name: str, truth_events: type) -> None:
    run, steps, _ = analyzed_with_truth_events(name, truth_events)
    truth = run.truth.steps
    asym = {a.metric: a for a in summarize_asymmetry(steps)}
    left, right = truth.is_running & (truth.side == "L"), truth.is_running & (truth.side == "R")
    for metric in ("step_time_s", "contact_time_s"):
        values = getattr(truth, metric)
        si_true = symmetry_index_pct(values[right].mean(), values[left].mean())
        assert abs(asym[metric].si_pct - si_true) <= 2.0, metric


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_right_minus_left_of_pelvic_angles_within_half_a_degree(name: str, truth_events: type) -> None:
    # The simulated clip rocks on the waistband and slips over the run as a clip on the sacrum's midline does
    # (mirror-symmetric: it plants no left/right difference; tests/processing/simulation). A clip worn off
    # the midline does plant one that no single sensor can remove (the suite's `off_centre_clip`), so such
    # scenarios are not held to this bar. (poor_imu: its gyroscope bias drifts after standing, which VQF
    # must follow or its vertical tilts; see OrientationParams.bias_forgetting_time_s.)
    run = run_of(name)
    assert run.scenario.mount_off_centre_share == 0.0
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz, event_detector=truth_events(run))
    steps, _ = matched(run, result.steps)
    truth = run.truth.steps
    asym = {a.metric: a for a in summarize_asymmetry(steps)}
    left, right = truth.is_running & (truth.side == "L"), truth.is_running & (truth.side == "R")
    for angle in ANGLES:
        values = getattr(truth, angle)
        assert abs(asym[angle].right_minus_left - (values[right].mean() - values[left].mean())) <= 0.5, angle


def test_any_mounting_gives_the_metrics_of_the_upright_mounting(truth_events: type) -> None:
    base = dataclasses.replace(scenario_by_name("clean_run"), duration_s=40.0)
    results = []
    for mounting in [(0.0, 0.0, 0.0), (0.0, 0.0, 180.0), (37.0, -62.0, 121.0), (-90.0, 0.0, 90.0)]:
        run = simulate(dataclasses.replace(base, mounting_zyx_deg=mounting))
        res = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz, event_detector=truth_events(run))
        results.append({a: np.array([getattr(s, a) for s in res.steps]) for a in (*ANGLES, "impact_peak_g")})
    for other in results[1:]:
        for key, values in results[0].items():
            assert values.shape == other[key].shape
            assert np.max(np.abs(values - other[key])) < (0.3 if key in ANGLES else 0.05), key


def test_accelerometer_only_leaves_angles_empty_and_keeps_timing() -> None:
    run = run_of("clean_run")
    s = run.samples
    result = analyze(ImuSamples(s.t_s, s.acc_mps2, None), sampling_rate_hz=run.sampling_rate_hz)
    assert not result.has_gyroscope
    steps, _ = matched(run, result.steps)
    assert len(steps) >= 0.95 * np.count_nonzero(run.truth.steps.is_running)
    for angle in ANGLES:
        assert all(np.isnan(getattr(x, angle)) for x in steps)
    # Contact times as with the gyroscope (the static levelling changes them by little; their accuracy
    # against the truth is the event detector's, tested in tests/processing/gait_events).
    with_gyro = {
        round(x.t_ic_s, 2): x.contact_time_s for x in analyze(s, sampling_rate_hz=run.sampling_rate_hz).steps
    }
    pairs = [
        (x.contact_time_s, with_gyro[round(x.t_ic_s, 2)]) for x in steps if round(x.t_ic_s, 2) in with_gyro
    ]
    assert len(pairs) >= 0.9 * len(steps)
    assert np.nanmean([abs(a - b) for a, b in pairs]) < 0.005
    cadence = 60.0 / np.mean([x.step_time_s for x in steps])
    assert cadence == pytest.approx(run.scenario.cadence_spm, abs=1.0)
    with_contact = [x for x in steps if np.isfinite(x.contact_time_s)]
    assert len(with_contact) >= len(steps) - 2
    assert all(x.impact_peak_g > 1.0 for x in with_contact)


def test_without_standing_angles_are_relative_to_the_mean_running_posture(truth_events: type) -> None:
    run = run_of("no_standing")
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz, event_detector=truth_events(run))
    assert result.mounting is not None
    assert result.mounting.calibration == "running_mean"
    steps, j = matched(run, result.steps)
    truth = run.truth.steps
    tilt = np.array([s.pelvic_tilt_deg for s in steps])
    ok = np.isfinite(tilt)  # the first seconds (filter settling) carry no angles
    assert ok.mean() > 0.9
    assert abs(np.mean(tilt[ok])) < 1.0  # the mean posture reads zero ...
    true_tilt = truth.pelvic_tilt_deg[j][ok]
    assert rmse(tilt[ok] - tilt[ok].mean(), true_tilt - true_tilt.mean()) <= 1.5  # ... and changes are right
    for angle in ("pelvic_drop_deg", "pelvic_rotation_deg"):
        got = np.array([getattr(s, angle) for s in steps])[ok]
        assert rmse(got, getattr(truth, angle)[j][ok]) <= 1.5


def test_end_to_end_with_the_project_detector() -> None:
    run = run_of("clean_run")
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)
    steps, j = matched(run, result.steps)
    truth = run.truth.steps
    assert len(steps) >= 0.98 * np.count_nonzero(truth.is_running)
    assert np.mean([s.side for s in steps] == truth.side[j]) >= 0.99
    for angle in ANGLES:
        got = np.array([getattr(s, angle) for s in steps])
        known = np.isfinite(got)  # a step without a detected toe-off has no drop
        assert known.mean() >= 0.98
        assert rmse(got[known], getattr(truth, angle)[j][known]) <= 1.5


def test_delay_and_memory_are_bounded(truth_events: type) -> None:
    run = simulate(
        dataclasses.replace(scenario_by_name("clean_run"), duration_s=120.0, sampling_rate_hz=208.0)
    )
    fs = run.sampling_rate_hz
    params = PipelineParams()
    processor = StreamingProcessor(fs, has_gyroscope=True, event_detector=truth_events(run), params=params)
    block = int(0.1 * fs)
    delays, held, first_emission = [], [], None
    for a in range(0, len(run.samples), block):
        b = min(a + block, len(run.samples))
        steps = processor.update(run.samples.slice(a, b))
        if steps and first_emission is None:
            first_emission = a  # the backlog of the calibration period comes out at once
            continue
        for step in steps:
            delays.append(run.samples.t_s[b - 1] - (step.t_ic_s + step.step_time_s))
        if first_emission is not None:
            held.append(processor.buffered_samples)
    assert first_emission is not None
    assert (
        first_emission / fs
        <= run.scenario.standing_s + params.calibration_motion_s + 2 * params.calibration_check_s
    )
    bound_s = params.window_hop_s + params.window_margin_s + params.orientation_lookahead_s + 0.1
    assert len(delays) > 300
    assert max(delays) <= bound_s
    window_s = params.window_hop_s + 2 * params.window_margin_s + params.orientation_lookahead_s
    assert max(held) <= (window_s + 0.2) * fs
