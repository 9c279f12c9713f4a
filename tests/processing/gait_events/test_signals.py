"""The signal helpers: `lowpass` and `median` give scipy's and numpy's numbers to the bit; crossings with
hysteresis."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from processing.gait_events.signals import lowpass, median, rising_crossings_with_hysteresis


@pytest.mark.parametrize("shape", [(2080,), (2080, 3), (500, 2, 2), (16,)])
@pytest.mark.parametrize(("cutoff_hz", "order"), [(0.5, 2), (4.0, 2), (35.0, 2), (10.0, 4)])
def test_lowpass_is_scipy_sosfiltfilt_to_the_bit(
    shape: tuple[int, ...], cutoff_hz: float, order: int
) -> None:
    x = np.random.default_rng(7).standard_normal(shape) * 5.0 + 9.81
    sos = butter(order, cutoff_hz, fs=208.0, output="sos")
    assert np.array_equal(lowpass(x, cutoff_hz, 208.0, order), sosfiltfilt(sos, x, axis=0))


@pytest.mark.parametrize("n", [10, 11, 416])
def test_lowpass_of_a_strided_column_is_scipy_sosfiltfilt_to_the_bit(n: int) -> None:
    # the detector filters columns of the (n, 9) body signals: 1-D views with a stride
    columns = np.random.default_rng(9).standard_normal((n, 9)) * 3.0
    sos = butter(2, 6.0, fs=104.0, output="sos")
    assert np.array_equal(lowpass(columns[:, 4], 6.0, 104.0), sosfiltfilt(sos, columns[:, 4]))


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


@pytest.mark.parametrize("n", [1, 2, 3, 8, 63, 64, 65, 66, 1001, 1500])
def test_median_is_numpys_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    for x in (rng.standard_normal(n) * 1e3, np.round(rng.standard_normal(n), 1), np.full(n, 1.0 / 208.0)):
        assert median(x) == float(np.median(x))
    x = rng.standard_normal(n)
    x[n // 2] = np.nan
    assert np.isnan(median(x))


def test_crossings_with_hysteresis_match_a_sample_by_sample_schmitt_trigger() -> None:
    rng = np.random.default_rng(3)
    x = 3.0 * np.sin(np.arange(3000) * 2 * np.pi / 60) + rng.standard_normal(3000)  # noisy crossings
    h = 2.0
    expected: list[float] = []
    armed_at = 0 if x[0] <= h else None  # the first sample counts as below the band unless above it
    last_negative = -1
    for i, v in enumerate(x):
        if v < -h:
            armed_at = i
        elif v > h and armed_at is not None:
            # the last crossing of the level itself since the dip, interpolated
            if last_negative >= armed_at:
                j = last_negative
                expected.append(j + x[j] / (x[j] - x[j + 1]))
            armed_at = None
        if v < 0:
            last_negative = i
    got = rising_crossings_with_hysteresis(x, np.zeros_like(x), np.full_like(x, h))
    assert len(expected) > 20
    assert np.array_equal(got, expected)
