"""Clock mapping: offset and drift recovered from jittery arrival times; 32-bit sensor time unwrapped."""

from __future__ import annotations

import numpy as np
import pytest

from sensorlink.clock import ClockEstimate, ClockMapper, SlewedTimeline, min_filtered_fit

RATE_HZ = 208.0
SAMPLES_PER_PACKET = 19


def stream(
    mapper: ClockMapper, *, drift_ppm: float, duration_s: float, seed: int = 1, host_start_ns: int = 10**18
) -> None:
    """Feed packets of a sensor whose clock runs drift_ppm fast; arrival = true time + 5 ms + exponential
    jitter."""
    rng = np.random.default_rng(seed)
    period_sensor_s = SAMPLES_PER_PACKET / RATE_HZ
    n = int(duration_s / period_sensor_s)
    sensor_s = np.arange(n) * period_sensor_s
    true_s = sensor_s / (1 + drift_ppm * 1e-6)
    arrival_s = true_s + 0.005 + rng.exponential(0.010, n)
    for s, a in zip(sensor_s, arrival_s, strict=True):
        raw_us = round(s * 1e6 + 4_294_000_000) % (1 << 32)  # starts just before a wrap
        mapper.observe(mapper.unwrap(raw_us), host_start_ns + round(a * 1e9))


def test_points_on_a_line_give_that_line() -> None:
    x = np.linspace(0, 10, 50)
    assert min_filtered_fit(x, 3.0 + 0.5 * x) == pytest.approx((3.0, 0.5))


def test_congested_points_above_the_line_are_trimmed_and_the_line_passes_under_the_lowest() -> None:
    x = np.linspace(0, 100, 200)
    y = 1.0 + 2.0 * x + np.random.default_rng(0).uniform(0, 0.001, 200)
    y[50:60] += 0.5  # ten bins where every packet was held up
    intercept, slope = min_filtered_fit(x, y)
    assert slope == pytest.approx(2.0, abs=2e-5)
    assert np.all(y - (intercept + slope * x) >= -1e-12)


@pytest.mark.parametrize("drift_ppm", [50.0, -50.0, 0.0])
def test_drift_is_estimated_within_5_ppm_over_10_minutes_of_jittery_arrivals(drift_ppm: float) -> None:
    mapper = ClockMapper()
    stream(mapper, drift_ppm=drift_ppm, duration_s=600.0)
    estimate = mapper.estimate()
    assert estimate is not None
    assert estimate.drift_ppm == pytest.approx(drift_ppm, abs=5.0)
    assert estimate.span_s > 590


def test_mapped_times_carry_only_the_minimum_delay_without_time_sync() -> None:
    mapper = ClockMapper()
    stream(mapper, drift_ppm=50.0, duration_s=120.0)
    estimate = mapper.estimate()
    assert estimate is not None
    sensor_us = mapper.unwrap(int(60e6 + 4_294_000_000) % (1 << 32))
    true_host_s = 10**9 + 60.0 / (1 + 50e-6)
    assert float(estimate.host_time_s(sensor_us)) - true_host_s == pytest.approx(0.005, abs=0.002)


def test_a_time_sync_round_trip_removes_the_transport_delay() -> None:
    mapper = ClockMapper()
    stream(mapper, drift_ppm=0.0, duration_s=60.0)
    sensor_us = mapper.unwrap(int(30e6 + 4_294_000_000) % (1 << 32))
    true_ns = 10**18 + int(30e9)
    mapper.observe_time_sync(sensor_us, true_ns - 1_000_000, true_ns + 1_000_000)
    estimate = mapper.estimate()
    assert estimate is not None
    assert estimate.synced
    assert float(estimate.host_time_s(sensor_us)) == pytest.approx(10**9 + 30.0, abs=1e-4)


def test_unwrap_extends_the_32_bit_microsecond_clock() -> None:
    mapper = ClockMapper()
    assert mapper.unwrap(4_294_967_000) == 4_294_967_000
    assert mapper.unwrap(500) == 4_294_967_296 + 500
    assert mapper.unwrap(4_294_967_100) == 4_294_967_100  # slightly older value: not a new wrap


def test_no_estimate_before_the_first_packet() -> None:
    assert ClockMapper().estimate() is None


def test_refits_never_make_host_times_step_backwards() -> None:
    timeline = SlewedTimeline(max_slew_ppm=500)
    first = ClockEstimate(0, 0, 0.0, 1.0, 0.0, 0.0, False)
    refit = ClockEstimate(0, 0, -0.020, 1.0, 0.0, 60.0, False)  # the offset found a 20 ms lower delay
    period_us = 1e6 / 208
    a = timeline.host_times_s(first, np.arange(19) * period_us)
    b = timeline.host_times_s(refit, np.arange(19, 38) * period_us)
    times = np.concatenate([a, b])
    assert np.all(np.diff(times) > 0)
    assert timeline.correction_s == pytest.approx(0.020 - 19 * period_us * 1e-6 * 500e-6)
    # Long after, the correction is gone and the refit mapping holds exactly.
    later = timeline.host_times_s(refit, np.array([100e6]))
    assert later[0] == pytest.approx(100.0 - 0.020)
    assert timeline.correction_s == 0.0
