"""`GaitEventDetector`: initial contacts, toe-offs and sides for running and walking in one recording.

Input is the levelled body frame (x forward, y left, z up along gravity), which the pipeline's alignment and
orientation produce. The rules are local in time (zero-phase filters, crossings, a contact and its
neighbours), so the detector needs no whole recording: the streaming pipeline runs it on overlapping windows
fixed to absolute sample indices and keeps the events away from the window edges (results there are affected
by filter padding within about `1 / walking_lowpass_hz` s of an edge). To keep sides consistent across windows
it can read `GaitEvents.side_score` (the local evidence, positive = left) and `GaitEvents.bout_id`.

How it decides, per contact:
1. Running (`running.py`): a hump of vertical specific force above `contact_level_mps2` between two flight
   phases (below `flight_level_mps2`); IC and TO at the sharp upward bends of the force where it switches on
   and off around each flight.
2. Walking (`walking.py`): every upward crossing of the low-passed vertical force through its trend (with
   hysteresis), plus the crossings of a narrower band that fill missed steps in the local rhythm (a gap of
   two to four local steps, near where they split it evenly, between feet that alternation allows), that
   is not part of a running contact, refined to the first sharp upward bend next to it (a landing from a
   run is extended from its rise out of the flight instead); TO at the bend that ends the next double
   support.
3. Contacts closer than `min_step_time_s` are merged (running contacts win), bouts are split where a step
   takes longer than `max_bout_step_s` (a pause, not a slow step) or at a gap, and the laterality assigner
   labels the sides.
"""

from __future__ import annotations

import copy

import numpy as np
import numpy.typing as npt

from processing.errors import InvalidSamplesError
from processing.gait_events.events import GaitEvents
from processing.gait_events.running import RunningContacts, running_contacts
from processing.gait_events.signals import lowpass, median, rising_crossing
from processing.gait_events.walking import (
    fill_rhythm_gaps,
    sharpest_loading_onset,
    skip_weight_shifts,
    walking_contacts,
    walking_toe_offs,
)
from processing.laterality.assign import AlternatingLaterality, parity_groups, side_scores
from processing.samples import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ, STANDARD_GRAVITY_MPS2

__all__ = ["GaitEventDetector", "bouts_from_step_times"]

FloatArray = npt.NDArray[np.float64]

# How far before a walking candidate a flight still makes it a landing from a run (about one flight plus the
# rise to 1 g), s.
_LANDING_SEARCH_S = 0.2


def bouts_from_step_times(ic_s: FloatArray, *, max_step_time_s: float) -> npt.NDArray[np.int64]:
    """Bout id per contact: a new bout starts after any step longer than `max_step_time_s`."""
    if ic_s.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    breaks = ic_s[1:] - ic_s[:-1] > max_step_time_s
    return np.concatenate([[0], breaks.cumsum()]).astype(np.int64)


