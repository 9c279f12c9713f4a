"""Pelvic angles by the definitions of docs/design.md, with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from processing.orientation import OrientationEstimator
from processing.pelvis import (
    angle_at_sample_instants,
    pelvis_euler_deg,
    rotation_relative_to_travel,
    step_pelvic_angles,
)

FS = 100.0
G = 9.80665
MOUNTINGS = [(0.0, 0.0, 0.0), (0.0, 90.0, 0.0), (0.0, 0.0, 180.0), (37.0, -62.0, 121.0)]


def body_rotation(tilt_deg: np.ndarray, obliquity_deg: np.ndarray, rotation_deg: np.ndarray) -> Rotation:
    """Earth-from-body: R = Rz(rotation) Rx(obliquity) Ry(tilt)."""
    return Rotation.from_euler("ZXY", np.column_stack([rotation_deg, obliquity_deg, tilt_deg]), degrees=True)


def synthesize(
    tilt_deg: np.ndarray,
    obliquity_deg: np.ndarray,
    rotation_deg: np.ndarray,
    mounting_zyx_deg: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sensor-frame gyroscope (deg/s) and accelerometer (gravity only) of a motion; and the mounting."""
    mounting = Rotation.from_euler("ZYX", mounting_zyx_deg, degrees=True)  # v_body = M v_sensor
    earth_from_sensor = body_rotation(tilt_deg, obliquity_deg, rotation_deg) * mounting
    acc = earth_from_sensor.inv().apply([0.0, 0.0, G])
    step = earth_from_sensor[:-1].inv() * earth_from_sensor[1:]  # rotation from sample k-1 to k, sensor frame
    gyr = np.vstack([np.zeros((1, 3)), np.degrees(step.as_rotvec()) * FS])
    return gyr, acc, mounting.as_matrix()


def test_euler_extraction_inverts_the_clinical_sequence() -> None:
    rng = np.random.default_rng(3)
    tilt, obl, rot = rng.uniform(-30, 30, (3, 50))
    xyzw = body_rotation(tilt, obl, rot).as_quat()
    quat = np.column_stack([xyzw[:, 3], xyzw[:, :3]])
    t, o, r = pelvis_euler_deg(quat, np.eye(3))
    np.testing.assert_allclose(t, tilt, atol=1e-9)
    np.testing.assert_allclose(o, obl, atol=1e-9)
    np.testing.assert_allclose(r, rot, atol=1e-9)


def test_positive_tilt_points_the_forward_axis_down_and_positive_obliquity_lifts_the_left_side() -> None:
    r = body_rotation(np.array([10.0]), np.array([0.0]), np.array([0.0]))
    assert r.apply([1.0, 0.0, 0.0])[0, 2] < 0
    r = body_rotation(np.array([0.0]), np.array([10.0]), np.array([0.0]))
    assert r.apply([0.0, 1.0, 0.0])[0, 2] > 0


@pytest.mark.parametrize("mounting_zyx_deg", MOUNTINGS)
def test_static_ten_degree_anterior_tilt_reads_ten(mounting_zyx_deg: tuple[float, float, float]) -> None:
    n = int(30 * FS)
    t = np.arange(n) / FS
    tilt = np.clip((t - 5.0) / 1.0, 0.0, 1.0) * 10.0  # stand upright 5 s, tilt forward over 1 s, hold
    zeros = np.zeros(n)
    gyr, acc, mounting = synthesize(tilt, zeros, zeros, mounting_zyx_deg)
    quat = OrientationEstimator(FS).update(gyr, acc)
    tilt_deg, obliquity_deg, _ = pelvis_euler_deg(quat, mounting)
    assert tilt_deg[-int(5 * FS) :].mean() == pytest.approx(10.0, abs=0.05)
    assert np.abs(obliquity_deg[-int(5 * FS) :]).max() < 0.05


@pytest.mark.parametrize("mounting_zyx_deg", MOUNTINGS)
def test_pure_obliquity_oscillation_gives_the_drop_per_side(
    mounting_zyx_deg: tuple[float, float, float],
) -> None:
    # Steps every 0.35 s, stance 0.2 s: left stance lifts the left side by 5 deg (right swing side drops),
    # right stance lowers it by 3 deg (left swing side drops).
    n = int(20 * FS)
    t = np.arange(n) / FS
    ic = np.arange(2.0, 19.0, 0.35)
    side_left = np.arange(ic.shape[0]) % 2 == 0
    obliquity = np.zeros(n)
    for k, t_ic in enumerate(ic):
        inside = (t >= t_ic) & (t <= t_ic + 0.2)
        obliquity[inside] = (5.0 if side_left[k] else -3.0) * np.sin(np.pi * (t[inside] - t_ic) / 0.2)
    zeros = np.zeros(n)
    gyr, acc, mounting = synthesize(zeros, obliquity, zeros, mounting_zyx_deg)
    quat = OrientationEstimator(FS).update(gyr, acc)
    tilt_deg, obliquity_deg, heading_deg = pelvis_euler_deg(quat, mounting)
    angles = step_pelvic_angles(
        t,
        tilt_deg,
        obliquity_deg,
        rotation_relative_to_travel(t, heading_deg, ic),
        t_ic_s=ic[:-1],
        t_to_s=ic[:-1] + 0.2,
        t_next_ic_s=ic[1:],
        is_left=side_left[:-1],
    )
    left, right = side_left[:-1], ~side_left[:-1]
    # Accelerometer-corrected VQF keeps the vertical within a few tenths of a degree of the gyroscope truth.
    assert angles.drop_deg[left].mean() == pytest.approx(5.0, abs=0.3)
    assert angles.drop_deg[right].mean() == pytest.approx(3.0, abs=0.3)
    assert np.abs(angles.tilt_deg).max() < 0.3
    assert np.abs(angles.rotation_deg).max() < 0.3


