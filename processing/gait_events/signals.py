"""Pure signal helpers shared by the running and walking event rules: zero-phase filters and level crossings.

Every helper works in seconds and Hz, never in samples, so results do not depend on the sampling rate, and is
deterministic on a window (zero-phase filtering with the same padding whatever the caller), which the
streaming pipeline relies on when it re-runs the detector on overlapping windows.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt, sosfilt_zi

try:  # the compiled kernel behind `scipy.signal.sosfilt`, without its per-call argument handling
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_kernel
except ImportError:  # pragma: no cover - a scipy that moved it: the public function gives the same numbers
    _sosfilt_kernel = None

__all__ = ["falling_crossing", "lowpass", "median", "rising_crossing", "rising_crossings_with_hysteresis"]

FloatArray = npt.NDArray[np.float64]

# Highest usable cutoff as a fraction of the sampling rate: a Butterworth design needs cutoff < fs/2, and a
# margin keeps the filter well conditioned at 50 Hz.
_MAX_CUTOFF_FRACTION_OF_FS = 0.4
# Up to this length `median` sorts Python floats; longer arrays are partitioned by numpy.
_SHORT_MEDIAN = 64


def lowpass(x: FloatArray, cutoff_hz: float, sampling_rate_hz: float, order: int = 2) -> FloatArray:
    """Zero-phase Butterworth low-pass along axis 0 (no delay, so event times are not shifted).

    The cutoff is clipped to 0.4 * fs. Inputs shorter than the filter's padding are returned unfiltered (a
    window that short holds no step anyway). The numbers are those of `scipy.signal.sosfiltfilt` with its
    defaults (odd extension of 3 * (2 * sections + 1) samples, steady-state initial conditions), to the bit:
    the same operations in the same order, with the design and the initial conditions computed once per
    (order, cutoff, rate) instead of per call, which cost several times the filtering of a 10 s window.
    """
    cutoff = min(cutoff_hz, _MAX_CUTOFF_FRACTION_OF_FS * sampling_rate_hz)
    sos, zi, padlen = _butter_design(order, cutoff, sampling_rate_hz)
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n <= padlen:
        return x.copy()
    if x.ndim == 1 and _sosfilt_kernel is not None:
        return _lowpass_1d(x, sos, zi, padlen)
    # rows of samples along the last axis, as the kernel wants them
    rows = x.reshape(1, n) if x.ndim == 1 else np.moveaxis(x, 0, -1).reshape(-1, n)
    ext = np.concatenate(
        (2 * rows[:, :1] - rows[:, padlen:0:-1], rows, 2 * rows[:, -1:] - rows[:, -2 : -(padlen + 2) : -1]),
        axis=1,
    )
    ext = np.ascontiguousarray(ext)  # concatenate keeps a transposed input's memory order
    forward = _sosfilt_rows(sos, ext, zi[np.newaxis] * ext[:, :1, np.newaxis])
    backward = _sosfilt_rows(
        sos, np.ascontiguousarray(forward[:, ::-1]), zi[np.newaxis] * forward[:, -1:, np.newaxis]
    )
    y = backward[:, ::-1][:, padlen:-padlen]
    if x.ndim == 1:
        return np.ascontiguousarray(y[0])
    return np.ascontiguousarray(np.moveaxis(y.reshape(*x.shape[1:], n), -1, 0))


def _lowpass_1d(x: FloatArray, sos: FloatArray, zi: FloatArray, padlen: int) -> FloatArray:
    """`lowpass` of a 1-D signal longer than `padlen`: the same operations on the same numbers, written into
    one extended row instead of concatenated (the detector filters a few signals per window, thousands of
    windows an hour, where building the extension cost a third of the filtering)."""
    n = x.shape[0]
    ext = np.empty((1, n + 2 * padlen))
    row = ext[0]
    row[:padlen] = 2 * x[0] - x[padlen:0:-1]  # odd extension, as `scipy.signal.sosfiltfilt` pads
    row[padlen : padlen + n] = x
    row[padlen + n :] = 2 * x[-1] - x[-2 : -(padlen + 2) : -1]
    _sosfilt_rows(sos, ext, (zi * row[0])[np.newaxis])
    backward = ext[:, ::-1].copy()
    _sosfilt_rows(sos, backward, (zi * backward[0, 0])[np.newaxis])
    return backward[0, padlen : padlen + n][::-1].copy()


def median(x: FloatArray) -> float:
    """`float(np.median(x))` of a 1-D array, to the bit, without numpy's per-call cost on short arrays.

    The detector takes medians of a few contacts or samples per window, thousands of times an hour, where
    `np.median`'s argument handling costs ten times the sorting. Same value: the middle element, or the mean
    of the two middle ones computed as (a + b) / 2; NaN if any element is NaN. Raises ValueError when empty.
    """
    n = x.shape[0]
    if n == 0:
        raise ValueError("median of an empty array: callers check the size first")
    h = n // 2
    if n <= _SHORT_MEDIAN:
        values: list[float] = x.tolist()
        if any(v != v for v in values):  # NaN: Python's sort does not order it
            return float("nan")
        values.sort()
        lower, upper = values[h - 1] if n > 1 else values[0], values[h]
    else:
        if np.isnan(x).any():
            return float("nan")
        part = np.partition(x, [h - 1, h])
        lower, upper = float(part[h - 1]), float(part[h])
    if n % 2:
        return float(upper)
    return float((lower + upper) / 2)


def _sosfilt_rows(sos: FloatArray, rows: FloatArray, zi: FloatArray) -> FloatArray:
    """Filter C-contiguous float64 `rows` (m, n) in place along axis 1 from states `zi` (m, sections, 2)."""
    if _sosfilt_kernel is None:  # pragma: no cover - see the import
        return np.asarray(sosfilt(sos, rows, axis=1, zi=np.moveaxis(zi, 0, 1))[0], dtype=np.float64)
    _sosfilt_kernel(sos, rows, np.ascontiguousarray(zi))
    return rows


@lru_cache(maxsize=64)
def _butter_design(
    order: int, cutoff_hz: float, sampling_rate_hz: float
) -> tuple[FloatArray, FloatArray, int]:
    """The filter design, its steady-state initial conditions (per unit step) and the padding length, computed
    once per (order, cutoff, rate): designing costs more than filtering a window."""
    # Not flagged read-only: scipy's filter kernels take writable buffers. Callers never modify them.
    sos = np.ascontiguousarray(butter(order, cutoff_hz, fs=sampling_rate_hz, output="sos"), dtype=np.float64)
    zi = np.ascontiguousarray(sosfilt_zi(sos), dtype=np.float64)
    # scipy's default padding: 3 taps per (non-degenerate) section order
    ntaps = 2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return sos, zi, 3 * ntaps


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
    below[0] = not above[0]
    idx = (below | above).nonzero()[0]
    if idx.size < 2:
        return np.empty(0)
    state_above = above[idx]
    confirm = (state_above[1:] & ~state_above[:-1]).nonzero()[0] + 1
    last_below, confirmed = idx[confirm - 1], idx[confirm]
    # inside the band between them x may wiggle around the level: take the last crossing before
    # confirmation, i.e. the last sample below the level before it (none: no crossing)
    negative = (d < 0).nonzero()[0]
    before = negative.searchsorted(confirmed - 1, side="right") - 1
    j = np.where(before >= 0, negative[np.maximum(before, 0)] if negative.size else -1, -1)
    j = j[j >= last_below]
    d0, d1 = d[j], d[j + 1]
    return np.asarray(j + d0 / (d0 - d1), dtype=np.float64)
