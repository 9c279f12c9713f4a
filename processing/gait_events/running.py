"""Initial contact and toe-off in running, from the flight phases of the vertical specific force.

Physics: in flight the pelvis is in free fall, so the vertical specific force is near 0; during contact it is
the
vertical ground reaction force over body mass, a smooth hump (well described by a half-sine: the spring-mass
model, Morin et al. 2005, J Appl Biomech 21:167) that carries 1 g on average over a step, plus an impact
transient
at IC for heel strikers. A contact is a stretch above `contact_level` between two flights.

Timing with sub-sample precision: the low part of each edge of the hump is nearly straight (a half-sine rises
linearly from its onset; sin x differs from x by 2 % at x = 0.2 pi), and a symmetric zero-phase filter (ours
and
the IMU's delay-compensated anti-aliasing filter) leaves a straight segment straight. So we take the two
crossings
of 20 % and 50 % of the hump height on each edge, interpolated between samples, and extend the line through
them
down to the flight baseline: that is the instant the force starts (IC) or ends (TO). For an ideal half-sine
the
bias is -0.005 contact times (about -1 ms); sample-picking would instead be off by up to one sample (19 ms at
52 Hz).

Deviation from threshold-only running detectors (e.g. a fixed 1 g crossing): those report the instant the
force
exceeds body weight, tens of ms after the true contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.gait_events.signals import falling_crossing, rising_crossing

__all__ = ["RunningContacts", "running_contacts"]

FloatArray = npt.NDArray[np.float64]

# Levels on each edge, as fractions of the hump height above the flight baseline (see module docstring).
_EDGE_LOW_FRACTION = 0.2
_EDGE_HIGH_FRACTION = 0.5
# The hump height is read over the middle of the contact, where the active peak is and the impact transient is
# not (the transient sits in the first ~15 % of contact).
_PEAK_WINDOW_FRACTION = (0.3, 0.7)


@dataclass(frozen=True, slots=True, eq=False)
class RunningContacts:
    """Contacts found by `running_contacts`, in fractional sample indices of the input.

    Attributes
    ----------
    ic_idx, to_idx : (k,) arrays
        Extrapolated onset and end of each contact, in (fractional) samples.
    """

    ic_idx: FloatArray
    to_idx: FloatArray


def _baseline(v: FloatArray, start: int, stop: int, default: float) -> float:
    """Flight level: the median of the flight samples (robust to the rounded corners of a filtered edge)."""
    if stop - start < 1:
        return default
    return float(np.median(v[start:stop]))


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

    A contact is a stretch above `contact_level_mps2` whose neighbourhood on both sides dips below
    `flight_level_mps2` within `max_flight_search_s` (a flight: this is what makes it running and not
    walking),
    lasting `min_contact_s` to `max_contact_s` at the contact level.
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
    # keep only complete stretches inside the input; a stretch already under way at the start (standing,
    # walking)
    # still bounds the search for the flight before the first complete one
    prev_stop = 0
    if stops.size and (not starts.size or stops[0] <= starts[0]):
        prev_stop = int(stops[0])
        stops = stops[1:]
    k = min(starts.size, stops.size)
    starts, stops = starts[:k], stops[:k]
    search = max(1, round(max_flight_search_s * fs))
    flight = v < flight_level_mps2
    ic: list[float] = []
    to: list[float] = []
    for j, (a_np, b_np) in enumerate(zip(starts, stops, strict=True)):
        a, b = int(a_np), int(b_np)
        duration_s = (b - a) / fs
        next_start = int(starts[j + 1]) if j + 1 < k else n
        lo = max(a - search, prev_stop)
        hi = min(b + search, next_start)
        prev_stop = int(b)
        if not (min_contact_s <= duration_s <= max_contact_s):
            continue
        if not (flight[lo:a].any() and flight[b:hi].any()):
            continue
        base_before = _baseline(v, lo, a, default=float(v[lo:a].min()))
        base_after = _baseline(v, b, hi, default=float(v[b:hi].min()))
        mid_lo = a + int(_PEAK_WINDOW_FRACTION[0] * (b - a))
        mid_hi = max(mid_lo + 1, a + int(np.ceil(_PEAK_WINDOW_FRACTION[1] * (b - a))))
        peak = float(np.median(v[mid_lo:mid_hi]))
        peak_idx = mid_lo + int(np.argmax(v[mid_lo:mid_hi]))
        t_ic = _edge_onset(v, lo, peak_idx, base_before, peak, int(a), rising=True)
        t_to = _edge_onset(v, peak_idx, hi - 1, base_after, peak, int(b), rising=False)
        if np.isnan(t_ic) or np.isnan(t_to):
            continue
        ic.append(t_ic)
        to.append(t_to)
    return RunningContacts(np.asarray(ic), np.asarray(to))


def _flight_line(v: FloatArray, lo: int, hi: int, ceiling: float, *, near_end: bool) -> tuple[float, float]:
    """Least-squares line (slope per sample, value at index 0) through the flight samples in [lo, hi) below
    `ceiling`, using the half of the flight next to the edge (`near_end`: the later half); flat at their
    median
    when fewer than 3 (a flight of one or two samples at 50 Hz)."""
    idx = lo + np.flatnonzero(v[lo:hi] < ceiling)
    if idx.size >= 6:
        idx = idx[idx.size // 2 :] if near_end else idx[: (idx.size + 1) // 2]
    if idx.size == 0:
        return 0.0, float(np.min(v[lo:hi])) if hi > lo else 0.0
    if idx.size < 3:
        return 0.0, float(np.median(v[idx]))
    slope, intercept = np.polyfit(idx.astype(np.float64), v[idx], 1)
    return float(slope), float(intercept)


def _edge_onset(
    v: FloatArray, lo: int, hi: int, base: float, peak: float, flight_hi: int, *, rising: bool
) -> float:
    """Where the straight low part of an edge, extended, meets the flight line (fractional sample index).

    The flight line is fitted to the flight samples next to the edge (`lo`..`flight_hi` before a rising edge,
    `flight_hi`..`hi` after a falling one): in flight the specific force is not exactly flat (the pelvis
    rotates
    and the sensor sits off its centre), so a median baseline would move the intersection by several ms.
    """
    height = peak - base
    if height <= 0:
        return float("nan")
    low = base + _EDGE_LOW_FRACTION * height
    high = base + _EDGE_HIGH_FRACTION * height
    if rising:
        t_high = rising_crossing(v, high, lo, hi)
        t_low = (
            rising_crossing(v, low, lo, int(np.floor(t_high)) + 1) if np.isfinite(t_high) else float("nan")
        )
        if not np.isfinite(t_low):
            return float("nan")
        f_slope, f_icpt = _flight_line(
            v, lo, min(flight_hi, int(np.floor(t_low)) + 1), base + 0.1 * height, near_end=True
        )
    else:
        t_high = falling_crossing(v, high, lo, hi)
        t_low = falling_crossing(v, low, int(np.floor(t_high)), hi) if np.isfinite(t_high) else float("nan")
        if not np.isfinite(t_low):
            return float("nan")
        f_slope, f_icpt = _flight_line(
            v, max(flight_hi, int(np.ceil(t_low))), hi + 1, base + 0.1 * height, near_end=False
        )
    # edge line: value = low + e_slope * (t - t_low); its meeting point with the flight line
    e_slope = (high - low) / (t_high - t_low)
    denominator = e_slope - f_slope
    if denominator == 0 or not np.isfinite(denominator):
        return float("nan")
    return float((f_icpt - low + e_slope * t_low) / denominator)
