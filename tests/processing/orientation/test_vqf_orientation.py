"""VQF orientation: gravity ends up on earth z, block splits do not matter, a known bias is used."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from processing.orientation import OrientationEstimator, OrientationParams, quat_to_matrix, rotate

FS = 100.0


def test_static_sensor_in_any_orientation_maps_gravity_to_earth_up() -> None:
    sensor_to_earth = Rotation.from_euler("zyx", [30.0, -70.0, 150.0], degrees=True)
    acc = np.tile(sensor_to_earth.inv().apply([0.0, 0.0, 9.81]), (1000, 1))
    quat = OrientationEstimator(FS).update(np.zeros((1000, 3)), acc)
    up = rotate(quat_to_matrix(quat[-1:]), acc[-1:])[0]
    np.testing.assert_allclose(up, [0.0, 0.0, 9.81], atol=1e-3)


def test_quaternion_matrix_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    rot = Rotation.random(20, random_state=rng)
    xyzw = rot.as_quat()
    wxyz = np.column_stack([xyzw[:, 3], xyzw[:, :3]])
    np.testing.assert_allclose(quat_to_matrix(wxyz), rot.as_matrix(), atol=1e-12)


def _motion(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    t = np.arange(n) / FS
    gyr = np.column_stack(
        [40 * np.sin(2 * np.pi * 1.4 * t), 20 * np.sin(2 * np.pi * 0.7 * t), 60 * np.cos(3 * t)]
    )
    acc = np.array([0.0, 0.0, 9.81]) + rng.normal(0, 2.0, (n, 3))
    return gyr, acc


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=1999), max_size=12), hold_from=st.integers(0, 2000))
def test_any_split_into_blocks_gives_identical_quaternions(cuts: list[int], hold_from: int) -> None:
    gyr, acc = _motion(2000)
    hold = np.zeros(2000, dtype=bool)
    hold[hold_from : hold_from + 300] = True
    whole = OrientationEstimator(FS).update(gyr, acc, hold=hold)
    est = OrientationEstimator(FS)
    edges = [0, *sorted(set(cuts)), 2000]
    parts = [est.update(gyr[a:b], acc[a:b], hold=hold[a:b]) for a, b in itertools.pairwise(edges)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_known_gyroscope_bias_stops_the_heading_drift() -> None:
    n = 6000
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    gyr = np.tile([0.0, 0.0, 3.0], (n, 1))  # 3 deg/s offset, above VQF's default bias clip
    drifting = OrientationEstimator(FS, OrientationParams(motion_bias_estimation=False, bias_clip_dps=2.0))
    q_drift = drifting.update(gyr, acc)
    fixed = OrientationEstimator(FS)
    fixed.set_bias(np.array([0.0, 0.0, 3.0]))
    q_fixed = fixed.update(gyr, acc)

    def heading_deg(q: np.ndarray) -> float:
        m = quat_to_matrix(q[-1:])[0]
        return float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))

    assert abs(heading_deg(q_fixed)) < 0.5
    assert abs(heading_deg(q_drift)) > 20.0


def test_state_can_be_saved_and_restored() -> None:
    gyr, acc = _motion(1000)
    est = OrientationEstimator(FS)
    est.update(gyr[:500], acc[:500])
    saved = est.state
    first = est.update(gyr[500:], acc[500:])
    est.state = saved
    again = est.update(gyr[500:], acc[500:])
    np.testing.assert_array_equal(first, again)


def _running_like(n: int, drift_dps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor rocking like a running pelvis (roll at the stride, pitch at the step frequency, +-5 deg),
    specific force = gravity plus stride-periodic accelerations that average out, and a gyroscope whose
    roll bias drifts by `drift_dps` over 20 s after 10 s of standing. Returns gyr, acc, true up (sensor)."""
    t = np.arange(n) / FS
    moving = np.clip((t - 10.0) / 2.0, 0.0, 1.0)
    roll = np.deg2rad(5.0) * moving * np.sin(2 * np.pi * 1.4 * t)
    pitch = np.deg2rad(5.0) * moving * np.sin(2 * np.pi * 2.8 * t)
    truth = Rotation.from_euler("XY", np.column_stack([roll, pitch]))  # sensor to earth
    rates = (truth[:-1].inv() * truth[1:]).as_rotvec() * FS  # body-frame rate over each interval
    gyr = np.rad2deg(np.vstack([rates, rates[-1:]]))
    gyr[:, 0] += drift_dps * np.clip((t - 10.0) / 20.0, 0.0, 1.0)
    swing = np.column_stack(
        [
            2.0 * np.sin(2 * np.pi * 2.8 * t),
            1.5 * np.sin(2 * np.pi * 1.4 * t),
            8.0 * np.sin(2 * np.pi * 2.8 * t),
        ]
    )
    earth_force = np.array([0.0, 0.0, 9.81]) + moving[:, None] * swing
    acc = truth.inv().apply(earth_force)
    return gyr, acc, truth.inv().apply([0.0, 0.0, 1.0])


