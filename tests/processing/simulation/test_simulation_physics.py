"""The simulator obeys the physics and the definitions of docs/design.md (issue 3, item 1)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from processing import STANDARD_GRAVITY_MPS2 as G
from processing.simulation import Scenario, SimulatedRun, Turn, pelvis_orientation, simulate, step_metrics
from processing.simulation.forces import IMPACT_DURATION_S
from processing.simulation.gait import Contacts
from processing.simulation.pelvis import JOLT_DECAY_S, JOLT_FREQUENCY_HZ, impact_jolt_deg
from processing.simulation.rotations import body_angular_velocity_rps
from processing.simulation.sensor import pelvis_specific_force_mps2

NOISE_FREE = {
    # A rigid, noise-free sensor: these tests check the body's physics, not the sensor's flaws.
    "mount_wobble_deg": 0.0,
    "mount_slip_deg": 0.0,
    "acc_noise_mps2": 0.0,
    "gyr_noise_dps": 0.0,
    "acc_bias_mps2": (0.0, 0.0, 0.0),
    "gyr_bias_dps": (0.0, 0.0, 0.0),
}


def _clean(**kwargs: object) -> Scenario:
    args: dict[str, object] = {"duration_s": 30.0, "sampling_rate_hz": 416.0, **NOISE_FREE}
    args.update(kwargs)
    return Scenario(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean_run() -> SimulatedRun:
    return simulate(_clean(warmup_walk_s=8.0, cooldown_walk_s=6.0))


def test_a_standing_only_recording_reads_exactly_gravity() -> None:
    run = simulate(Scenario(duration_s=0.0, standing_s=5.0, acc_noise_mps2=0.0, gyr_noise_dps=0.0))
    np.testing.assert_allclose(run.samples.acc_mps2, np.tile([0.0, 0.0, G], (len(run.samples), 1)), atol=3e-3)
    assert len(run.truth.steps) == 0
    assert set(run.truth.activity) == {"stand"}


@pytest.mark.parametrize(
    "mounting_zyx_deg",
    [(0.0, 0.0, 0.0), (0.0, -90.0, 0.0), (0.0, 0.0, 180.0), (90.0, 0.0, 0.0), (37.0, -62.0, 121.0)],
)
def test_standing_still_reads_plus_g_on_the_body_up_axis_rotated_by_the_mounting(
    mounting_zyx_deg: tuple[float, float, float],
) -> None:
    run = simulate(
        _clean(duration_s=2.0, standing_s=4.0, mounting_zyx_deg=mounting_zyx_deg, sampling_rate_hz=104)
    )
    standing = run.truth.t_true_s < 3.5
    m = run.truth.mounting_rotation
    expected = m.T @ np.array([0.0, 0.0, G])  # v_sensor = R^T v_body
    np.testing.assert_allclose(
        run.samples.acc_mps2[standing], np.broadcast_to(expected, (standing.sum(), 3)), atol=2e-3
    )
    assert run.samples.gyr_dps is not None
    np.testing.assert_allclose(run.samples.gyr_dps[standing], 0.0, atol=0.07)
    # The mounting maps sensor vectors into the body: the mean standing reading, rotated, points straight up.
    up = m @ run.samples.acc_mps2[standing].mean(axis=0)
    np.testing.assert_allclose(up / np.linalg.norm(up), [0.0, 0.0, 1.0], atol=1e-4)
    assert set(run.truth.activity[standing]) == {"stand"}


def test_positive_tilt_is_anterior_forward_axis_points_down() -> None:
    r = pelvis_orientation(10.0, 0.0, 0.0)
    assert (r @ [1.0, 0.0, 0.0])[2] == pytest.approx(-np.sin(np.deg2rad(10.0)))
    # Positive obliquity lifts the left side (+y), positive rotation turns the forward axis to the left.
    assert (pelvis_orientation(0.0, 5.0, 0.0) @ [0.0, 1.0, 0.0])[2] > 0
    assert (pelvis_orientation(0.0, 0.0, 5.0) @ [1.0, 0.0, 0.0])[1] > 0


def test_static_ten_degree_anterior_tilt_shows_gravity_toward_the_back_of_the_sensor() -> None:
    n = 50
    tilt = np.full(n, 10.0)
    zero = np.zeros(n)
    f_heading = np.tile([0.0, 0.0, G], (n, 1))
    r_pelvis = pelvis_orientation(tilt, zero, zero)
    omega = body_angular_velocity_rps(tilt, zero, zero, 1000.0)
    f = pelvis_specific_force_mps2(f_heading, r_pelvis, omega, 1000.0, np.array([-0.1, 0.0, 0.0]))
    t = np.deg2rad(10.0)
    # Specific force points up in the world; the tilted forward axis points down, so it reads -g sin(10 deg).
    np.testing.assert_allclose(f, np.tile([-G * np.sin(t), 0.0, G * np.cos(t)], (n, 1)), atol=1e-9)
    np.testing.assert_allclose(omega, 0.0, atol=1e-12)


def test_body_angular_velocity_equals_the_rotation_matrix_derivative() -> None:
    rate = 1000.0
    t = np.arange(2000) / rate
    tilt = 5 + 4 * np.sin(2 * np.pi * 2.8 * t)
    obl = 7 * np.sin(2 * np.pi * 1.4 * t + 0.3)
    yaw = 30 * t + 8 * np.sin(2 * np.pi * 1.4 * t)
    omega = body_angular_velocity_rps(tilt, obl, yaw, rate)
    q = pelvis_orientation(tilt, obl, yaw)
    dq = np.gradient(q, 1.0 / rate, axis=0)
    skew = np.einsum("nji,njk->nik", q, dq)  # Q^T dQ/dt = [omega]x
    numeric = np.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], axis=1)
    np.testing.assert_allclose(omega[5:-5], numeric[5:-5], atol=2e-4)


def _stride_windows(run: SimulatedRun) -> list[tuple[int, int]]:
    steps = run.truth.steps.select(run.truth.steps.is_running)
    t = run.truth.t_true_s
    ics = steps.t_ic_s
    return [
        (int(np.searchsorted(t, ics[i])), int(np.searchsorted(t, ics[i + 2])))
        for i in range(0, len(ics) - 2, 2)
    ]


def _acc_in_heading_frame(run: SimulatedRun) -> np.ndarray:
    tr = run.truth
    r = pelvis_orientation(tr.tilt_deg, tr.obliquity_deg, tr.rotation_deg)
    return np.einsum("nij,jk,nk->ni", r, tr.mounting_rotation, run.samples.acc_mps2)


def test_mean_vertical_specific_force_over_each_stride_equals_g() -> None:
    run = simulate(_clean(sensor_offset_m=(0.0, 0.0, 0.0), mounting_zyx_deg=(20.0, -70.0, 15.0)))
    f = _acc_in_heading_frame(run)
    means = np.array([f[a:b, 2].mean() for a, b in _stride_windows(run)])
    assert len(means) > 30
    np.testing.assert_allclose(means, G, rtol=0.01)
    # Net braking and propulsion over a stride is the speed change (zero at constant speed);
    # the lateral pushes cancel.
    dt = 1.0 / run.sampling_rate_hz
    speed = run.truth.speed_mps
    # (From the second stride: in the first, the sacrum's own motion against the centre of mass sets in.)
    for a, b in _stride_windows(run)[1:]:
        assert f[a:b, 0].sum() * dt == pytest.approx(speed[b] - speed[a], abs=0.03)
    assert abs(np.mean([f[a:b, 1].mean() for a, b in _stride_windows(run)])) < 0.05


def test_the_body_is_airborne_between_toe_off_and_the_next_contact(clean_run: SimulatedRun) -> None:
    run = clean_run
    steps = run.truth.steps.select(run.truth.steps.is_running)
    t = run.truth.t_true_s
    magnitude = np.linalg.norm(run.samples.acc_mps2, axis=1)
    # The anti-alias filter smears edges by a few ms, and the soft mount rings for ~25 ms after the push-off.
    margin = 0.03
    in_flight = np.zeros(t.shape, dtype=bool)
    mid_stance = np.zeros(t.shape, dtype=bool)
    for ic, to, step in zip(steps.t_ic_s, steps.t_to_s, steps.step_time_s, strict=True):
        in_flight |= (t > to + margin) & (t < ic + step - margin)
        mid_stance |= np.abs(t - (ic + 0.45 * (to - ic))) < 0.02
    assert in_flight.sum() > 500
    # Free fall reads ~0: only the sacrum's motion against the centre of mass (legs swinging) and the
    # lever-arm terms of pelvic rotation remain, a fraction of g.
    assert np.percentile(magnitude[in_flight], 99) < 0.4 * G
    assert magnitude[mid_stance].min() > 1.5 * G
    np.testing.assert_allclose(steps.flight_time_s, steps.step_time_s - steps.contact_time_s)
    assert np.all(steps.flight_time_s > 0.03)


def test_foot_contact_flags_follow_the_events_and_show_flight_and_double_support(
    clean_run: SimulatedRun,
) -> None:
    tr = clean_run.truth
    t = tr.t_true_s
    for ic, to, side in zip(tr.steps.t_ic_s, tr.steps.t_to_s, tr.steps.side, strict=True):
        flags = tr.left_contact if side == "L" else tr.right_contact
        inside = (t >= ic + 0.002) & (t < to - 0.002)
        assert flags[inside].all()
    running = tr.activity == "run"
    walking = tr.activity == "walk"
    neither = ~tr.left_contact & ~tr.right_contact
    both = tr.left_contact & tr.right_contact
    assert neither[running].mean() > 0.2  # flight
    assert both[walking].mean() > 0.1  # double support
    assert not both[running & (t > clean_run.scenario.run_start_s + 1.0)].any()


def test_contact_and_step_times_follow_the_event_truth(clean_run: SimulatedRun) -> None:
    steps = clean_run.truth.steps
    np.testing.assert_allclose(steps.step_time_s[:-1], np.diff(steps.t_ic_s))
    np.testing.assert_allclose(steps.contact_time_s, steps.t_to_s - steps.t_ic_s)
    assert np.all(steps.side[1:] != steps.side[:-1])
    walking = steps.select(~steps.is_running)
    assert len(walking) > 20
    # Walking has double support: the foot leaves the ground only after the other foot's contact.
    assert np.all(walking.contact_time_s > walking.step_time_s)
    np.testing.assert_array_equal(walking.flight_time_s, 0.0)


def _reference_metrics(run: SimulatedRun) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The definitions of docs/design.md, written out independently on the sample grid."""
    tr = run.truth
    t = tr.t_true_s
    steps = tr.steps
    tilt, drop, rot = [], [], []
    for ic, to, step, side in zip(steps.t_ic_s, steps.t_to_s, steps.step_time_s, steps.side, strict=True):
        whole = (t >= ic) & (t < ic + step)
        stance = (t >= ic) & (t <= to)
        tilt.append(tr.tilt_deg[whole].mean())
        drop.append(tr.obliquity_deg[stance].max() if side == "L" else (-tr.obliquity_deg[stance]).max())
        rot.append(np.ptp(tr.rotation_deg[whole]))
    return np.array(tilt), np.array(drop), np.array(rot)


