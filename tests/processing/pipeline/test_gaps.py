"""Gaps have one home: a link drop is bridged when short and splits the stream when long.

A simulated run loses a stretch of samples as a Bluetooth link drop loses them: whole packets, the samples
after the drop carrying their true times, the link's next block saying how many it missed
(`SampleBlock.lost_samples_before`). The processor is fed the link's blocks as `posture run` feeds them; the
record + analyze path (the same samples through a CSV) is in tests/cli/test_analyze_cli.py.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from processing.evaluation import SIM_TOLERANCE_S
from processing.evaluation.matching import match_events
from processing.pipeline import GapCounts, GapPolicy, PipelineParams, StreamingProcessor, analyze
from processing.pipeline import default_event_detector as detector
from processing.pipeline.gaps import resolve_gaps
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, simulate
from processing.steps import STEP_METRIC_COLUMNS, StepMetrics
from sensorlink.blocks import LinkCounters, SampleBlock

RATE_HZ = 208.0
#: The drop: 3 s of running, 25 s into the run (the sensor's standing start is 5 s).
DROP_S = (30.0, 33.0)


@cache
def recording(standing_s: float = 5.0) -> SimulatedRun:
    return simulate(
        Scenario(name="drop", seed=21, sampling_rate_hz=RATE_HZ, duration_s=60.0, standing_s=standing_s)
    )


def link_blocks(samples: ImuSamples, drop_s: tuple[float, float], per_packet: int) -> list[SampleBlock]:
    """The samples as the link delivers them: one block per packet; packets that start inside the drop never
    arrive, and the next block counts their samples as lost."""
    assert samples.gyr_dps is not None
    blocks: list[SampleBlock] = []
    lost = 0
    for first in range(0, len(samples) - per_packet + 1, per_packet):
        if drop_s[0] <= samples.t_s[first] < drop_s[1]:
            lost += per_packet
            continue
        packet = samples.slice(first, first + per_packet)
        blocks.append(SampleBlock(packet, first, lost, round(packet.t_s[0] * 1e6), RATE_HZ, LinkCounters()))
        lost = 0
    return blocks


def run_path(blocks: list[SampleBlock]) -> tuple[list[StepMetrics], StreamingProcessor]:
    processor = StreamingProcessor(RATE_HZ, has_gyroscope=True, event_detector=detector())
    steps: list[StepMetrics] = []
    for block in blocks:
        steps.extend(processor.update(block.samples))
    steps.extend(processor.finish())
    return steps, processor


def gap_of(blocks: list[SampleBlock]) -> tuple[float, float]:
    """The times of the last sample before the drop and the first after it."""
    (i,) = [i for i, b in enumerate(blocks) if b.lost_samples_before > 0]
    return float(blocks[i - 1].samples.t_s[-1]), float(blocks[i].samples.t_s[0])


def assert_halves_analysed_apart(
    run: SimulatedRun, steps: list[StepMetrics], gap: tuple[float, float]
) -> None:
    """None lost, none invented, times right: the two halves of a run through a drop, analysed apart."""
    truth = run.truth.steps
    last_before, first_after = gap
    ic = np.array([s.t_ic_s for s in steps])
    end = ic + np.array([s.step_time_s for s in steps])
    # none invented: no step inside the gap or across it, and every step is a true contact
    assert not np.any((ic > last_before) & (ic < first_after))
    assert not np.any((ic <= last_before) & (end > last_before))
    m = match_events(ic, truth.t_ic_s, tolerance_s=SIM_TOLERANCE_S)
    assert m.n_matched == ic.shape[0]
    # none lost: every true running contact outside the gap, but for two steps at each of its edges
    edge_s = 2.0 * float(np.nanmedian(truth.step_time_s[truth.is_running]))
    outside = truth.is_running & (
        (truth.t_ic_s < last_before - edge_s) | (truth.t_ic_s > first_after + edge_s)
    )
    found = np.zeros(len(truth), dtype=bool)
    found[m.reference_idx] = True
    assert np.all(found[outside]), truth.t_ic_s[outside & ~found]
    assert np.any(ic < last_before)
    assert np.any(ic > first_after)
    # times right: contacts on the truth's time axis on both sides, step times too
    error = ic[m.detected_idx] - truth.t_ic_s[m.reference_idx]
    after = truth.t_ic_s[m.reference_idx] > first_after
    for half in (~after, after):
        assert np.median(np.abs(error[half])) < 0.010
    step_error = end[m.detected_idx] - ic[m.detected_idx] - truth.step_time_s[m.reference_idx]
    assert np.nanmax(np.abs(step_error)) < SIM_TOLERANCE_S
    # sides from the evidence on both sides of the gap (a new bout after it)
    sides = np.array([s.side for s in steps])[m.detected_idx] == truth.side[m.reference_idx]
    assert sides[~after].mean() >= 0.98
    assert sides[after].mean() >= 0.98


def as_columns(steps: list[StepMetrics] | tuple[StepMetrics, ...]) -> dict[str, np.ndarray]:
    return {c: np.array([getattr(s, c) for s in steps]) for c in STEP_METRIC_COLUMNS}


@pytest.mark.parametrize("per_packet", [8, 19])
def test_a_3_s_link_drop_gives_both_halves_analysed_apart(per_packet: int) -> None:
    run = recording()
    blocks = link_blocks(run.samples, DROP_S, per_packet)
    lost = sum(b.lost_samples_before for b in blocks)
    assert lost == pytest.approx(3.0 * RATE_HZ, abs=per_packet)
    steps, processor = run_path(blocks)
    gap = gap_of(blocks)
    assert_halves_analysed_apart(run, steps, gap)
    # one decision, counted: a split of the missing time the link reported
    assert processor.gaps_.split == 1
    assert processor.gaps_.bridged == 0
    assert processor.gaps_.split_s == pytest.approx(lost / RATE_HZ, abs=1e-6)
    assert processor.segments == 2


def test_the_steps_before_a_drop_are_those_of_the_recording_without_it() -> None:
    # The segment before the gap is finished as a recording that ends there would be: every window that
    # ends before the gap saw the same samples, so its steps are the same bits.
    run = recording()
    blocks = link_blocks(run.samples, DROP_S, 8)
    steps, _ = run_path(blocks)
    full = analyze(run.samples, sampling_rate_hz=RATE_HZ).steps
    params = PipelineParams()
    settled = gap_of(blocks)[0] - (params.window_hop_s + 2 * params.window_margin_s)
    before = [s for s in steps if s.t_ic_s + s.step_time_s < settled]
    same = [s for s in full if s.t_ic_s + s.step_time_s < settled]
    assert len(before) > 40
    got, expected = as_columns(before), as_columns(same)
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(got[c], expected[c], err_msg=c)


def test_the_angles_after_a_drop_are_right_from_the_first_steps() -> None:
    # VQF resumes from the samples after the gap (run backwards over them): the pelvis turned by an unknown
    # amount while nothing came, and the stale orientation took seconds to pull back.
    run = recording()
    blocks = link_blocks(run.samples, DROP_S, 8)
    steps, _ = run_path(blocks)
    first_after = gap_of(blocks)[1]
    truth = run.truth.steps
    ic = np.array([s.t_ic_s for s in steps])
    m = match_events(ic, truth.t_ic_s, tolerance_s=SIM_TOLERANCE_S)
    soon = (truth.t_ic_s[m.reference_idx] > first_after) & (truth.t_ic_s[m.reference_idx] < first_after + 6.0)
    assert soon.sum() >= 14
    for angle in ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg"):
        got = np.array([getattr(steps[d], angle) for d in m.detected_idx[soon]])
        true = getattr(truth, angle)[m.reference_idx[soon]]
        assert np.sqrt(np.nanmean((got - true) ** 2)) < 1.5, angle


def test_a_drop_before_the_calibration_is_decided_keeps_the_one_calibration() -> None:
    # 5 s standing, then a drop 3 s into the running: the calibration (10 s of running after standing)
    # is decided later, from the samples of both segments, and the steps before the drop come out then.
    run = recording()
    drop = (8.0, 11.0)
    blocks = link_blocks(run.samples, drop, 8)
    steps, processor = run_path(blocks)
    assert processor.mounting_ is not None
    assert processor.mounting_.calibration == "standing"
    assert_halves_analysed_apart(run, steps, gap_of(blocks))


def test_a_short_drop_is_bridged_and_changes_almost_nothing() -> None:
    # two lost packets of 4 samples at 208 Hz (38 ms): interpolated onto the grid, the stream goes on
    run = recording()
    start = int(np.searchsorted(run.samples.t_s, 31.0)) // 4 * 4
    gap = (float(run.samples.t_s[start - 1]), float(run.samples.t_s[start + 8]))
    blocks = link_blocks(run.samples, (float(run.samples.t_s[start]), gap[1]), 4)
    assert sum(b.lost_samples_before for b in blocks) == 8
    steps, processor = run_path(blocks)
    # (bridged, split, bridged_s, split_s, samples_interpolated)
    assert dataclasses.astuple(processor.gaps_) == pytest.approx((1, 0, 8 / RATE_HZ, 0.0, 8))
    assert processor.segments == 1
    full = analyze(run.samples, sampling_rate_hz=RATE_HZ).steps
    got, expected = as_columns(steps), as_columns(full)
    np.testing.assert_array_equal(got["side"], expected["side"])
    # every contact where it was; one that fell into the gap stays within the gap's length of it
    in_gap = (expected["t_ic_s"] > gap[0]) & (expected["t_ic_s"] < gap[1])
    assert in_gap.sum() == 1  # this drop hides a contact
    np.testing.assert_allclose(got["t_ic_s"][~in_gap], expected["t_ic_s"][~in_gap], atol=0.002)
    np.testing.assert_allclose(got["t_ic_s"][in_gap], expected["t_ic_s"][in_gap], atol=gap[1] - gap[0])
    for angle in ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg"):
        np.testing.assert_allclose(got[angle], expected[angle], atol=0.25, err_msg=angle)


def test_a_split_gap_in_an_accelerometer_only_stream() -> None:
    run = recording()
    s = run.samples
    keep = (s.t_s < DROP_S[0]) | (s.t_s >= DROP_S[1])
    result = analyze(ImuSamples(s.t_s[keep], s.acc_mps2[keep], None), sampling_rate_hz=RATE_HZ)
    assert result.gaps.split == 1
    ic = np.array([x.t_ic_s for x in result.steps])
    assert not np.any((ic > DROP_S[0] - 0.01) & (ic < DROP_S[1]))
    assert np.any(ic > DROP_S[1])


# -- the policy on its own -----------------------------------------------------------------------------------


def grid(n: int, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = t0 + np.arange(n) / 100.0
    return t, np.column_stack([t, 2 * t, 3 * t]), np.column_stack([-t, t, t])


def test_a_block_without_gaps_comes_back_as_it_is() -> None:
    t, acc, gyr = grid(50)
    # jitter of up to half a period either way (intervals of up to two periods) is not a gap
    t = t + np.where(np.arange(50) % 2 == 0, 0.005, -0.005) * (np.arange(50) > 0)
    pieces, counts = resolve_gaps(t, acc, gyr, previous=None, sampling_rate_hz=100.0, policy=GapPolicy())
    assert counts == GapCounts()
    assert len(pieces) == 1
    assert pieces[0].t_s is t
    assert pieces[0].acc_mps2 is acc
    assert pieces[0].gyr_dps is gyr


def test_a_short_gap_is_interpolated_onto_the_grid() -> None:
    t, acc, gyr = grid(50)
    keep = np.r_[0:20, 24:50]  # 4 samples lost: 40 ms
    pieces, counts = resolve_gaps(
        t[keep], acc[keep], gyr[keep], previous=None, sampling_rate_hz=100.0, policy=GapPolicy()
    )
    assert dataclasses.astuple(counts) == pytest.approx((1, 0, 0.04, 0.0, 4))
    (piece,) = pieces
    np.testing.assert_allclose(piece.t_s, t)
    np.testing.assert_allclose(piece.acc_mps2, acc)  # a straight line is bridged exactly
    assert piece.gyr_dps is not None
    np.testing.assert_allclose(piece.gyr_dps, gyr)


def test_a_gap_before_the_block_and_a_long_gap_inside_it() -> None:
    t, acc, gyr = grid(50, t0=1.0)
    keep = np.r_[3:20, 40:50]  # 3 samples lost since `previous`, then 20 (0.2 s): bridged, then split
    previous = (0.99, acc[0] - 0.01, gyr[0] + 0.01)
    pieces, counts = resolve_gaps(
        t[keep], acc[keep], gyr[keep], previous=previous, sampling_rate_hz=100.0, policy=GapPolicy()
    )
    assert dataclasses.astuple(counts) == pytest.approx((1, 1, 0.03, 0.2, 3))
    assert [p.split_before for p in pieces] == [False, True]
    np.testing.assert_allclose(pieces[0].t_s, t[:20])
    np.testing.assert_allclose(pieces[1].t_s, t[40:])


@pytest.mark.parametrize(
    ("lost", "rate_hz", "bridged"),
    [
        (8, 99.5, True),  # one packet of a 100 Hz logger whose clock runs 0.5 % slow: 80.4 ms
        (5, 99.5, True),  # a phone app's packet of 5 samples: 50.25 ms
        (8, 208.0, True),  # one packet of our sensor at its default rate: 38 ms
        (4, 52.0, True),  # 77 ms
        (9, 100.0, False),  # 90 ms: a bridge would cost more tilt than a split
        (20, 100.0, False),
    ],
)
def test_one_lost_packet_of_a_common_logger_is_bridged(lost: int, rate_hz: float, bridged: bool) -> None:
    t = np.arange(60) / rate_hz
    acc, gyr = np.column_stack([t, 2 * t, 3 * t]), np.column_stack([-t, t, t])
    keep = np.r_[0:20, 20 + lost : 60]
    _, counts = resolve_gaps(
        t[keep], acc[keep], gyr[keep], previous=None, sampling_rate_hz=rate_hz, policy=GapPolicy()
    )
    assert (counts.bridged, counts.split) == ((1, 0) if bridged else (0, 1))
    assert counts.total_s == pytest.approx(lost / rate_hz)


def test_the_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="max_bridge_s"):
        GapPolicy(max_bridge_s=-1.0)
    with pytest.raises(ValueError, match="min_gap_periods"):
        GapPolicy(min_gap_periods=1.2)
    params = dataclasses.replace(PipelineParams(), gaps=GapPolicy(max_bridge_s=0.0))
    assert params.gaps.max_bridge_s == 0.0