def _mean_inclination_error_deg(estimator: OrientationEstimator, n: int, drift_dps: float) -> float:
    gyr, acc, up = _running_like(n, drift_dps)
    estimator.set_bias(np.zeros(3))  # measured while standing
    quat = estimator.update(gyr, acc)
    up_est = quat_to_matrix(quat)[:, 2, :]  # the earth's up axis in sensor coordinates
    late = slice(n - int(40 * FS), n)  # the last 40 s, long after the drift
    return float(np.rad2deg(np.mean(np.cross(up_est[late], up[late])[:, 0])))


def test_a_gyroscope_bias_that_drifts_after_standing_is_followed_during_running() -> None:
    # A roll bias left unfollowed tilts the vertical by bias x tau_acc (0.3 deg/s x 3 s = 0.9 deg), which
    # shifts one side's pelvic drop up and the other's down. Consumer MEMS biases drift that much in a run.
    n = int(90 * FS)
    assert abs(_mean_inclination_error_deg(OrientationEstimator(FS), n, 0.0)) < 0.05
    followed = _mean_inclination_error_deg(OrientationEstimator(FS), n, 0.3)
    assert abs(followed) < 0.3
    vqf_default = OrientationParams(bias_forgetting_time_s=100.0)
    assert abs(_mean_inclination_error_deg(OrientationEstimator(FS, vqf_default), n, 0.3)) > 2 * abs(followed)


def _inclination_error_deg(quat: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Angle between the estimated and the true up axis (sensor coordinates), per sample, deg."""
    up_est = quat_to_matrix(quat)[:, 2, :]
    return np.rad2deg(np.arccos(np.clip(np.sum(up_est * up, axis=1), -1.0, 1.0)))


def test_resume_after_a_gap_levels_from_the_samples_after_it() -> None:
    # A pelvis rocking +-5 deg at the stride and step frequencies loses 2.9 s of samples (a link drop): the
    # orientation before the gap is stale by the rocking between the two instants. Resumed from the first
    # 2 s after the gap (VQF run backwards over them), the first samples are nearly as level as without a
    # gap (mean 0.9 deg here, 0.65 deg without the gap: the running accelerations); carried on stale, VQF
    # takes seconds (tau_acc) to pull the error back (mean 3 deg over the first 3 s).
    gyr, acc, up = _running_like(int(40 * FS), 0.0)
    gap = slice(int(25.0 * FS), int(27.9 * FS))
    after = slice(gap.stop, gap.stop + int(2.0 * FS))
    stale, resumed = OrientationEstimator(FS), OrientationEstimator(FS)
    for est in (stale, resumed):
        est.set_bias(np.array([0.4, -0.3, 0.2]))
        est.update(gyr[: gap.start], acc[: gap.start])
    bias = np.asarray(resumed.state["bias"])
    resumed.resume(gyr[after], acc[after])
    np.testing.assert_array_equal(np.asarray(resumed.state["bias"]), bias)  # the bias carries over
    first = slice(gap.stop, gap.stop + int(3.0 * FS))
    err_resumed = _inclination_error_deg(resumed.update(gyr[first], acc[first]), up[first])
    err_stale = _inclination_error_deg(stale.update(gyr[first], acc[first]), up[first])
    assert err_resumed.max() < 2.0
    assert err_resumed.mean() < 1.2
    assert err_stale.mean() > 2.5


def test_a_clone_runs_ahead_without_disturbing_the_original() -> None:
    gyr, acc = _motion(1500)
    est, reference = OrientationEstimator(FS), OrientationEstimator(FS)
    for e in (est, reference):
        e.set_bias(np.array([0.5, 0.0, -0.5]))
        e.update(gyr[:500], acc[:500], hold=np.arange(500) > 400)
    ahead = est.clone()
    assert ahead.holding
    held = np.ones(400, dtype=bool)
    np.testing.assert_array_equal(
        ahead.update(gyr[500:900], acc[500:900], hold=held),
        reference.clone().update(gyr[500:900], acc[500:900], hold=held),
    )
    # the original carries on as if the clone had never run (and kept its own hold mode)
    assert est.holding
    np.testing.assert_array_equal(est.update(gyr[500:], acc[500:]), reference.update(gyr[500:], acc[500:]))
