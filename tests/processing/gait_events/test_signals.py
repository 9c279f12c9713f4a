"""The signal helpers: `lowpass` gives scipy's zero-phase filter to the bit; crossings with hysteresis."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from processing.gait_events.signals import lowpass, rising_crossings_with_hysteresis


@pytest.mark.parametrize("shape", [(2080,), (2080, 3), (500, 2, 2), (16,)])
@pytest.mark.parametrize(("cutoff_hz", "order"), [(0.5, 2), (4.0, 2), (35.0, 2), (10.0, 4)])
def test_lowpass_is_scipy_sosfiltfilt_to_the_bit(
    shape: tuple[int, ...], cutoff_hz: float, order: int
) -> None:
    x = np.random.default_rng(7).standard_normal(shape) * 5.0 + 9.81
    sos = butter(order, cutoff_hz, fs=208.0, output="sos")
    assert np.array_equal(lowpass(x, cutoff_hz, 208.0, order), sosfiltfilt(sos, x, axis=0))


def test_lowpass_of_a_transposed_input_is_that_of_its_copy() -> None:
    x = np.asfortranarray(np.random.default_rng(8).standard_normal((300, 3)))
    assert np.array_equal(lowpass(x, 6.0, 104.0), lowpass(np.ascontiguousarray(x), 6.0, 104.0))


def test_lowpass_returns_inputs_shorter_than_its_padding_unchanged() -> None:
    x = np.arange(9.0)
    out = lowpass(x, 4.0, 208.0)
    assert np.array_equal(out, x)
    assert out is not x


def test_crossings_with_hysteresis_count_once_per_dip_at_the_last_level_crossing() -> None:
    # below the band, a wiggle around the level (crosses at 2.5 and again at 4.5), then confirmed above it
    x = np.array([-2.0, -2.0, -0.5, 0.5, -0.5, 0.5, 2.0, 2.0, 0.5, -0.5, 2.0])
    level = np.zeros_like(x)
    got = rising_crossings_with_hysteresis(x, level, np.full_like(x, 1.0))
    # the dip at index 9 stays inside the band (-1 < -0.5): no second crossing
    assert np.allclose(got, [4.5])
