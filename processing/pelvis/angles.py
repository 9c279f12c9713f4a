"""Continuous pelvic angles in the body frame (docs/design.md "Body frame and definitions").

The pelvis orientation relative to the neutral standing posture is R = Rz(rotation) Rx(obliquity) Ry(tilt),
the clinical rotation-obliquity-tilt sequence. With the sensor-to-earth quaternion q(t) (VQF) and the
mounting rotation M (v_body = M v_sensor), the earth-from-body matrix is E(t) = R(q(t)) M^T. Its third row,
the earth's up axis in body coordinates, equals [-cos(obl) sin(tilt), sin(obl), cos(obl) cos(tilt)]: tilt and
obliquity depend only on where gravity points in the body, which VQF estimates without drift. The heading
angle (from column 2, the body's left axis in earth coordinates) drifts without a magnetometer;
`rotation_relative_to_travel` removes it together with turns.
"""

from __future__ import annotations

import numpy as np

from processing.gait_events.signals import median
from processing.orientation import quat_to_matrix, quat_to_matrix_entries
from processing.samples import FloatArray

#: The direction of travel is the mean heading over this many whole strides (centred): any whole number
#: cancels the stride-periodic rotation; more strides also average out step-to-step irregularity.
TRAVEL_WINDOW_STRIDES = 2

__all__ = [
    "BODY_SIGNAL_COLUMNS",
    "angle_at_sample_instants",
    "body_signals",
    "levelled_body_frame",
    "pelvis_euler_deg",
    "rotation_relative_to_travel",
]

#: Columns of `body_signals`: levelled acc (3), levelled gyr (3), tilt, obliquity, wrapped heading.
BODY_SIGNAL_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z", "tilt", "obliquity", "heading")


