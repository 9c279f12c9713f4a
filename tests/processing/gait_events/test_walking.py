"""Walking contacts: a weaker band fills a missed step in the local rhythm, and nothing else."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from processing.gait_events.walking import fill_rhythm_gaps, steps_in_gap

FS = 100.0
MIN_STEP = 0.25 * FS
MAX_STEP = 1.0 * FS


def steady(step_s: float, n: int, start_s: float = 1.0) -> np.ndarray:
    return (start_s + step_s * np.arange(n)) * FS


def test_a_weak_contact_in_the_middle_of_a_two_step_gap_is_kept() -> None:
    strong = np.delete(steady(0.6, 10), 5)  # the step at 4.0 s was missed
    weak = np.array([4.03 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert out.tolist() == sorted([*strong.tolist(), 4.03 * FS])


def test_weak_rises_inside_a_steady_rhythm_are_not_contacts() -> None:
    # a weight shift or tremor between two regular steps: no gap for it to fill
    strong = steady(0.6, 10)
    weak = np.array([2.9 * FS, 4.3 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def test_a_weak_rise_off_the_middle_of_a_gap_is_not_kept() -> None:
    strong = np.delete(steady(0.6, 10), 5)
    weak = np.array([3.7 * FS, 4.4 * FS])  # 0.1 s and 0.2 s after / before the neighbours of the 1.2 s gap
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def test_the_strong_contacts_seen_through_the_weak_band_are_not_doubled() -> None:
    strong = np.delete(steady(0.6, 10), 5)
    out = fill_rhythm_gaps(strong, strong + 2.0, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def test_the_rule_reads_times_not_samples() -> None:
    # the same walk at 50 and 200 Hz fills the same gap
    for fs in (50.0, 200.0):
        scale = fs / FS
        strong = np.delete(steady(0.6, 10), 5) * scale
        out = fill_rhythm_gaps(
            strong,
            np.array([4.03 * fs]),
            min_step_samples=MIN_STEP * scale,
            max_step_samples=MAX_STEP * scale,
        )
        assert out.size == strong.size + 1


def test_a_pause_is_not_a_missed_step() -> None:
    # two bouts with a weak rise in the middle of the 2.6 s pause: the gap is not about two steps
    strong = np.concatenate([steady(0.6, 5), steady(0.6, 5, start_s=6.0)])
    weak = np.array([4.6 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def test_two_missed_steps_in_a_row_are_filled_where_they_split_the_gap_evenly() -> None:
    # a turn on the spot: the steps at 4.0 and 4.6 s barely lift the trunk; weak rises near both are kept
    strong = np.delete(steady(0.6, 12), [5, 6])
    weak = np.array([3.95 * FS, 4.68 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert out.tolist() == sorted([*strong.tolist(), *weak.tolist()])


def test_a_gap_is_filled_only_when_every_missed_step_has_a_weak_rise() -> None:
    # one weak rise in a gap of three steps does not keep time on its own: a weight shift, not two steps
    strong = np.delete(steady(0.6, 12), [5, 6])
    weak = np.array([3.95 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def test_more_than_three_missed_steps_are_a_pause() -> None:
    strong = np.delete(steady(0.6, 14), [4, 5, 6, 7])
    weak = (1.0 + 0.6 * np.arange(4, 8, dtype=np.float64)) * FS
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, strong)


def _given(score: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Side evidence that is `score` whatever the contacts."""
    return lambda _: score


