"""Initial contact and toe-off in running, from the flight phases of the vertical specific force.

Physics: in flight the pelvis is close to free fall, so the vertical specific force is near 0 (not exactly:
the sacrum moves against the centre of mass as the legs swing, and the clip rocks on the waistband); during
contact it is the vertical ground reaction force over body mass, a hump of 2-3 g (a half-sine in the
spring-mass model, Morin et al. 2005, J Appl Biomech 21:167), with an impact transient at IC for heel
strikers. A contact is a stretch above `contact_level` with a flight (below `flight_level`) before or after
it.

Timing with sub-sample precision: the force switches on at IC and off at TO, so the vertical specific force
bends upward sharply at both instants (at IC its slope jumps up as the force starts; at TO its falling slope
stops as the force ends). Slow body motion in flight bends it too, but smoothly. So the contact's bend is the
first strong upward bend (a local maximum of the second difference reaching `_FIRST_BEND_FRACTION` of the
largest, located between samples with a parabola) on the way up, not the largest: a heel-strike transient and
the jolt of the pelvis it sets off can bend the rise more sharply a few samples after the contact. IC is that
bend's foot, not its peak: what carries the force to the sensor (the leg for the heel-strike transient, the
soft tissue and the strap under the clip, a resonance at 14-22 Hz) is causal and spreads the curvature after
the onset only, which puts the peak 6-11 ms after the true IC on the simulator (median per scenario, 104-416
Hz; 14 ms with a loose 14 Hz clip). The foot is found with the tangent (maximum-slope) onset method of
force-plate and EMG timing: the curvature's rise, from where it last climbs through `_BEND_FOOT_FRACTION` of
the peak up to the peak, is continued straight down from its steepest segment to zero curvature (a level
crossing on the rise reads a slow, causally spread rise late, by the time it takes to reach the level: 11 ms
with a loose clip). The detector's own processing (low-pass, second difference) is symmetric and spreads
curvature ahead of the onset too, so the foot leads; a bare corner's lead at the same phase is the most it
can be, and a sharp corner keeps its IC at the peak at every rate (52-416 Hz). A rise the body has already
spread causally is moved less (a symmetric kernel leaves a straight rise where it is): giving it the whole
bare-corner lead put the loose clip's IC 10 ms late. So the share of that lead a contact gets is measured on
its own signal: processed a little wider, its foot moves earlier by that share of what a bare corner's does
(`bend_feet`). Loose clip median IC error 10.2 -> 7.5 ms at 104 Hz, every scenario better or equal.
The bend is searched after the middle of the preceding
flight (between the half-height crossings of the two contacts around it) and before the half-height crossing
of the rising edge; TO is the largest upward bend on the way down, between the falling half-height crossing
and the middle of the following flight (toe-off has no transient, and its bend's peak was already within 2 ms
of the truth). The middle of a flight separates its two bends (its lowest point does not: the sacrum's own
motion in flight can put that at either end). Next to walking, where there is no flight on one side, the
lowest point bounds the search instead. Sample picking would be off by up to one sample (19 ms at 52 Hz); on
a half-sine sampled at 52 Hz the bend is within 4 ms of the true onset.

Deviation from threshold-only running detectors (a 1 g or 0.5 g crossing): those report the instant the force
exceeds a level, tens of ms after the true contact and dependent on the force's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from processing.gait_events.signals import lowpass

__all__ = [
    "RunningContacts",
    "bend_feet",
    "running_contacts",
    "second_difference",
    "upward_bend",
    "widened_second_difference",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# The half-height of a hump is read over the middle of the contact, where the active peak is and the impact
# transient is not (the transient sits in the first ~15 % of contact).
_PEAK_WINDOW_FRACTION = (0.3, 0.7)
# On the way up, the contact's bend is the first one reaching this fraction of the strongest (as in walking).
_FIRST_BEND_FRACTION = 0.3
# IC is the foot of that bend, not its peak: the rise of its curvature is read from where it last climbs
# through this fraction of the peak (as weak as a bend may be and still count) and continued down to zero
# from its steepest segment (`_bend_onsets`). The force switches on at the foot; what carries it to the
# sensor (the leg, soft tissue, a clip on its strap) is causal: it spreads the curvature later, not earlier.
_BEND_FOOT_FRACTION = _FIRST_BEND_FRACTION
# The detector's own processing (the zero-phase low-pass and the second difference of samples) spreads a bare
# corner's curvature both ways, so even a perfectly sharp corner has a foot 0.7 to 3 samples early; that much
# of a foot's lead is the most given back (`_corner_lead_table`: a ramp of this many samples, corners at
# this many phases over one sample period).
_CORNER_TABLE_SAMPLES = 256
_CORNER_TABLE_PHASES = 20
# The share of that lead a contact's own signal gets (`bend_feet`) is measured per contact and read as the
# median over the contacts this close either side, s: what carries the force to the sensor (leg, tissue,
# strap) does not change from step to step, the noise on one bend does. Local, so a window still gives the
# batch contacts away from its edges.
_SHARE_NEIGHBOURHOOD_S = 1.0
# The share is measured on contacts at least this many samples long (half-height to half-height): the wider
# processing reaches 2 samples either side, and on a shorter contact the hump's own bending within that reach
# (a spring-mass half-sine) already shrinks the comparison; there the bare corner's lead is given back whole.
_SHARE_MIN_CONTACT_SAMPLES = 16


@dataclass(frozen=True, slots=True, eq=False)
class RunningContacts:
    """Contacts found by `running_contacts`, in fractional sample indices of the input.

    Attributes
    ----------
    ic_idx, to_idx : (k,) arrays
        Onset and end of each contact, in (fractional) samples.
    """

    ic_idx: FloatArray
    to_idx: FloatArray


def second_difference(v: FloatArray) -> FloatArray:
    """d2[i] = v[i+1] - 2 v[i] + v[i-1], 0 at both ends (same length as v)."""
    d2 = np.zeros_like(v)
    if v.shape[0] >= 3:
        d2[1:-1] = v[2:] - 2.0 * v[1:-1] + v[:-2]
    return d2


def _refine(d2: FloatArray, i: int) -> float:
    """Locate a second-difference peak at sample i between samples with a parabola through its neighbours."""
    if not 1 <= i <= d2.shape[0] - 2:
        return float(i)
    y0, y1, y2 = float(d2[i - 1]), float(d2[i]), float(d2[i + 1])
    curvature = y0 - 2.0 * y1 + y2
    if curvature >= 0:
        return float(i)
    return i + min(0.5, max(-0.5, 0.5 * (y0 - y2) / curvature))


def upward_bend(d2: FloatArray, lo: float, hi: float) -> float:
    """Fractional index of the largest second difference `d2` (see `second_difference`) in [lo, hi]; NaN if
    the range is empty."""
    a = max(1, int(np.ceil(lo)))
    b = min(d2.shape[0] - 2, int(np.floor(hi)))
    if b < a:
        return float("nan")
    return _refine(d2, a + int(d2[a : b + 1].argmax()))


def first_upward_bend(d2: FloatArray, lo: float, hi: float, *, fraction: float) -> float:
    """Fractional index of the first local maximum of `d2` in [lo, hi] that reaches `fraction` of the largest
    there; NaN if the range is empty.

    At a contact the force switches on first; whatever bends it upward later on the way up (the heel-strike
    transient and the pelvis jolt it sets off) is part of the contact, however sharp.
    """
    a = max(1, int(np.ceil(lo)))
    b = min(d2.shape[0] - 2, int(np.floor(hi)))
    if b < a:
        return float("nan")
    seg = d2[a - 1 : b + 2]
    inner = seg[1:-1]
    strong = inner >= fraction * float(inner.max())
    peaks = (strong & (inner >= seg[:-2]) & (inner >= seg[2:])).nonzero()[0]
    i = int(peaks[0]) if peaks.size else int(inner.argmax())
    return _refine(d2, a + i)


def running_contacts(
    vertical_mps2: FloatArray,
    sampling_rate_hz: float,
    *,
    contact_level_mps2: float,
    flight_level_mps2: float,
    min_contact_s: float,
    max_contact_s: float,
    max_flight_search_s: float,
    lowpass_hz: float,
) -> RunningContacts:
    """Contacts of a running gait in a vertical specific force (m/s^2, gravity included, lightly low-passed).

    A contact is a stretch above `contact_level_mps2` lasting `min_contact_s` to `max_contact_s` at that
    level, with a flight (a dip below `flight_level_mps2`) within `max_flight_search_s` before or after it:
    that is what makes it running and not walking. IC is the foot of the first strong upward bend on the way
    up, TO the strongest upward bend on the way down, searched up to the middle of the flights around it (see
    the module docstring). `lowpass_hz` is the cutoff the input was low-passed with (`signals.lowpass`): the
    foot is corrected for the lead that filter gives a bare corner.
    """
    v = vertical_mps2
    n = v.shape[0]
    fs = sampling_rate_hz
    above = v > contact_level_mps2
    if n < 3 or not above.any():
        return RunningContacts(np.empty(0), np.empty(0))
    edges = np.diff(above.astype(np.int8))
    starts = (edges == 1).nonzero()[0] + 1
    stops = (edges == -1).nonzero()[0] + 1
    # keep only complete stretches; one already under way at the start (standing, walking) still bounds the
    # search for the flight before the first complete one
    first_lo = 0
    if stops.size and (not starts.size or stops[0] <= starts[0]):
        first_lo = int(stops[0])
        stops = stops[1:]
    k = min(starts.size, stops.size)
    starts, stops = starts[:k], stops[:k]
    search = max(1, round(max_flight_search_s * fs))
    flight = v < flight_level_mps2
    gap_lo = np.concatenate([[first_lo], stops])
    gap_hi = np.concatenate([starts, [n]])
    # Every contact at once (the same arithmetic per contact as a loop would do, so the same numbers): ranges
    # of different lengths are gathered into padded rows, which argmin/argmax/any read row by row.
    # pass 1: which stretches are running contacts, their half-height crossings and the lowest points around
    lo_all = np.maximum(starts - search, gap_lo[:k])
    hi_all = np.minimum(stops + search, gap_hi[1:])
    duration_s = (stops - starts) / fs
    flights = np.concatenate([[0], flight.cumsum(dtype=np.int64)])  # exact counts of flight samples
    has_flight = (flights[starts] - flights[lo_all] > 0) | (flights[hi_all] - flights[stops] > 0)
    sel = ((min_contact_s <= duration_s) & (duration_s <= max_contact_s) & has_flight).nonzero()[0]
    a, b, lo, hi = starts[sel], stops[sel], lo_all[sel], hi_all[sel]
    mid_lo = a + (_PEAK_WINDOW_FRACTION[0] * (b - a)).astype(np.int64)
    mid_hi = np.maximum(mid_lo + 1, a + np.ceil(_PEAK_WINDOW_FRACTION[1] * (b - a)).astype(np.int64))
    peak_idx = mid_lo + _row_argmax(*_gather(v, mid_lo, mid_hi, -np.inf))
    top = _segment_means(v, mid_lo, mid_hi)
    low_before = np.where(a > lo, lo + _row_argmin(*_gather(v, lo, a, np.inf)), a)
    low_after = np.where(hi > b, b + _row_argmin(*_gather(v, b, hi, np.inf)), b - 1)
    rise = np.full(k, np.nan)
    fall = np.full(k, np.nan)
    rise[sel] = _rising_crossings(v, 0.5 * (top + v[low_before]), low_before, peak_idx)
    fall[sel] = _falling_crossings(v, 0.5 * (top + v[low_after]), peak_idx, low_after)
    low_before_all = np.zeros(k, dtype=np.int64)
    low_after_all = np.zeros(k, dtype=np.int64)
    low_before_all[sel], low_after_all[sel] = low_before, low_after
    valid = np.isfinite(rise) & np.isfinite(fall)
    d2 = second_difference(v)
    # pass 2: a flight between two contacts holds two bends, the toe-off near its start and the contact near
    # its end; the middle between the two half-height crossings separates them (the lowest point does not:
    # the sacrum's own motion in flight can put it at either end). Next to walking, the lowest point bounds
    # the search, and the contact search starts after it (at low rates the sample after a toe-off is both).
    gap = starts[1:] - stops[:-1]
    prev_ok = np.concatenate([[False], valid[:-1] & (gap <= search)]) & valid
    next_ok = np.concatenate([valid[1:] & (gap <= search), [False]]) & valid
    fall_prev = np.concatenate([[np.nan], fall[:-1]])
    rise_next = np.concatenate([rise[1:], [np.nan]])
    ic_lo = np.where(prev_ok, 0.5 * (fall_prev + rise), low_before_all + 1.0)
    to_hi = np.where(next_ok, 0.5 * (fall + rise_next), low_after_all.astype(np.float64))
    ic = np.full(k, np.nan)
    to = np.full(k, np.nan)
    which = valid.nonzero()[0]
    to[which] = _upward_bends(d2, fall[which], to_hi[which])
    # A short flight after a soft toe-off (uphill) puts the toe-off's bend past the middle of the flight: the
    # contact's bend is searched only once the toe-off's has died down (`_bend_ends`).
    to_before = np.concatenate([[np.nan], to[:-1]])
    settled = np.full(k, np.nan)
    settled[which] = _bend_ends(d2, np.where(prev_ok, to_before, np.nan)[which], rise[which])
    later = np.isfinite(settled) & (settled > ic_lo) & (settled < rise)
    ic_lo = np.where(later, settled, ic_lo)
    bend = _first_upward_bends(d2, ic_lo[which], rise[which], fraction=_FIRST_BEND_FRACTION)
    ic[which] = bend_feet(
        d2,
        ic_lo[which],
        bend,
        lowpass_hz=lowpass_hz,
        sampling_rate_hz=fs,
        contact_samples=fall[which] - rise[which],
    )
    keep = np.isfinite(ic) & np.isfinite(to) & (to > ic)
    return RunningContacts(ic[keep], to[keep])


# -- vectorised forms of the per-contact helpers above (same arithmetic, all contacts of a window at once) --


def _gather(
    x: FloatArray, lo: IntArray, hi: IntArray, fill: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Rows x[lo[j]:hi[j]] padded with `fill` to the longest, and which entries are real."""
    length = np.maximum(hi - lo, 0)
    width = int(length.max()) if length.size else 0
    offsets = np.arange(width)
    real = offsets < length[:, np.newaxis]
    # mode="clip" reads x[n - 1] past the end (lo >= 0 at every caller); those entries are not real
    return np.where(real, x.take(lo[:, np.newaxis] + offsets, mode="clip"), fill), real