class GaitEventDetector:
    """Detect initial contacts and toe-offs (running and walking) and assign left/right.

    Parameters
    ----------
    running_lowpass_hz : float
        Zero-phase low-pass applied before reading contact edges in running; clipped to 0.4 * fs. High enough
        to keep the edges steep, low enough to calm the impact transient's ringing.
    walking_lowpass_hz : float
        Low-pass of the vertical force for walking contacts: keeps the step frequency (up to 2.5 Hz in
        walking) and its first harmonic, removes heel-strike ringing.
    trend_cutoff_hz : float
        The slow trend that stands for 1 g in walking (absorbs accelerometer bias and imperfect levelling).
    hysteresis_mps2 : float
        Half-width of the Schmitt trigger band for walking contacts: rejects standing noise and tremor.
    weak_hysteresis_mps2 : float
        A narrower band whose contacts are kept only where they fill missed steps in the local rhythm (slow,
        shuffling and turning steps barely lift the force; see `walking.fill_rhythm_gaps`). 0.2 m/s^2 is
        the peak acceleration of a 5 mm vertical oscillation of the trunk at 1 Hz, (2 pi 1 Hz)^2 * 5 mm: a
        step shuffled on the spot still lifts and lowers the trunk by that much, while the noise and sway of
        quiet standing stay well below it (the rhythm gate keeps what remains in a pause out).
    kink_lowpass_hz : float
        Low-pass before reading the walking bends (second differences): keeps a contact's bend within a few
        ms, calms noise.
    kink_before_s, kink_after_s : float
        Where a walking contact's bend is searched around its mean-crossing (the crossing can precede the
        contact when the trailing foot's push-off lifts the force above 1 g first); `kink_before_s` also keeps
        the toe-off search clear of the next contact's own bend.
    first_step_search_s : float
        For the first walking contact after standing or a pause, how long after the mean-crossing its bend may
        come: starting to walk, the weight shifts onto the stance foot (anticipatory postural adjustments,
        a few hundred ms) before the swing foot lands, which lifts the force through 1 g early.
    contact_level_mps2, flight_level_mps2 : float
        Running: a contact rises above the first level; a flight falls below the second (free fall reads 0).
    min_step_time_s, max_step_time_s : float
        Step-time bounds of steady gait (240 and 60 steps/min): closer contacts are merged; the walking
        toe-off and the first-step rule look no further than one `max_step_time_s`.
    max_bout_step_s : float
        A longer step ends the bout (sides alternate within a bout, and the pipeline builds steps only inside
        one). Longer than `max_step_time_s`: in daily-life walking (turning on the spot, cautious or
        hesitant steps) single steps of 1 to 2 s occur inside what gait references count as one walking
        bout (the Mobilise-D reference bouts break only at pauses of 3 s), and splitting there loses the
        contact before the slow step, which has no next contact in its bout.
    min_contact_s, max_contact_s : float
        Plausible time above the running contact level (shorter than the true contact, which is measured
        between the bends).
    laterality : AlternatingLaterality
        The left/right assigner (an instance; its parameters are used, it is copied before use).

    Attributes
    ----------
    events_ : GaitEvents
        The result of the last `detect`.
    """

    def __init__(
        self,
        *,
        running_lowpass_hz: float = 35.0,
        walking_lowpass_hz: float = 4.0,
        trend_cutoff_hz: float = 0.5,
        hysteresis_mps2: float = 0.5,
        weak_hysteresis_mps2: float = 0.2,
        kink_lowpass_hz: float = 10.0,
        kink_before_s: float = 0.03,
        kink_after_s: float = 0.2,
        first_step_search_s: float = 0.5,
        contact_level_mps2: float = 0.5 * STANDARD_GRAVITY_MPS2,
        flight_level_mps2: float = 0.3 * STANDARD_GRAVITY_MPS2,
        min_step_time_s: float = 0.25,
        max_step_time_s: float = 1.0,
        max_bout_step_s: float = 2.0,
        min_contact_s: float = 0.05,
        max_contact_s: float = 1.0,
        laterality: AlternatingLaterality | None = None,
    ) -> None:
        self.running_lowpass_hz = running_lowpass_hz
        self.walking_lowpass_hz = walking_lowpass_hz
        self.trend_cutoff_hz = trend_cutoff_hz
        self.hysteresis_mps2 = hysteresis_mps2
        self.weak_hysteresis_mps2 = weak_hysteresis_mps2
        self.kink_lowpass_hz = kink_lowpass_hz
        self.kink_before_s = kink_before_s
        self.kink_after_s = kink_after_s
        self.first_step_search_s = first_step_search_s
        self.contact_level_mps2 = contact_level_mps2
        self.flight_level_mps2 = flight_level_mps2
        self.min_step_time_s = min_step_time_s
        self.max_step_time_s = max_step_time_s
        self.max_bout_step_s = max_bout_step_s
        self.min_contact_s = min_contact_s
        self.max_contact_s = max_contact_s
        self.laterality = laterality if laterality is not None else AlternatingLaterality()
        if not 0 < min_step_time_s < max_step_time_s:
            raise ValueError("need 0 < min_step_time_s < max_step_time_s")
        if max_bout_step_s < max_step_time_s:
            raise ValueError("max_bout_step_s must be at least max_step_time_s")
        if not 0 < weak_hysteresis_mps2 <= hysteresis_mps2:
            raise ValueError("need 0 < weak_hysteresis_mps2 <= hysteresis_mps2")
        if not flight_level_mps2 < contact_level_mps2:
            raise ValueError("flight_level_mps2 must be below contact_level_mps2")

    def detect(
        self, acc_mps2: FloatArray, gyr_dps: FloatArray | None, *, sampling_rate_hz: float
    ) -> GaitEventDetector:
        """Find the steps in a levelled body-frame recording or window.

        Parameters
        ----------
        acc_mps2 : (n, 3) array, m/s^2
            Specific force in the levelled body frame (x forward, y left, z up), gravity included.
        gyr_dps : (n, 3) array, deg/s, or None
            Angular rate in the same frame; None for accelerometer-only loggers (sides then come from the
            medio-lateral force alone).
        sampling_rate_hz : float
            50 to 500 Hz.

        Returns
        -------
        self, with `events_` set (times in s from the first sample).
        """
        acc, gyr = _validated(acc_mps2, gyr_dps, sampling_rate_hz)
        fs = sampling_rate_hz
        vertical = acc[:, 2]
        v_fast = lowpass(vertical, self.running_lowpass_hz, fs)
        run = running_contacts(
            v_fast,
            fs,
            contact_level_mps2=self.contact_level_mps2,
            flight_level_mps2=self.flight_level_mps2,
            min_contact_s=self.min_contact_s,
            max_contact_s=self.max_contact_s,
            max_flight_search_s=self.max_step_time_s / 2,
            lowpass_hz=self.running_lowpass_hz,
        )
        v_slow = lowpass(vertical, self.walking_lowpass_hz, fs)
        trend = lowpass(vertical, self.trend_cutoff_hz, fs)
        strong = walking_contacts(v_slow, trend, hysteresis_mps2=self.hysteresis_mps2)
        weak = walking_contacts(v_slow, trend, hysteresis_mps2=self.weak_hysteresis_mps2)

        def walking_side_evidence(contacts: FloatArray) -> FloatArray:
            """The walking side evidence of contacts: missed steps must keep the feet alternating."""
            ml = lowpass(acc[:, 1], self.laterality.lowpass_hz, fs)
            typical = median(contacts[1:] - contacts[:-1])
            walking = np.zeros(contacts.size, dtype=bool)
            return side_scores(contacts, walking, ml, None, typical_step_samples=typical)

        # a walking candidate inside (or just before) a running contact is that contact seen through a slower
        # filter: drop it (before the refinement, which is the costly part). The filled rhythm holds only
        # strong and weak candidates, so when all of them are inside running contacts (a window of running)
        # nothing of the walking rules below survives: they are skipped.
        min_step = self.min_step_time_s * fs
        walk_ic = np.empty(0)
        if _outside_running(np.concatenate([strong, weak]), run, min_step).any():
            walk_ic = fill_rhythm_gaps(
                strong,
                weak,
                min_step_samples=min_step,
                max_step_samples=self.max_step_time_s * fs,
                side_evidence=walking_side_evidence,
            )
            walk_ic = skip_weight_shifts(
                walk_ic,
                weak,
                v_slow - trend,
                min_step_samples=min_step,
                max_step_samples=self.max_bout_step_s * fs,
            )
            walk_ic = walk_ic[_outside_running(walk_ic, run, min_step)]
        v_kink = None
        walk_to = np.empty(0)
        if walk_ic.size:
            v_kink = lowpass(vertical, self.kink_lowpass_hz, fs)
            refined = sharpest_loading_onset(
                v_kink,
                walk_ic,
                before_samples=self.kink_before_s * fs,
                after_samples=self.kink_after_s * fs,
                first_after_samples=self.first_step_search_s * fs,
                pause_samples=self.max_step_time_s * fs,
            )
            # the first walking contact after running lands from a flight: its onset is the rise out of the
            # flight, before the mean-crossing and outside the bend search
            walk_ic = np.array(
                [
                    _landing_from_flight(v_fast, c, r, self.flight_level_mps2, self.contact_level_mps2, fs)
                    for c, r in zip(walk_ic, refined, strict=True)
                ],
                dtype=np.float64,
            )
            walk_to = walking_toe_offs(
                v_kink,
                walk_ic,
                max_step_samples=self.max_step_time_s * fs,
                gap_samples=self.kink_before_s * fs,
            )
        ic = np.concatenate([run.ic_idx, walk_ic])
        to = np.concatenate([run.to_idx, walk_to])
        running = np.concatenate([np.ones(run.ic_idx.size, bool), np.zeros(walk_ic.size, bool)])
        order = np.argsort(ic, kind="stable")
        ic, to, running = ic[order], to[order], running[order]
        ic, to, running = _enforce_min_step(ic, to, running, min_step)
        # walking toe-offs were computed against walking neighbours only; recompute after the merge so a
        # walking step followed by a running contact gets the running neighbour
        walk_mask = ~running
        if v_kink is not None and walk_mask.any():  # walking contacts remain only where there were some
            to_w = walking_toe_offs(
                v_kink,
                ic,
                max_step_samples=self.max_step_time_s * fs,
                gap_samples=self.kink_before_s * fs,
                only=walk_mask.nonzero()[0],
            )
            to = np.where(walk_mask, to_w, to)
        # extrapolated edges can land just outside the input at its ends: an event must lie inside it
        inside = (ic >= 0) & (ic <= vertical.shape[0] - 1)
        ic, to, running = ic[inside], to[inside], running[inside]
        to = np.where(to <= vertical.shape[0] - 1, to, np.nan)
        ic_s = ic / fs
        bout_id = bouts_from_step_times(ic_s, max_step_time_s=self.max_bout_step_s)
        # Sides alternate within a bout, but not across a missed or extra running contact (`parity_groups`).
        # Without a gyroscope the side evidence follows a different rule in walking and in running (see
        # processing.laterality), so a walk-to-run transition also splits the parity decision: each part is
        # decided on the evidence that holds for it.
        parity_group = parity_groups(ic, bout_id, running, split_at_activity_change=gyr is None)
        lat = copy.copy(self.laterality).assign(ic, parity_group, running, acc, gyr, sampling_rate_hz=fs)
        self.events_ = GaitEvents(
            ic_s=ic_s,
            to_s=to / fs,
            side=lat.side_,
            side_score=lat.side_score_,
            bout_id=bout_id,
            activity=np.where(running, "running", "walking").astype("<U7"),
            parity_group=parity_group,
        )
        return self


