"""The pipeline's shortcuts give numpy's numbers to the bit (the outputs must not depend on them)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from processing.gait_events import GaitEvents
from processing.laterality import parity_groups
from processing.pipeline import analyze, default_event_detector
from processing.pipeline.streaming import _unwrap_deg
from processing.samples import ImuSamples
from processing.simulation import Pause, scenario_by_name, simulate


@pytest.mark.parametrize("seed", range(5))
def test_heading_unwrap_is_numpys_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    turning = np.cumsum(rng.standard_normal(3000) * 5.0)  # many wraps, some steps of exactly 180 deg below
    wrapped = np.degrees(np.arctan2(np.sin(np.radians(turning)), np.cos(np.radians(turning))))
    wrapped[::97] = np.round(wrapped[::97] / 180.0) * 180.0
    column = np.empty((wrapped.shape[0], 9))
    column[:, 8] = wrapped  # a strided column, as the pipeline reads it
    assert np.array_equal(_unwrap_deg(column[:, 8]), np.unwrap(column[:, 8], period=360.0))
    assert np.array_equal(_unwrap_deg(wrapped[:1]), np.unwrap(wrapped[:1], period=360.0))


class _GroupsCheckedDetector:
    """The default detector, checking in every window that its parity groups are the ones the stitcher
    would otherwise compute from the events on the recording's seconds."""

    def __init__(self, has_gyroscope: bool) -> None:
        self.inner = default_event_detector()
        self.has_gyroscope = has_gyroscope
        self.windows_with_groups = 0

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        events = self.inner.detect_window(t_s, acc_mps2, gyr_dps, sampling_rate_hz=sampling_rate_hz)
        recomputed = parity_groups(
            events.ic_s,
            events.bout_id,
            events.activity == "running",
            split_at_activity_change=not self.has_gyroscope,
        )
        assert events.parity_group is not None
        assert np.array_equal(events.parity_group, recomputed)
        self.windows_with_groups += int(recomputed.shape[0] > 0 and recomputed[-1] > 0)
        return events


@pytest.mark.parametrize("has_gyroscope", [True, False])
def test_the_detectors_parity_groups_are_the_stitchers(has_gyroscope: bool) -> None:
    # walking into running and back, a pause, two sampling rates' worth of rounding: the stitcher reads the
    # detector's groups (computed on sample indices) instead of recomputing them on seconds
    scenario = replace(
        scenario_by_name("walk_warmup_cooldown"),
        duration_s=40.0,
        warmup_walk_s=12.0,
        cooldown_walk_s=10.0,
        pauses=(Pause(30.0, 5.0),),
    )
    samples = simulate(scenario).samples
    if not has_gyroscope:
        samples = ImuSamples(samples.t_s, samples.acc_mps2, None)
    detector = _GroupsCheckedDetector(has_gyroscope)
    result = analyze(samples, sampling_rate_hz=scenario.sampling_rate_hz, event_detector=detector)
    assert result.steps
    assert detector.windows_with_groups > 0  # some windows hold more than one group: not vacuous
