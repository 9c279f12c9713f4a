"""Host-stamped time axes: what a phone app writes when it stamps packets on arrival."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from processing.simulation import InvalidScenarioError, Scenario, simulate
from processing.simulation.host_stamps import HostStamps, host_stamped

RATE_HZ = 100.0
T_TRUE_S = np.arange(60_000) / (RATE_HZ * 1.005)  # a sensor clock 0.5 % fast


def _stamp(stamps: HostStamps, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return host_stamped(T_TRUE_S, stamps, RATE_HZ, np.random.default_rng(seed))


def test_the_share_of_lost_packets_is_the_one_asked_for_in_whole_packets() -> None:
    kept, _ = _stamp(HostStamps(lost_packet_share=0.015, packet_samples=4))
    n_packets = T_TRUE_S.shape[0] // 4
    packets = np.unique(kept // 4)
    assert n_packets - packets.shape[0] == round(0.015 * n_packets)
    counts = np.bincount(kept // 4)[packets]
    assert (counts == 4).all()  # a packet arrives whole or not at all
    assert kept[0] == 0


def test_batched_stamps_share_the_arrival_time_of_their_packet_after_its_last_sample() -> None:
    stamps = HostStamps(jitter_s=0.004, lost_packet_share=0.0, packet_samples=5, resolution_s=0.0)
    kept, t_host = _stamp(stamps)
    assert (np.diff(t_host) >= 0).all()
    per_packet = t_host.reshape(-1, 5)
    assert (per_packet == per_packet[:, :1]).all()
    latency = per_packet[:, 0] - T_TRUE_S[kept].reshape(-1, 5)[:, -1]
    assert latency.min() >= 0.0
    # exponential latencies with a 4 ms mean; arrivals in order only add to a few of them
    assert 0.0038 <= float(np.median(latency)) / np.log(2.0) <= 0.0046


def test_per_sample_stamps_step_at_the_nominal_period_inside_a_packet() -> None:
    stamps = HostStamps(jitter_s=0.008, lost_packet_share=0.02, packet_samples=4, style="per_sample")
    kept, t_host = _stamp(stamps)
    assert (np.diff(t_host) >= 0).all()
    error = t_host - T_TRUE_S[kept]
    assert float(error.min()) >= -0.03
    assert float(np.median(error)) < 0.02
    steps_ms = np.round(1e3 * np.diff(t_host)).astype(int)
    assert np.mean(steps_ms == 10) > 0.6  # 1 ms resolution, 10 ms nominal period


def test_stamps_follow_the_true_rate_not_the_nominal_one() -> None:
    kept, t_host = _stamp(HostStamps(jitter_s=0.008, lost_packet_share=0.02))
    slope = np.polyfit(kept.astype(float), t_host, 1)[0]
    assert slope == pytest.approx(1.0 / (RATE_HZ * 1.005), rel=1e-4)


def test_a_host_stamped_scenario_keeps_its_truth_on_the_true_axis() -> None:
    scenario = Scenario(
        seed=53,
        sampling_rate_hz=RATE_HZ,
        sample_rate_error_ppm=-5000.0,
        host_stamps=HostStamps(jitter_s=0.008, lost_packet_share=0.02, packet_samples=5),
    )
    run = simulate(scenario)
    clean = simulate(replace(scenario, host_stamps=None))
    n_true = clean.samples.t_s.shape[0]
    assert run.samples.t_s.shape[0] == pytest.approx(0.98 * n_true, abs=6)
    assert run.truth.t_true_s == pytest.approx(clean.samples.t_s)
    np.testing.assert_array_equal(run.truth.steps.t_ic_s, clean.truth.steps.t_ic_s)
    assert np.mean(np.diff(run.samples.t_s) == 0) > 0.7  # batched: most samples share a stamp


@pytest.mark.parametrize(
    ("field", "value"),
    [("jitter_s", -0.001), ("lost_packet_share", 0.5), ("packet_samples", 0), ("style", "bursty")],
)
def test_impossible_stamping_is_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidScenarioError, match=field):
        HostStamps(**{field: value})  # type: ignore[arg-type]


def test_a_scenario_takes_only_host_stamps_and_a_real_axis() -> None:
    with pytest.raises(InvalidScenarioError, match="host_stamps"):
        Scenario(host_stamps=0.004)  # type: ignore[arg-type]
    with pytest.raises(InvalidScenarioError, match="absent_acc_axis"):
        Scenario(absent_acc_axis=3)
