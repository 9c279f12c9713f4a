"""Scores: timing, contact time, sides, cadence, bouts, symmetry index."""

from __future__ import annotations

import numpy as np
import pytest

from processing.evaluation import ReferenceEvents, right_minus_left, score_events, symmetry_index


def _reference(n: int = 10, step_s: float = 0.35, bouts: np.ndarray | None = None) -> ReferenceEvents:
    ic = 1.0 + step_s * np.arange(n, dtype=np.float64)
    return ReferenceEvents(
        ic_s=ic,
        side=np.array(["L", "R"] * (n // 2)),
        to_s=ic + 0.2,
        is_running=np.ones(n, dtype=bool),
        bouts_s=bouts,
    )


def test_perfect_detection_scores_perfectly() -> None:
    ref = _reference()
    s = score_events(ref.ic_s, ref.side, ref.to_s, ref, tolerance_s=0.05)
    assert (s.ic_f1, s.side_accuracy, s.side_accuracy_running) == (1.0, 1.0, 1.0)
    assert s.median_abs_ic_error_s == 0.0
    assert s.contact_time_mae_s == 0.0
    assert s.cadence_error_spm == pytest.approx(0.0)


def test_timing_contact_and_cadence_errors_are_measured() -> None:
    ref = _reference()
    det_ic = ref.ic_s + 0.008
    det_to = ref.to_s - 0.002  # contact 10 ms short
    s = score_events(det_ic, ref.side, det_to, ref, tolerance_s=0.05)
    assert s.median_abs_ic_error_s == pytest.approx(0.008)
    assert s.mean_ic_error_s == pytest.approx(0.008)
    assert s.contact_time_mae_s == pytest.approx(0.010)
    assert s.cadence_error_spm == pytest.approx(0.0, abs=1e-9)


def test_swapped_sides_score_zero() -> None:
    ref = _reference()
    swapped = np.where(ref.side == "L", "R", "L")
    assert score_events(ref.ic_s, swapped, ref.to_s, ref, tolerance_s=0.05).side_accuracy == 0.0


def test_only_contacts_inside_the_reference_bouts_count() -> None:
    # detections outside the bouts (unlabelled walking) neither help nor hurt, as mobgap scores it
    ref = _reference(bouts=np.array([[1.0, 2.1]]))
    det = np.concatenate([ref.ic_s, [5.0, 6.0]])
    side = np.concatenate([ref.side, ["L", "R"]])
    s = score_events(det, side, det + 0.2, ref, tolerance_s=0.5)
    assert s.n_reference == 4
    assert s.ic_f1 == 1.0


def test_symmetry_index_follows_the_design_definition() -> None:
    values = np.array([0.30, 0.33, 0.30, 0.33])
    side = np.array(["L", "R", "L", "R"])
    assert symmetry_index(values, side) == pytest.approx(100 * 0.03 / 0.315)
    assert right_minus_left(values, side) == pytest.approx(0.03)
    assert np.isnan(symmetry_index(values[::2], side[::2]))


def test_a_detection_just_before_a_bout_can_match_its_first_contact() -> None:
    # the reference bout starts at its first contact; a detection 20 ms earlier is that contact
    ref = _reference(bouts=np.array([[1.0, 2.05]]))
    det = ref.ic_s - 0.02
    s = score_events(det, ref.side, det + 0.2, ref, tolerance_s=0.5)
    assert s.n_matched == 4
    assert s.ic_f1 == 1.0


def test_levelling_puts_gravity_on_z_after_the_documented_axes() -> None:
    from processing.evaluation import level_with_gravity

    # sensor x up, y right, z forward, tilted 15 deg about its y axis
    c, s = np.cos(np.radians(15)), np.sin(np.radians(15))
    tilt = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    acc_sensor = np.tile(tilt @ np.array([9.81, 0.0, 0.0]), (50, 1))
    axes = np.array([[0.0, 0, 1], [0, -1, 0], [1, 0, 0]])
    acc, gyr = level_with_gravity(acc_sensor, np.zeros((50, 3)), axes)
    np.testing.assert_allclose(acc.mean(axis=0), [0.0, 0.0, 9.81], atol=1e-9)
    assert gyr is not None


def test_false_positives_in_the_references_untimed_gaps_are_counted_apart_but_still_false() -> None:
    ic = np.array([1.0, 2.0, 3.0, 5.0, 6.0])  # the reference lists a contact between 3 and 5 s, untimed
    ref = ReferenceEvents(
        ic_s=ic,
        side=np.array(["L", "R", "L", "L", "R"]),
        to_s=np.full(5, np.nan),
        is_running=np.zeros(5, dtype=bool),
        untimed_gaps_s=np.array([[3.0, 5.0]]),
    )
    det = np.array([1.0, 2.0, 3.0, 4.0, 4.4, 5.0, 6.0])  # 4.0 fills the gap; 4.4 is a second one in it
    s = score_events(
        det, np.array(["L", "R", "L", "R", "L", "L", "R"]), np.full(7, np.nan), ref, tolerance_s=0.2
    )
    assert (s.n_matched, s.n_detected) == (5, 7)
    assert s.precision == pytest.approx(5 / 7)
    assert s.n_false_in_untimed_gaps == 1
