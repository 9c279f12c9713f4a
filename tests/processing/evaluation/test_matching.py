"""One-to-one matching within a tolerance, and the F1 that follows from it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing.evaluation import match_events


def test_each_reference_takes_its_closest_detection_once() -> None:
    m = match_events(np.array([0.98, 1.01, 2.0]), np.array([1.0, 2.04]), tolerance_s=0.05)
    assert m.detected_idx.tolist() == [1, 2]
    assert m.reference_idx.tolist() == [0, 1]
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == 1.0
    assert m.f1 == pytest.approx(0.8)


def test_nothing_beyond_the_tolerance_matches() -> None:
    m = match_events(np.array([1.0]), np.array([1.06]), tolerance_s=0.05)
    assert m.n_matched == 0
    assert m.f1 == 0.0


def test_two_empty_lists_are_a_perfect_score() -> None:
    m = match_events(np.empty(0), np.empty(0), tolerance_s=0.05)
    assert m.f1 == 1.0


def test_non_positive_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        match_events(np.empty(0), np.empty(0), tolerance_s=0.0)


@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=30), st.floats(0.01, 0.5))
def test_matching_is_one_to_one_and_within_tolerance(times: list[float], tol: float) -> None:
    # Events of one stream at least two tolerances apart, as contacts are (a step lasts 0.25 s or more, the
    # tolerance is 0.05 s): closer events let a closest-pairs-first match, mobgap's, leave a reference
    # unpaired that a maximum matching would pair.
    det = np.array(times)
    keep = np.concatenate([[True], np.diff(np.sort(det)) >= 2.0 * tol]) if det.size else np.empty(0, bool)
    det = np.sort(det)[keep]
    ref = det[::2] + 0.3 * tol
    m = match_events(det, ref, tolerance_s=tol)
    assert len(set(m.detected_idx.tolist())) == m.n_matched
    assert len(set(m.reference_idx.tolist())) == m.n_matched
    assert np.all(np.abs(det[m.detected_idx] - ref[m.reference_idx]) <= tol + 1e-12)
    assert m.n_matched == ref.size  # every shifted reference finds its own detection
