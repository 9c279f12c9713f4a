"""Which foot made each initial contact: in running from the yaw rate of the pelvis (or, without a gyroscope,
its medio-lateral lean), in walking from the medio-lateral specific force.

Evidence per contact (the `side_score`, positive = left):

- Running, with a gyroscope: the yaw rate (McCamley et al. 2012, Gait Posture 36:316, used the sign of the
  filtered vertical angular rate around IC). While the left leg swings forward to its contact, the left hip is
  carried forward with it: the pelvis turns to the right (negative yaw rate about z up) during the step
  before a left contact. We take the mean yaw rate over the last three quarters of that step, relative to the
  mean of the same measure at the two neighbouring contacts (which removes steady turning and gyroscope
  bias), sign flipped. If the pelvis swings as a sinusoid of the stride whose extreme lags the contact by L
  steps, a window of the last w steps before the contact has the right sign for -w/2 < L < 1 - w/2: three
  quarters keep it from 3/8 of a step before the contact to 5/8 after, so whether the rotation peaks at the
  contact (the simulator, within +-0.12 step) or half a step after it (the yaw rate then peaks at the
  contact, as McCamley read it), the sign holds with margin. A window centred on the contact averages to
  zero in the second case. It also holds when the two sides' ranges differ: a step with the larger range
  overshoots its extreme after mid-step and swings back, a rate against the swing that the half step before
  the next contact mostly saw (a robustness sweep, `processing.evaluation.sweep`, found every contact
  mislabelled from a range ratio of about 1.6, e.g. 12 vs 20 deg, with a half-step window; three quarters
  of a step keeps them right up to 8 vs 20 deg).
- Walking, with or without a gyroscope: the medio-lateral specific force. In single support the body is an
  inverted pendulum over the stance foot with its centre of mass medial to it, so it accelerates away from
  the stance side (Zijlstra & Hof 2003, Gait Posture 18:1; Hof et al. 2005, J Biomech 38:1): a left stance
  reads a_y < 0. A contact scores minus the mean a_y over its own step, relative to its neighbours. The yaw
  rate is not used in walking: the pelvic rotation of walking is a few degrees while daily-life walking turns
  at 50 to 150 deg/s, and a turn that starts or ends within a step is not removed by the neighbours (on the
  real daily-activity recording in tests/data the yaw evidence gave the right side for 67-70 % of the
  reference contacts, the medio-lateral force for 83 %, each contact on its own).
- Running without a gyroscope: the frame is levelled once (static alignment), so it moves with the pelvis.
  Two effects compete in a_y during a left stance: the ground force pushes the body to the right (a_y < 0),
  and the pelvis tilts with the stance side up (the swing side drops), which leans the vertical stance force
  toward the stance side in the pelvis frame (a_y > 0, in proportion to the vertical force). In running the
  vertical force is 2-3 g and the drop 4-8 deg, so the lean dominates: a running contact scores the mean a_y
  over its whole step (IC to the next IC), relative to its neighbours. The whole step, not its first half:
  the lean is proportional to the vertical force, whose mean over a step is g whatever the cadence and the
  contact time (the step's vertical impulse balances body weight); over the first half step the evidence
  came out inverted for every contact with a small pelvic drop (simulated `small_amplitudes`) or a large
  pelvic rotation (`excessive_rotation`), while over the whole step it gives the right side in every
  scenario of the simulated suite. So running and walking read the same mean, with opposite signs. This
  evidence is weaker than the yaw rate: use a gyroscope when there is one.

Within a bout (steps at a regular pace, see `GaitEvents.bout_id`) sides alternate, so we pick the labelling
that agrees best with the summed evidence (the sum of score * parity): one wrong-signed step cannot flip a
label, and a bout needs a majority against it to flip. The alternation may break (two contacts on the same
side in a row) at a cost of `parity_switch_cost` in evidence units: in daily-life walking a detector misses
a shuffling or turning step now and then, or finds one the foot did not make, and strict alternation would
then mislabel every contact after it. Relabelling contacts whose evidence disagrees with the alternation by E
in all gains 2 E, so with the default cost of 2 a break needs the contacts after it to disagree by more than
one typical contact's evidence in all, and a single contact against its neighbours (which breaks the
alternation twice) more than twice the typical evidence. The best
labelling is found exactly by dynamic programming over the bout (Viterbi, two states). Each score is divided
by its median absolute value over the input (unitless, comparable between windows).

Running is regular enough to say where the alternation breaks: a missed or extra running contact makes a step
about twice or half as long as those around it, and a new parity group starts there (`parity_groups`).
Inside a group of running contacts the sides therefore alternate strictly: with noisy evidence (without a
gyroscope) the cost of a break was paid by a few wrong-signed contacts in a row, and every contact after
the break took the other foot until the stitched parity flipped back (a robustness sweep,
`processing.evaluation.sweep`, seed 2026, draw 44: 2 to 4 contacts at a time).

Deviations from McCamley: a contact's evidence is a mean over part of a step relative to its neighbours, not
the sign at one sample; parity is imposed per bout; the medio-lateral rules above are ours.

Streaming: everything here is local to a contact and its two neighbours, so the score of an event far enough
inside a window does not depend on the window; a caller that stitches windows can sum `side_score` over the
events of a bout it has kept (with the parity of their position) to decide the bout's parity once for all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MISSED_STEP_RATIO", "AlternatingLaterality", "alternate_by_bout", "parity_groups", "side_scores"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

#: A running step this many times longer than the typical step around it spans two steps (a contact was
#: missed), one this many times shorter is part of a split step (an extra contact): the alternation cannot
#: be carried across either. 1.5 lies halfway (geometrically: 1.41) between one step (ratio 1) and two
#: (ratio 2), far outside running's step-to-step variation (a few %) and left/right step-time asymmetry
#: (under 10 %).
MISSED_STEP_RATIO = 1.5
#: Steps on each side of a step whose median is its typical step.
_TYPICAL_STEP_NEIGHBOURS = 4


def _step_means(x: FloatArray, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> FloatArray:
    """Mean of x over [lo[k], hi[k]) for each k (NaN for an empty range)."""
    csum = np.empty(x.shape[0] + 1)
    csum[0] = 0.0
    x.cumsum(out=csum[1:])
    # np.minimum/np.maximum rather than np.clip: the same integers for less per-call overhead
    lo = np.minimum(np.maximum(lo, 0), x.shape[0])
    hi = np.minimum(np.maximum(hi, 0), x.shape[0])
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (csum[hi] - csum[lo]) / np.maximum(n, 1), np.nan)


def _relative_to_neighbours(m: FloatArray) -> FloatArray:
    """m[k] minus the mean of its neighbours (one neighbour at the ends); 0 where undefined."""
    k = m.shape[0]
    if k < 2:
        return np.zeros(k)
    both = np.empty((2, k))  # previous and next value, NaN beyond the ends
    both[0, 0] = both[1, -1] = np.nan
    both[0, 1:] = m[:-1]
    both[1, :-1] = m[1:]
    valid = np.isfinite(both)
    count = valid.sum(axis=0)
    total = np.where(valid, both, 0.0).sum(axis=0)
    neigh = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    out = m - neigh
    return out if np.isfinite(out).all() else np.nan_to_num(out, nan=0.0)


def _normalised(x: FloatArray) -> FloatArray:
    # imported here: gait_events imports this module for its default assigner
    from processing.gait_events.signals import median

    scale = median(np.abs(x)) if x.size else 0.0
    if scale <= 0.0 or not np.isfinite(scale):
        return np.zeros_like(x)
    return x / scale


def side_scores(
    ic_idx: FloatArray,
    is_running: npt.NDArray[np.bool_],
    acc_ml_mps2: FloatArray | None,
    yaw_rate_dps: FloatArray | None,
    *,
    typical_step_samples: float,
) -> FloatArray:
    """Local side evidence per contact (positive = left, unitless; see module docstring).

    Parameters
    ----------
    ic_idx : (k,) array
        Contacts in fractional sample indices, increasing.
    is_running : (k,) bool array
        Activity of each contact (selects the accelerometer-only rule).
    acc_ml_mps2 : (n,) array, m/s^2, or None
        Medio-lateral specific force in the body frame (y to the left), low-passed. Not read when every
        contact is running and the yaw rate is given (then it may be None).
    yaw_rate_dps : (n,) array, deg/s, or None
        Angular rate about the vertical (z up), low-passed; None without a gyroscope.
    typical_step_samples : float
        Step length used after the last contact and to cap long gaps (a pause is not a step).
    """
    k = ic_idx.shape[0]
    if k == 0:
        return np.empty(0)
    start = np.floor(ic_idx).astype(np.int64)
    nxt = np.concatenate([ic_idx[1:], [ic_idx[-1] + typical_step_samples]])
    prv = np.concatenate([[ic_idx[0] - typical_step_samples], ic_idx[:-1]])
    cap = typical_step_samples * 1.5
    step_after = np.minimum(nxt - ic_idx, cap)
    step_before = np.minimum(ic_idx - prv, cap)
    # Each rule is computed only where some contact reads it (each is normalised over all contacts, so what
    # a contact reads does not depend on which other rules were computed).
    if yaw_rate_dps is None:
        push = _push_scores(acc_ml_mps2, start, step_after)
        return np.where(is_running, -push, push)
    if not is_running.any():
        return _push_scores(acc_ml_mps2, start, step_after)
    before = np.maximum((0.75 * step_before).round().astype(np.int64), 1)
    running = _normalised(-_relative_to_neighbours(_step_means(yaw_rate_dps, start - before, start)))
    if is_running.all():
        return running
    return np.where(is_running, running, _push_scores(acc_ml_mps2, start, step_after))


def _push_scores(acc_ml_mps2: FloatArray | None, start: IntArray, step_after: FloatArray) -> FloatArray:
    """Minus the mean medio-lateral force over each contact's own step, relative to its neighbours: the
    walking push; in running without a gyroscope, the lean, which has the opposite sign."""
    if acc_ml_mps2 is None:
        raise ValueError("side_scores needs acc_ml_mps2 for walking contacts and without a yaw rate")
    full = np.maximum(step_after.round().astype(np.int64), 1)
    return _normalised(-_relative_to_neighbours(_step_means(acc_ml_mps2, start, start + full)))


def _neighbour_median(x: FloatArray, half: int) -> FloatArray:
    """Median of the finite values among x[k - half : k + half + 1] without x[k] itself (NaN if none)."""
    n = x.shape[0]
    padded = np.full(n + 2 * half, np.nan)
    padded[half : half + n] = x
    # rows padded[k : k + 2 half + 1] (`sliding_window_view`'s, without its per-call checks: this runs twice
    # per pipeline window)
    step = padded.strides[0]
    window = np.ndarray((n, 2 * half + 1), dtype=np.float64, buffer=padded, strides=(step, step)).copy()
    window[:, half] = np.nan
    # NaN sorts last: the median of the first `count` values of each sorted row
    window.sort(axis=1)
    count = np.isfinite(window).sum(axis=1)
    rows = np.arange(n)
    lo = np.maximum((count - 1) // 2, 0)
    hi = count // 2
    return np.where(count > 0, 0.5 * (window[rows, lo] + window[rows, hi]), np.nan)


def parity_groups(
    ic: FloatArray,
    bout_id: IntArray,
    is_running: npt.NDArray[np.bool_],
    *,
    split_at_activity_change: bool = False,
) -> IntArray:
    """Groups of consecutive contacts whose sides must alternate (one parity decision per group).

    A group ends where the bout ends (a pause) and at an irregular running step: a step between two running
    contacts that is `MISSED_STEP_RATIO` times longer or shorter than the median of the running steps
    around it (`_TYPICAL_STEP_NEIGHBOURS` on each side) stands for a missed contact or an extra one, after
    which the alternation carried on from before would give every later contact the other foot (a
    robustness sweep, `processing.evaluation.sweep`, seed 2026, lost up to half of a run's sides that way,
    the stitched parity flipping back only once the evidence against it outweighed all that had been
    gathered before). Running only: walking steps vary far more in daily life, where the detector fills
    missed steps itself and the alternation may break at a cost instead (`alternate_by_bout`). With
    `split_at_activity_change`, walking-to-running transitions end a group too.

    Parameters
    ----------
    ic : (k,) array
        Contact times, increasing, in any unit (only ratios of steps are read).
    bout_id : (k,) int array
    is_running : (k,) bool array

    Returns
    -------
    (k,) int array, increasing from 0.
    """
    k = ic.shape[0]
    if k < 2:
        return np.zeros(k, dtype=np.int64)
    step = ic[1:] - ic[:-1]
    breaks = bout_id[1:] != bout_id[:-1]
    running_step = is_running[1:] & is_running[:-1] & ~breaks
    typical = _neighbour_median(np.where(running_step, step, np.nan), _TYPICAL_STEP_NEIGHBOURS)
    with np.errstate(invalid="ignore"):  # NaN typical steps compare False
        irregular = (step > MISSED_STEP_RATIO * typical) | (MISSED_STEP_RATIO * step < typical)
    breaks = breaks | (running_step & irregular)
    if split_at_activity_change:
        breaks = breaks | (is_running[1:] != is_running[:-1])
    return np.concatenate([[0], breaks.cumsum()]).astype(np.int64)


def alternate_by_bout(
    score: FloatArray,
    bout_id: IntArray,
    *,
    min_bout_steps: int,
    parity_switch_cost: float = np.inf,
    strict: npt.NDArray[np.bool_] | None = None,
) -> StrArray:
    """Sides that alternate within each bout of at least `min_bout_steps`, else the sign of the score.

    Inside a bout the labelling maximises the sum of score * (+1 for L, -1 for R) minus `parity_switch_cost`
    for every pair of consecutive contacts on the same side (infinite: strict alternation). A bout whose
    contacts are all marked in `strict` alternates strictly whatever the cost. Ties keep the alternation and,
    between the two alternations, the one starting on the left.
    """
    side = np.where(score >= 0, "L", "R").astype("<U1")
    evidence = np.asarray(score, dtype=np.float64)
    if not np.isfinite(evidence).all():  # np.nan_to_num's copy only where it changes something
        evidence = np.nan_to_num(evidence)
    for b in np.unique(bout_id):
        members = (bout_id == b).nonzero()[0]
        if members.size < min_bout_steps:
            continue
        cost = np.inf if strict is not None and strict[members].all() else parity_switch_cost
        left = _best_labelling(evidence[members], cost)
        side[members] = np.where(left, "L", "R")
    return side


def _best_labelling(evidence: FloatArray, switch_cost: float) -> npt.NDArray[np.bool_]:
    """Left (True) / right per contact maximising the evidence minus `switch_cost` per same-side pair."""
    n = evidence.shape[0]
    if not np.isfinite(switch_cost):
        parity = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        first_left = float(np.sum(evidence * parity)) >= 0
        return (parity > 0) == first_left
    # total_x: the best sum so far with the current contact labelled x (0 = left, 1 = right). Python floats
    # (the same IEEE arithmetic as numpy's, without its per-call cost on two-element arrays).
    ev = evidence.tolist()
    total_0, total_1 = ev[0], -ev[0]
    came_from = [(0, 1)]
    for e in ev[1:]:
        same_0, same_1 = total_0 - switch_cost, total_1 - switch_cost
        from_0 = 1 if total_1 >= same_0 else 0
        from_1 = 0 if total_0 >= same_1 else 1
        came_from.append((from_0, from_1))
        total_0, total_1 = (total_1 if from_0 else same_0) + e, (same_1 if from_1 else total_0) + (-e)
    x = 0 if total_0 >= total_1 else 1
    labels = np.empty(n, dtype=np.int64)
    for k in range(n - 1, -1, -1):
        labels[k] = x
        x = came_from[k][x]
    return labels == 0


class AlternatingLaterality:
    """Assign L/R to initial contacts: local evidence (`side_scores`) plus strict alternation per bout.

    Parameters
    ----------
    lowpass_hz : float
        Cutoff of the zero-phase low-pass applied to the medio-lateral force and the yaw rate before
        averaging; the evidence lives at the stride frequency (0.5 to 2 Hz) and its first harmonics.
    min_bout_steps : int
        Bouts with fewer steps keep the per-contact sign of the evidence instead of imposing alternation.
    parity_switch_cost : float
        Evidence (in units of the typical contact's) that two consecutive contacts on the same side cost
        inside a bout: a missed or extra step breaks the alternation only when relabelling the contacts after
        it gains more than this. `np.inf` gives strict alternation; groups of running contacts always
        alternate strictly (see the module docstring).

    Attributes
    ----------
    side_ : (k,) array of "L"/"R"
    side_score_ : (k,) array, positive = left
    """

    def __init__(
        self, *, lowpass_hz: float = 6.0, min_bout_steps: int = 4, parity_switch_cost: float = 2.0
    ) -> None:
        if lowpass_hz <= 0:
            raise ValueError(f"lowpass_hz must be positive, got {lowpass_hz}")
        if min_bout_steps < 2:
            raise ValueError(f"min_bout_steps must be at least 2, got {min_bout_steps}")
        self.lowpass_hz = lowpass_hz
        self.min_bout_steps = min_bout_steps
        if not parity_switch_cost > 0:
            raise ValueError(f"parity_switch_cost must be positive, got {parity_switch_cost}")
        self.parity_switch_cost = parity_switch_cost

    def assign(
        self,
        ic_idx: FloatArray,
        bout_id: IntArray,
        is_running: npt.NDArray[np.bool_],
        acc_mps2: FloatArray,
        gyr_dps: FloatArray | None,
        *,
        sampling_rate_hz: float,
    ) -> AlternatingLaterality:
        """Compute `side_` and `side_score_` for contacts at fractional sample indices `ic_idx`.

        acc_mps2 : (n, 3) array, m/s^2, and gyr_dps : (n, 3) array, deg/s, or None, in the levelled body
        frame.
        """
        # imported here: gait_events imports this module for its default assigner
        from processing.gait_events.signals import lowpass, median

        typical = median(ic_idx[1:] - ic_idx[:-1]) if ic_idx.shape[0] > 1 else 0.5 * sampling_rate_hz
        # Only the signals some contact reads are filtered (`side_scores`): with a gyroscope, running
        # contacts read the yaw rate and walking ones the medio-lateral force.
        needs_ml = gyr_dps is None or not is_running.all()
        ml = lowpass(acc_mps2[:, 1], self.lowpass_hz, sampling_rate_hz) if needs_ml else None
        yaw = None
        if gyr_dps is not None and is_running.any():
            yaw = lowpass(gyr_dps[:, 2], self.lowpass_hz, sampling_rate_hz)
        self.side_score_ = side_scores(ic_idx, is_running, ml, yaw, typical_step_samples=typical)
        self.side_ = alternate_by_bout(
            self.side_score_,
            bout_id,
            min_bout_steps=self.min_bout_steps,
            parity_switch_cost=self.parity_switch_cost,
            strict=is_running,
        )
        return self
