"""Streaming equals batch: any split of a recording into blocks gives the batch steps, bit for bit."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.pipeline import analyze, default_event_detector
from processing.pipeline.streaming import StreamingProcessor
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, simulate
from processing.steps import STEP_METRIC_COLUMNS, StepMetrics


@cache
def recording() -> SimulatedRun:
    # A turn, a walking warm-up and a poor gyroscope exercise every switch of the pipeline.
    return simulate(
        Scenario(
            name="split",
            seed=11,
            sampling_rate_hz=52.0,
            duration_s=30.0,
            warmup_walk_s=8.0,
            gyr_bias_dps=(1.5, -1.0, 2.0),
            gyr_noise_dps=0.3,
        )
    )


@cache
def batch(acc_only: bool) -> tuple[StepMetrics, ...]:
    samples = without_gyro(recording().samples) if acc_only else recording().samples
    return analyze(samples, sampling_rate_hz=recording().sampling_rate_hz).steps


def without_gyro(s: ImuSamples) -> ImuSamples:
    return ImuSamples(s.t_s, s.acc_mps2, None)


def as_columns(steps: tuple[StepMetrics, ...] | list[StepMetrics]) -> dict[str, np.ndarray]:
    return {c: np.array([getattr(s, c) for s in steps]) for c in STEP_METRIC_COLUMNS}


def stream(samples: ImuSamples, cuts: list[int]) -> list[StepMetrics]:
    processor = StreamingProcessor(
        recording().sampling_rate_hz,
        has_gyroscope=samples.has_gyroscope,
        event_detector=default_event_detector(),
    )
    edges = [0, *sorted(set(cuts)), len(samples)]
    out: list[StepMetrics] = []
    for a, b in itertools.pairwise(edges):
        out.extend(processor.update(samples.slice(a, b)))
    out.extend(processor.finish())
    return out


cut_lists = st.lists(st.integers(min_value=1, max_value=len(recording().samples) - 1), max_size=40)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=cut_lists)
def test_any_split_gives_the_batch_steps(cuts: list[int]) -> None:
    expected = as_columns(batch(acc_only=False))
    assert len(expected["t_ic_s"]) > 60
    got = as_columns(stream(recording().samples, cuts))
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(got[c], expected[c], err_msg=c)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=cut_lists)
def test_any_split_gives_the_batch_steps_without_gyroscope(cuts: list[int]) -> None:
    expected = as_columns(batch(acc_only=True))
    got = as_columns(stream(without_gyro(recording().samples), cuts))
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(got[c], expected[c], err_msg=c)


def test_sample_by_sample_over_the_calibration_gives_the_batch_steps() -> None:
    samples = recording().samples
    fs = recording().sampling_rate_hz
    cuts = list(range(1, int(20 * fs)))  # one sample per block for the first 20 s, then one block
    expected = as_columns(batch(acc_only=False))
    got = as_columns(stream(samples, cuts))
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(got[c], expected[c], err_msg=c)


@cache
def late_running() -> SimulatedRun:
    # Standing, then a warm-up walk past the last calibration checkpoint: the forward axis comes from
    # walking, and is re-decided once enough running has come in.
    return simulate(
        Scenario(
            name="late_running",
            seed=4,
            sampling_rate_hz=52.0,
            standing_s=3.0,
            warmup_walk_s=58.0,
            duration_s=30.0,
            step_time_asymmetry_pct=5.0,
            tilt_mean_deg=8.0,
        )
    )


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(late_running().samples) - 1), max_size=40))
def test_any_split_gives_the_batch_steps_when_running_re_decides_the_forward_axis(cuts: list[int]) -> None:
    run = late_running()
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)
    assert result.mounting is not None
    assert result.mounting.forward_from == "running"
    processor = StreamingProcessor(
        run.sampling_rate_hz, has_gyroscope=True, event_detector=default_event_detector()
    )
    edges = [0, *sorted(set(cuts)), len(run.samples)]
    got: list[StepMetrics] = []
    for a, b in itertools.pairwise(edges):
        got.extend(processor.update(run.samples.slice(a, b)))
    got.extend(processor.finish())
    expected, streamed = as_columns(result.steps), as_columns(got)
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(streamed[c], expected[c], err_msg=c)


@cache
def gapped() -> ImuSamples:
    """The recording through two link drops: 2 samples (38 ms: bridged) at 12 s, 1.5 s (split) at 20 s."""
    s = recording().samples
    lost = (s.t_s >= 20.0) & (s.t_s < 21.5)
    lost[np.searchsorted(s.t_s, 12.0) + np.arange(2)] = True
    assert s.gyr_dps is not None
    return ImuSamples(s.t_s[~lost], s.acc_mps2[~lost], s.gyr_dps[~lost])


@cache
def gapped_batch(acc_only: bool) -> tuple[StepMetrics, ...]:
    samples = without_gyro(gapped()) if acc_only else gapped()
    result = analyze(samples, sampling_rate_hz=recording().sampling_rate_hz)
    assert (result.gaps.bridged, result.gaps.split) == (1, 1)
    return result.steps


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(gapped()) - 1), max_size=40), acc_only=st.booleans()
)
def test_any_split_of_a_recording_with_gaps_gives_the_batch_steps(cuts: list[int], acc_only: bool) -> None:
    # a gap decided between blocks or inside one, a split anywhere around it: the same steps
    s = gapped()
    i = int(np.searchsorted(s.t_s, 20.0))
    cuts = [*cuts, i - 1, i, i + 1]  # at the split gap and next to it
    expected = as_columns(gapped_batch(acc_only))
    assert len(expected["t_ic_s"]) > 40
    got = as_columns(stream(without_gyro(s) if acc_only else s, cuts))
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(got[c], expected[c], err_msg=c)