def test_missed_steps_keep_the_feet_alternating() -> None:
    # contacts alternate L (+), R (-): one missed step lies between two contacts of the same foot, two missed
    # steps between contacts of opposite feet
    strong = np.delete(steady(0.6, 12), 5)
    score = np.where(np.arange(12) % 2 == 0, 1.0, -1.0)
    one_missed = fill_rhythm_gaps(
        strong,
        np.array([4.03 * FS]),
        min_step_samples=MIN_STEP,
        max_step_samples=MAX_STEP,
        side_evidence=lambda _: np.delete(score, 5),
    )
    assert one_missed.size == strong.size + 1
    # the same gap between a left and a right contact: a foot adjustment, not a step (no evidence: undecided)
    adjusted = np.delete(score, 5)
    adjusted[5:] *= -1.0
    for side_score, kept in ((adjusted, 0), (np.where(np.arange(11) == 5, 0.0, adjusted), 1)):
        out = fill_rhythm_gaps(
            strong,
            np.array([4.03 * FS]),
            min_step_samples=MIN_STEP,
            max_step_samples=MAX_STEP,
            side_evidence=_given(side_score),
        )
        assert out.size == strong.size + kept
    two_missed = fill_rhythm_gaps(
        np.delete(steady(0.6, 12), [5, 6]),
        np.array([3.95 * FS, 4.68 * FS]),
        min_step_samples=MIN_STEP,
        max_step_samples=MAX_STEP,
        side_evidence=lambda _: np.delete(score, [5, 6]),
    )
    assert two_missed.size == 12


def test_a_gap_counts_its_steps_by_their_ratio_to_the_local_step() -> None:
    # step times vary in proportion: the boundary between n and n + 1 steps is the geometric midpoint
    # sqrt(n (n + 1)) local steps, not the arithmetic one
    assert [steps_in_gap(r) for r in (0.3, 1.0, 1.40, 1.43, 2.0, 2.44, 2.46, 3.45, 3.47)] == [
        1,
        1,
        1,
        2,
        2,
        2,
        3,
        3,
        4,
    ]


def test_a_turning_step_that_shortens_its_gap_is_still_found() -> None:
    # a turn on the spot: the missed step and its neighbour are quicker, so the gap is 1.45 local steps (two
    # steps 27 % short, not one 45 % long) and a weak rise splits it
    strong = np.concatenate([steady(0.6, 6), steady(0.6, 6, start_s=4.87)])
    weak = np.array([4.32 * FS])
    out = fill_rhythm_gaps(strong, weak, min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert out.size == strong.size + 1
    # a gap of 1.35 local steps is one slow step: a weak rise inside it is a weight shift
    slow = np.concatenate([steady(0.6, 6), steady(0.6, 6, start_s=4.81)])
    out = fill_rhythm_gaps(slow, np.array([4.3 * FS]), min_step_samples=MIN_STEP, max_step_samples=MAX_STEP)
    assert np.array_equal(out, slow)


def test_the_foot_before_a_gap_is_read_from_the_contact_before_it() -> None:
    # L R L R L R | missed L | R ...: the gap's first contact (R, index 5) reads the push over its own step,
    # which now holds both stances and cancels: its evidence may have either sign. The contact before it
    # (L, a regular step earlier) and the one after the gap (R) say that one step is missing.
    strong = np.delete(steady(0.6, 12), 6)
    score = np.where(np.arange(12) % 2 == 0, 1.0, -1.0)
    evidence = np.delete(score, 6)
    evidence[5] = 0.3  # the cancelled push of the gap's first contact, of the wrong sign
    out = fill_rhythm_gaps(
        strong,
        np.array([4.6 * FS]),
        min_step_samples=MIN_STEP,
        max_step_samples=MAX_STEP,
        side_evidence=_given(evidence),
    )
    assert out.size == strong.size + 1
    # a foot adjustment: the feet alternate across the gap (the contact before the gap and the one after it
    # on opposite feet), so the weak rise is not a step, whatever the gap's first contact reads
    adjusted = evidence.copy()
    adjusted[6:] *= -1.0
    adjusted[5] = 1.0
    out = fill_rhythm_gaps(
        strong,
        np.array([4.6 * FS]),
        min_step_samples=MIN_STEP,
        max_step_samples=MAX_STEP,
        side_evidence=_given(adjusted),
    )
    assert np.array_equal(out, strong)
