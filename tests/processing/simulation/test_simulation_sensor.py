"""The sensor model: decimation without delay, noise, bias, saturation, quantisation, jitter, turns."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing import STANDARD_GRAVITY_MPS2 as G
from processing.simulation import Pause, Scenario, Turn, scenario_by_name, simulate
from processing.simulation.sensor import corrupt, decimate


@pytest.mark.parametrize("output_rate_hz", [52.0, 60.0, 104.0, 416.0])
def test_decimation_keeps_the_gait_band_in_time_and_removes_what_would_alias(output_rate_hz: float) -> None:
    fine = 1000.0
    t = np.arange(20000) / fine
    gait = np.sin(2 * np.pi * 5.0 * t + 0.3)  # well inside the pass band
    alias = np.sin(2 * np.pi * 0.9 * output_rate_hz * t)  # would fold back to 0.1 x ODR
    t_out = np.arange(int(18 * output_rate_hz)) / output_rate_hz + 0.5
    out = decimate(np.stack([gait + alias, gait], axis=1), t, fine, output_rate_hz, t_out)
    expected = np.sin(2 * np.pi * 5.0 * t_out + 0.3)
    # No group delay: samples land on the true instants (a 1 ms shift would already give an error of 0.03).
    np.testing.assert_allclose(out[:, 1], expected, atol=2e-3)
    # The component above the Nyquist frequency is suppressed instead of folding into the gait band.
    np.testing.assert_allclose(out[:, 0], expected, atol=5e-3)


def test_corruption_adds_the_specified_bias_and_noise_then_saturates_and_quantises() -> None:
    rng = np.random.default_rng(5)
    x = np.zeros((200_000, 3))
    x[:10, 0] = 100.0
    y = corrupt(
        x,
        sampling_rate_hz=104.0,
        noise_std=0.05,
        bias=np.array([0.3, -0.2, 0.1]),
        bias_walk_per_sqrt_s=0.0,
        full_scale=4 * G,
        rng=rng,
    )
    lsb = 2 * 4 * G / 2**16
    np.testing.assert_allclose(y[10:].mean(axis=0), [0.3, -0.2, 0.1], atol=1e-3)
    np.testing.assert_allclose(y[10:].std(axis=0), 0.05, rtol=0.02)
    assert y[:10, 0].max() == pytest.approx(4 * G, abs=lsb)
    np.testing.assert_allclose(y / lsb, np.round(y / lsb), atol=1e-9)


def test_gyroscope_bias_random_walk_grows_like_the_square_root_of_time() -> None:
    rng = np.random.default_rng(6)
    n, rate = 20_000, 100.0
    runs = [
        corrupt(
            np.zeros((n, 3)),
            sampling_rate_hz=rate,
            noise_std=0.0,
            bias=np.zeros(3),
            bias_walk_per_sqrt_s=0.02,
            full_scale=2000.0,
            rng=rng,
        )[-1]
        for _ in range(60)
    ]
    # After 200 s the spread is 0.02 * sqrt(200) = 0.28 deg/s.
    assert np.std(runs) == pytest.approx(0.02 * np.sqrt(n / rate), rel=0.2)


def test_standing_noise_and_bias_match_the_scenario() -> None:
    scenario = Scenario(
        duration_s=1.0,
        standing_s=30.0,
        acc_noise_mps2=0.05,
        gyr_noise_dps=0.3,
        acc_bias_mps2=(0.2, -0.1, 0.3),
        gyr_bias_dps=(1.0, -2.0, 0.5),
    )
    run = simulate(scenario)
    still = run.truth.t_true_s < 29.0
    assert run.samples.gyr_dps is not None
    np.testing.assert_allclose(run.samples.acc_mps2[still].mean(0), [0.2, -0.1, G + 0.3], atol=0.01)
    np.testing.assert_allclose(run.samples.gyr_dps[still].mean(0), [1.0, -2.0, 0.5], atol=0.03)
    np.testing.assert_allclose(run.samples.acc_mps2[still].std(0), 0.05, rtol=0.1)
    np.testing.assert_allclose(run.samples.gyr_dps[still].std(0), 0.3, rtol=0.1)


def test_reported_timestamps_jitter_around_the_true_sample_instants() -> None:
    scenario = dataclasses.replace(scenario_by_name("poor_imu"), duration_s=60.0)
    run = simulate(scenario)
    error = run.samples.t_s - run.truth.t_true_s
    assert error.std() == pytest.approx(scenario.timestamp_jitter_s, rel=0.15)
    assert np.all(np.diff(run.samples.t_s) > 0)
    np.testing.assert_allclose(np.diff(run.truth.t_true_s), 1.0 / scenario.sampling_rate_hz)


def test_a_sample_rate_error_moves_the_samples_and_the_timestamps_report_it() -> None:
    scenario = Scenario(duration_s=30.0, sampling_rate_hz=104.0, sample_rate_error_ppm=12000.0)
    run = simulate(scenario)
    np.testing.assert_allclose(np.diff(run.samples.t_s), 1.0 / (104.0 * 1.012))
    assert run.sampling_rate_hz == 104.0
    assert len(run.samples) == pytest.approx(scenario.total_s * 104.0 * 1.012, abs=1)
    # The truth stays on the same time axis as the timestamps.
    np.testing.assert_array_equal(run.samples.t_s, run.truth.t_true_s)


def test_turns_change_the_heading_while_rotation_stays_relative_to_travel() -> None:
    run = simulate(
        Scenario(
            duration_s=40.0,
            turns=(Turn(15.0, 180.0, 10.0), Turn(30.0, -90.0, 3.0)),
            heading_wander_deg=0.0,
            sampling_rate_hz=104.0,
        )
    )
    tr = run.truth
    t = tr.t_true_s
    assert tr.heading_deg[t < 14.9].max() == pytest.approx(0.0, abs=1e-9)
    assert tr.heading_deg[(t > 25.5) & (t < 29.5)] == pytest.approx(180.0, abs=1e-6)
    assert tr.heading_deg[t > 33.5] == pytest.approx(90.0, abs=1e-6)
    # Pelvic rotation keeps oscillating about zero through the turns; it does not take up the heading.
    assert np.abs(tr.rotation_deg).max() < 10.0
    # Leaning into the left bend (3.5 m/s, 180 deg in 10 s: 1.1 m/s^2 at its peak) lowers the left side.
    bend = (t > 18.0) & (t < 22.0)
    straight = (t > 8.0) & (t < 14.0)
    assert tr.obliquity_deg[bend].mean() < tr.obliquity_deg[straight].mean() - 4.0


def test_no_standing_recordings_start_mid_run() -> None:
    run = simulate(scenario_by_name("no_standing"))
    tr = run.truth
    assert tr.steps.t_ic_s[0] < 0.5
    assert "stand" not in set(tr.activity)
    # Already moving at the first sample: the gait (and its oscillation) is there from the start.
    assert np.ptp(tr.tilt_deg[:50]) > 2.0
    assert np.linalg.norm(run.samples.acc_mps2[:200], axis=1).max() > 1.5 * G


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    speed_mps=st.floats(2.5, 6.0),
    cadence_spm=st.floats(150.0, 200.0),
    sampling_rate_hz=st.sampled_from([50.0, 52.0, 60.0, 104.0, 208.0, 416.0, 500.0]),
    mounting=st.tuples(st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180)),
    standing_s=st.sampled_from([0.0, 2.0]),
    warmup_walk_s=st.sampled_from([0.0, 4.0]),
    with_pause=st.booleans(),
    turn_deg=st.sampled_from([0.0, 90.0, -180.0]),
    seed=st.integers(0, 2**31),
)
def test_any_valid_scenario_simulates_with_consistent_truth(
    speed_mps: float,
    cadence_spm: float,
    sampling_rate_hz: float,
    mounting: tuple[float, float, float],
    standing_s: float,
    warmup_walk_s: float,
    with_pause: bool,
    turn_deg: float,
    seed: int,
) -> None:
    contact_s = min(0.52 * speed_mps**-0.6, 0.8 * 60.0 / cadence_spm)
    scenario = Scenario(
        seed=seed,
        speed_mps=speed_mps,
        cadence_spm=cadence_spm,
        contact_time_s=contact_s,
        sampling_rate_hz=sampling_rate_hz,
        mounting_zyx_deg=mounting,
        standing_s=standing_s,
        warmup_walk_s=warmup_walk_s,
        duration_s=22.0,
        pauses=(Pause(standing_s + warmup_walk_s + 9.0, 3.0),) if with_pause else (),
        turns=(Turn(standing_s + warmup_walk_s + 2.0, turn_deg, 5.0),) if turn_deg else (),
    )
    run = simulate(scenario)
    steps = run.truth.steps
    assert len(run.samples) == len(run.truth.t_true_s)
    assert np.all(np.isfinite(run.samples.acc_mps2))
    assert np.all(np.diff(steps.t_ic_s) > 0)
    assert np.all(steps.side[1:] != steps.side[:-1])
    running = steps.select(steps.is_running)
    assert len(running) >= 0.8 * (22.0 - (9.0 if with_pause else 0.0)) * cadence_spm / 60.0
    assert np.all(running.flight_time_s > 0)
    np.testing.assert_allclose(60.0 / running.step_time_s.mean(), cadence_spm, rtol=0.05)
    assert np.isnan(steps.step_time_s).sum() == (1 if with_pause else 0)
    assert set(run.truth.activity) >= {"run"}
    assert ("stand" in set(run.truth.activity)) == (standing_s > 0 or with_pause)


def test_block_wise_computation_equals_a_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # (The package re-exports the function `simulate`, which shadows the module of the same name.)
    simulate_module = importlib.import_module("processing.simulation.simulate")

    scenario = Scenario(duration_s=12.0, mounting_zyx_deg=(30.0, -60.0, 100.0), mount_slip_deg=3.0)
    whole = simulate(scenario)
    monkeypatch.setattr(simulate_module, "BLOCK_SAMPLES", 1_733)
    blocks = simulate(scenario)
    assert whole.samples.gyr_dps is not None
    assert blocks.samples.gyr_dps is not None
    np.testing.assert_allclose(blocks.samples.acc_mps2, whole.samples.acc_mps2, atol=1e-9)
    np.testing.assert_allclose(blocks.samples.gyr_dps, whole.samples.gyr_dps, atol=1e-9)
