"""Pure signal helpers shared by the running and walking event rules: zero-phase filters and level crossings.

Every helper works in seconds and Hz, never in samples, so results do not depend on the sampling rate, and is
deterministic on a window (zero-phase filtering with the same padding whatever the caller), which the
streaming pipeline relies on when it re-runs the detector on overlapping windows.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfiltfilt

__all__ = ["falling_crossing", "lowpass", "rising_crossing", "rising_crossings_with_hysteresis"]

FloatArray = npt.NDArray[np.float64]

# Highest usable cutoff as a fraction of the sampling rate: a Butterworth design needs cutoff < fs/2, and a
# margin keeps the filter well conditioned at 50 Hz.
_MAX_CUTOFF_FRACTION_OF_FS = 0.4


def lowpass(x: FloatArray, cutoff_hz: float, sampling_rate_hz: float, order: int = 2) -> FloatArray:
    """Zero-phase Butterworth low-pass along axis 0 (no delay, so event times are not shifted).

    The cutoff is clipped to 0.4 * fs. Inputs shorter than the filter's padding are returned unfiltered (a
    window that short holds no step anyway).
    """
    cutoff = min(cutoff_hz, _MAX_CUTOFF_FRACTION_OF_FS * sampling_rate_hz)
    sos = _butter_sos(order, cutoff, sampling_rate_hz)
    padlen = 3 * (2 * sos.shape[0] + 1)
    if x.shape[0] <= padlen:
        return np.asarray(x, dtype=np.float64).copy()
    return np.asarray(sosfiltfilt(sos, x, axis=0), dtype=np.float64)


@lru_cache(maxsize=64)
def _butter_sos(order: int, cutoff_hz: float, sampling_rate_hz: float) -> FloatArray:
    """The filter design, computed once per (order, cutoff, rate): designing costs more than filtering a
    window."""
    # Not flagged read-only: scipy's filter kernels take writable buffers. Callers never modify it.
    return np.asarray(butter(order, cutoff_hz, fs=sampling_rate_hz, output="sos"), dtype=np.float64)


def _interp_index(x: FloatArray, i: int, level: float) -> float:
    """Fractional index between samples i and i+1 where the line through them meets `level`."""
    d0 = x[i] - level
    d1 = x[i + 1] - level
    if d1 == d0:
        return float(i)
    return float(i + d0 / (d0 - d1))


def rising_crossing(x: FloatArray, level: float, start: int, stop: int) -> float:
    """Last upward crossing of `level` in x[start:stop+1], walking back from `stop`; NaN if none.

    Walking back from a point known to be above the level (a peak) finds the edge that leads to that peak, not
    an earlier wiggle.
    """
    start = max(start, 0)
    i = min(stop, x.shape[0] - 1)
    while i > start and x[i] >= level:
        i -= 1
    if x[i] >= level:
        return float("nan")
    if i + 1 > min(stop, x.shape[0] - 1):
        return float("nan")
    return _interp_index(x, i, level)


def falling_crossing(x: FloatArray, level: float, start: int, stop: int) -> float:
    """First downward crossing of `level` in x[start:stop+1], walking forward from `start`; NaN if none."""
    n = x.shape[0]
    i = max(start, 0)
    stop = min(stop, n - 1)
    while i < stop and x[i] >= level:
        i += 1
    if x[i] >= level or i == max(start, 0):
        return float("nan")
    return _interp_index(x, i - 1, level)


def rising_crossings_with_hysteresis(x: FloatArray, level: FloatArray, hysteresis: FloatArray) -> FloatArray:
    """Fractional indices where x rises through `level`, counted once per dip below `level - hysteresis`.

    A Schmitt trigger: a crossing counts only after x has been below `level - hysteresis` and is confirmed
    when x exceeds `level + hysteresis`; the reported index is the last crossing of `level` itself before
    confirmation, interpolated between samples. `level` and `hysteresis` are per sample (they may follow slow
    trends).
    """
    d = x - level
    below = d < -hysteresis
    above = d > hysteresis
    # The input's first sample counts as "below" (armed): a first step out of standing, where the force never
    # dipped before it, is still found.
    if d.shape[0] < 2:
        return np.empty(0)
    below = below.copy()
    below[0] = not above[0]
    idx = np.flatnonzero(below | above)
    if idx.size < 2:
        return np.empty(0)
    state_above = above[idx]
    confirm = np.flatnonzero(state_above[1:] & ~state_above[:-1]) + 1
    out = np.full(confirm.size, np.nan)
    for k, c in enumerate(confirm):
        last_below, i = int(idx[c - 1]), int(idx[c])
        if not (d[last_below:i] < 0).any():
            continue
        # inside the band between them x may wiggle around the level: take the last crossing before
        # confirmation
        j = last_below + int(np.flatnonzero(d[last_below:i] < 0)[-1])
        d0, d1 = d[j], d[j + 1]
        out[k] = j + d0 / (d0 - d1)
    return out[np.isfinite(out)]
