"""Match detected events to reference events one-to-one within a tolerance, and score the match.

Scoring follows mobgap's initial-contact evaluation (`categorize_ic_list` and the matched metrics): a detected
event is a true positive when it can be paired with a reference event no farther than `tolerance_s`, each
event pairs at most once, and precision, recall and F1 follow from the counts. Pairs are formed greedily from
the closest pair on, which for two sorted event streams is what a one-to-one nearest-neighbour match does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EventMatch", "match_events"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class EventMatch:
    """Pairs of (detected index, reference index), sorted by reference time, and the counts behind F1.

    Attributes
    ----------
    detected_idx, reference_idx : (m,) int arrays
        Paired indices into the detected and reference event arrays.
    n_detected, n_reference : int
        Events considered on each side.
    """

    detected_idx: IntArray
    reference_idx: IntArray
    n_detected: int
    n_reference: int

    @property
    def n_matched(self) -> int:
        return int(self.detected_idx.shape[0])

    @property
    def precision(self) -> float:
        return self.n_matched / self.n_detected if self.n_detected else float("nan")

    @property
    def recall(self) -> float:
        return self.n_matched / self.n_reference if self.n_reference else float("nan")

    @property
    def f1(self) -> float:
        """2 TP / (2 TP + FP + FN); 1.0 when both sides are empty (nothing to find, nothing found)."""
        denominator = self.n_detected + self.n_reference
        if denominator == 0:
            return 1.0
        return 2.0 * self.n_matched / denominator


def match_events(detected_s: FloatArray, reference_s: FloatArray, *, tolerance_s: float) -> EventMatch:
    """Pair each reference event with at most one detected event within `tolerance_s` (closest pairs
    first)."""
    if tolerance_s <= 0:
        raise ValueError(f"tolerance_s must be positive, got {tolerance_s}")
    det = np.asarray(detected_s, dtype=np.float64)
    ref = np.asarray(reference_s, dtype=np.float64)
    order_d = np.argsort(det, kind="stable")
    sd = det[order_d]
    cand_d: list[IntArray] = []
    cand_r: list[IntArray] = []
    lo = np.searchsorted(sd, ref - tolerance_s, side="left")
    hi = np.searchsorted(sd, ref + tolerance_s, side="right")
    for r in range(ref.shape[0]):
        if hi[r] > lo[r]:
            cand_d.append(np.arange(lo[r], hi[r], dtype=np.int64))
            cand_r.append(np.full(hi[r] - lo[r], r, dtype=np.int64))
    if not cand_d:
        empty = np.empty(0, dtype=np.int64)
        return EventMatch(empty, empty, det.shape[0], ref.shape[0])
    pd = np.concatenate(cand_d)
    pr = np.concatenate(cand_r)
    dist = np.abs(sd[pd] - ref[pr])
    used_d = np.zeros(sd.shape[0], dtype=bool)
    used_r = np.zeros(ref.shape[0], dtype=bool)
    out_d: list[int] = []
    out_r: list[int] = []
    for p in np.argsort(dist, kind="stable"):
        d, r = pd[p], pr[p]
        if used_d[d] or used_r[r]:
            continue
        used_d[d] = used_r[r] = True
        out_d.append(int(order_d[d]))
        out_r.append(int(r))
    idx_d = np.asarray(out_d, dtype=np.int64)
    idx_r = np.asarray(out_r, dtype=np.int64)
    order = np.argsort(idx_r, kind="stable")
    return EventMatch(idx_d[order], idx_r[order], det.shape[0], ref.shape[0])
