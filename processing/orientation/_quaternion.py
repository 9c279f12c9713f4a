"""Vectorised unit-quaternion helpers, scalar-first [w, x, y, z] like vqf."""

from __future__ import annotations

import numpy as np

from processing.samples import FloatArray


def quat_to_matrix(quat: FloatArray) -> FloatArray:
    """Rotation matrices of unit quaternions.

    Parameters
    ----------
    quat : (n, 4) array
        Scalar-first unit quaternions; q maps a vector v to q * v * conj(q).

    Returns
    -------
    (n, 3, 3) array
        R with R @ v equal to the rotated v.
    """
    w, x, y, z = quat[:, 0], quat[:, 1], quat[:, 2], quat[:, 3]
    out = np.empty((quat.shape[0], 3, 3))
    out[:, 0, 0] = 1 - 2 * (y * y + z * z)
    out[:, 0, 1] = 2 * (x * y - w * z)
    out[:, 0, 2] = 2 * (x * z + w * y)
    out[:, 1, 0] = 2 * (x * y + w * z)
    out[:, 1, 1] = 1 - 2 * (x * x + z * z)
    out[:, 1, 2] = 2 * (y * z - w * x)
    out[:, 2, 0] = 2 * (x * z - w * y)
    out[:, 2, 1] = 2 * (y * z + w * x)
    out[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def quat_to_matrix_entries(quat: FloatArray) -> FloatArray:
    """`quat_to_matrix` with the sample axis last: entry (i, j) of every matrix is one contiguous row.

    Same numbers; element-wise work on the entries then reads memory in order (about a third faster for
    long recordings).

    Returns
    -------
    (3, 3, n) array
    """
    w, x, y, z = (np.ascontiguousarray(quat[:, k]) for k in range(4))
    out = np.empty((3, 3, quat.shape[0]))
    out[0, 0] = 1 - 2 * (y * y + z * z)
    out[0, 1] = 2 * (x * y - w * z)
    out[0, 2] = 2 * (x * z + w * y)
    out[1, 0] = 2 * (x * y + w * z)
    out[1, 1] = 1 - 2 * (x * x + z * z)
    out[1, 2] = 2 * (y * z - w * x)
    out[2, 0] = 2 * (x * z - w * y)
    out[2, 1] = 2 * (y * z + w * x)
    out[2, 2] = 1 - 2 * (x * x + y * y)
    return out


def rotate(matrices: FloatArray, vectors: FloatArray) -> FloatArray:
    """Apply per-sample rotation matrices (n, 3, 3) to vectors (n, 3)."""
    return np.einsum("nij,nj->ni", matrices, vectors)