def test_per_step_pelvic_metrics_follow_the_definitions(clean_run: SimulatedRun) -> None:
    tilt, drop, rot = _reference_metrics(clean_run)
    steps = clean_run.truth.steps
    # The truth is computed on the 1 kHz grid; the 416 Hz samples see the same values within sampling error.
    np.testing.assert_allclose(steps.pelvic_tilt_deg, tilt, atol=0.05)
    np.testing.assert_allclose(steps.pelvic_drop_deg, drop, atol=0.05)
    np.testing.assert_allclose(steps.pelvic_rotation_deg, rot, atol=0.1)
    tr = clean_run.truth
    again = step_metrics(
        tr.t_true_s, tr.tilt_deg, tr.obliquity_deg, tr.rotation_deg,
        steps.t_ic_s, steps.t_ic_s + steps.step_time_s, steps.t_to_s, steps.side,
    )  # fmt: skip
    np.testing.assert_allclose(again[1], drop)


def test_left_stance_drops_the_right_side_and_right_stance_the_left(clean_run: SimulatedRun) -> None:
    tr = clean_run.truth
    steps = tr.steps.select(tr.steps.is_running)
    t = tr.t_true_s
    for ic, to, side in zip(steps.t_ic_s, steps.t_to_s, steps.side, strict=True):
        stance = (t >= ic) & (t <= to)
        mean_obliquity = tr.obliquity_deg[stance].mean()
        assert (mean_obliquity > 0) == (side == "L")
    running = steps.pelvic_drop_deg
    assert 4.0 < running.mean() < 8.0


