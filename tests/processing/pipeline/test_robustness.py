"""Failures the robustness sweep (`processing.evaluation.sweep`) found, pinned as physics cases.

Each was invisible in the named suite, whose scenarios all have an exact sensor clock and nearly equal
left and right rotation ranges.
"""

from __future__ import annotations

import numpy as np
import pytest

from processing.alignment import Mounting
from processing.evaluation import evaluate_scenario
from processing.gait_events.events import GaitEvents
from processing.pipeline import analyze
from processing.simulation import Pause, Scenario, SimulatedRun, simulate


def forward_yaw_error_deg(mounting: Mounting, run: SimulatedRun) -> float:
    """How far the estimated forward axis turns from the true one about the true body's up axis, deg."""
    forward_in_truth_body = mounting.rotation[0] @ run.truth.mounting_rotation.T
    return float(np.degrees(np.arctan2(forward_in_truth_body[1], forward_in_truth_body[0])))


@pytest.mark.parametrize("rate_error_ppm", [15000.0, -15000.0])
def test_a_sensor_clock_off_its_nominal_rate_still_times_every_contact(rate_error_ppm: float) -> None:
    # A MEMS oscillator 1.5 % off: the timestamps say when the samples were taken, the nominal rate does not
    # (it drifted 150 ms in a 10 s window, so contacts missed the 50 ms tolerance and sides flipped).
    row = evaluate_scenario(
        Scenario(seed=3, duration_s=40.0, sampling_rate_hz=208.0, sample_rate_error_ppm=rate_error_ppm)
    )
    assert row.events.ic_f1 >= 0.99
    assert row.events.median_abs_ic_error_s <= 0.010
    assert row.events.side_accuracy_running >= 0.99
    assert row.events.cadence_error_spm <= 1.0


def test_events_follow_the_samples_clock_and_average_its_jitter() -> None:
    fs = 100.0
    n = 1000
    rng = np.random.default_rng(0)
    # the sensor runs 1 % slow: sample k is taken at 5 + 1.01 k / fs, reported with 1 ms of jitter
    t = 5.0 + 1.01 * np.arange(n) / fs + rng.normal(0.0, 0.001, n)
    nominal = GaitEvents(
        ic_s=np.array([1.0, 9.0]),
        to_s=np.array([1.2, np.nan]),
        side=np.array(["L", "R"]),
        side_score=np.array([1.0, -1.0]),
        bout_id=np.zeros(2, dtype=np.int64),
        activity=np.array(["running", "running"]),
    )
    on_clock = nominal.on_sample_times(t, fs)
    np.testing.assert_allclose(on_clock.ic_s, [5.0 + 1.01, 5.0 + 9.09], atol=3e-4)
    assert on_clock.to_s[0] == pytest.approx(5.0 + 1.212, abs=3e-4)
    assert np.isnan(on_clock.to_s[1])


@pytest.mark.parametrize("seed", [1, 5, 7])
def test_running_sides_hold_when_one_side_rotates_much_further(seed: int) -> None:
    # 8 vs 20 deg of pelvic rotation per step: the larger side overshoots after mid-step and swings back, a
    # rate against the swing that a half-step window before the next contact read as the other side.
    row = evaluate_scenario(
        Scenario(seed=seed, duration_s=40.0, rotation_range_left_deg=8.0, rotation_range_right_deg=20.0)
    )
    assert row.events.side_accuracy_running >= 0.99


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_forward_axis_holds_when_one_side_rotates_further(seed: int) -> None:
    # The sacral sensor sits 10 cm behind the pelvis's axis: 15 vs 25 deg of rotation swings it sideways by
    # a different amount every other step, which leaned the acceleration-derived forward axis 20 to 40 deg
    # (and, at 10 deg of running tilt, read as a 4 to 7 deg right-minus-left drop difference).
    run = simulate(
        Scenario(
            seed=seed,
            duration_s=40.0,
            tilt_mean_deg=10.0,
            rotation_range_left_deg=15.0,
            rotation_range_right_deg=25.0,
        )
    )
    mounting = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).mounting
    assert mounting is not None
    assert abs(forward_yaw_error_deg(mounting, run)) < 3.0


@pytest.mark.parametrize("seed", [3, 4])
def test_a_walk_ending_in_a_few_seconds_of_running_is_not_read_backwards(seed: int) -> None:
    # No standing start, 55.4 s of walking, then running: the calibration decides at 60 s from walking, and
    # the 4.6 s of running in those samples (stronger, with the opposite braking/loading relation) used to
    # turn the forward axis round (180 deg off: tilt and drop read with the wrong sign).
    run = simulate(Scenario(seed=seed, standing_s=0.0, warmup_walk_s=55.4, duration_s=60.0))
    mounting = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).mounting
    assert mounting is not None
    assert abs(forward_yaw_error_deg(mounting, run)) < 10.0


