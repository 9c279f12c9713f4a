"""Processing on host-clock devices within a stated margin of our own sensor (issue 12, "Sample times").

Three suite scenarios (a clean run, a planted drop asymmetry, an arbitrary 3-D mounting; 60 s each, 5 s of
it standing) are streamed over the virtual Bumble link by our own simulated sensor (device clock, 208 Hz,
8 samples per packet), a simulated MetaMotionS (200 Hz, packed) and a simulated WitMotion WT901BLE (200 Hz,
one sample per notification), all under the same faults: 15 ms connection events with 2 % retried, 5 ms of
arrival jitter, 2 % of the notifications lost, a 60 ppm fast oscillator. Scan, pairing, `Link`, the
profiles' decoding and `sensorlink.host_clock` are the real ones; the pipeline is `processing.pipeline.
analyze` and the scores are `processing.evaluation.evaluate_scenario`'s against the simulator's truth
(benchmarks/bench_vendor_processing.py runs the same, with more devices, and prints the table that
docs/sensors.md, "Processing on host-clock devices", quotes).

The margin the issue asks for is held against our own sensor's run of the same scenario: IC F1 and side
accuracy within 0.01, contact-time MAE within +3 ms, tilt, drop and rotation RMSE within +0.3 deg. The
MetaMotion meets it. The WitMotion at 200 Hz meets it for IC F1, sides and rotation but not for contact time,
tilt and drop (its host-clock times err by a median of 3.8 ms: one sample per notification, delays spread
over four sample periods, see docs/sensors.md); those bounds are ratchets on today's measured values, named
as such, to be tightened as the host clock improves.
"""

from __future__ import annotations

from functools import cache

import pytest

from benchmarks.bench_vendor_processing import DeviceRun, DeviceScores, bench_scenario, run_on_virtual_time

SCENARIOS = ("clean_run", "drop_asymmetry_left_stance", "arbitrary_mount_b")
OWN = DeviceRun("posture", 208, samples_per_packet=8)
METAMOTION = DeviceRun("metamotion", 200)
WITMOTION = DeviceRun("witmotion", 200)


@cache
def scores(scenario: str) -> dict[str, DeviceScores]:
    """Every device's run of one scenario, streamed once for all the tests below."""
    runs = run_on_virtual_time(bench_scenario(scenario), (OWN, METAMOTION, WITMOTION))
    return {run.device: run for run in runs}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_our_own_sensor_is_the_baseline_its_device_clock_times_samples_within_a_tenth_of_a_millisecond(
    scenario: str,
) -> None:
    own = scores(scenario)[OWN.label]
    assert own.time_error_median_ms < 0.1
    assert own.time_error_p99_ms < 0.5
    # loss is counted exactly (a packet counter) and the run found every step
    assert own.samples_lost_true > 0
    assert own.samples_lost_reported == own.samples_lost_true
    assert own.ic_f1 >= 0.99
    assert own.side_accuracy >= 0.99


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_metamotion_host_clock_meets_the_goal_and_its_processing_stays_within_the_margin_of_our_sensor(
    scenario: str,
) -> None:
    runs = scores(scenario)
    own, vendor = runs[OWN.label], runs[METAMOTION.label]
    # the goal, a median under 2 ms (measured 0.70 ms); the p99 (15 ms measured) is the clock's
    # first seconds, before its fit has settled: a ratchet on today's value
    assert vendor.time_error_median_ms < 2.0
    assert vendor.time_error_p99_ms < 20.0
    assert abs(vendor.samples_lost_reported - vendor.samples_lost_true) <= 0.05 * vendor.samples_lost_true
    assert vendor.ic_f1 >= own.ic_f1 - 0.01
    assert vendor.side_accuracy >= own.side_accuracy - 0.01
    assert vendor.contact_time_mae_ms <= own.contact_time_mae_ms + 3.0
    assert vendor.row.tilt_rmse_deg <= own.row.tilt_rmse_deg + 0.3
    assert vendor.row.drop_rmse_deg <= own.row.drop_rmse_deg + 0.3
    assert vendor.row.rotation_rmse_deg <= own.row.rotation_rmse_deg + 0.3


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_witmotion_at_200_hz_misses_the_margin_and_is_held_to_todays_values(scenario: str) -> None:
    runs = scores(scenario)
    own, vendor = runs[OWN.label], runs[WITMOTION.label]
    # Ratchets on today's values (measured: median 3.8 ms, p99 18.7 ms; the goal is a 2 ms median).
    assert vendor.time_error_median_ms < 4.5
    assert vendor.time_error_p99_ms < 25.0
    # Within the margin today: IC F1, sides and rotation.
    assert vendor.ic_f1 >= own.ic_f1 - 0.01
    assert vendor.side_accuracy >= own.side_accuracy - 0.01
    assert vendor.row.rotation_rmse_deg <= own.row.rotation_rmse_deg + 0.3
    # Ratchets (measured against our own sensor: contact-time MAE +2.3 to +6.1 ms, tilt RMSE +0.27 to
    # +0.47 deg, drop RMSE +0.12 to +0.34 deg).
    assert vendor.contact_time_mae_ms <= own.contact_time_mae_ms + 7.0
    assert vendor.row.tilt_rmse_deg <= own.row.tilt_rmse_deg + 0.6
    assert vendor.row.drop_rmse_deg <= own.row.drop_rmse_deg + 0.5