def _outside_running(candidates: FloatArray, run: RunningContacts, min_step: float) -> npt.NDArray[np.bool_]:
    """Which walking candidates (fractional samples) lie neither inside a running contact nor within half a
    minimum step before its onset."""
    if not (run.ic_idx.size and candidates.size):
        return np.ones(candidates.size, dtype=bool)
    pos = np.maximum(run.ic_idx.searchsorted(candidates + min_step / 2, side="right") - 1, 0)
    return ~((run.ic_idx[pos] - min_step / 2 <= candidates) & (candidates <= run.to_idx[pos]))


def _landing_from_flight(
    v_fast: FloatArray, crossing: float, refined: float, flight_level: float, contact_level: float, fs: float
) -> float:
    """Onset of a landing when a flight (below `flight_level`) precedes `crossing` by < 0.2 s, else `refined`.

    The rise out of the flight is extended as a straight line through its crossings of the flight and contact
    levels down to the flight baseline (the median of the flight samples), as for running contacts.
    """
    lo = max(0, int(crossing - _LANDING_SEARCH_S * fs))
    hi = int(np.ceil(crossing))
    if hi <= lo:
        return refined
    flight = v_fast[lo:hi] < flight_level
    if not flight.any():
        return refined
    base = median(v_fast[lo:hi][flight])
    t_hi = rising_crossing(v_fast, contact_level, lo, hi)
    t_lo = rising_crossing(v_fast, flight_level, lo, int(np.floor(t_hi)) + 1) if np.isfinite(t_hi) else np.nan
    if not (np.isfinite(t_lo) and t_hi > t_lo):
        return refined
    onset = float(t_lo - (t_hi - t_lo) * (flight_level - base) / (contact_level - flight_level))
    return max(onset, float(lo))