@pytest.mark.parametrize("seed", [1, 2])
def test_drop_asymmetry_reads_true_when_steps_and_contacts_differ_in_length(seed: int) -> None:
    # Right steps 8 % shorter and right contacts 10 % longer, 10 deg of mean anterior tilt, a 3 deg drop
    # asymmetry. A one-step shift compared each step's braking with another phase of the next, which turned
    # the forward axis about 3 deg; the running tilt then leaked into the obliquity (R - L off by 0.55 to
    # 0.9 deg). Each step is now compared with the next phase for phase.
    row = evaluate_scenario(
        Scenario(
            seed=seed,
            duration_s=60.0,
            tilt_mean_deg=10.0,
            step_time_asymmetry_pct=-8.0,
            contact_time_asymmetry_pct=10.0,
            drop_left_deg=5.0,
            drop_right_deg=8.0,
            mounting_zyx_deg=(70.0, -20.0, 130.0),
        )
    )
    assert row.drop_rl_error_deg <= 0.5
    assert row.tilt_rl_error_deg <= 0.5


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_warm_up_walk_leaves_the_forward_axis_to_the_running(seed: int) -> None:
    # Standing, then 58 s of walking: the last calibration checkpoint (60 s) comes before any running, so
    # walking gives the forward axis, 4.5 to 5.5 deg off here (its uneven steps bend it more than the
    # running's mirror symmetry): the 10 deg of running tilt then read as 1.1 to 1.4 deg of right-minus-left
    # drop. Running re-decides the axis once there is enough of it; up and the standing neutral stay.
    scenario = Scenario(
        seed=seed,
        duration_s=60.0,
        standing_s=5.0,
        warmup_walk_s=58.0,
        tilt_mean_deg=10.0,
        contact_time_asymmetry_pct=-8.0,
        step_time_asymmetry_pct=5.0,
        drop_left_deg=3.5,
        drop_right_deg=6.5,
        tilt_mean_asymmetry_deg=-1.8,
        mounting_zyx_deg=(70.0, -20.0, 130.0),
    )
    run = simulate(scenario)
    mounting = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).mounting
    assert mounting is not None
    assert mounting.forward_from == "running"
    assert mounting.calibration == "standing"
    assert abs(forward_yaw_error_deg(mounting, run)) < 1.5
    row = evaluate_scenario(scenario)
    assert row.drop_rl_error_deg <= 0.5
    assert row.tilt_rl_error_deg <= 0.5


@pytest.mark.parametrize(
    ("sampling_rate_hz", "speed_mps", "cadence_spm", "pause", "mounting_zyx_deg", "rate_error_ppm"),
    [
        (90.6, 5.76, 170.0, Pause(t_start_s=45.2, duration_s=58.6), (100.3, -23.6, 0.3), 0.0),
        (129.8, 5.38, 175.0, Pause(t_start_s=34.7, duration_s=53.7), (-86.9, 8.6, 116.4), 0.0),
        (100.0, 5.9, 188.0, Pause(t_start_s=25.1, duration_s=59.6), (-110.0, 16.6, -75.5), 12656.0),
    ],
)
def test_a_runner_setting_off_again_after_a_pause_gets_every_step_anterior(
    sampling_rate_hz: float,
    speed_mps: float,
    cadence_spm: float,
    pause: Pause,
    mounting_zyx_deg: tuple[float, float, float],
    rate_error_ppm: float,
) -> None:
    # No standing start, then a minute's pause that the calibration takes as the standing period. At the
    # first checkpoint with 4 s of motion after it, the seconds of setting off (no flight phase yet) were
    # read as walking and signed the forward axis by walking's relation: in the levelled second pass (2 s
    # shorter: VQF's look-ahead) of sweep draws sweep7_065 and sweep2026_031 (179 and 172 deg off), in
    # both passes of sweep2026_050 (173 deg; its sensor clock, 1.3 % fast, moves the checkpoints). Every
    # step up to a re-decision from running 20 s later, or to the end of the run, read 10 deg of anterior
    # tilt as 10 deg posterior.
    run = simulate(
        Scenario(
            seed=11,
            duration_s=150.0,
            standing_s=0.0,
            sampling_rate_hz=sampling_rate_hz,
            speed_mps=speed_mps,
            cadence_spm=cadence_spm,
            tilt_mean_deg=10.0,
            pauses=(pause,),
            mounting_zyx_deg=mounting_zyx_deg,
            sample_rate_error_ppm=rate_error_ppm,
        )
    )
    steps = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).steps
    tilt_deg = np.array([s.pelvic_tilt_deg for s in steps if s.is_running], dtype=np.float64)
    tilt_deg = tilt_deg[np.isfinite(tilt_deg)]
    assert tilt_deg.size > 200
    # anterior, as the truth (10 deg), for the steps before the pause and after it alike
    assert np.mean(tilt_deg > 0.0) >= 0.99
