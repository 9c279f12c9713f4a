"""Rotation matrices, the pelvis orientation of docs/design.md and its exact body-frame angular velocity.

All functions are vectorised over time: angle arrays of shape (n,) give stacks of shape (n, 3, 3).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def rot_x(angle_rad: FloatArray | float) -> FloatArray:
    """Right-handed rotation about x; (n,) angles give (n, 3, 3), a scalar gives (3, 3)."""
    a = np.asarray(angle_rad, dtype=float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(angle_rad: FloatArray | float) -> FloatArray:
    """Right-handed rotation about y; (n,) angles give (n, 3, 3), a scalar gives (3, 3)."""
    a = np.asarray(angle_rad, dtype=float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(angle_rad: FloatArray | float) -> FloatArray:
    """Right-handed rotation about z; (n,) angles give (n, 3, 3), a scalar gives (3, 3)."""
    a = np.asarray(angle_rad, dtype=float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def pelvis_orientation(
    tilt_deg: FloatArray | float,
    obliquity_deg: FloatArray | float,
    rotation_deg: FloatArray | float,
    heading_deg: FloatArray | float = 0.0,
) -> FloatArray:
    """Pelvis-to-world rotation: Rz(heading + rotation) @ Rx(obliquity) @ Ry(tilt).

    docs/design.md defines the pelvis orientation relative to neutral standing as
    R = Rz(rotation) Rx(obliquity) Ry(tilt) in the body frame (x forward along the direction of travel,
    y left, z up); the body frame itself is turned by the heading about the world vertical, so the two z
    rotations add.
    Positive tilt is anterior: Ry(+tilt) turns the forward axis downwards.
    """
    t = np.deg2rad(tilt_deg)
    o = np.deg2rad(obliquity_deg)
    r = np.deg2rad(np.asarray(rotation_deg, dtype=float) + np.asarray(heading_deg, dtype=float))
    return rot_z(r) @ rot_x(o) @ rot_y(t)


def body_angular_velocity_rps(
    tilt_deg: FloatArray,
    obliquity_deg: FloatArray,
    yaw_deg: FloatArray,
    sampling_rate_hz: float,
) -> FloatArray:
    """Angular velocity of Rz(yaw) Rx(obliquity) Ry(tilt) in its own (pelvis) frame, rad/s, shape (n, 3).

    Uses the exact kinematic composition omega = Ry^T Rx^T (0, 0, yaw') + Ry^T (obl', 0, 0) + (0, tilt', 0),
    which is what Q^T dQ/dt equals for this Euler sequence, rather than treating angle rates as body rates
    (they differ by up to tens of deg/s once tilt and obliquity are non-zero). The angle derivatives come from
    second-order central differences on the fine simulation grid, where the angles are smooth.
    """
    dt = 1.0 / sampling_rate_hz
    t = np.deg2rad(tilt_deg)
    o = np.deg2rad(obliquity_deg)
    dt_t = np.gradient(t, dt)
    do = np.gradient(o, dt)
    dy = np.gradient(np.deg2rad(yaw_deg), dt)
    ct, st = np.cos(t), np.sin(t)
    co, so = np.cos(o), np.sin(o)
    # Rx(o)^T (0, 0, dy) = (0, so*dy, co*dy); then Ry(t)^T (a, b, c) = (ct*a - st*c, b, st*a + ct*c).
    wx = ct * do - st * co * dy
    wy = dt_t + so * dy
    wz = st * do + ct * co * dy
    return np.stack([wx, wy, wz], axis=-1)
