"""Running contact timing: the contact is the first strong upward bend on the way up, not the sharpest."""

from __future__ import annotations

import numpy as np

from processing.gait_events.running import first_upward_bend, second_difference


def test_a_later_sharper_bend_on_the_rise_does_not_move_the_contact() -> None:
    # the force switches on at sample 10 (slope 3 per sample), then a heel-strike jolt holds it back and
    # releases it at sample 14 with a sharper bend (slope 1 -> 6): the contact stays at 10
    slope = np.zeros(30)
    slope[10:12] = 3.0
    slope[12:14] = 1.0
    slope[14:20] = 6.0
    v = np.concatenate([[0.0], np.cumsum(slope)])
    d2 = second_difference(v)
    assert int(np.argmax(d2[1:20])) + 1 == 14  # the sharpest bend is the release
    assert abs(first_upward_bend(d2, 2, 18, fraction=0.3) - 10.0) <= 0.5


def test_bends_below_the_fraction_are_not_the_contact() -> None:
    # a gentle bend of the sacrum's own motion in flight (sample 5) comes before the contact (sample 10)
    slope = np.zeros(30)
    slope[5:10] = 0.4
    slope[10:20] = 6.0
    v = np.concatenate([[0.0], np.cumsum(slope)])
    d2 = second_difference(v)
    assert abs(first_upward_bend(d2, 2, 18, fraction=0.3) - 10.0) <= 0.5


def test_an_empty_range_gives_nan() -> None:
    assert np.isnan(first_upward_bend(np.zeros(10), 6, 5, fraction=0.3))
