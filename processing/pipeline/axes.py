"""Absent accelerometer axes: a biaxial logger's recording at the pipeline's entry.

Convention (shared with the file readers and the validator): an accelerometer axis the logger does not have is
an all-NaN column of `ImuSamples.acc_mps2`; the shape stays (n, 3). Such loggers have no gyroscope.

The rule: a biaxial logger is worn with its two axes along vertical and fore-aft, so the absent axis is the
medio-lateral one (the mounting may tilt a little). The pipeline then reads the absent axis as 0 m/s^2 and
runs its accelerometer-only path unchanged: "up" and "forward" lie in the plane of the two axes it has, and
initial contacts, toe-offs, contact times and cadence come from the vertical and fore-aft accelerations,
which it has. What it cannot have is the side of each contact: without a gyroscope the side evidence is the
medio-lateral acceleration (`processing.laterality`), so the left and right labels of the steps are then an
alternation of unknown parity (which steps are one foot's is known, not which foot): `sides_observable` says
so, and the callers report it instead of left/right results (docs/biaxial.md).

An absent axis with a gyroscope is refused: the orientation filter needs all three accelerometer axes. So is
an absent axis that is not horizontal: when the two present axes read less than `MIN_PRESENT_GRAVITY_SHARE` of
gravity on average over the first block (at least `GRAVITY_CHECK_S` of it), the vertical is partly missing and
neither "up" nor the contacts can be found (a logger worn turned a quarter turn).
"""

from __future__ import annotations

import numpy as np

from processing.errors import InvalidSamplesError
from processing.samples import STANDARD_GRAVITY_MPS2, ImuSamples

__all__ = [
    "GRAVITY_CHECK_S",
    "MIN_PRESENT_GRAVITY_SHARE",
    "absent_acc_axes",
    "check_absent_acc_axes",
    "fill_absent_acc_axes",
    "sides_observable",
]

#: The present axes must read at least this share of gravity on average (the absent axis then lies within
#: about 45 deg of horizontal: cos 45 deg = 0.71); a biaxial logger tilted a few degrees reads over 0.99.
MIN_PRESENT_GRAVITY_SHARE = 0.7
#: The mean is judged over at least this much of the first block, s (several strides: the mean specific
#: force of any gait is gravity); a shorter first block is not judged.
GRAVITY_CHECK_S = 2.0


def absent_acc_axes(samples: ImuSamples) -> tuple[int, ...]:
    """The sensor axes whose accelerometer column is all NaN (none for an empty block)."""
    if len(samples) == 0:
        return ()
    absent = np.isnan(samples.acc_mps2).all(axis=0)
    return tuple(int(k) for k in np.flatnonzero(absent))


def check_absent_acc_axes(samples: ImuSamples, *, sampling_rate_hz: float) -> tuple[int, ...]:
    """`absent_acc_axes` of the first block of a recording, refused where the pipeline cannot go on.

    Raises
    ------
    InvalidSamplesError
        More than one absent axis (a single axis has no direction of travel), an absent axis with a
        gyroscope (the orientation filter needs three accelerometer axes), or one far from horizontal (the
        present axes miss much of gravity: module docstring).
    """
    axes = absent_acc_axes(samples)
    if len(axes) > 1:
        raise InvalidSamplesError(
            f"accelerometer columns {list(axes)} are empty: at least two axes (vertical and fore-aft) "
            "are needed",
            reason="column",
        )
    if axes and samples.has_gyroscope:
        raise InvalidSamplesError(
            f"accelerometer axis {axes[0]} is empty but there is a gyroscope: the orientation needs all "
            "three accelerometer axes (leave the gyroscope columns out to analyse it as a biaxial logger)",
            reason="column",
        )
    if axes and len(samples) >= GRAVITY_CHECK_S * sampling_rate_hz:
        present = np.delete(samples.acc_mps2, axes, axis=1)
        share = float(np.linalg.norm(present.mean(axis=0))) / STANDARD_GRAVITY_MPS2
        if share < MIN_PRESENT_GRAVITY_SHARE:
            raise InvalidSamplesError(
                f"accelerometer axis {axes[0]} is empty and the other two read only {share:.0%} of gravity: "
                "the missing axis must be the medio-lateral one (wear a biaxial logger with its axes along "
                "vertical and fore-aft)",
                reason="column",
            )
    return axes


def fill_absent_acc_axes(samples: ImuSamples, axes: tuple[int, ...]) -> ImuSamples:
    """The block with the `axes` columns read as 0 m/s^2; they must be absent (all NaN) in it.

    Raises
    ------
    InvalidSamplesError
        A column absent at the start of the recording holds values in this block (the logger's mode changed).
    """
    if not axes or len(samples) == 0:
        return samples
    cols = list(axes)
    if not np.isnan(samples.acc_mps2[:, cols]).all():
        raise InvalidSamplesError(
            f"accelerometer axis {axes[0]} was empty at the start of the recording and holds values later: "
            "keep the logger's mode through a recording",
            reason="shape",
        )
    acc = samples.acc_mps2.copy()
    acc[:, cols] = 0.0
    return ImuSamples(samples.t_s, acc, samples.gyr_dps)


def sides_observable(*, has_gyroscope: bool, absent_axes: tuple[int, ...]) -> bool:
    """Whether left and right can be told: with a gyroscope (yaw rate) or with all three accelerometer
    axes (the medio-lateral acceleration); not from a biaxial logger without a gyroscope."""
    return has_gyroscope or not absent_axes
