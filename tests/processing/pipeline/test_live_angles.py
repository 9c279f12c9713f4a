"""Live angles: the newest sample's pelvic angles, straight from the orientation filter, without a step.

They follow the simulator's truth at every block (not only at committed steps), carry the newest sample's
time, resume after a link drop, and leave the committed steps exactly as they are. What they cost is a
benchmark figure (`benchmarks/bench_commit_delay.py`), not a timed test.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from processing.pipeline import LiveAngles, StreamingProcessor, default_event_detector
from processing.samples import ImuSamples
from processing.simulation import SimulatedRun, scenario_by_name, simulate
from processing.steps import STEP_METRIC_COLUMNS, StepMetrics

BLOCK_S = 0.1  # the live topic's cadence: about 10 Hz


@cache
def run_of(name: str) -> SimulatedRun:
    return simulate(dataclasses.replace(scenario_by_name(name), duration_s=90.0))


def stream(
    samples: ImuSamples, fs: float, *, read_live: bool = True
) -> tuple[list[StepMetrics], list[tuple[int, LiveAngles | None]]]:
    """Blocks of `BLOCK_S`; after each, the live angles (with the index of the block's last sample)."""
    processor = StreamingProcessor(
        fs, has_gyroscope=samples.has_gyroscope, event_detector=default_event_detector()
    )
    block = round(BLOCK_S * fs)
    steps: list[StepMetrics] = []
    live: list[tuple[int, LiveAngles | None]] = []
    for a in range(0, len(samples), block):
        b = min(a + block, len(samples))
        steps.extend(processor.update(samples.slice(a, b)))
        if read_live:
            live.append((b - 1, processor.live_angles()))
    steps.extend(processor.finish())
    return steps, live


def rmse_against_truth(
    run: SimulatedRun, live: list[tuple[int, LiveAngles | None]], since_s: float
) -> dict[str, float]:
    got = [(i, x) for i, x in live if x is not None and run.samples.t_s[i] >= since_s]
    idx = np.array([i for i, _ in got])
    truth = {
        "tilt": run.truth.tilt_deg,
        "obliquity": run.truth.obliquity_deg,
        "rotation": run.truth.rotation_deg,
    }
    values = {
        "tilt": np.array([x.pelvic_tilt_deg for _, x in got]),
        "obliquity": np.array([x.pelvic_obliquity_deg for _, x in got]),
        "rotation": np.array([x.pelvic_rotation_deg for _, x in got]),
    }
    return {k: float(np.sqrt(np.mean((values[k] - truth[k][idx]) ** 2))) for k in truth}


@pytest.mark.parametrize(
    ("name", "bound_deg"),
    [
        ("clean_run", {"tilt": 1.0, "obliquity": 1.0, "rotation": 1.5}),
        ("arbitrary_mount_a", {"tilt": 1.0, "obliquity": 1.0, "rotation": 1.5}),
        # turns: the causal direction of travel lags at a bend's start and end
        ("track_turns", {"tilt": 1.5, "obliquity": 1.5, "rotation": 4.0}),
    ],
)
def test_live_angles_follow_the_truth_at_every_block(name: str, bound_deg: dict[str, float]) -> None:
    run = run_of(name)
    _, live = stream(run.samples, run.sampling_rate_hz)
    # the newest sample's angles, from the first block after the calibration on
    assert all(x is None or x.t_s == run.samples.t_s[i] for i, x in live)
    calibrated = [i for i, x in live if x is not None]
    assert run.samples.t_s[calibrated[0]] < run.scenario.run_start_s + 20.0
    assert len(calibrated) >= len(live) - 250
    errors = rmse_against_truth(run, live, since_s=run.scenario.run_start_s + 3.0)
    for angle, bound in bound_deg.items():
        assert errors[angle] <= bound, (angle, errors)


def test_reading_live_angles_leaves_the_committed_steps_as_they_are() -> None:
    run = run_of("clean_run")
    with_live, _ = stream(run.samples, run.sampling_rate_hz)
    without, _ = stream(run.samples, run.sampling_rate_hz, read_live=False)
    assert len(with_live) > 200
    for c in STEP_METRIC_COLUMNS:
        np.testing.assert_array_equal(
            [getattr(s, c) for s in with_live], [getattr(s, c) for s in without], err_msg=c
        )


def test_no_live_angles_before_the_calibration_or_without_a_gyroscope() -> None:
    run = run_of("clean_run")
    s = run.samples
    _, live = stream(s, run.sampling_rate_hz)
    standing = [x for i, x in live if s.t_s[i] < run.scenario.standing_s]
    assert standing
    assert all(x is None for x in standing)
    _, acc_only = stream(ImuSamples(s.t_s, s.acc_mps2, None), run.sampling_rate_hz)
    assert all(x is None for _, x in acc_only)


def test_live_angles_resume_half_a_second_after_a_link_drop() -> None:
    run = run_of("clean_run")
    s = run.samples
    assert s.gyr_dps is not None
    drop = (40.0, 43.0)
    kept = (s.t_s < drop[0]) | (s.t_s >= drop[1])
    samples = ImuSamples(s.t_s[kept], s.acc_mps2[kept], s.gyr_dps[kept])
    _, live = stream(samples, run.sampling_rate_hz)
    original = np.flatnonzero(kept)  # index in the run's samples of each sample kept
    after = [(original[i], x) for i, x in live if drop[1] <= samples.t_s[i] < drop[1] + 3.0]
    waiting = [x for i, x in after if s.t_s[i] < drop[1] + 0.45]
    assert waiting
    assert all(x is None for x in waiting)
    assert all(x is not None for i, x in after if s.t_s[i] >= drop[1] + 0.6)
    errors = rmse_against_truth(run, after, since_s=drop[1])
    assert errors["tilt"] < 2.0
    assert errors["obliquity"] < 2.0
