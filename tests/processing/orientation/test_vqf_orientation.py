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
