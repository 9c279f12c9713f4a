"""True sample times from the time stamps a host writes, and a constant sampling grid for the processing.

A phone app or a host computer stamps each sample (or each packet of samples) with its own clock when it
arrives, not when the sensor took it: the stamps jitter by milliseconds, several samples of a packet may share
one stamp, lost packets leave their samples out, the sensor's oscillator runs a little off its nominal rate,
and the link may fall silent for seconds. The sensor itself still samples on a constant grid, and the rows
keep its order. So every sample has a true instant `offset + period * k`, with `k` its index on the grid, and
the task is to recover `k` for every row (the lost samples are the jumps in `k`) and then `offset` and
`period` from all the stamps at once:

1. Stamps shared by several rows are one arrival (a batch); the last row of a batch is the one its stamp
   belongs to (a packet is sent after its last sample). Only these rows enter the fit, so the shared stamps
   add no saw-tooth to the residuals.
2. A silence longer than `SEGMENT_BREAK_S` splits the recording into segments with offsets of their own: the
   host clock may have been reset there, and the gap policy splits such a gap anyway.
3. Within a segment, with the period first taken as the median of long-baseline slopes (robust to jitter,
   batches and lost packets), the residual `stamp - period * row` steps up by one period per lost sample.
   Steps are found where the median of the residuals after a row exceeds the median before it by half a
   period (running medians: the jitter averages out, the step does not); each step's size is then measured
   between its neighbours with long medians and rounded to whole samples (to whole batches when the stamps
   come in batches of one size: packets are lost whole). Steps that round to nothing are dropped.
4. The period and each segment's offset are fitted by least squares over the batch-end rows, once more
   after leaving out residuals beyond `OUTLIER_SIGMAS` robust standard deviations (a late packet).
5. Every row gets the time `offset + period * k`: the samples land on a constant grid at the estimated rate,
   their values unchanged (no interpolation is needed, since they were taken on that grid); lost samples
   are holes of whole periods on it, left to the pipeline's one gap policy (`processing.pipeline.gaps`)
   that bridges the short ones and splits at long ones.

A recording already on a constant grid (our own contract CSVs, the simulator's output, possibly with holes
of whole lost packets) passes through unchanged, the same arrays, so its results do not move.

What cannot be repaired raises `InvalidSamplesError`: time that runs back by more than `MAX_BACKWARD_S`
(two recordings joined, a clock reset), stamps that scatter around any constant rate by more than
`MAX_STAMP_SCATTER_S` or that would need more than `MAX_LOST_SHARE` of the samples lost (a rate that
changes midway).

The estimate's accuracy on synthetic stamps: `benchmarks/bench_timebase.py` (docs/recordings.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from processing.errors import InvalidSamplesError
from processing.samples import FloatArray, ImuSamples

__all__ = [
    "GRID_TOLERANCE_S",
    "MAX_BACKWARD_S",
    "MAX_LOST_SHARE",
    "MAX_STAMP_SCATTER_S",
    "SEGMENT_BREAK_S",
    "RegularizedSamples",
    "TimebaseReport",
    "regularize",
]

IntArray = npt.NDArray[np.int64]

#: Intervals within this much (per sample period they span) of a whole number of periods are a constant grid,
#: s: CSV stamps written with microseconds are rounded by up to 0.5 us each, so an interval by up to 1 us
#: and the median period by as much again.
GRID_TOLERANCE_S = 2e-6
#: A silence between two stamps longer than this starts a new segment with an offset of its own, s (the gap
#: policy splits any gap over 0.05 s, so nothing is lost by not counting the samples across it).
SEGMENT_BREAK_S = 0.5
#: Time may run back this far (a stamp earlier than an earlier row's: reordered arrivals, jitter), s; further
#: back is two recordings joined or a clock reset, which no fit repairs.
MAX_BACKWARD_S = 0.5
#: The robust standard deviation of the stamps around the fitted grid may be at most this, s: BLE hosts
#: and phone apps scatter by a few to a few tens of milliseconds; more means no constant rate fits.
MAX_STAMP_SCATTER_S = 0.05
#: At most this share of the grid may be lost samples: more means that the rate itself changes (a stretch at
#: half the rate reads as every other sample lost), not a constant rate with lost packets.
MAX_LOST_SHARE = 0.2
#: Residuals beyond this many robust standard deviations are left out of the second fit (late packets).
OUTLIER_SIGMAS = 4.0
#: Running-median windows, in batches: short ones find the steps, long ones measure them.
DETECT_WINDOW = 16
MEASURE_WINDOW = 128
#: Steps closer than this many batches are one step ...
MIN_STRETCH = 2
#: ... and a step must rise by this many standard errors of its two medians (noise alone rarely does).
MIN_STEP_SIGMAS = 4.0
#: Rows per long-baseline slope of the first period estimate.
BASELINE_ROWS = 64
#: Batches of one size ("packets are lost whole") when at least this share of the batches have it.
UNIFORM_BATCH_SHARE = 0.9
#: At most this many passes of counting the lost samples and fitting the period (they converge in 2 to 4).
MAX_PASSES = 8
#: Refinement rounds of the step sizes and of detection on the residuals of the fit.
ROUNDS = 4


@dataclass(frozen=True, slots=True)
class TimebaseReport:
    """Every decision `regularize` took, counted (summary.json, section "input").

    Attributes
    ----------
    nominal_rate_hz : float, Hz
        The rate the caller named, NaN if none.
    estimated_rate_hz : float, Hz
        The rate of the output grid: fitted from the stamps, or 1 / median interval on a constant grid.
    jitter_ms_p50, jitter_ms_p99 : float, ms
        Median and 99th percentile of |stamp - estimated time| around their median (0 on a constant grid).
    samples_in, samples_out : int
    lost_samples_detected : int
        Holes of whole samples on the grid inside segments (left to the gap policy).
    lost_samples_filled : int
        Samples inserted here: always 0, the gap policy bridges the holes and counts what it inserts.
    gaps_split : int
        Silences longer than `SEGMENT_BREAK_S` at which the fit starts a new segment.
    gap_s_total : float, s
        Their total length.
    resampled : bool
        True when the samples were moved onto the fitted grid; False when they passed through unchanged.
    stamps_reordered_or_repeated : int
        Rows whose stamp is not later than the row before (a shared batch stamp, a reordered arrival).
    batch_samples : int
        Rows per shared stamp when the stamps come in batches of one size, else 1.
    """

    nominal_rate_hz: float
    estimated_rate_hz: float
    jitter_ms_p50: float
    jitter_ms_p99: float
    samples_in: int
    samples_out: int
    lost_samples_filled: int
    gaps_split: int
    gap_s_total: float
    resampled: bool
    stamps_reordered_or_repeated: int
    lost_samples_detected: int = 0
    batch_samples: int = 1


@dataclass(frozen=True, slots=True, eq=False)
class RegularizedSamples:
    """Samples on a constant grid (holes of whole samples allowed), their rate, and how they got there."""

    samples: ImuSamples
    sampling_rate_hz: float
    report: TimebaseReport


def regularize(
    t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray | None, *, nominal_rate_hz: float | None = None
) -> RegularizedSamples:
    """Estimate the true sample times from host stamps and put the samples on a constant grid.

    Parameters
    ----------
    t_s : (n,) array, s
        Stamps in row order (the sensor's sample order); finite; may jitter, repeat and run back a little.
    acc_mps2 : (n, 3) array, m/s^2
        An absent axis is an all-NaN column; it stays so.
    gyr_dps : (n, 3) array, deg/s, or None
    nominal_rate_hz : float, Hz, optional
        The rate the sensor was set to; reported only (the stamps decide the rate).

    Returns
    -------
    RegularizedSamples
        On a constant grid already: the given arrays themselves, `report.resampled` False.

    Raises
    ------
    InvalidSamplesError
        Fewer than two samples, time running back by more than `MAX_BACKWARD_S` (reason "order"), or stamps
        that no constant rate fits (reason "rate").
    """
    t = np.asarray(t_s, dtype=np.float64)
    n = t.shape[0]
    nominal = math.nan if nominal_rate_hz is None else float(nominal_rate_hz)
    if n < 2:
        raise InvalidSamplesError(f"{n} samples: a time axis needs at least two", reason="short")
    if not np.all(np.isfinite(t)):
        raise InvalidSamplesError("a time stamp is NaN or infinite: drop those rows", reason="nan")
    dt = np.diff(t)
    not_later = int(np.count_nonzero(dt <= 0))
    if not_later == 0:
        period_s = float(np.median(dt))
        whole = np.rint(dt / period_s)
        if np.all(np.abs(dt - whole * period_s) <= GRID_TOLERANCE_S * np.maximum(whole, 1.0)):
            report = TimebaseReport(
                nominal_rate_hz=nominal,
                estimated_rate_hz=1.0 / period_s,
                jitter_ms_p50=0.0,
                jitter_ms_p99=0.0,
                samples_in=n,
                samples_out=n,
                lost_samples_filled=0,
                gaps_split=0,
                gap_s_total=0.0,
                resampled=False,
                stamps_reordered_or_repeated=0,
            )
            return RegularizedSamples(ImuSamples(t_s, acc_mps2, gyr_dps), 1.0 / period_s, report)
    _check_backward(t)
    fit = _fit_grid(t)
    samples = ImuSamples(fit.t_s, acc_mps2, gyr_dps)
    report = TimebaseReport(
        nominal_rate_hz=nominal,
        estimated_rate_hz=1.0 / fit.period_s,
        jitter_ms_p50=1e3 * float(np.percentile(fit.abs_residual_s, 50)),
        jitter_ms_p99=1e3 * float(np.percentile(fit.abs_residual_s, 99)),
        samples_in=n,
        samples_out=n,
        lost_samples_filled=0,
        gaps_split=fit.breaks,
        gap_s_total=fit.break_s,
        resampled=True,
        stamps_reordered_or_repeated=not_later,
        lost_samples_detected=fit.lost,
        batch_samples=fit.batch,
    )
    return RegularizedSamples(samples, 1.0 / fit.period_s, report)


def _check_backward(t: FloatArray) -> None:
    """Refuse time that runs back further than `MAX_BACKWARD_S` behind the latest stamp so far."""
    latest = np.maximum.accumulate(t)
    back = latest[:-1] - t[1:]
    if np.any(back > MAX_BACKWARD_S):
        row = int(np.argmax(back > MAX_BACKWARD_S)) + 2
        raise InvalidSamplesError(
            f"the time axis runs back by {float(back[row - 2]):.3g} s at data row {row} "
            f"(t = {t[row - 1]:.6f} s): two recordings joined, or the clock was reset; split the file there",
            reason="order",
        )


@dataclass(frozen=True, slots=True, eq=False)
class _Fit:
    t_s: FloatArray
    period_s: float
    abs_residual_s: FloatArray
    lost: int
    breaks: int
    break_s: float
    batch: int


def _running_median(x: FloatArray, w: int) -> FloatArray:
    """m[k] = median(x[k : k + w]) for k in 0 .. len(x) - w (computed in chunks to bound memory)."""
    view = sliding_window_view(x, w)
    out = np.empty(view.shape[0])
    chunk = max(1, 1_000_000 // w)
    for a in range(0, view.shape[0], chunk):
        out[a : a + chunk] = np.median(view[a : a + chunk], axis=1)
    return out


def _step_candidates(r: FloatArray, threshold: float, w: int) -> list[int]:
    """Batches at which the residuals step up by more than `threshold`: in each run of boundaries where the
    median of the `w` residuals after exceeds the median of the `w` before, the largest single jump."""
    n = r.shape[0]
    if n < 2 * w:
        return []
    m = _running_median(r, w)
    rise = m[w:] - m[: n - 2 * w + 1]  # rise[j - w]: boundary before batch j, j in w .. n - w
    above = np.concatenate([[False], rise > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    jumps = np.diff(r)
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        lo, hi = a + w, b + w  # boundaries j in [lo, hi)
        out.append(lo + int(np.argmax(jumps[lo - 1 : hi - 1])))
    return out


def _measure_steps(
    r: FloatArray, bounds: list[int], unit: float, quantum: int, noise: float
) -> list[tuple[int, int]]:
    """Size of each step in samples (a multiple of `quantum`): the median level after it minus before it,
    each over at most `MEASURE_WINDOW` batches up to the neighbouring steps. A step closer than
    `MIN_STRETCH` batches to the one before is merged into it (two lost packets a few batches apart read as
    one); a step whose rise is under `MIN_STEP_SIGMAS` times its standard error (from `noise`, the
    residuals' robust standard deviation) or rounds to nothing is dropped, and the rest measured again."""
    kept: list[int] = []
    for j in sorted(set(bounds)):
        if kept and j - kept[-1] < MIN_STRETCH:
            continue
        kept.append(j)
    while kept:
        edges = [0, *kept, r.shape[0]]
        sizes = []
        for k in range(1, len(edges) - 1):
            before = r[max(edges[k - 1], edges[k] - MEASURE_WINDOW) : edges[k]]
            after = r[edges[k] : min(edges[k + 1], edges[k] + MEASURE_WINDOW)]
            rise = float(np.median(after) - np.median(before))
            se = 1.2533 * noise * math.sqrt(1.0 / before.shape[0] + 1.0 / after.shape[0])
            sizes.append(quantum * round(rise / (quantum * unit)) if rise > MIN_STEP_SIGMAS * se else 0)
        if min(sizes) > 0:
            return _placed(r, list(zip(kept, sizes, strict=True)), unit)
        kept = [b for b, s in zip(kept, sizes, strict=True) if s > 0]
    return []


def _placed(r: FloatArray, steps: list[tuple[int, int]], unit: float) -> list[tuple[int, int]]:
    """Each step moved, within `DETECT_WINDOW` batches and its neighbours, to where a step of its size
    fits the residuals best (least absolute deviations): the running medians only say roughly where."""
    out: list[tuple[int, int]] = []
    for k, (j, size) in enumerate(steps):
        prev = out[-1][0] if out else 0
        lo = max(prev + 1, j - DETECT_WINDOW)
        hi = min(steps[k + 1][0] if k + 1 < len(steps) else r.shape[0], j + DETECT_WINDOW + 1)
        base = float(np.median(r[max(prev, lo - MEASURE_WINDOW) : lo]))
        seg = r[lo:hi] - base
        gain = np.abs(seg - size * unit) - np.abs(seg)  # cost of counting batch i after the step
        after_cost = np.cumsum(gain[::-1])[::-1]  # step at lo + m: batches lo + m .. hi - 1 after it
        out.append((lo + int(np.argmin(after_cost)), size))
    return out


def _cumulative(steps: list[tuple[int, int]], n: int) -> FloatArray:
    """Samples lost before each of `n` batches, from (batch, size) steps."""
    cum = np.zeros(n)
    for j, size in steps:
        cum[j:] += size
    return cum


def _batches(t: FloatArray) -> tuple[IntArray, IntArray]:
    """Index of the last row of each run of rows sharing a stamp, and each row's batch number."""
    last = np.flatnonzero(np.concatenate([t[1:] != t[:-1], [True]])).astype(np.int64)
    batch_of = np.zeros(t.shape[0], dtype=np.int64)
    batch_of[last[:-1] + 1] = 1
    return last, np.cumsum(batch_of)


def _first_period(t: FloatArray) -> float:
    """The most common slope over `BASELINE_ROWS` rows: jitter and shared stamps average out over so many
    rows, and the slopes over lost packets, all steeper, lie off the mode."""
    n = t.shape[0]
    h = min(BASELINE_ROWS, n - 1)
    slopes = np.sort((t[h:] - t[:-h]) / h)
    # the half-sample mode (Bickel and Fruehwirth 2006): a median would lean towards the slopes over lost
    # packets, all on one side
    while slopes.shape[0] > 3:
        half = (slopes.shape[0] + 1) // 2
        widths = slopes[half - 1 :] - slopes[: slopes.shape[0] - half + 1]
        start = int(np.argmin(widths))
        slopes = slopes[start : start + half]
    period = float(np.median(slopes))
    if not period > 0:
        period = float(t[-1] - t[0]) / (n - 1)
    if not period > 0:
        raise InvalidSamplesError(
            "the time stamps do not advance: no sampling rate can be found; give t_s in seconds",
            reason="rate",
        )
    return period


def _fit_grid(t: FloatArray) -> _Fit:
    """Grid indices, period and offsets from the stamps (steps 1 to 5 of the module docstring)."""
    n = t.shape[0]
    last, batch_of = _batches(t)
    y = t[last]  # one stamp per batch, for its last row
    x = last.astype(np.float64)
    sizes = np.diff(np.concatenate([[-1], last]))
    mode = int(np.bincount(sizes).argmax())
    quantum = mode if mode > 1 and np.mean(sizes == mode) >= UNIFORM_BATCH_SHARE else 1
    gap = np.flatnonzero(np.diff(y) > SEGMENT_BREAK_S) + 1
    segment_of = np.zeros(y.shape[0], dtype=np.int64)
    segment_of[gap] = 1
    segment_of = np.cumsum(segment_of)
    starts = np.concatenate([[0], gap, [y.shape[0]]])
    period = _first_period(t)
    # The period from the slopes within the stretches between steps (each stretch its own offset): steps
    # measured a sample off, or missed, do not bias it as they would a fit over the whole segment.
    lost = _lost_samples(y, x, starts, period, quantum)
    for _ in range(MAX_PASSES):
        cut = (np.diff(lost) != 0) | (np.diff(segment_of) != 0)
        period = _least_squares(y, x, np.cumsum(np.concatenate([[0], cut])))[0]
        previous, lost = lost, _lost_samples(y, x, starts, period, quantum)
        if np.array_equal(previous, lost):
            break
    period, offsets, residual = _least_squares(y, x + lost, segment_of)
    k = np.arange(n, dtype=np.float64) + lost[batch_of]
    t_grid = offsets[segment_of[batch_of]] + period * k
    if np.any(np.diff(t_grid) <= 0):  # segments fitted apart that overlap: stamps no constant rate fits
        raise _no_rate(period, residual)
    scatter = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    n_lost = int(sum(float(lost[int(starts[s + 1]) - 1]) for s in range(starts.shape[0] - 1)))
    if scatter > MAX_STAMP_SCATTER_S or n_lost > MAX_LOST_SHARE * (n + n_lost):
        raise _no_rate(period, residual, n_lost / (n + n_lost))
    span = np.diff(y)[gap - 1] if gap.size else np.empty(0)
    return _Fit(
        t_s=t_grid,
        period_s=period,
        abs_residual_s=np.abs(residual - np.median(residual)),
        lost=n_lost,
        breaks=int(gap.size),
        break_s=float(span.sum()),
        batch=quantum,
    )


def _lost_samples(y: FloatArray, x: FloatArray, starts: IntArray, period: float, quantum: int) -> FloatArray:
    """Samples lost before each batch, counted from its segment's start (step 3 of the module docstring)."""
    lost = np.zeros(y.shape[0])
    for s in range(starts.shape[0] - 1):
        a, b = int(starts[s]), int(starts[s + 1])
        r = y[a:b] - period * x[a:b]
        if b - a < 2 * DETECT_WINDOW:
            continue
        smooth = _running_median(r, DETECT_WINDOW)
        centre = DETECT_WINDOW // 2
        wiggle = r[centre : centre + smooth.shape[0]] - smooth
        noise = 1.4826 * float(np.median(np.abs(wiggle - np.median(wiggle))))
        steps: list[tuple[int, int]] = []
        for _ in range(ROUNDS):
            found = {j for j, _ in steps}
            rest = r - period * _cumulative(steps, b - a)
            new = [j for j in _step_candidates(rest, 0.5 * period, DETECT_WINDOW) if j not in found]
            if not new:
                break
            steps = _measure_steps(r, [*found, *new], period, quantum, noise)
        lost[a:b] = _cumulative(steps, b - a)
    return lost


def _least_squares(
    y: FloatArray, k: FloatArray, segment_of: IntArray
) -> tuple[float, FloatArray, FloatArray]:
    """One period shared by all segments, one offset each: least squares, then again without the residuals
    beyond `OUTLIER_SIGMAS` robust standard deviations. Returns the period, the offsets, the residuals."""
    keep = np.ones(y.shape[0], dtype=bool)
    n_seg = int(segment_of[-1]) + 1
    period = 0.0
    offsets = np.zeros(n_seg)
    for _ in range(2):
        seg = segment_of[keep]
        count = np.bincount(seg, minlength=n_seg).astype(np.float64)
        count[count == 0] = 1.0
        y_mean = np.bincount(seg, y[keep], minlength=n_seg) / count
        k_mean = np.bincount(seg, k[keep], minlength=n_seg) / count
        dk = k[keep] - k_mean[seg]
        dy = y[keep] - y_mean[seg]
        denom = float(np.dot(dk, dk))
        period = float(np.dot(dk, dy)) / denom if denom > 0 else float("nan")
        if not period > 0:
            raise InvalidSamplesError(
                "the time stamps do not advance with the rows: no sampling rate can be found",
                reason="rate",
            )
        offsets = y_mean - period * k_mean
        residual = y - (offsets[segment_of] + period * k)
        centre = float(np.median(residual))
        sigma = 1.4826 * float(np.median(np.abs(residual - centre)))
        keep = np.abs(residual - centre) <= OUTLIER_SIGMAS * sigma + 1e-9
        if keep.all():
            break
    residual = y - (offsets[segment_of] + period * k)
    return period, offsets, residual


def _no_rate(period_s: float, residual: FloatArray, lost_share: float = 0.0) -> InvalidSamplesError:
    scatter_ms = 1e3 * 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    return InvalidSamplesError(
        f"no constant sampling rate fits the time stamps (best {1.0 / period_s:.1f} Hz: the stamps scatter "
        f"by {scatter_ms:.0f} ms around it, {100 * lost_share:.0f} % of its samples would be lost): the rate "
        "changes within the recording; export it at one rate or split it where the rate changes",
        reason="rate",
    )
