"""The scenario suite spans what issue 3 asks for, is valid and deterministic, and plants its faults."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from processing.simulation import (
    SCENARIO_SUITE,
    InvalidScenarioError,
    Scenario,
    SimulationError,
    StepTruth,
    UnknownScenarioError,
    mounting_zyx_deg_from_rotation,
    scenario_by_name,
    simulate,
)


def _si(right: float, left: float) -> float:
    return 100.0 * (right - left) / (0.5 * (right + left))


def _by_side(steps: StepTruth, name: str) -> tuple[float, float]:
    values = getattr(steps, name)
    return float(values[steps.side == "L"].mean()), float(values[steps.side == "R"].mean())


def test_suite_has_at_least_24_uniquely_named_scenarios() -> None:
    names = [s.name for s in SCENARIO_SUITE]
    assert len(names) >= 24
    assert len(set(names)) == len(names)
    assert scenario_by_name("clean_run").name == "clean_run"


def test_unknown_scenario_names_raise_a_key_error_listing_the_choices() -> None:
    with pytest.raises(UnknownScenarioError, match="clean_run") as info:
        scenario_by_name("no such run")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, SimulationError)


def test_suite_spans_speeds_cadences_rates_and_durations() -> None:
    speeds = [s.speed_mps for s in SCENARIO_SUITE]
    cadences = [s.cadence_spm for s in SCENARIO_SUITE]
    rates = {s.sampling_rate_hz for s in SCENARIO_SUITE}
    assert min(speeds) <= 2.5
    assert max(speeds) >= 6.0
    assert min(cadences) <= 150
    assert max(cadences) >= 200
    assert {52.0, 104.0, 208.0, 416.0} <= rates
    assert rates - {52.0, 104.0, 208.0, 416.0}, "at least one odd rate"
    # 60 to 120 s of running, except the short lab clips of issue 11: 4 to 8 s with no standing start
    clips = [s for s in SCENARIO_SUITE if s.duration_s < 60.0]
    assert all(60.0 <= s.duration_s <= 120.0 for s in SCENARIO_SUITE if s not in clips)
    assert len(clips) >= 3
    assert all(4.0 <= s.duration_s <= 8.0 and s.standing_s == 0.0 for s in clips)


def test_suite_mountings_include_upside_down_sideways_and_arbitrary() -> None:
    body_up_in_sensor = [s.mounting_rotation.T @ [0.0, 0.0, 1.0] for s in SCENARIO_SUITE]
    # Upside down: the sensor axis that reads up when aligned (z) or when clipped vertically (x) reads down.
    assert any(v[2] < -0.99 for v in body_up_in_sensor)
    assert any(v[0] < -0.99 for v in body_up_in_sensor)
    # Sideways: up lies along the sensor's y axis, or the sensor's x axis points sideways in the body.
    assert any(abs(v[1]) > 0.99 for v in body_up_in_sensor)
    assert any(abs((s.mounting_rotation @ [1.0, 0.0, 0.0])[1]) > 0.99 for s in SCENARIO_SUITE)
    # Arbitrary: no sensor axis near any body axis.
    assert any(np.abs(s.mounting_rotation).max() < 0.9 for s in SCENARIO_SUITE)


def test_suite_covers_imu_quality_and_the_walking_and_turning_cases() -> None:
    assert min(s.acc_noise_mps2 for s in SCENARIO_SUITE) <= 0.02
    assert max(s.acc_noise_mps2 for s in SCENARIO_SUITE) >= 0.1
    assert max(max(abs(b) for b in s.gyr_bias_dps) for s in SCENARIO_SUITE) >= 2.0
    assert any(s.gyr_bias_walk_dps_per_sqrt_s > 0 for s in SCENARIO_SUITE)
    assert any(s.timestamp_jitter_s > 0 for s in SCENARIO_SUITE)
    assert any(s.acc_range_g <= 4 for s in SCENARIO_SUITE)
    assert any(s.warmup_walk_s > 0 and s.cooldown_walk_s > 0 for s in SCENARIO_SUITE)
    assert any(s.turns for s in SCENARIO_SUITE)
    assert any(s.standing_s == 0 for s in SCENARIO_SUITE)
    assert any(s.impact_jolt_deg_per_bw > 0 for s in SCENARIO_SUITE)
    assert any(s.pauses for s in SCENARIO_SUITE)
    assert any(s.drop_left_deg > s.drop_right_deg + 2 for s in SCENARIO_SUITE)
    assert any(s.drop_right_deg > s.drop_left_deg + 2 for s in SCENARIO_SUITE)


def test_simulation_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    scenario = dataclasses.replace(scenario_by_name("poor_imu"), duration_s=10.0)
    a, b = simulate(scenario), simulate(scenario)
    np.testing.assert_array_equal(a.samples.acc_mps2, b.samples.acc_mps2)
    np.testing.assert_array_equal(a.samples.t_s, b.samples.t_s)
    np.testing.assert_array_equal(a.truth.steps.t_ic_s, b.truth.steps.t_ic_s)
    c = simulate(dataclasses.replace(scenario, seed=scenario.seed + 1000))
    assert not np.array_equal(a.truth.steps.t_ic_s[:10], c.truth.steps.t_ic_s[:10])


@pytest.fixture(scope="module")
def suite_runs() -> dict[str, object]:
    return {s.name: simulate(s) for s in SCENARIO_SUITE}


def test_every_suite_scenario_simulates_with_consistent_truth(suite_runs: dict) -> None:
    for name, run in suite_runs.items():
        scenario = scenario_by_name(name)
        samples, truth = run.samples, run.truth
        n = truth.t_true_s.shape[0]
        true_rate_hz = scenario.sampling_rate_hz * (1.0 + 1e-6 * scenario.sample_rate_error_ppm)
        assert n == pytest.approx(scenario.total_s * true_rate_hz, abs=2), name
        if scenario.host_stamps is None:
            assert len(samples) == n, name
            assert np.all(np.diff(samples.t_s) > 0), name
        else:  # a host's stamps: whole packets lost, a packet's samples may share its arrival stamp
            stamps = scenario.host_stamps
            kept = (1.0 - stamps.lost_packet_share) * n
            assert len(samples) == pytest.approx(kept, abs=stamps.packet_samples), name
            assert np.all(np.diff(samples.t_s) >= 0), name
        acc = samples.acc_mps2
        if scenario.absent_acc_axis is not None:  # a biaxial logger: the absent axis is NaN, no gyroscope
            assert np.isnan(acc[:, scenario.absent_acc_axis]).all(), name
            assert samples.gyr_dps is None, name
            acc = np.delete(acc, scenario.absent_acc_axis, axis=1)
        assert truth.tilt_deg.shape == (n,), name
        assert truth.activity.shape == (n,), name
        steps = truth.steps
        running = steps.select(steps.is_running)
        running_s = scenario.duration_s - sum(p.duration_s + 6.0 for p in scenario.pauses)
        # the recording's ends may cut a step each (a step needs its next contact): two steps in a 4 s clip
        expected_steps = running_s * scenario.cadence_spm / 60 - 2
        assert running.t_ic_s.size >= expected_steps * 0.9, name
        assert np.all(np.isfinite(steps.pelvic_drop_deg)), name
        assert np.all((steps.t_ic_s >= 0) & (steps.t_to_s < scenario.total_s)), name
        assert np.all(np.abs(acc) <= scenario.acc_range_g * 9.80665), name
        # Nothing exceeds the physical envelope of a sacrum sensor in running unless the sensor saturates.
        assert np.abs(acc).max() < 8 * 9.81, name
        settled = running.t_ic_s > scenario.standing_s + 1.5  # angles fade in over the first second
        assert np.all(running.pelvic_rotation_deg[settled] > 3), name


@pytest.mark.parametrize(
    "name",
    [
        "clean_run",
        "drop_asymmetry_left_stance",
        "drop_asymmetry_right_stance",
        "excessive_rotation",
        "high_anterior_tilt",
        "small_amplitudes",
    ],
)
def test_planted_pelvis_parameters_come_out_in_the_truth(suite_runs: dict, name: str) -> None:
    run = suite_runs[name]
    s = run.scenario
    steps = run.truth.steps
    settled = steps.select(steps.is_running & (steps.t_ic_s > s.run_start_s + 3.0))
    left, right = settled.side == "L", settled.side == "R"
    assert settled.pelvic_tilt_deg.mean() == pytest.approx(s.tilt_mean_deg, abs=0.5)
    assert settled.pelvic_drop_deg[left].mean() == pytest.approx(s.drop_left_deg, abs=0.5)
    assert settled.pelvic_drop_deg[right].mean() == pytest.approx(s.drop_right_deg, abs=0.5)
    assert settled.pelvic_rotation_deg[left].mean() == pytest.approx(s.rotation_range_left_deg, abs=1.0)
    assert settled.pelvic_rotation_deg[right].mean() == pytest.approx(s.rotation_range_right_deg, abs=1.0)
    # Step-to-step variability: no two steps alike, but no wild outliers either.
    assert 0.02 < settled.pelvic_drop_deg[left].std() / s.drop_left_deg < 0.15


def test_planted_progressive_right_hip_drop_grows_during_left_stance_only(suite_runs: dict) -> None:
    steps = suite_runs["progressive_right_hip_drop"].truth.steps
    steps = steps.select(steps.is_running)
    for side, expected_rise in (("L", 6.0), ("R", 0.0)):
        sel = steps.side == side
        slope = np.polyfit(steps.t_ic_s[sel], steps.pelvic_drop_deg[sel], 1)[0]
        rise = slope * (steps.t_ic_s[sel][-1] - steps.t_ic_s[sel][0])
        assert rise == pytest.approx(expected_rise, abs=1.0), side


def test_planted_step_time_asymmetry_shows_in_the_truth(suite_runs: dict) -> None:
    for name, expected in (
        ("step_time_asymmetry_right_longer", 8.0),
        ("step_time_asymmetry_left_longer", -6.0),
    ):
        steps = suite_runs[name].truth.steps
        left, right = _by_side(steps.select(steps.is_running), "step_time_s")
        assert _si(right, left) == pytest.approx(expected, abs=1.0), name
    clean = suite_runs["clean_run"].truth.steps
    assert abs(_si(*_by_side(clean, "step_time_s")[::-1])) < 1.0


def test_planted_overstriding_brakes_harder_than_the_clean_run(suite_runs: dict) -> None:
    over = suite_runs["overstriding_high_braking"].truth.steps
    clean = suite_runs["clean_run"].truth.steps
    assert over.peak_braking_force_bw[over.is_running].mean() > 1.8 * clean.peak_braking_force_bw.mean()
    assert over.impact_force_bw[over.is_running].mean() > clean.impact_force_bw.mean()


def test_planted_excessive_rotation_and_fatigue_drift(suite_runs: dict) -> None:
    rot = suite_runs["excessive_rotation"].truth.steps
    assert rot.pelvic_rotation_deg[rot.is_running].mean() > 22.0
    assert suite_runs["clean_run"].truth.steps.pelvic_rotation_deg.mean() < 15.0
    fatigue = suite_runs["fatigue_drift"].truth.steps
    fatigue = fatigue.select(fatigue.is_running)
    first, last = fatigue.t_ic_s < fatigue.t_ic_s[0] + 20, fatigue.t_ic_s > fatigue.t_ic_s[-1] - 20
    assert fatigue.pelvic_tilt_deg[last].mean() - fatigue.pelvic_tilt_deg[first].mean() > 3.0
    assert fatigue.contact_time_s[last].mean() > fatigue.contact_time_s[first].mean() + 0.01
    assert fatigue.step_time_s[last].mean() > fatigue.step_time_s[first].mean()


def test_planted_tilt_asymmetry_and_emerging_step_time_asymmetry(suite_runs: dict) -> None:
    steps = suite_runs["emerging_asymmetry"].truth.steps
    steps = steps.select(steps.is_running)
    left, right = _by_side(steps, "pelvic_tilt_deg")
    assert right - left == pytest.approx(2.5, abs=0.5)
    early = steps.select(steps.t_ic_s < steps.t_ic_s[0] + 20)
    late = steps.select(steps.t_ic_s > steps.t_ic_s[-1] - 20)
    assert abs(_si(*_by_side(early, "step_time_s")[::-1])) < 2.0
    assert _si(*_by_side(late, "step_time_s")[::-1]) == pytest.approx(7.0 * 0.92, abs=1.5)


def test_a_pause_slows_to_a_walk_stands_still_and_sets_off_again(suite_runs: dict) -> None:
    run = suite_runs["traffic_light_pause"]
    (pause,) = run.scenario.pauses
    tr = run.truth
    t = tr.t_true_s
    still = (t > pause.t_start_s + 1.5) & (t < pause.t_end_s - 0.5)  # the last landing rings out first
    assert set(tr.activity[still]) == {"stand"}
    assert "walk" in set(tr.activity[(t > pause.t_start_s - 3.0) & (t < pause.t_start_s)])
    assert set(tr.activity[(t > pause.t_end_s + 4.0) & (t < pause.t_end_s + 10.0)]) == {"run"}
    # Standing still reads gravity only, whatever the clip has slipped to, and no rotation.
    assert run.samples.gyr_dps is not None
    np.testing.assert_allclose(np.linalg.norm(run.samples.acc_mps2[still], axis=1), 9.80665, atol=0.1)
    assert np.abs(run.samples.gyr_dps[still].mean(axis=0)).max() < 0.05
    # The last contact before the stop is an event but no step; everything else is a complete step.
    steps = tr.steps
    stop = np.isnan(steps.step_time_s)
    assert stop.sum() == 1
    assert steps.t_ic_s[stop][0] < pause.t_start_s < steps.t_to_s[stop][0] + 0.5
    assert np.isfinite(steps.pelvic_drop_deg).all()
    assert np.isfinite(steps.pelvic_tilt_deg[~stop]).all()
    assert not np.any((steps.t_ic_s > steps.t_to_s[stop][0]) & (steps.t_ic_s < pause.t_end_s))


def test_walking_warmup_and_cooldown_are_labelled_and_slower(suite_runs: dict) -> None:
    run = suite_runs["walk_warmup_cooldown"]
    scenario = run.scenario
    t, activity = run.truth.t_true_s, run.truth.activity
    assert set(activity[t < scenario.standing_s - 0.1]) == {"stand"}
    assert set(activity[(t > scenario.standing_s + 1) & (t < scenario.run_start_s - 1)]) == {"walk"}
    assert set(activity[(t > scenario.run_start_s + 1) & (t < scenario.run_end_s - 1)]) == {"run"}
    assert set(activity[t > scenario.run_end_s + 1]) == {"walk"}
    steps = run.truth.steps
    assert 50 < (60 / steps.step_time_s[~steps.is_running]).mean() < 130


def test_saturating_imu_clips_at_full_scale(suite_runs: dict) -> None:
    run = suite_runs["saturating_imu"]
    full_scale = run.scenario.acc_range_g * 9.80665
    assert np.isclose(np.abs(run.samples.acc_mps2), full_scale, rtol=1e-3).any()


def test_a_mounting_matrix_round_trips_through_the_scenario_angles() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        q, _r = np.linalg.qr(rng.normal(size=(3, 3)))
        q = q * np.sign(np.linalg.det(q))  # a proper rotation
        scenario = Scenario(mounting_zyx_deg=mounting_zyx_deg_from_rotation(q))
        np.testing.assert_allclose(scenario.mounting_rotation, q, atol=1e-9)
    with pytest.raises(InvalidScenarioError):
        mounting_zyx_deg_from_rotation(np.diag([1.0, 1.0, -1.0]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sampling_rate_hz", 20.0),
        ("sampling_rate_hz", 1000.0),
        ("speed_mps", 12.0),
        ("cadence_spm", 90.0),
        ("drop_left_deg", -1.0),
        ("duration_s", -5.0),
        ("first_side", "X"),
        ("mounting_zyx_deg", (0.0, 0.0)),
        ("timestamp_jitter_s", 0.01),
        ("contact_time_s", 0.33),
        ("acc_noise_mps2", float("nan")),
    ],
)
def test_invalid_scenarios_fail_fast_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidScenarioError) as info:
        Scenario(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
