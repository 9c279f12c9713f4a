"""Initial contact and toe-off in walking (no flight phase), from the vertical specific force at the lower
back.

Physics (the inverted-pendulum view of walking, Zijlstra & Hof 2003, Gait Posture 18:1): during single support
the trunk vaults over the stance leg and its vertical acceleration is negative (specific force below 1 g); in
double support both legs redirect it upward (above 1 g). So each initial contact lies where the low-passed
vertical specific force rises through its mean (1 g), refined to the first sharp upward bend there (the new
foot's force switching on); the toe-off of the *previous* foot ends the double support with a second upward
bend (its falling force stops). This follows the same family as McCamley et
al. 2012 (Gait Posture 36:316; mobgap's `IcdIonescu`): a smoothed vertical acceleration marks the contacts.

Deviations from McCamley / mobgap's `IcdShinImproved` and `IcdIonescu`:
- a zero-phase Butterworth low-pass instead of integrating and differentiating with a Gaussian CWT (similar
  band limit, no scale in samples: the cutoff is in Hz, so the result does not depend on the sampling rate);
- the IC is the upward mean-crossing with a Schmitt trigger (hysteresis) rather than a local minimum; it sits
  at the start of the steep loading rise, and hysteresis rejects standing noise without a relative peak
  threshold that would depend on the rest of the window;
- the mean is a slow low-pass of the signal itself, so a residual accelerometer bias does not shift the
  events;
- a second, weaker band (lower hysteresis) fills gaps in the step rhythm (`fill_rhythm_gaps`): in slow,
  shuffling or turning steps of daily life the trunk barely vaults and a contact's rise stays inside the
  strong band, but such steps still keep time: up to three of them sit where they split a gap of two to
  four local steps between strong neighbours into equal parts, on the feet that alternation implies. A
  weak rise elsewhere (tremor, a weight shift while standing) is not kept. Step times vary in proportion
  (a turn or a hesitation scales a few steps by a factor), so a gap is counted in local steps on a log
  scale (`steps_in_gap`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from processing.gait_events.signals import median, rising_crossings_with_hysteresis

__all__ = [
    "fill_rhythm_gaps",
    "sharpest_loading_onset",
    "skip_weight_shifts",
    "steps_in_gap",
    "walking_contacts",
    "walking_toe_offs",
]

# A bend counts as the contact if it reaches this fraction of the strongest bend near the candidate.
_FIRST_BEND_FRACTION = 0.5
# A gap between strong contacts that spans n local steps (rounded), 2 <= n <= this, holds n - 1 missed
# steps: at most three in a row (a turn on the spot, a hesitation); a longer gap is a pause or a stop.
_MAX_GAP_STEPS = 4
# A weak candidate fills the expected position of a missed step (the gap split into n equal parts) when it
# lies within this fraction of one part from it (for n = 2: at least 0.35 of the gap from either end).
_RHYTHM_TOLERANCE = 0.3
# How many strong steps on each side of a gap define its local step time.
_RHYTHM_NEIGHBOURS = 4
# The fewest local steps that round to two on the log scale of `steps_in_gap`.
_SQRT_2 = float(np.sqrt(2.0))

FloatArray = npt.NDArray[np.float64]


def walking_contacts(
    vertical_lp_mps2: FloatArray, trend_mps2: FloatArray, *, hysteresis_mps2: float
) -> FloatArray:
    """Candidate initial contacts (fractional sample indices): upward crossings of the trend with
    hysteresis."""
    h = np.full_like(vertical_lp_mps2, hysteresis_mps2)
    return rising_crossings_with_hysteresis(vertical_lp_mps2, trend_mps2, h)


def steps_in_gap(gap_over_local_step: float) -> int:
    """How many steps a gap between two contacts holds, given its length in local step times (>= 0).

    Step times vary in proportion, not by a fixed amount: a turn on the spot, a hesitation or slowing down
    scales a few steps by a factor, and step-time variability is reported as a coefficient of variation. So
    a gap is compared with n local steps by their ratio: n is the count for which |log(gap / (n * local))|
    is smallest, and the boundary between n and n + 1 steps lies at sqrt(n (n + 1)) local steps (1.41,
    2.45, 3.46), the geometric rather than the arithmetic midpoint (1.5, 2.5, 3.5). A gap of 1.45 local
    steps is then two steps 27 % shorter than the local ones rather than one step 45 % longer.
    """
    n = int(gap_over_local_step)
    if gap_over_local_step * gap_over_local_step > n * (n + 1):
        n += 1
    return max(n, 1)


def fill_rhythm_gaps(
    strong: FloatArray,
    weak: FloatArray,
    *,
    min_step_samples: float,
    max_step_samples: float,
    side_evidence: Callable[[FloatArray], FloatArray] | None = None,
) -> FloatArray:
    """Strong candidates plus the weak ones that fill missed steps in the local rhythm (sorted indices).

    A gap between two strong contacts that spans n local step times (`steps_in_gap`; 2 <= n <=
    `_MAX_GAP_STEPS`) misses n - 1 steps, expected where they split the gap into n equal parts (steps change
    slowly). Each expected position takes the nearest weak candidate (found with a lower hysteresis) within
    `_RHYTHM_TOLERANCE` of one part, and the gap is filled only when every expected position has one: weak
    rises at the rhythm's positions are steps, while standing sway or a weight shift in a pause does not keep
    time. The local step time is the median of the strong steps (between `min_step_samples` and
    `max_step_samples`) among `_RHYTHM_NEIGHBOURS` contacts on each side, or `max_step_samples` without any.
    Weak candidates closer than `min_step_samples` to a strong contact are that contact seen through the lower
    band.

    Steps alternate sides, so with `side_evidence` (a function giving the side evidence of the strong
    contacts, positive = left, e.g. from `processing.laterality.side_scores`; called once, and only when a
    gap could be filled) a gap is filled only when its ends lie on the sides that n - 1 missed steps imply:
    the same foot for an odd number of missed steps, opposite feet for an even number. A foot adjustment
    between two contacts of alternating feet (a weight shift, not a step) is not a missed step. Ends without
    evidence (score 0) do not decide. The foot of the gap's first contact is read from the contact before it
    when that one is a regular step earlier (it has the opposite foot): the walking evidence of a contact is
    the medio-lateral push over its own step, up to the next contact, and when steps were missed that span
    holds the stances of both feet, whose pushes cancel; the contact before has a clean step of its own.
    """
    if strong.size < 2 or weak.size == 0:
        return strong
    steps = strong[1:] - strong[:-1]
    regular = (steps > min_step_samples) & (steps < max_step_samples)
    # A gap needs at least sqrt(2) local steps (`steps_in_gap`), and no local step is shorter than the
    # shortest regular one: in steady gait (every running window) no gap qualifies and nothing else is
    # computed.
    shortest = float(steps[regular].min()) if regular.any() else max_step_samples
    threshold = _SQRT_2 * max(min_step_samples, min(shortest, max_step_samples))
    proposals: list[tuple[int, int, list[float]]] = []
    for k in ((steps >= threshold).nonzero()[0] + 1).tolist():
        a, b = float(strong[k - 1]), float(strong[k])
        gap = b - a
        lo, hi = max(0, k - _RHYTHM_NEIGHBOURS), min(steps.size, k + _RHYTHM_NEIGHBOURS - 1)
        near = steps[lo:hi][regular[lo:hi]]
        local_step = median(near) if near.size else max_step_samples
        n = steps_in_gap(gap / local_step)
        if not 2 <= n <= _MAX_GAP_STEPS:
            continue
        part = gap / n
        inside = weak[(weak - a >= min_step_samples) & (b - weak >= min_step_samples)]
        found: list[float] = []
        for j in range(1, n):
            offset = np.abs(inside - (a + j * part))
            if inside.size == 0 or offset.min() > _RHYTHM_TOLERANCE * part:
                break
            found.append(float(inside[offset.argmin()]))
        else:
            proposals.append((k, n, found))
    if not proposals:
        return strong
    score = None if side_evidence is None else side_evidence(strong)
    kept = [strong]
    for k, n, found in proposals:
        if score is not None:
            if k >= 2 and regular[k - 2]:
                # the gap's first contact has the foot opposite to the regular step's before it
                product = -float(score[k - 2] * score[k])
            else:
                product = float(score[k - 1] * score[k])
            if product != 0.0 and (product > 0) != (n % 2 == 0):
                continue
        kept.append(np.array(found))
    return np.sort(np.concatenate(kept))


def skip_weight_shifts(
    contacts: FloatArray,
    weak: FloatArray,
    loading_mps2: FloatArray,
    *,
    min_step_samples: float,
    max_step_samples: float,
) -> FloatArray:
    """Contacts (sorted fractional indices) with a bout's first one moved off a weight shift.

    Starting to walk from standing, the weight first shifts (the anticipatory postural adjustment: the load
    moves sideways and forward over the stance foot) and lifts the vertical force through its mean, then the
    swing foot lands with the loading of a heel strike. The shift's rise is weak and falls back; the heel
    strike's rise follows it, loads more, and was missed by the strong band because the force did not drop
    far enough in between to re-arm it. So when a weak candidate lies between a bout's first two contacts
    (at least `min_step_samples` from both) and the loading after it (`loading_mps2`, the force above its
    mean, up to the next contact) peaks higher than the loading after the first contact does before it, the
    first contact was the weight shift: the bout starts at that weak candidate.
    """
    out = contacts.copy()
    n = loading_mps2.shape[0]
    for k in range(contacts.shape[0] - 1):
        c0, c1 = float(contacts[k]), float(contacts[k + 1])
        if (k > 0 and c0 - float(contacts[k - 1]) <= max_step_samples) or c1 - c0 > max_step_samples:
            continue
        later = weak[(weak - c0 >= min_step_samples) & (c1 - weak >= min_step_samples)]
        if later.size == 0:
            continue
        w = float(later[0])
        i0, iw, i1 = (min(n, max(0, int(np.ceil(x)))) for x in (c0, w, c1))
        if iw <= i0 or i1 <= iw:
            continue
        if float(loading_mps2[iw:i1].max()) > float(loading_mps2[i0:iw].max()):
            out[k] = w
    return out


def walking_toe_offs(
    vertical_mps2: FloatArray,
    ic_idx: FloatArray,
    *,
    max_step_samples: float,
    gap_samples: float,
    only: npt.NDArray[np.int64] | None = None,
) -> FloatArray:
    """Toe-off of each step's foot: the end of the double support that follows the *next* initial contact.

    When the trailing foot leaves the ground its falling force stops pulling the total down, so the vertical
    force bends upward a second time after the next contact: the strongest upward bend (second difference of
    `vertical_mps2`, a moderately low-passed vertical force) between `gap_samples` after the next contact
    (clear of that contact's own bend) and half a step later. NaN for the last contact, where the next contact
    is more than `max_step_samples` away (a pause), and for contacts not listed in `only` (when given).
    """
    from processing.gait_events.running import second_difference, upward_bend

    d2 = second_difference(vertical_mps2)
    out = np.full(ic_idx.shape[0], np.nan)
    which = range(ic_idx.shape[0]) if only is None else only
    for k in which:
        if k + 1 >= ic_idx.shape[0]:
            continue
        nxt = ic_idx[k + 1]
        step = nxt - ic_idx[k]
        if step > max_step_samples:
            continue
        out[k] = upward_bend(d2, nxt + gap_samples, nxt + 0.5 * step)
    return out


def sharpest_loading_onset(
    vertical_mps2: FloatArray,
    candidates: FloatArray,
    *,
    before_samples: float,
    after_samples: float,
    first_after_samples: float | None = None,
    pause_samples: float | None = None,
) -> FloatArray:
    """Refine each candidate to the first strong upward bend of the vertical force nearby (fractional
    indices).

    At an initial contact the new foot starts to take load while the old foot's force keeps its course, so the
    total vertical force bends upward abruptly: the maximum of its second derivative. The mean-crossing only
    brackets it (the push-off of the old foot can lift the force above 1 g before the contact). The peak is
    located between samples with a parabola through the three samples around it.

    The first candidate of a bout (none within `pause_samples` before it) searches up to
    `first_after_samples` after its crossing instead: starting to walk, the weight shifts onto the stance foot
    before the swing foot lands, which lifts the force through its mean early.
    """
    n = vertical_mps2.shape[0]
    d2 = np.zeros(n)
    if n >= 3:
        d2[1:-1] = vertical_mps2[2:] - 2.0 * vertical_mps2[1:-1] + vertical_mps2[:-2]
    out = np.empty(candidates.shape[0])
    for k, c in enumerate(candidates):
        after = after_samples
        starts_bout = k == 0 or (pause_samples is not None and c - candidates[k - 1] > pause_samples)
        if first_after_samples is not None and starts_bout:
            after = max(after_samples, first_after_samples)
        lo = max(1, int(np.floor(c - before_samples)))
        hi = min(n - 1, int(np.ceil(c + after)) + 1)
        if hi - lo < 3:
            out[k] = c
            continue
        # the first strong bend: the contact comes before the end of the double support (the previous foot's
        # toe-off), which bends the force upward too
        seg = d2[lo:hi]
        strong = seg >= _FIRST_BEND_FRACTION * seg.max()
        peaks = (strong[1:-1] & (seg[1:-1] >= seg[:-2]) & (seg[1:-1] >= seg[2:])).nonzero()[0] + 1
        i = lo + (int(peaks[0]) if peaks.size else int(seg.argmax()))
        y0, y1, y2 = d2[i - 1], d2[i], d2[min(i + 1, n - 1)]
        curvature = y0 - 2.0 * y1 + y2
        shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
        out[k] = i + float(np.clip(shift, -0.5, 0.5))
    return out