def test_running_ranges_are_realistic(clean_run: SimulatedRun) -> None:
    steps = clean_run.truth.steps.select(clean_run.truth.steps.is_running)
    assert 0.2 < steps.contact_time_s.mean() < 0.3
    assert 0.05 < steps.vertical_oscillation_m.mean() < 0.12
    assert 2.0 < steps.peak_vertical_force_bw.mean() < 3.2
    assert 9.0 < steps.pelvic_rotation_deg.mean() < 15.0
    # Stride-to-stride variability: neither perfectly periodic nor wildly irregular.
    cv = steps.step_time_s.std() / steps.step_time_s.mean()
    assert 0.005 < cv < 0.04


def test_gyroscope_integrates_back_to_the_orientation() -> None:
    scenario = _clean(
        duration_s=40.0,
        turns=(Turn(10.0, 90.0, 4.0), Turn(25.0, -180.0, 8.0)),
        mounting_zyx_deg=(37.0, -62.0, 121.0),
    )
    run = simulate(scenario)
    tr = run.truth
    assert run.samples.gyr_dps is not None
    # Sensor-to-world orientation: heading, then pelvis angles, then mounting.
    truth = (
        pelvis_orientation(tr.tilt_deg, tr.obliquity_deg, tr.rotation_deg, tr.heading_deg)
        @ tr.mounting_rotation
    )
    dt = 1.0 / run.sampling_rate_hz
    q = Rotation.from_matrix(truth[0])
    errors = []
    for i in range(len(run.samples) - 1):
        # Midpoint rule: rotate by the average of this and the next rate.
        q = q * Rotation.from_rotvec(
            np.deg2rad(0.5 * (run.samples.gyr_dps[i] + run.samples.gyr_dps[i + 1])) * dt
        )
        if i % 400 == 399:
            errors.append(np.rad2deg((q.inv() * Rotation.from_matrix(truth[i + 1])).magnitude()))
    assert max(errors) < 1.0, f"orientation error after integrating the gyroscope: {max(errors):.2f} deg"


