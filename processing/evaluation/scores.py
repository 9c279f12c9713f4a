"""Pure scoring of detected steps against a reference: event detection, timing, sides, cadence, metrics, SI.

Definitions (the project's acceptance criteria, issue 3):
- IC F1 with a tolerance (50 ms on the simulator, 0.5 s on the real walking recordings as mobgap scores them),
  counted inside the reference bouts when the reference only covers bouts (a detection within the tolerance
  outside a bout may match the bout's first or last contact, but is never a false positive).
- Timing: the median of |detected IC - reference IC| over matched contacts; the contact-time MAE over matched
  running contacts where both toe-offs are known.
- Side accuracy: share of matched contacts with the reference side (also over running contacts only).
- Cadence error: |60 / mean detected step time - 60 / mean reference step time| over consecutive matched
  contacts (running ones when there are any), i.e. the error of the cadence a runner is shown, not of single
  steps.
- Per-step metrics: RMSE over matched steps; asymmetry as the error of the symmetry index
  SI = 100 (R - L) / (0.5 (R + L)) in percentage points, and for angles of the right-minus-left difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.asymmetry import symmetry_index_pct
from processing.evaluation.matching import EventMatch, match_events

__all__ = [
    "EventScores",
    "ReferenceEvents",
    "matched_rmse",
    "right_minus_left",
    "score_events",
    "symmetry_index",
]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceEvents:
    """Reference contacts (simulator truth or a reference system), one row per contact.

    Attributes
    ----------
    ic_s : (k,) array, s
    side : (k,) array of "L"/"R"
    to_s : (k,) array, s, NaN where the reference has no toe-off
    is_running : (k,) bool array
    bouts_s : (m, 2) array, s, or None
        [start, end] of the periods the reference covers (walking bouts); None = the whole input.
    untimed_gaps_s : (u, 2) array, s, or None
        Where the reference system lists a contact it could not time (INDIP writes NaN for it and mobgap
        drops it): the times of the timed contacts before and after it, one row per untimed contact. Not
        used for matching; a detection that lands in such a gap is a false positive for the score, and
        `EventScores.n_false_in_untimed_gaps` counts them so a reader can tell the reference's gaps from the
        detector's errors.
    """

    ic_s: FloatArray
    side: StrArray
    to_s: FloatArray
    is_running: BoolArray
    bouts_s: FloatArray | None = None
    untimed_gaps_s: FloatArray | None = None

    def __post_init__(self) -> None:
        k = self.ic_s.shape[0]
        for name in ("side", "to_s", "is_running"):
            if getattr(self, name).shape != (k,):
                raise ValueError(f"ReferenceEvents.{name} must have shape ({k},)")
        if self.bouts_s is not None and (self.bouts_s.ndim != 2 or self.bouts_s.shape[1] != 2):
            raise ValueError("ReferenceEvents.bouts_s must have shape (m, 2)")
        if self.untimed_gaps_s is not None and (
            self.untimed_gaps_s.ndim != 2 or self.untimed_gaps_s.shape[1] != 2
        ):
            raise ValueError("ReferenceEvents.untimed_gaps_s must have shape (u, 2)")


@dataclass(frozen=True, slots=True)
class EventScores:
    """How well detected contacts agree with the reference (NaN where a score has nothing to count).

    `n_false_in_untimed_gaps` is a diagnostic, not a correction: of the false positives, how many lie where
    the reference lists a contact it could not time (at most one per such contact); precision, recall and
    F1 count them as false like any other.
    """

    n_reference: int
    n_detected: int
    n_matched: int
    precision: float
    recall: float
    ic_f1: float
    median_abs_ic_error_s: float
    mean_ic_error_s: float
    contact_time_mae_s: float
    side_accuracy: float
    side_accuracy_running: float
    cadence_error_spm: float
    n_false_in_untimed_gaps: int = 0


def _in_bouts(t_s: FloatArray, bouts_s: FloatArray | None) -> BoolArray:
    if bouts_s is None:
        return np.ones(t_s.shape[0], dtype=bool)
    inside = np.zeros(t_s.shape[0], dtype=bool)
    for start, end in bouts_s:
        inside |= (t_s >= start) & (t_s <= end)
    return inside


def _nan_if_empty(x: FloatArray, fn: str) -> float:
    if x.size == 0:
        return float("nan")
    return float(getattr(np, fn)(x))


def score_events(
    detected_ic_s: FloatArray,
    detected_side: StrArray,
    detected_to_s: FloatArray,
    reference: ReferenceEvents,
    *,
    tolerance_s: float,
    max_step_time_s: float = 1.0,
) -> EventScores:
    """Score detected contacts (times on the reference's axis) against `reference`.

    Consecutive contacts more than `max_step_time_s` apart do not form a step for the cadence.
    """
    # A detection just outside a bout may be the bout's first or last contact (the reference bout starts at
    # its first contact): it is matched if it can be, and counts as a false positive only inside the bout,
    # since the reference does not cover the time outside.
    widened = None if reference.bouts_s is None else reference.bouts_s + np.array([-tolerance_s, tolerance_s])
    d_keep = np.flatnonzero(_in_bouts(detected_ic_s, widened))
    r_keep = np.flatnonzero(_in_bouts(reference.ic_s, reference.bouts_s))
    m0: EventMatch = match_events(detected_ic_s[d_keep], reference.ic_s[r_keep], tolerance_s=tolerance_s)
    unmatched = np.setdiff1d(np.arange(d_keep.size), m0.detected_idx)
    false_s = detected_ic_s[d_keep[unmatched]]
    false_s = false_s[_in_bouts(false_s, reference.bouts_s)]
    n_detected = m0.n_matched + false_s.size
    m = EventMatch(m0.detected_idx, m0.reference_idx, n_detected, m0.n_reference)
    di = d_keep[m.detected_idx]
    ri = r_keep[m.reference_idx]
    err = detected_ic_s[di] - reference.ic_s[ri]
    running = reference.is_running[ri]
    ct_err = (detected_to_s[di] - detected_ic_s[di]) - (reference.to_s[ri] - reference.ic_s[ri])
    ct_ok = running & np.isfinite(ct_err)
    side_ok = detected_side[di] == reference.side[ri]
    # cadence over consecutive matched reference contacts (running ones when there are any)
    consecutive = np.flatnonzero(np.diff(ri) == 1) if ri.size > 1 else np.empty(0, dtype=np.int64)
    ref_step = (
        reference.ic_s[ri[consecutive + 1]] - reference.ic_s[ri[consecutive]] if consecutive.size else None
    )
    cadence_error = float("nan")
    if ref_step is not None:
        det_step = detected_ic_s[di[consecutive + 1]] - detected_ic_s[di[consecutive]]
        ok = (ref_step <= max_step_time_s) & (det_step > 0)
        if running[consecutive].any():
            ok &= running[consecutive]
        if ok.any():
            cadence_error = abs(60.0 / float(np.mean(det_step[ok])) - 60.0 / float(np.mean(ref_step[ok])))
    return EventScores(
        n_reference=m.n_reference,
        n_detected=m.n_detected,
        n_matched=m.n_matched,
        precision=m.precision,
        recall=m.recall,
        ic_f1=m.f1,
        median_abs_ic_error_s=_nan_if_empty(np.abs(err), "median"),
        mean_ic_error_s=_nan_if_empty(err, "mean"),
        contact_time_mae_s=_nan_if_empty(np.abs(ct_err[ct_ok]), "mean"),
        side_accuracy=_nan_if_empty(side_ok.astype(float), "mean"),
        side_accuracy_running=_nan_if_empty(side_ok[running].astype(float), "mean"),
        cadence_error_spm=cadence_error,
        n_false_in_untimed_gaps=_n_in_gaps(false_s, reference.untimed_gaps_s),
    )


def _n_in_gaps(t_s: FloatArray, gaps_s: FloatArray | None) -> int:
    """How many of `t_s` lie strictly inside the gaps, each gap (one untimed contact) taking at most one."""
    if gaps_s is None:
        return 0
    used = np.zeros(t_s.shape[0], dtype=bool)
    n = 0
    for start, end in gaps_s:
        free = np.flatnonzero(~used & (t_s > start) & (t_s < end))
        if free.size:
            used[free[0]] = True
            n += 1
    return n


def matched_rmse(detected: FloatArray, reference: FloatArray) -> float:
    """RMSE over pairs where both values are finite (NaN if none)."""
    ok = np.isfinite(detected) & np.isfinite(reference)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(np.mean((detected[ok] - reference[ok]) ** 2)))


def _side_means(values: FloatArray, side: StrArray) -> tuple[float, float]:
    ok = np.isfinite(values)
    left = values[ok & (side == "L")]
    right = values[ok & (side == "R")]
    return (
        float(np.mean(right)) if right.size else float("nan"),
        float(np.mean(left)) if left.size else float("nan"),
    )


def symmetry_index(values: FloatArray, side: StrArray) -> float:
    """SI of the per-side means by the product's formula (`symmetry_index_pct`); NaN if a side is missing."""
    right, left = _side_means(values, side)
    return symmetry_index_pct(float(right), float(left))


def right_minus_left(values: FloatArray, side: StrArray) -> float:
    """Mean of the right steps minus mean of the left steps (for angles, where an SI is meaningless near
    0)."""
    right, left = _side_means(values, side)
    return right - left
