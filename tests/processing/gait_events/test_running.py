"""Running contact timing: the contact is the first strong upward bend on the way up, not the sharpest, and
IC is that bend's foot: a causally spread onset is timed before its curvature peak, a sharp corner at it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from processing.gait_events.running import bend_feet, first_upward_bend, second_difference, upward_bend
from processing.gait_events.signals import lowpass


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


_LOWPASS_HZ = 35.0  # the detector's running low-pass


def _onset(
    rate_hz: float, corner: float, *, leg_hz: float | None, mount_hz: float | None = None
) -> tuple[float, float]:
    """(bend peak, IC) in samples for a force switching on at sample `corner` as a straight rise, optionally
    carried to the sensor through a critically damped (causal) low-pass at `leg_hz` and a soft clip (a
    lightly damped spring at `mount_hz`, damping ratio 0.2), then sampled at `rate_hz` and low-passed as the
    detector does."""
    fine_hz = 2000.0
    t_fine = np.arange(int(4.0 * fine_hz)) / fine_hz
    force = np.maximum(0.0, t_fine - corner / rate_hz) * 1000.0
    if leg_hz is not None:
        w = 2.0 * np.pi * leg_hz
        num, den = signal.bilinear([w * w], [1.0, 2.0 * w, w * w], fine_hz)
        force = signal.lfilter(num, den, force)
    if mount_hz is not None:
        w, zeta = 2.0 * np.pi * mount_hz, 0.2
        num, den = signal.bilinear([2.0 * zeta * w, w * w], [1.0, 2.0 * zeta * w, w * w], fine_hz)
        force = signal.lfilter(num, den, force)
    v = lowpass(np.interp(np.arange(int(4.0 * rate_hz)) / rate_hz, t_fine, force), _LOWPASS_HZ, rate_hz)
    d2 = second_difference(v)
    search = 0.03 * rate_hz
    peak = upward_bend(d2, corner - search, corner + search)
    ic = bend_feet(
        d2,
        np.array([corner - 2 * search]),
        np.array([peak]),
        lowpass_hz=_LOWPASS_HZ,
        sampling_rate_hz=rate_hz,
    )
    return peak, float(ic[0])


@pytest.mark.parametrize("rate_hz", [52.0, 104.0, 416.0])
@pytest.mark.parametrize("phase", [0.0, 0.3, 0.6])
def test_a_sharp_corner_is_timed_at_its_bend(rate_hz: float, phase: float) -> None:
    # the detector's own low-pass and second difference spread a corner both ways: that lead is not the
    # signal's, so a bare corner's foot is its bend
    corner = 2.0 * rate_hz + phase
    peak, ic = _onset(rate_hz, corner, leg_hz=None)
    assert abs(ic - peak) <= 0.05
    assert abs(ic - corner) / rate_hz <= 0.003


@pytest.mark.parametrize("rate_hz", [104.0, 208.0, 416.0])
@pytest.mark.parametrize("phase", [0.0, 0.5])
def test_an_onset_spread_by_the_leg_is_timed_before_its_bend_and_not_before_the_force(
    rate_hz: float, phase: float
) -> None:
    # a critically damped 20 Hz leg puts the curvature peak about 11 ms after the force switches on
    corner = 2.0 * rate_hz + phase
    peak, ic = _onset(rate_hz, corner, leg_hz=20.0)
    assert (peak - corner) / rate_hz >= 0.010
    assert (peak - ic) / rate_hz >= 0.0015
    assert ic >= corner


@pytest.mark.parametrize("rate_hz", [104.0, 208.0, 416.0])  # (at 52 Hz a sample is 19 ms)
@pytest.mark.parametrize("phase", [0.0, 0.5])
def test_an_onset_rung_out_by_a_loose_clip_is_timed_within_10_ms_and_not_before_the_force(
    rate_hz: float, phase: float
) -> None:
    # a clip on a soft strap (14 Hz, lightly damped) lets the curvature build up over ~20 ms: its rise,
    # continued down from its steepest segment, finds the onset; where it crosses a fraction of its peak
    # comes later the slower the rise
    corner = 2.0 * rate_hz + phase
    peak, ic = _onset(rate_hz, corner, leg_hz=None, mount_hz=14.0)
    assert (peak - corner) / rate_hz >= 0.010
    assert 0.0 <= (ic - corner) / rate_hz <= 0.010


def test_a_bend_without_a_foot_in_range_stays_at_its_peak_and_none_stays_nan() -> None:
    slope = np.zeros(30)
    slope[10:] = 5.0
    d2 = second_difference(np.concatenate([[0.0], np.cumsum(slope)]))
    ic = bend_feet(
        d2, np.array([10.0, 2.0]), np.array([10.0, np.nan]), lowpass_hz=35.0, sampling_rate_hz=104.0
    )
    assert ic[0] == 10.0
    assert np.isnan(ic[1])