def _row_argmax(rows: npt.NDArray[np.float64 | np.bool_], real: npt.NDArray[np.bool_]) -> IntArray:
    """First position of each row's maximum (0 for an empty row: callers only read non-empty ones)."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    return rows.argmax(axis=1).astype(np.int64)


def _row_argmin(rows: FloatArray, real: npt.NDArray[np.bool_]) -> IntArray:
    """First position of each row's minimum (0 for an empty row: callers only read non-empty ones)."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    return rows.argmin(axis=1).astype(np.int64)


def _segment_means(x: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """Mean of x[lo[j]:hi[j]] (non-empty) for each j, with the bits of `x[lo:hi].mean()`: rows of one length
    are summed together, along the contiguous axis, which numpy sums pairwise exactly as a 1-D slice."""
    out = np.empty(lo.shape[0])
    length = hi - lo
    for m in np.unique(length).tolist():
        rows = (length == m).nonzero()[0]
        segments = x[lo[rows][:, np.newaxis] + np.arange(m)]
        out[rows] = np.add.reduce(segments, axis=1) / m
    return out


def _interp_indices(x: FloatArray, i: IntArray, level: FloatArray) -> FloatArray:
    """`signals._interp_index` for many (i, level) pairs."""
    d0 = x[i] - level
    d1 = x[i + 1] - level
    same = d1 == d0
    return np.where(same, i.astype(np.float64), i + d0 / np.where(same, 1.0, d0 - d1))


def _rising_crossings(x: FloatArray, level: FloatArray, start: IntArray, stop: IntArray) -> FloatArray:
    """`signals.rising_crossing` per row: the last sample below the level in [start, stop], not stop."""
    n = x.shape[0]
    s = np.maximum(start, 0)
    e = np.minimum(stop, n - 1)
    rows, real = _gather(x, s, e + 1, np.inf)
    below = (rows < level[:, np.newaxis]) & real
    found = below.any(axis=1)
    last = s + (rows.shape[1] - 1 - _row_argmax(below[:, ::-1], real))
    ok = found & (last < e)
    i = np.where(ok, last, 0)
    return np.where(ok, _interp_indices(x, np.minimum(i, n - 2), level), np.nan)


def _falling_crossings(x: FloatArray, level: FloatArray, start: IntArray, stop: IntArray) -> FloatArray:
    """`signals.falling_crossing` per row: the first sample below the level in [start, stop], not start."""
    n = x.shape[0]
    s = np.maximum(start, 0)
    e = np.minimum(stop, n - 1)
    rows, real = _gather(x, s, e + 1, np.inf)
    below = (rows < level[:, np.newaxis]) & real
    first = s + _row_argmax(below, real)
    ok = below.any(axis=1) & (first > s)
    i = np.where(ok, first, 1)
    return np.where(ok, _interp_indices(x, i - 1, level), np.nan)


def _bend_ranges(d2: FloatArray, lo: FloatArray, hi: FloatArray) -> tuple[IntArray, IntArray]:
    a = np.maximum(1, np.ceil(lo)).astype(np.int64)
    b = np.minimum(d2.shape[0] - 2, np.floor(hi)).astype(np.int64)
    return a, b


def _refine_many(d2: FloatArray, i: IntArray) -> FloatArray:
    """`_refine` for indices 1 <= i <= len - 2."""
    y0, y1, y2 = d2[i - 1], d2[i], d2[i + 1]
    curvature = y0 - 2.0 * y1 + y2
    bent = curvature < 0
    shift = np.minimum(0.5, np.maximum(-0.5, 0.5 * (y0 - y2) / np.where(bent, curvature, -1.0)))
    return np.where(bent, i + shift, i.astype(np.float64))


def _upward_bends(d2: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """`upward_bend` per (lo, hi) pair."""
    a, b = _bend_ranges(d2, lo, hi)
    empty = b < a
    rows, real = _gather(d2, a, b + 1, -np.inf)
    i = np.where(empty, 1, a + _row_argmax(rows, real))
    return np.where(empty, np.nan, _refine_many(d2, i))


def _first_upward_bends(d2: FloatArray, lo: FloatArray, hi: FloatArray, *, fraction: float) -> FloatArray:
    """`first_upward_bend` per (lo, hi) pair."""
    a, b = _bend_ranges(d2, lo, hi)
    empty = b < a
    # one gather of each range with a sample either side: its left and right neighbours are shifted views
    around, _ = _gather(d2, a - 1, b + 2, -np.inf)
    width = around.shape[1] - 2
    if width <= 0:
        return np.full(a.shape[0], np.nan)
    real = np.arange(width) < (b + 1 - a)[:, np.newaxis]
    rows = np.where(real, around[:, 1:-1], -np.inf)
    left, right = around[:, :-2], around[:, 2:]  # read only where real
    strong = rows >= fraction * rows.max(axis=1)[:, np.newaxis]
    peaks = strong & (rows >= left) & (rows >= right) & real
    pos = np.where(peaks.any(axis=1), peaks.argmax(axis=1), rows.argmax(axis=1))
    i = np.where(empty, 1, a + pos)
    return np.where(empty, np.nan, _refine_many(d2, i))


def _bend_ends(d2: FloatArray, peak: FloatArray, hi: FloatArray) -> FloatArray:
    """Where each upward bend of `d2` peaking at `peak` (fractional) has died down: the first sample after the
    peak, up to `hi`, where `d2` is below `_BEND_FOOT_FRACTION` of the peak (the level its foot is read at:
    a bend is that strong from its foot to its end). NaN where `peak` is NaN or it does not die down by `hi`.
    """
    out = np.full(peak.shape[0], np.nan)
    ok = (np.isfinite(peak) & np.isfinite(hi)).nonzero()[0]
    if ok.size == 0:
        return out
    n = d2.shape[0]
    i = np.minimum(np.maximum(peak[ok].round().astype(np.int64), 1), n - 2)
    level = _BEND_FOOT_FRACTION * d2[i]
    e = np.maximum(np.minimum(np.floor(hi[ok]).astype(np.int64), n - 1), i)
    rows, real = _gather(d2, i, e + 1, np.inf)
    below = (rows < level[:, np.newaxis]) & real
    found = below.any(axis=1) & (d2[i] > 0)
    out[ok] = np.where(found, i + _row_argmax(below, real), np.nan)
    return out


def _bend_onsets(d2: FloatArray, lo: FloatArray, bend: FloatArray) -> FloatArray:
    """The onset of each upward bend of the second difference `d2` at `bend` (fractional) by the tangent
    method: walking back from the peak but not before `lo`, find where `d2` last rises through
    `_BEND_FOOT_FRACTION` of the peak; the steepest segment between there and the peak, continued straight,
    crosses zero curvature at the onset (not before `lo` - 1). NaN where `d2` does not come down to that
    level after `lo` (or `bend` is NaN)."""
    out = np.full(bend.shape[0], np.nan)
    ok = np.isfinite(bend).nonzero()[0]
    if ok.size == 0:
        return out
    n = d2.shape[0]
    i = np.minimum(np.maximum(bend[ok].round().astype(np.int64), 1), n - 2)
    level = _BEND_FOOT_FRACTION * np.maximum(np.maximum(d2[i - 1], d2[i]), d2[i + 1])
    a = np.minimum(np.maximum(1, np.ceil(lo[ok])).astype(np.int64), i)
    rows, real = _gather(d2, a, i + 1, np.inf)
    below = (rows < level[:, np.newaxis]) & real
    found = below.any(axis=1)
    k = a + (rows.shape[1] - 1 - _row_argmax(below[:, ::-1], real))
    k = np.minimum(k, i - 1)  # the sample nearest the peak is never below half of it
    # the steepest segment of the rise from there to the peak, continued straight down to zero curvature
    seg, seg_real = _gather(d2, k, i + 1, np.nan)
    steps = np.where(seg_real[:, 1:], seg[:, 1:] - seg[:, :-1], -np.inf)
    j = k + steps.argmax(axis=1)
    step = d2[j + 1] - d2[j]
    good = found & (step > 0)
    out[ok] = np.where(good, np.maximum(j - d2[j] / np.where(good, step, 1.0), a - 1.0), np.nan)
    return out


def widened_second_difference(d2: FloatArray) -> FloatArray:
    """The second difference over two samples, (v[i+2] - 2 v[i] + v[i-2]) / 4, from `d2` (the one-sample
    `second_difference`): `d2` smoothed with [1, 2, 1] / 4, the same symmetric processing, wider. 0 at both
    ends."""
    out = np.zeros_like(d2)
    if d2.shape[0] >= 3:
        out[1:-1] = 0.25 * d2[:-2] + 0.5 * d2[1:-1] + 0.25 * d2[2:]
    return out


@lru_cache(maxsize=64)
def _corner_lead_table(
    lowpass_hz: float, sampling_rate_hz: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(phase of the bend's peak from the nearest sample, lead of its `_bend_onsets` onset over it, how much
    earlier the onset of the `widened_second_difference` is), samples, for a bare corner (flat, then a
    straight rise) sampled at `sampling_rate_hz` and put through the detector's own low-pass
    (`signals.lowpass` at `lowpass_hz`) and second difference, at corners spread over one sample period.
    That lead comes from the processing, not from the signal."""
    n = _CORNER_TABLE_SAMPLES
    centre = n // 2
    lo = np.array([centre - n // 4], dtype=np.float64)
    phases: list[float] = []
    leads: list[float] = []
    widening: list[float] = []
    for offset in np.linspace(-0.5, 0.5, _CORNER_TABLE_PHASES, endpoint=False).tolist():
        ramp = np.maximum(0.0, np.arange(n) - (centre + offset))
        d2 = second_difference(lowpass(ramp, lowpass_hz, sampling_rate_hz))
        peak = upward_bend(d2, centre - 3, centre + 3)
        foot = float(_bend_onsets(d2, lo, np.array([peak]))[0])
        wide = widened_second_difference(d2)
        wide_foot = float(
            _bend_onsets(wide, lo, _upward_bends(wide, np.array([peak - 2]), np.array([peak + 2])))[0]
        )
        phases.append(peak - round(peak))
        leads.append(peak - foot)
        widening.append(foot - wide_foot)
    order = np.argsort(phases)
    return np.asarray(phases)[order], np.asarray(leads)[order], np.asarray(widening)[order]


@lru_cache(maxsize=64)
def _periodic_corner_lead_table(
    lowpass_hz: float, sampling_rate_hz: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """`_corner_lead_table` as `np.interp(..., period=1.0)` extends it on every call (phases modulo 1,
    sorted, one point wrapped around at each end), built once."""
    phases, leads, widening = _corner_lead_table(lowpass_hz, sampling_rate_hz)
    xp = phases % 1.0
    order = np.argsort(xp)
    xp, fp, fw = xp[order], leads[order], widening[order]
    return (
        np.concatenate((xp[-1:] - 1.0, xp, xp[0:1] + 1.0)),
        np.concatenate((fp[-1:], fp, fp[0:1])),
        np.concatenate((fw[-1:], fw, fw[0:1])),
    )


def _local_medians(at: FloatArray, values: FloatArray, half_width: float) -> FloatArray:
    """For each position in `at`, the median of the finite `values` at positions within `half_width` of it
    (1 where there are none)."""
    near = np.abs(at[:, np.newaxis] - at[np.newaxis, :]) <= half_width
    rows = np.sort(np.where(near & np.isfinite(values)[np.newaxis, :], values[np.newaxis, :], np.nan), axis=1)
    count = np.count_nonzero(np.isfinite(rows), axis=1)
    idx = np.arange(rows.shape[0])
    lo, hi = np.maximum(count - 1, 0) // 2, np.maximum(count, 1) // 2
    return np.where(count > 0, 0.5 * (rows[idx, lo] + rows[idx, hi]), 1.0)


def bend_feet(
    d2: FloatArray,
    lo: FloatArray,
    bend: FloatArray,
    *,
    lowpass_hz: float,
    sampling_rate_hz: float,
    contact_samples: FloatArray | None = None,
) -> FloatArray:
    """IC at each upward bend: the bend's onset (`_bend_onsets`), less the lead the processing gives it;
    never after the bend's peak, and the peak itself where the foot cannot be read.

    The processing (low-pass, second difference) is symmetric and spreads curvature both ways, so an onset
    read from it leads the true one. A bare corner gets the most lead (`_corner_lead_table`); a corner the
    body has already spread causally (leg, soft tissue, a clip on its strap) gets less, since a symmetric
    kernel leaves a straight rise where it is. How much this bend gets is measured on the bend itself:
    processed a little wider (`widened_second_difference`), its onset moves earlier by a share of what a
    bare corner's does, and that share of the bare corner's lead is given back (all of it for a bare corner,
    none for a rise the wider processing does not move). The share is the median over the contacts within
    `_SHARE_NEIGHBOURHOOD_S` (the coupling does not change from step to step; the noise on one bend does),
    and 1 where it cannot be measured: no foot on the wider processing, or a contact shorter than
    `_SHARE_MIN_CONTACT_SAMPLES` (`contact_samples`, half-height to half-height; None: always measured).

    Parameters
    ----------
    d2 : (n,) array
        `second_difference` of the low-passed vertical specific force.
    lo, bend : (k,) arrays, samples
        Where each search for the foot may start, and the bends' peaks (fractional; NaN: none).
    lowpass_hz, sampling_rate_hz : float
        The low-pass the input went through, and its rate.
    contact_samples : (k,) array or None, samples
    """
    foot = _bend_onsets(d2, lo, bend)
    phase_table, lead_table, widening_table = _periodic_corner_lead_table(lowpass_hz, sampling_rate_hz)
    phase = bend - bend.round()
    if not np.isfinite(phase).all():
        phase = np.nan_to_num(phase)
    # np.interp(phase, ..., period=1.0) with its periodic table built once
    own = np.interp(phase % 1.0, phase_table, lead_table)
    bare_widening = np.interp(phase % 1.0, phase_table, widening_table)
    share = np.ones(bend.shape[0])
    ok = np.isfinite(foot).nonzero()[0]
    if ok.size:
        wide = widened_second_difference(d2)
        wide_bend = _upward_bends(wide, bend[ok] - 2.0, bend[ok] + 2.0)
        wide_foot = _bend_onsets(wide, lo[ok], wide_bend)
        measured = np.clip((foot[ok] - wide_foot) / bare_widening[ok], 0.0, 1.0)
        if contact_samples is not None:
            measured[~(contact_samples[ok] >= _SHARE_MIN_CONTACT_SAMPLES)] = np.nan
        share[ok] = _local_medians(bend[ok], measured, _SHARE_NEIGHBOURHOOD_S * sampling_rate_hz)
    lead = np.maximum(bend - foot - own * share, 0.0)
    return np.where(np.isfinite(foot), bend - lead, bend)