def test_the_clip_rocks_and_slips_against_the_pelvis_and_the_gyroscope_sees_it() -> None:
    scenario = _clean(
        duration_s=20.0, mount_wobble_deg=1.5, mount_slip_deg=4.0, mounting_zyx_deg=(0.0, -90.0, 0.0)
    )
    run = simulate(scenario)
    tr = run.truth
    assert run.samples.gyr_dps is not None
    pelvis_and_mount = pelvis_orientation(tr.tilt_deg, tr.obliquity_deg, tr.rotation_deg, tr.heading_deg)
    pelvis_and_mount = pelvis_and_mount @ tr.mounting_rotation
    dt = 1.0 / run.sampling_rate_hz
    q = Rotation.from_matrix(pelvis_and_mount[0])
    deviation, expected = [], []
    for i in range(len(run.samples) - 1):
        q = q * Rotation.from_rotvec(
            np.deg2rad(0.5 * (run.samples.gyr_dps[i] + run.samples.gyr_dps[i + 1])) * dt
        )
        if i % 50 == 49:
            deviation.append(
                np.rad2deg((Rotation.from_matrix(pelvis_and_mount[i + 1]).inv() * q).magnitude())
            )
            expected.append(tr.mount_error_deg[i + 1])
    # The integrated sensor orientation departs from the pelvis by exactly the clip's own rotation.
    np.testing.assert_allclose(deviation, expected, atol=0.3)
    assert max(expected) > 3.5
    assert tr.mount_error_deg[tr.t_true_s < scenario.standing_s].max() == 0.0