def pelvis_euler_deg(
    quat: FloatArray, mounting_rotation: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Tilt, obliquity and heading of the pelvis from sensor orientations.

    Parameters
    ----------
    quat : (n, 4) array
        Sensor-to-earth quaternions [w, x, y, z] (earth z up).
    mounting_rotation : (3, 3) array
        v_body = mounting_rotation @ v_sensor.

    Returns
    -------
    tilt_deg, obliquity_deg, heading_deg : (n,) arrays, deg
        Tilt (positive anterior), obliquity (positive left side up) and the unwrapped heading (positive to the
        left) of the sequence Rz(heading) Rx(obliquity) Ry(tilt).
    """
    earth_from_body = quat_to_matrix(quat) @ mounting_rotation.T
    up_in_body = earth_from_body[:, 2, :]
    tilt = np.degrees(np.arctan2(-up_in_body[:, 0], up_in_body[:, 2]))
    obliquity = np.degrees(np.arcsin(np.clip(up_in_body[:, 1], -1.0, 1.0)))
    heading = np.degrees(np.unwrap(np.arctan2(-earth_from_body[:, 0, 1], earth_from_body[:, 1, 1])))
    return tilt, obliquity, heading


def levelled_body_frame(
    quat: FloatArray | None,
    mounting_rotation: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray | None,
) -> tuple[FloatArray, FloatArray | None]:
    """Express samples in the levelled body frame: x forward horizontal, y left horizontal, z up (gravity).

    With orientations, the frame follows the pelvis heading but not its tilt or obliquity, so z is exactly
    vertical. Without (accelerometer-only), the static mounting is applied; z is then the body's up axis,
    which leans by the pelvic angles (a few degrees).

    Parameters
    ----------
    quat : (n, 4) array or None
    mounting_rotation : (3, 3) array
    acc_mps2 : (n, 3) array, sensor frame
    gyr_dps : (n, 3) array or None, sensor frame

    Returns
    -------
    acc_mps2, gyr_dps : (n, 3) arrays in the levelled frame (gyr None when absent)
    """
    if quat is None:
        gyr = None if gyr_dps is None else gyr_dps @ mounting_rotation.T
        return acc_mps2 @ mounting_rotation.T, gyr
    earth_from_sensor = quat_to_matrix(quat)
    earth_from_body = earth_from_sensor @ mounting_rotation.T
    # Heading of the body's forward axis from its left axis, robust at large tilts: cos h = E[1,1]/cos(obl).
    heading = np.arctan2(-earth_from_body[:, 0, 1], earth_from_body[:, 1, 1])
    c, s = np.cos(heading), np.sin(heading)
    levelled_from_earth = np.zeros_like(earth_from_sensor)
    levelled_from_earth[:, 0, 0] = c
    levelled_from_earth[:, 0, 1] = s
    levelled_from_earth[:, 1, 0] = -s
    levelled_from_earth[:, 1, 1] = c
    levelled_from_earth[:, 2, 2] = 1.0
    levelled_from_sensor = levelled_from_earth @ earth_from_sensor
    acc = np.einsum("nij,nj->ni", levelled_from_sensor, acc_mps2)
    gyr = None if gyr_dps is None else np.einsum("nij,nj->ni", levelled_from_sensor, gyr_dps)
    return acc, gyr


def body_signals(
    quat: FloatArray, mounting_rotation: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
) -> FloatArray:
    """Everything the per-step metrics need from a sample, from one rotation matrix per sample.

    Sample by sample and element by element (no reductions), so computing it in chunks gives the same bits as
    computing it at once; the streaming pipeline does it once per sample, not once per overlapping window.

    Returns
    -------
    (n, 9) array
        Levelled acc (m/s^2) and gyr (deg/s) as `levelled_body_frame`, then tilt, obliquity and the wrapped
        heading (deg) as `pelvis_euler_deg` (`BODY_SIGNAL_COLUMNS`).
    """
    es = quat_to_matrix_entries(quat)  # earth from sensor, es[i, j] = entry (i, j) of every sample's matrix
    m = mounting_rotation
    # Earth-from-body columns 0..2 = es @ m[k] (the body axes in sensor coordinates are the rows of m); only
    # the entries used below. Each sample's arithmetic is that of the (n, 3, 3) form, in contiguous rows.
    ex2 = es[2, 0] * m[0, 0] + es[2, 1] * m[0, 1] + es[2, 2] * m[0, 2]
    ey0 = es[0, 0] * m[1, 0] + es[0, 1] * m[1, 1] + es[0, 2] * m[1, 2]
    ey1 = es[1, 0] * m[1, 0] + es[1, 1] * m[1, 1] + es[1, 2] * m[1, 2]
    ey2 = es[2, 0] * m[1, 0] + es[2, 1] * m[1, 1] + es[2, 2] * m[1, 2]
    ez2 = es[2, 0] * m[2, 0] + es[2, 1] * m[2, 1] + es[2, 2] * m[2, 2]
    # each result written straight into its column of the (n, 9) output (no transposed copy)
    out = np.empty((quat.shape[0], 9))
    out[:, 6] = np.degrees(np.arctan2(-ex2, ez2))
    out[:, 7] = np.degrees(np.arcsin(np.clip(ey2, -1.0, 1.0)))
    heading = np.arctan2(-ey0, ey1)
    out[:, 8] = np.degrees(heading)
    c, s = np.cos(heading), np.sin(heading)
    for vec, col in ((acc_mps2, 0), (gyr_dps, 3)):
        v0, v1, v2 = vec[:, 0], vec[:, 1], vec[:, 2]
        e0 = es[0, 0] * v0 + es[0, 1] * v1 + es[0, 2] * v2
        e1 = es[1, 0] * v0 + es[1, 1] * v1 + es[1, 2] * v2
        out[:, col + 2] = es[2, 0] * v0 + es[2, 1] * v1 + es[2, 2] * v2
        out[:, col] = c * e0 + s * e1
        out[:, col + 1] = -s * e0 + c * e1
    return out


def angle_at_sample_instants(angle_deg: FloatArray) -> FloatArray:
    """An angle from the orientation filter, moved back by the half sample that its integration leads.

    VQF integrates each gyroscope sample over the interval that ends at it (q_k = q_(k-1) exp(w_k Ts)). The
    samples are the angular rate at their instant (the offline contract and the simulator alike), so that sum
    of right-hand rectangles is the orientation at t_k + Ts/2: the angle leads by half a sample (9.6 ms at
    52 Hz; 0.25 deg at 104 Hz on a +-6 deg pelvic rotation swinging at 1.4 Hz, at whichever end of a step
    it is read). On a uniform grid the mean of two neighbouring samples is the angle at t_k, to second order
    in Ts; the first sample is kept as it is.

    Parameters
    ----------
    angle_deg : (n,) array, deg
        Sample k as the filter gives it after sample k (unwrapped, if a heading).

    Returns
    -------
    (n,) array, deg
    """
    out = np.array(angle_deg, dtype=float, copy=True)
    out[1:] = 0.5 * (out[1:] + out[:-1])
    return out


def rotation_relative_to_travel(t_s: FloatArray, heading_deg: FloatArray, t_ic_s: FloatArray) -> FloatArray:
    """Pelvic rotation relative to the current direction of travel.

    The direction of travel at time t is the mean pelvis heading over `TRAVEL_WINDOW_STRIDES` whole strides
    centred on t (their length taken from the initial contacts, IC[i+4] - IC[i] for two). A centred mean over
    whole strides removes the stride-periodic rotation and all its harmonics, and passes a linear heading
    change (gyroscope drift, a steady turn) unchanged, so both cancel in the difference. Two strides rather
    than one also average out step-to-step irregularity (per-step RMSE 0.50 -> 0.32 deg on the simulator).

    Parameters
    ----------
    t_s : (n,) array, s
    heading_deg : (n,) array, deg, unwrapped
    t_ic_s : (m,) array, s
        Initial contacts of both feet in time order (fewer than 3: a 1 s window is used).

    Returns
    -------
    (n,) array, deg
        heading minus the direction of travel; positive = pelvis turned to the left.
    """
    n = t_s.shape[0]
    if n == 0:
        return np.empty(0)
    dt = median(t_s[1:] - t_s[:-1]) if n > 1 else 1.0
    k = 2 * TRAVEL_WINDOW_STRIDES
    if t_ic_s.shape[0] >= k + 1:
        stride_s = t_ic_s[k:] - t_ic_s[:-k]
        mid_s = 0.5 * (t_ic_s[k:] + t_ic_s[:-k])
        stride_at = np.interp(t_s, mid_s, stride_s)
    else:
        stride_at = np.full(n, 1.0)
    # Continuous-time moving average: the cumulative (trapezoid) integral read at fractional positions.
    cum = np.empty(n)
    cum[0] = 0.0
    (0.5 * (heading_deg[1:] + heading_deg[:-1]) * dt).cumsum(out=cum[1:])
    x = (t_s - t_s[0]) / dt
    half = 0.5 * stride_at / dt
    # np.minimum/np.maximum: np.clip's numbers for less per-call overhead
    lo = np.minimum(np.maximum(x - half, 0.0), n - 1.0)
    hi = np.minimum(np.maximum(x + half, 0.0), n - 1.0)

    def cum_at(pos: FloatArray) -> FloatArray:
        i = np.minimum(np.floor(pos).astype(np.int64), n - 2) if n > 1 else np.zeros(pos.shape, np.int64)
        f = pos - i
        if n == 1:
            return np.zeros_like(pos)
        # Exact integral of the linear interpolant up to a fractional position.
        h0, h1 = heading_deg[i], heading_deg[i + 1]
        return cum[i] + dt * (h0 * f + 0.5 * (h1 - h0) * f * f)

    width = (hi - lo) * dt
    safe = np.where(width > 0, width, 1.0)
    at_both = cum_at(np.concatenate([hi, lo]))  # both ends in one pass (the same arithmetic per element)
    travel = np.where(width > 0, (at_both[:n] - at_both[n:]) / safe, heading_deg)
    return heading_deg - travel
