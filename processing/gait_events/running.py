"""Initial contact and toe-off in running, from the flight phases of the vertical specific force.

Physics: in flight the pelvis is close to free fall, so the vertical specific force is near 0 (not exactly:
the sacrum moves against the centre of mass as the legs swing, and the clip rocks on the waistband); during
contact it is the vertical ground reaction force over body mass, a hump of 2-3 g (a half-sine in the
spring-mass model, Morin et al. 2005, J Appl Biomech 21:167), with an impact transient at IC for heel
strikers. A contact is a stretch above `contact_level` with a flight (below `flight_level`) before or after
it.

Timing with sub-sample precision: the force switches on at IC and off at TO, so the vertical specific force
bends upward sharply at both instants (at IC its slope jumps up as the force starts; at TO its falling slope
stops as the force ends). Slow body motion in flight bends it too, but smoothly. So IC is the first strong
upward bend (a local maximum of the second difference reaching `_FIRST_BEND_FRACTION` of the largest, located
between samples with a parabola) on the way up, not the largest: a heel-strike transient and the jolt of the
pelvis it sets off can bend the rise more sharply a few samples after the contact. It is searched after the
middle of the preceding flight (between the half-height crossings of the two contacts around it) and before
the half-height crossing of the rising edge; TO is the largest upward bend on the way down, between the
falling half-height crossing and the middle of the following flight. The middle of a flight separates its two
bends (its lowest point does not: the sacrum's own motion in flight can put that at either end). Next to
walking, where there is no flight on one side, the lowest point bounds the search instead. Sample picking
would be off by up to one sample (19 ms at 52 Hz); on a half-sine sampled at 52 Hz the bend is within 4 ms of
the true onset.

Deviation from threshold-only running detectors (a 1 g or 0.5 g crossing): those report the instant the force
exceeds a level, tens of ms after the true contact and dependent on the force's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.gait_events.signals import falling_crossing, rising_crossing

__all__ = ["RunningContacts", "running_contacts", "second_difference", "upward_bend"]

FloatArray = npt.NDArray[np.float64]

# The half-height of a hump is read over the middle of the contact, where the active peak is and the impact
# transient is not (the transient sits in the first ~15 % of contact).
_PEAK_WINDOW_FRACTION = (0.3, 0.7)
# On the way up, the contact's bend is the first one reaching this fraction of the strongest (as in walking).
_FIRST_BEND_FRACTION = 0.3


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
    return _refine(d2, a + int(np.argmax(d2[a : b + 1])))


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
    peaks = np.flatnonzero(strong & (inner >= seg[:-2]) & (inner >= seg[2:]))
    i = int(peaks[0]) if peaks.size else int(np.argmax(inner))
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
) -> RunningContacts:
    """Contacts of a running gait in a vertical specific force (m/s^2, gravity included, lightly low-passed).

    A contact is a stretch above `contact_level_mps2` lasting `min_contact_s` to `max_contact_s` at that
    level, with a flight (a dip below `flight_level_mps2`) within `max_flight_search_s` before or after it:
    that is what makes it running and not walking. IC and TO are the strongest upward bends on its two
    edges, searched up to the middle of the flights around it (see the module docstring).
    """
    v = vertical_mps2
    n = v.shape[0]
    fs = sampling_rate_hz
    above = v > contact_level_mps2
    if n < 3 or not above.any():
        return RunningContacts(np.empty(0), np.empty(0))
    edges = np.diff(above.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    stops = np.flatnonzero(edges == -1) + 1
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
    # pass 1: which stretches are running contacts, their half-height crossings and the lowest points around
    rise = np.full(k, np.nan)
    fall = np.full(k, np.nan)
    low_before = np.zeros(k, dtype=np.int64)
    low_after = np.zeros(k, dtype=np.int64)
    for j in range(k):
        a, b = int(starts[j]), int(stops[j])
        lo = max(a - search, int(gap_lo[j]))
        hi = min(b + search, int(gap_hi[j + 1]))
        if not (min_contact_s <= (b - a) / fs <= max_contact_s):
            continue
        if not (flight[lo:a].any() or flight[b:hi].any()):
            continue
        mid_lo = a + int(_PEAK_WINDOW_FRACTION[0] * (b - a))
        mid_hi = max(mid_lo + 1, a + int(np.ceil(_PEAK_WINDOW_FRACTION[1] * (b - a))))
        peak_idx = mid_lo + int(np.argmax(v[mid_lo:mid_hi]))
        top = float(v[mid_lo:mid_hi].mean())
        low_before[j] = lo + int(np.argmin(v[lo:a])) if a > lo else a
        low_after[j] = b + int(np.argmin(v[b:hi])) if hi > b else b - 1
        rise[j] = rising_crossing(v, 0.5 * (top + float(v[low_before[j]])), int(low_before[j]), peak_idx)
        fall[j] = falling_crossing(v, 0.5 * (top + float(v[low_after[j]])), peak_idx, int(low_after[j]))
    valid = np.isfinite(rise) & np.isfinite(fall)
    d2 = second_difference(v)
    # pass 2: a flight between two contacts holds two bends, the toe-off near its start and the contact near
    # its end; the middle between the two half-height crossings separates them (the lowest point does not:
    # the sacrum's own motion in flight can put it at either end). Next to walking, the lowest point bounds
    # the search, and the contact search starts after it (at low rates the sample after a toe-off is both).
    ic = np.full(k, np.nan)
    to = np.full(k, np.nan)
    for j in (int(x) for x in np.flatnonzero(valid)):
        prev_ok = j > 0 and bool(valid[j - 1]) and int(starts[j]) - int(stops[j - 1]) <= search
        next_ok = j + 1 < k and bool(valid[j + 1]) and int(starts[j + 1]) - int(stops[j]) <= search
        ic_lo = 0.5 * (fall[j - 1] + rise[j]) if prev_ok else float(low_before[j] + 1)
        to_hi = 0.5 * (fall[j] + rise[j + 1]) if next_ok else float(low_after[j])
        ic[j] = first_upward_bend(d2, ic_lo, rise[j], fraction=_FIRST_BEND_FRACTION)
        to[j] = upward_bend(d2, fall[j], to_hi)
    keep = np.isfinite(ic) & np.isfinite(to) & (to > ic)
    return RunningContacts(ic[keep], to[keep])
