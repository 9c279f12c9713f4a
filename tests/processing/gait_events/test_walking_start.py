"""Starting to walk: the weight shift before the first step is not the first contact.

From standing, the weight first shifts over the stance foot (the anticipatory postural adjustment), which
lifts the vertical force a little through its mean and lets it fall back; then the swing foot lands with the
loading of a heel strike. The bout starts at the heel strike.
"""

from __future__ import annotations

import numpy as np

from processing.gait_events.walking import skip_weight_shifts

FS = 100.0
MIN_STEP = 0.25 * FS
MAX_BOUT_STEP = 2.0 * FS


def bump(t_s: np.ndarray, at_s: float, height: float, width_s: float = 0.12) -> np.ndarray:
    return height * np.exp(-0.5 * ((t_s - at_s - width_s) / (0.5 * width_s)) ** 2)


def loading(first_rise: float, second_rise: float) -> np.ndarray:
    """Vertical force above its mean (m/s^2): standing, a rise at 2.0 s, a rise at 2.6 s, steps from 3.3 s."""
    t = np.arange(int(8.0 * FS)) / FS
    x = bump(t, 2.0, first_rise) + bump(t, 2.6, second_rise) - bump(t, 2.35, 0.4, 0.15)
    for ic in 3.3 + 0.6 * np.arange(8):
        x += bump(t, ic, 1.5) - bump(t, ic + 0.3, 1.0, 0.2)
    return x


def test_a_weight_shift_before_the_first_heel_strike_is_not_the_first_contact() -> None:
    # the strong band saw the shift (2.0 s) and the steps from 3.3 s; only the weak band the heel strike
    strong = np.array([2.0, 3.3, 3.9, 4.5]) * FS
    weak = np.array([2.0, 2.6, 3.3, 3.9, 4.5]) * FS
    out = skip_weight_shifts(
        strong, weak, loading(0.6, 1.5), min_step_samples=MIN_STEP, max_step_samples=MAX_BOUT_STEP
    )
    assert out.tolist() == (np.array([2.6, 3.3, 3.9, 4.5]) * FS).tolist()


def test_a_first_step_that_loads_most_stays_the_first_contact() -> None:
    # a real first heel strike at 2.0 s, a small wobble after it at 2.6 s
    strong = np.array([2.0, 3.3, 3.9, 4.5]) * FS
    weak = np.array([2.0, 2.6, 3.3, 3.9, 4.5]) * FS
    out = skip_weight_shifts(
        strong, weak, loading(1.5, 0.4), min_step_samples=MIN_STEP, max_step_samples=MAX_BOUT_STEP
    )
    assert out.tolist() == strong.tolist()


def test_only_the_first_contact_of_a_bout_is_moved() -> None:
    # inside a bout a weak rise between two contacts is not a weight shift (the rhythm rules decide it)
    strong = np.array([1.4, 2.0, 3.3, 3.9]) * FS
    weak = np.array([1.4, 2.0, 2.6, 3.3, 3.9]) * FS
    out = skip_weight_shifts(
        strong, weak, loading(0.6, 1.5), min_step_samples=MIN_STEP, max_step_samples=MAX_BOUT_STEP
    )
    assert out.tolist() == strong.tolist()