def test_rotation_is_relative_to_the_direction_of_travel() -> None:
    t = np.arange(0, 30, 1 / FS)
    ic = np.arange(0.0, 30.0, 0.36)
    pelvis = 6.0 * np.sin(2 * np.pi * t / 0.72)
    heading = pelvis + 15.0 * t + 0.3 * t  # a steady turn plus gyroscope drift
    rotation = rotation_relative_to_travel(t, heading, ic)
    inner = (t > 2) & (t < 28)
    np.testing.assert_allclose(rotation[inner], pelvis[inner], atol=1e-6)


def test_step_angle_definitions_on_exact_signals() -> None:
    t = np.arange(0, 2, 0.001)
    tilt = 4.0 + np.sin(2 * np.pi * t / 0.7)
    obliquity = 6.0 * np.sin(2 * np.pi * t / 0.7)
    rotation = 5.0 * np.sin(2 * np.pi * t / 0.7)
    # A left step over [0, 0.35) with stance [0, 0.2]; a right step over [0.35, 0.7) with stance [0.35, 0.55].
    a = step_pelvic_angles(
        t,
        tilt,
        obliquity,
        rotation,
        t_ic_s=np.array([0.0, 0.35]),
        t_to_s=np.array([0.2, 0.55]),
        t_next_ic_s=np.array([0.35, 0.7]),
        is_left=np.array([True, False]),
    )
    np.testing.assert_allclose(a.tilt_deg, [4.0 + 2 / np.pi, 4.0 - 2 / np.pi], atol=0.01)
    np.testing.assert_allclose(a.drop_deg, [6.0, 6.0], atol=0.01)  # peaks at 0.175 s and 0.525 s, in stance
    np.testing.assert_allclose(a.rotation_deg, [5.0, 5.0], atol=0.01)
    unknown_to = step_pelvic_angles(
        t,
        tilt,
        obliquity,
        rotation,
        t_ic_s=np.array([0.0]),
        t_to_s=np.array([np.nan]),
        t_next_ic_s=np.array([0.35]),
        is_left=np.array([True]),
    )
    assert np.isnan(unknown_to.drop_deg[0])


def test_rotation_range_spans_the_whole_step_between_contacts_off_the_sample_grid() -> None:
    # 52 Hz and a pelvis still turning at both contacts (30 deg/s, its extremes lag the contacts): the step is
    # [IC, next IC] in time, so its rotation range is the full 30 deg/s * 0.33 s, not the part between the
    # first and the last sample inside it (which would miss up to 2 * 30 / 52 = 1.2 deg).
    fs = 52.0
    t = np.arange(0, 2, 1 / fs)
    rotation = 30.0 * t
    ic = np.array([0.505, 0.835])  # between samples
    nxt = ic + 0.33
    a = step_pelvic_angles(
        t,
        np.zeros_like(t),
        np.zeros_like(t),
        rotation,
        t_ic_s=ic,
        t_to_s=ic + 0.1,
        t_next_ic_s=nxt,
        is_left=np.array([True, False]),
    )
    np.testing.assert_allclose(a.rotation_deg, [30.0 * 0.33, 30.0 * 0.33], atol=1e-9)


@pytest.mark.parametrize("fs", [52.0, 104.0])
def test_filter_heading_read_at_the_sample_instants_after_the_half_sample_correction(fs: float) -> None:
    # A pelvis rotating +-6 deg at 1.4 Hz about the vertical, gyroscope samples = the rate at their instant.
    t = np.arange(0, 20, 1 / fs)
    yaw = 6.0 * np.sin(2 * np.pi * 1.4 * t)
    gyr = np.zeros((t.size, 3))
    gyr[:, 2] = 6.0 * 2 * np.pi * 1.4 * np.cos(2 * np.pi * 1.4 * t)
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    quat = OrientationEstimator(fs).update(gyr, acc)
    _, _, heading = pelvis_euler_deg(quat, np.eye(3))

    def error_deg(h: np.ndarray) -> float:
        e = (h - yaw)[10:]
        return float(np.max(np.abs(e - e.mean())))

    # VQF's right-hand rectangles lead by half a sample: a quarter to half a degree here ...
    assert error_deg(heading) > 0.2
    # ... and the corrected angle follows the rotation to a few hundredths of a degree.
    assert error_deg(angle_at_sample_instants(heading)) < 0.03


def test_rotation_range_of_a_step_next_to_missing_angles() -> None:
    # Angles are NaN while the filter settles: a step starting just after it keeps its range (its IC's outer
    # neighbour is NaN), a step with NaN inside has none.
    fs = 52.0
    t = np.arange(0, 2, 1 / fs)
    rotation = 30.0 * t
    rotation[t < 0.51] = np.nan  # the first angle is at 27 / 52 s
    a = step_pelvic_angles(
        t,
        np.zeros_like(t),
        np.zeros_like(t),
        rotation,
        t_ic_s=np.array([0.51, 0.3]),
        t_to_s=np.array([0.6, 0.4]),
        t_next_ic_s=np.array([0.84, 0.63]),
        is_left=np.array([True, False]),
    )
    assert np.isnan(a.rotation_deg[1])
    assert a.rotation_deg[0] == pytest.approx(30.0 * (0.84 - 27 / 52))