def test_nothing_but_physics_marks_a_contact_in_the_angular_rate() -> None:
    # The pelvis angles are smooth through every contact (C1 blends on a C2 gait phase): the gyroscope's
    # second difference around initial contacts is no larger than elsewhere in the run. (The heel-strike
    # jolt is physics and does mark contacts; it is switched off here and tested on its own.)
    run = simulate(
        _clean(
            impact_jolt_deg_per_bw=0.0,
            step_time_asymmetry_pct=5.0,
            drop_left_deg=8.0,
            tilt_range_left_deg=9.0,
            rotation_range_left_deg=10.0,
            rotation_range_right_deg=16.0,
            mount_wobble_deg=0.5,
        )
    )
    assert run.samples.gyr_dps is not None
    t = run.truth.t_true_s[1:-1]
    curvature = np.linalg.norm(np.diff(run.samples.gyr_dps, 2, axis=0), axis=1)
    running = t > run.scenario.standing_s + 3.0
    near_ic = np.zeros(t.shape, dtype=bool)
    for ic in run.truth.steps.t_ic_s:
        near_ic |= np.abs(t - ic) < 0.006
    assert curvature[running & near_ic].max() < 1.5 * np.percentile(curvature[running], 99)


def test_heel_strikes_jolt_the_pelvis_and_the_truth_carries_it() -> None:
    jolted = simulate(_clean(duration_s=20.0, impact_peak_bw=1.0, impact_jolt_deg_per_bw=1.0))
    smooth = simulate(_clean(duration_s=20.0, impact_peak_bw=1.0, impact_jolt_deg_per_bw=0.0))
    # Same seed, same gait: the difference is the jolt alone, starting at each IC and dying out within ~0.2 s.
    np.testing.assert_array_equal(jolted.truth.steps.t_ic_s, smooth.truth.steps.t_ic_s)
    t = jolted.truth.t_true_s
    diff = jolted.truth.tilt_deg - smooth.truth.tilt_deg
    steps = jolted.truth.steps.select(jolted.truth.steps.is_running)
    after_ic = np.zeros(t.shape, dtype=bool)
    for ic in steps.t_ic_s:
        after_ic |= (t >= ic) & (t < ic + 0.2)
    assert np.abs(diff[after_ic]).max() > 0.4
    between = ~after_ic & (t > 6.0) & (t < steps.t_ic_s[-1])  # (the last contact has no truth step)
    assert np.abs(diff[between]).max() < 0.05


def _single_jolt(fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time from the IC, tilt and obliquity jolt (deg) of one left heel strike of 1 BW, 1 deg/BW."""
    t = np.arange(int(0.6 * fs)) / fs
    ic = 0.1
    contacts = Contacts(
        t_ic_s=np.array([ic]),
        t_to_s=np.array([ic + 0.25]),
        side=np.array(["L"]),
        is_running=np.array([True]),
        step_time_s=np.array([0.35]),
        fatigue_fraction=np.zeros(1),
        ends_bout=np.zeros(1, dtype=bool),
    )
    tau = t - ic
    in_impact = (tau >= 0) & (tau < IMPACT_DURATION_S)
    impact = np.where(in_impact, G * np.sin(np.pi * tau / IMPACT_DURATION_S) ** 2, 0.0)
    tilt, obliquity = impact_jolt_deg(contacts, impact, t, 1.0)
    return tau, tilt, obliquity


def test_the_jolt_follows_the_force_that_arrives_through_the_leg() -> None:
    # The heel strike reaches the pelvis through the leg: the pelvis cannot turn before that force arrives,
    # and its angular acceleration (torque over inertia) rises with it, never in a jump at the contact.
    tau, tilt, obliquity = _single_jolt(1000.0)
    free_peak = np.exp(-1.0 / (4.0 * JOLT_FREQUENCY_HZ * JOLT_DECAY_S))
    assert tilt.max() == pytest.approx(free_peak, rel=1e-6)  # 1 BW of the standard length, 1 deg/BW
    np.testing.assert_allclose(obliquity, 0.7 * tilt)  # a left contact: the right (swing) side drops
    assert np.all(tilt[tau <= 0] == 0.0)
    assert np.abs(tilt[tau > 0.3]).max() < 0.002 * tilt.max()  # gone before the next step
    steps = []
    for fs in (1000.0, 4000.0):
        tau, tilt, _ = _single_jolt(fs)
        alpha = np.gradient(np.gradient(tilt, 1.0 / fs), 1.0 / fs)
        early = (tau > 0) & (tau <= 0.005)
        assert np.abs(alpha[early]).max() < 0.05 * np.abs(alpha).max()  # starts smoothly after the IC
        steps.append(np.abs(np.diff(alpha)).max())
    assert steps[1] < 0.3 * steps[0]  # continuous: a 4x finer grid gives ~4x smaller sample-to-sample changes