def _enforce_min_step(
    ic: FloatArray, to: FloatArray, running: npt.NDArray[np.bool_], min_step: float
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Drop contacts closer than `min_step` samples to the previous kept one; a running contact wins a tie."""
    keep: list[int] = []
    ic_list: list[float] = ic.tolist()  # Python scalars: the loop reads every contact
    run_list: list[bool] = running.tolist()
    for i, t in enumerate(ic_list):
        if keep and t - ic_list[keep[-1]] < min_step:
            if run_list[i] and not run_list[keep[-1]]:
                keep[-1] = i
            continue
        keep.append(i)
    idx = np.asarray(keep, dtype=np.int64)
    return ic[idx], to[idx], running[idx]


def _validated(
    acc_mps2: FloatArray, gyr_dps: FloatArray | None, sampling_rate_hz: float
) -> tuple[FloatArray, FloatArray | None]:
    """Check shapes, rate and finiteness at the boundary (fail fast with what to do next)."""
    if not MIN_SAMPLING_RATE_HZ <= sampling_rate_hz <= MAX_SAMPLING_RATE_HZ:
        raise InvalidSamplesError(
            f"sampling_rate_hz={sampling_rate_hz} is outside "
            f"{MIN_SAMPLING_RATE_HZ:g}-{MAX_SAMPLING_RATE_HZ:g} Hz; resample the recording into that range",
            reason="rate",
        )
    acc = np.asarray(acc_mps2, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise InvalidSamplesError(f"acc_mps2 must have shape (n, 3), got {acc.shape}", reason="shape")
    if not np.isfinite(acc).all():
        raise InvalidSamplesError(
            "acc_mps2 contains NaN or inf; drop or interpolate those samples", reason="nan"
        )
    gyr = None
    if gyr_dps is not None:
        gyr = np.asarray(gyr_dps, dtype=np.float64)
        if gyr.shape != acc.shape:
            raise InvalidSamplesError(
                f"gyr_dps must have the shape of acc_mps2 {acc.shape}, got {gyr.shape}", reason="shape"
            )
        if not np.isfinite(gyr).all():
            raise InvalidSamplesError("gyr_dps contains NaN or inf; drop or interpolate them", reason="nan")
    return acc, gyr
