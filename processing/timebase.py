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
3. Within a segment, the residual `stamp - period * row` of the batch ends steps up by one period per
   lost sample. Its level changes are found by binary segmentation (least squares, a penalty in the manner
   of the Bayesian information criterion scaled to the stamps' own noise); each stretch between two changes
   gets its level (a median), and the samples lost before a stretch are its level above one reference
   fitted to all stretches, rounded to whole samples (to whole batches when the stamps come in batches of
   one size: packets are lost whole). Changes that come out at zero, or below their noise, are dropped.
4. The period: the slopes within the stretches (least squares, each stretch its own offset, so a step
   miscounted does not bias it), alternating with step 3 until the count settles, from a few starting
   periods (the mode of long-baseline slopes, the nominal rate). Then one period and an offset per
   segment by least squares over the batch ends (once more without residuals beyond `OUTLIER_SIGMAS`
   robust standard deviations), alternating with step 3 at its period until both settle; the start
   whose fit scatters least wins. Each offset then moves down to the lower envelope of its segment's
   stamps (their `ARRIVAL_QUANTILE` quantile around the fit): a packet never arrives before its last
   sample was taken, so the delays are one-sided and the earliest arrivals carry the clock. The times
   then sit at the true instants plus the minimum delay, not plus the mean delay (several milliseconds,
   enough to move every contact the events report); the period is unaffected (a delay that does not
   drift tilts no slope).
5. Every row gets the time `offset + period * k`: the samples land on a constant grid at the estimated rate,
   their values unchanged (no interpolation is needed, since they were taken on that grid); lost samples
   are holes of whole periods on it, left to the pipeline's one gap policy (`processing.pipeline.gaps`)
   that bridges the short ones and splits at long ones.

A recording already on a constant grid (our own contract CSVs, the simulator's output, possibly with holes
of whole lost packets) passes through unchanged, the same arrays, so its results do not move.

What cannot be repaired raises `InvalidSamplesError`: time that runs back by more than `MAX_BACKWARD_S`
(two recordings joined, a clock reset), stamps that scatter around any constant rate by more than
`MAX_STAMP_SCATTER_S` or that would need more than `MAX_LOST_SHARE` of the samples lost, and a grid with
holes in more than `MAX_HOLE_SHARE` of its intervals (both: a rate that changes midway).

The estimate's accuracy on synthetic stamps: `benchmarks/bench_timebase.py` (docs/recordings.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.errors import InvalidSamplesError
from processing.samples import FloatArray, ImuSamples

__all__ = [
    "ARRIVAL_QUANTILE",
    "GRID_TOLERANCE_PERIODS",
    "MAX_BACKWARD_S",
    "MAX_HOLE_SHARE",
    "MAX_LOST_SHARE",
    "MAX_STAMP_SCATTER_S",
    "SEGMENT_BREAK_S",
    "RegularizedSamples",
    "TimebaseReport",
    "regularize",
]

IntArray = npt.NDArray[np.int64]

#: Stamps are on a constant grid already when every interval of one or two periods is within this share of
#: a period of a whole number of periods (longer intervals are gaps, the gap policy's). Stamps rounded to
#: microseconds or quantised to a sensor clock's ticks (30.5 us at 32,768 Hz, 0.6 % of a 208 Hz period)
#: stay within it; re-stamping them would move nothing that matters and break bit-identical results.
GRID_TOLERANCE_PERIODS = 0.02
#: A silence between two stamps longer than this starts a new segment with an offset of its own, s (the gap
#: policy splits any gap over 0.085 s, so nothing is lost by not counting the samples across it).
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
#: On a constant grid, at most this share of the intervals may skip samples: a link that loses one packet in
#: ten loses one interval in 80 at 8 samples a packet. More is a rate that changes (a stretch at half the
#: rate skips every other sample), not a constant rate with lost packets.
MAX_HOLE_SHARE = 0.1
#: The lower envelope of the stamps that sets each segment's offset: this quantile of the batch ends'
#: residuals (one-sided arrival delays). Not their minimum: a batch put one packet early by a miscounted
#: loss would set that. For exponential delays with mean m it lies 0.02 m above the minimum delay.
ARRIVAL_QUANTILE = 0.02
#: Residuals beyond this many robust standard deviations are left out of the second fit (late packets).
OUTLIER_SIGMAS = 4.0
#: Windows, s (as many batches as arrive in that time, at least `MIN_WINDOW`): the blocks whose medians
#: give the stamps' noise, and how far a step may move when placed; the longest stretch on either side of
#: a step that counts towards its standard error (lost packets come seconds apart at 1 to 2 % lost).
DETECT_WINDOW_S = 0.5
MEASURE_WINDOW_S = 4.0
MIN_WINDOW = 4
#: Steps closer than this are one step, s ...
MIN_STRETCH_S = 0.04
#: ... and a step must rise by this many standard errors of its two medians (noise alone rarely does).
MIN_STEP_SIGMAS = 4.0
#: Rows per long-baseline slope of the starting periods.
BASELINE_ROWS = (64, 128, 256)
#: Batches of one size ("packets are lost whole") when at least this share of the batches have it.
UNIFORM_BATCH_SHARE = 0.9
#: At most this many passes of counting the lost samples and fitting the period (they converge in 2 to 4).
MAX_PASSES = 8
#: A level change must lower the squared deviations by this many times noise variance * ln(batches) (a
#: penalty in the manner of the Bayesian information criterion, with a margin against heavy-tailed jitter).
CHANGE_PENALTY = 4.0


@dataclass(frozen=True, slots=True)
class TimebaseReport:
    """Every decision `regularize` took, counted (summary.json, `input_checks.timebase`).

    Attributes
    ----------
    nominal_rate_hz : float, Hz
        The rate the caller named, NaN if none.
    estimated_rate_hz : float, Hz
        The rate of the output grid: fitted from the stamps, or 1 / median interval on a constant grid.
    jitter_ms_p50, jitter_ms_p99 : float, ms
        Median and 99th percentile of |stamp - estimated time| around their median (on a constant grid: of
        the intervals' deviations from whole periods).
    samples : int
        Samples in and out: every row keeps its values, only its time moves.
    lost_samples_detected : int
        Holes of whole samples on the grid inside segments (left to the gap policy).
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
    samples: int
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
        short = whole <= 2
        off = np.abs(dt[short] - whole[short] * period_s)
        if np.all(whole >= 1) and np.all(off <= GRID_TOLERANCE_PERIODS * period_s):
            holes = int(np.count_nonzero(whole > 1))
            if holes > MAX_HOLE_SHARE * dt.shape[0]:
                first = int(np.argmax(whole > 1)) + 2
                raise InvalidSamplesError(
                    f"the sampling rate changes within the recording: {holes} of {dt.shape[0]} intervals "
                    f"skip samples of the {1.0 / period_s:.1f} Hz grid, the first at data row {first}; "
                    "export it at one rate or split it where the rate changes",
                    reason="rate",
                )
            report = TimebaseReport(
                nominal_rate_hz=nominal,
                estimated_rate_hz=1.0 / period_s,
                jitter_ms_p50=1e3 * float(np.percentile(off, 50)) if off.size else 0.0,
                jitter_ms_p99=1e3 * float(np.percentile(off, 99)) if off.size else 0.0,
                samples=n,
                gaps_split=0,
                gap_s_total=0.0,
                resampled=False,
                stamps_reordered_or_repeated=0,
            )
            return RegularizedSamples(ImuSamples(t_s, acc_mps2, gyr_dps), 1.0 / period_s, report)
    _check_backward(t)
    fit = _fit_grid(t, 1.0 / nominal if nominal > 0 else math.nan)
    samples = ImuSamples(fit.t_s, acc_mps2, gyr_dps)
    report = TimebaseReport(
        nominal_rate_hz=nominal,
        estimated_rate_hz=1.0 / fit.period_s,
        jitter_ms_p50=1e3 * float(np.percentile(fit.abs_residual_s, 50)),
        jitter_ms_p99=1e3 * float(np.percentile(fit.abs_residual_s, 99)),
        samples=n,
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


@dataclass(frozen=True, slots=True)
class _Windows:
    """The running-median windows of one segment, in batches, and the noise of a `detect`-batch median."""

    detect: int
    measure: int
    min_stretch: int
    block_noise_s: float
    row_noise_s: float


def _windows(r: FloatArray, duration_s: float) -> _Windows:
    n = r.shape[0]
    per_s = n / max(duration_s, 1e-9)
    detect = max(MIN_WINDOW, round(DETECT_WINDOW_S * per_s))
    # the spread of medians of consecutive blocks: stamps whose jitter is shared by a packet's rows (a
    # per-sample spread of one arrival) are as noisy as their packets, not as their rows
    blocks = np.median(r[: n - n % detect].reshape(-1, detect), axis=1) if n >= 2 * detect else r
    jumps = np.diff(blocks)
    noise = (
        1.4826 * float(np.median(np.abs(jumps - np.median(jumps)))) / math.sqrt(2.0) if jumps.size else 0.0
    )
    return _Windows(
        detect=detect,
        measure=max(MIN_WINDOW, round(MEASURE_WINDOW_S * per_s)),
        min_stretch=max(1, round(MIN_STRETCH_S * per_s)),
        block_noise_s=noise,
        row_noise_s=1.4826 * float(np.median(np.abs(np.diff(r) - np.median(np.diff(r))))) / math.sqrt(2.0),
    )


def _measure_steps(
    r: FloatArray, bounds: list[int], unit: float, quantum: int, win: _Windows
) -> list[tuple[int, int]]:
    """The steps at `bounds` with their sizes in samples (multiples of `quantum`), insignificant ones dropped.

    Each stretch between two steps has a level, the median of its residuals. The samples lost before a
    stretch are its level above a common reference, rounded, with the reference fitted to all stretches
    (weighted by their length): rounding each step on its own would add up the rounding errors of every
    short, noisy stretch along the segment. A step closer than `win.min_stretch` batches to the one before is
    merged into it (two lost packets a few batches apart read as one); a step whose rise is under
    `MIN_STEP_SIGMAS` standard errors of its two levels (over at most `win.measure` batches each) or that
    comes out at zero or below is dropped, and the rest measured again.
    """
    kept: list[int] = []
    for j in sorted(set(bounds)):
        if kept and j - kept[-1] < win.min_stretch:
            continue
        kept.append(j)
    while True:
        edges = np.array([0, *kept, r.shape[0]])
        levels = _stretch_medians(r, edges)
        weights = np.diff(edges).astype(np.float64)
        step = quantum * unit
        count = np.concatenate([[0.0], np.cumsum(np.rint(np.diff(levels) / step))])
        for _ in range(3):
            reference = _weighted_median(levels - step * count, weights)
            count = np.rint((levels - reference) / step)
        sizes = (quantum * np.diff(count)).astype(np.int64)
        n_used = np.minimum(weights, win.measure)
        se = win.block_noise_s * np.sqrt(win.detect / n_used[:-1] + win.detect / n_used[1:])
        significant = (np.diff(levels) > MIN_STEP_SIGMAS * se) & (sizes > 0)
        if significant.all():
            return _placed(r, [(j, int(z)) for j, z in zip(kept, sizes, strict=True)], unit, win, levels)
        kept = [j for j, ok in zip(kept, significant, strict=True) if ok]
        if not kept:
            return []


def _stretch_medians(r: FloatArray, edges: IntArray) -> FloatArray:
    """The median of r[edges[m] : edges[m + 1]] for every m (all at once: one sort)."""
    which = np.repeat(np.arange(edges.shape[0] - 1), np.diff(edges))
    ordered = r[np.lexsort((r, which))]
    n = np.diff(edges)
    return np.asarray(
        0.5 * (ordered[edges[:-1] + (n - 1) // 2] + ordered[edges[:-1] + n // 2]), dtype=np.float64
    )


def _change_points(e: FloatArray, penalty: float) -> list[int]:
    """Where the level of `e` changes (binary segmentation, least squares): the split of a stretch that
    lowers its squared deviations most, kept while it lowers them by more than `penalty`, then each half."""
    total = np.concatenate([[0.0], np.cumsum(e - np.median(e))])
    out: list[int] = []
    stack = [(0, e.shape[0])]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        k = np.arange(a + 1, b)
        s1 = total[k] - total[a]
        s2 = total[b] - total[k]
        gain = s1**2 / (k - a) + s2**2 / (b - k) - (s1 + s2) ** 2 / (b - a)
        j = int(np.argmax(gain))
        if gain[j] > penalty:
            cut = int(k[j])
            out.append(cut)
            stack += [(a, cut), (cut, b)]
    return sorted(out)


def _weighted_median(values: FloatArray, weights: FloatArray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][int(np.searchsorted(cum, 0.5 * cum[-1]))])


def _placed(
    r: FloatArray, steps: list[tuple[int, int]], unit: float, win: _Windows, levels: FloatArray
) -> list[tuple[int, int]]:
    """Each step moved, within `win.detect` batches and its neighbours, to where a step of its size fits the
    residuals best (least absolute deviations from the level before it, `levels[k]`)."""
    out: list[tuple[int, int]] = []
    for k, (j, size) in enumerate(steps):
        prev = out[-1][0] if out else 0
        lo = max(prev + 1, j - win.detect)
        hi = min(steps[k + 1][0] if k + 1 < len(steps) else r.shape[0], j + win.detect + 1)
        seg = r[lo:hi] - levels[k]
        gain = np.abs(seg - size * unit) - np.abs(seg)  # cost of counting batch i after the step
        after_cost = np.cumsum(gain[::-1])[::-1]  # step at lo + m: batches lo + m .. hi - 1 after it
        out.append((lo + int(np.argmin(after_cost)), size))
    return out


def _cumulative(steps: list[tuple[int, int]], n: int) -> FloatArray:
    """Samples lost before each of `n` batches, from (batch, size) steps."""
    jumps = np.zeros(n)
    if steps:
        where, size = zip(*steps, strict=True)
        np.add.at(jumps, np.asarray(where, dtype=np.int64), np.asarray(size, dtype=np.float64))
    return np.cumsum(jumps)


def _batches(t: FloatArray) -> tuple[IntArray, IntArray]:
    """Index of the last row of each run of rows sharing a stamp, and each row's batch number."""
    last = np.flatnonzero(np.concatenate([t[1:] != t[:-1], [True]])).astype(np.int64)
    batch_of = np.zeros(t.shape[0], dtype=np.int64)
    batch_of[last[:-1] + 1] = 1
    return last, np.cumsum(batch_of)


def _first_periods(y: FloatArray, x: FloatArray, nominal_period_s: float) -> list[float]:
    """Starting periods: the most common slope between batch ends `BASELINE_ROWS` rows apart, for each
    baseline (jitter averages out over many rows; the slopes over lost packets, all steeper, lie off the
    mode), and the nominal period if known."""
    out = [] if math.isnan(nominal_period_s) else [nominal_period_s]
    for rows in BASELINE_ROWS:
        period = _mode_slope(y, x, rows)
        if period > 0 and all(abs(period - p) > 1e-5 * p for p in out):
            out.append(period)
    if not out:
        raise InvalidSamplesError(
            "the time stamps do not advance: no sampling rate can be found; give t_s in seconds",
            reason="rate",
        )
    return out


def _mode_slope(y: FloatArray, x: FloatArray, rows: int) -> float:
    """The half-sample mode (Bickel and Fruehwirth 2006) of the slopes over about `rows` rows: a median
    would lean towards the slopes over lost packets, all on one side."""
    n = y.shape[0]
    h = max(1, min(n - 1, round(rows * (n - 1) / max(float(x[-1] - x[0]), 1.0))))
    slopes = np.sort((y[h:] - y[:-h]) / (x[h:] - x[:-h]))
    while slopes.shape[0] > 3:
        half = (slopes.shape[0] + 1) // 2
        widths = slopes[half - 1 :] - slopes[: slopes.shape[0] - half + 1]
        start = int(np.argmin(widths))
        slopes = slopes[start : start + half]
    return float(np.median(slopes))


def _count_lost(
    y: FloatArray, x: FloatArray, starts: IntArray, segment_of: IntArray, period: float, quantum: int
) -> FloatArray:
    """Samples lost before each batch, with the period refined in turn from the slopes within the stretches
    between steps (least squares, each stretch its own offset: a step measured a sample off does not bias
    it as it would a fit over the whole segment), until the count settles."""
    lost = _lost_samples(y, x, starts, period, quantum)
    for _ in range(MAX_PASSES):
        cut = (np.diff(lost) != 0) | (np.diff(segment_of) != 0)
        period = _least_squares(y, x, np.cumsum(np.concatenate([[0], cut])))[0]
        previous, lost = lost, _lost_samples(y, x, starts, period, quantum)
        if np.array_equal(previous, lost):
            break
    return lost


def _settled(
    y: FloatArray, x: FloatArray, starts: IntArray, segment_of: IntArray, start: float, quantum: int
) -> tuple[float, float, FloatArray, FloatArray, FloatArray]:
    """Lost samples counted from one starting period (`_count_lost`), then the least-squares fit and the
    count in turn until both settle (the stretches' slopes are noisy where the jitter is large against the
    period; the fit over every batch end is not, once the count is right). Returns the fit's robust
    scatter, period, offsets, residuals and the count."""
    lost = _count_lost(y, x, starts, segment_of, start, quantum)
    period, offsets, residual = _least_squares(y, x + lost, segment_of)
    for _ in range(MAX_PASSES):
        recount = _lost_samples(y, x, starts, period, quantum)
        if np.array_equal(recount, lost):
            break
        lost = recount
        period, offsets, residual = _least_squares(y, x + lost, segment_of)
    scatter = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    return scatter, period, offsets, residual, lost


def _fit_grid(t: FloatArray, nominal_period_s: float) -> _Fit:
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
    # Several starting periods (the rows' mode slope over a few baselines, the nominal rate): counting the
    # lost samples from a start too far off can settle on a wrong count, which shows as a wider scatter.
    best = min(
        (
            _settled(y, x, starts, segment_of, start, quantum)
            for start in _first_periods(y, x, nominal_period_s)
        ),
        key=lambda fit: fit[0],
    )
    scatter, period, offsets, residual, lost = best
    # the lower envelope: each segment's offset at the early edge of its residuals (one-sided delays)
    floor = np.array(
        [np.quantile(residual[segment_of == s], ARRIVAL_QUANTILE) for s in range(offsets.shape[0])]
    )
    offsets = offsets + floor
    k = np.arange(n, dtype=np.float64) + lost[batch_of]
    t_grid = offsets[segment_of[batch_of]] + period * k
    if np.any(np.diff(t_grid) <= 0):  # segments fitted apart that overlap: stamps no constant rate fits
        raise _no_rate(period, residual)
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
        if b - a < 2 * MIN_WINDOW:
            continue
        win = _windows(r, float(y[b - 1] - y[a]))
        # the variance per row that the medians of `detect` rows show: rows that share a packet's jitter
        # count as one (the median of k independent rows has pi / 2 times the variance of their mean)
        row_variance = win.block_noise_s**2 * win.detect / (0.5 * math.pi)
        penalty = CHANGE_PENALTY * max(row_variance, win.row_noise_s**2) * math.log(b - a)
        bounds = _change_points(r, penalty)
        lost[a:b] = _cumulative(_measure_steps(r, bounds, period, quantum, win), b - a)
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
