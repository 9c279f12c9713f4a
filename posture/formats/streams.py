"""Two sensor streams on one time axis: the gyroscope interpolated onto the accelerometer's stamps.

Vendor apps write the accelerometer and the gyroscope as separate streams stamped apart (MetaBase, Polar,
phyphox, Sensor Logger), often at slightly different instants and sometimes at different rates. The
accelerometer's stamps are kept as they are (the time base repairs their jitter later) and the gyroscope is
linearly interpolated onto them: at 100 Hz and running's 2 to 4 Hz pelvic rotations this changes the rate
by well under 1 deg/s. Accelerometer samples more than one gyroscope interval outside the gyroscope's span
are left out (there is nothing to interpolate from); within it, the nearest gyroscope reading is held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

__all__ = ["Stream", "onto_stamps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class Stream:
    """One sensor's samples as a file holds them: (n,) times in s, (n, 3) values."""

    t_s: FloatArray
    values: FloatArray


def onto_stamps(base: Stream, other: Stream, *, name: str) -> tuple[Stream, FloatArray]:
    """`base` trimmed to the span of `other`, and `other` interpolated onto its stamps.

    Raises `InvalidSamplesError` (reason "short") when the two streams do not overlap.
    """
    if other.t_s.shape[0] < 2:
        raise InvalidSamplesError(f"{name}: the second stream holds fewer than 2 samples", reason="short")
    order = np.argsort(other.t_s, kind="stable")
    t_other, v_other = other.t_s[order], other.values[order]
    step = float(np.median(np.diff(t_other)))
    keep = (base.t_s >= t_other[0] - step) & (base.t_s <= t_other[-1] + step)
    if not keep.any():
        raise InvalidSamplesError(
            f"{name}: the accelerometer and the gyroscope files do not overlap in time: give two files "
            "of the same recording",
            reason="short",
        )
    dropped = int(keep.size - keep.sum())
    if dropped:
        logger.info("%s: %d accelerometer samples outside the gyroscope's span left out", name, dropped)
    t = base.t_s[keep]
    moved = np.column_stack([np.interp(t, t_other, v_other[:, j]) for j in range(v_other.shape[1])])
    return Stream(t, base.values[keep]), moved
