"""Short lab clips (issue 11, item 3): 4 s or more of steady running with no standing start analyse, with
every contact, side and cadence, and angles relative to the mean running posture, said so in the summary."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from posture.summary import summarize_run
from processing.evaluation import evaluate_scenario
from processing.evaluation.matching import match_events
from processing.pipeline import analyze, default_event_detector
from processing.pipeline.streaming import StreamingProcessor
from processing.simulation import SCENARIO_SUITE, Scenario, scenario_by_name, simulate
from processing.steps import STEP_METRIC_COLUMNS, StepMetrics

SHORT_CLIPS = [s.name for s in SCENARIO_SUITE if s.duration_s < 60.0]


def test_the_suite_holds_short_clips_from_4_s_and_52_to_416_hz() -> None:
    clips = [scenario_by_name(n) for n in SHORT_CLIPS]
    assert min(s.duration_s for s in clips) == 4.0
    assert {52.0, 104.0, 416.0} <= {s.sampling_rate_hz for s in clips}
    assert all(s.standing_s == 0.0 for s in clips)


@pytest.mark.parametrize("name", SHORT_CLIPS)
def test_short_clips_meet_the_issue_targets(name: str) -> None:
    """Every contact found and sided, the cadence within 1 step/min, contact times within 15 ms; drop and
    rotation within the issue 3 target although the clip holds only a few seconds."""
    row = evaluate_scenario(scenario_by_name(name))
    assert row.events.ic_f1 >= 0.99
    assert row.events.side_accuracy_running >= 0.99
    assert row.events.cadence_error_spm <= 1.0
    assert row.events.contact_time_mae_s <= 0.015
    assert row.drop_rmse_deg <= 1.5
    assert row.rotation_rmse_deg <= 1.5


def test_the_first_contacts_of_a_clip_opening_mid_stride_are_timed_like_the_rest() -> None:
    """Without a standing start the orientation starts levelled from the clip's first seconds, not from its
    first sample (mid-stride, anything from free fall to 3 g): the contacts of the first half second are
    found and timed like the later ones (at 52 Hz, the hardest rate)."""
    first: list[float] = []
    later: list[float] = []
    for seed in range(100, 112):
        run = simulate(Scenario(seed=seed, standing_s=0.0, duration_s=4.0, sampling_rate_hz=52.0))
        steps = analyze(run.samples, sampling_rate_hz=52.0).steps
        truth = run.truth.steps.t_ic_s
        detected = np.array([s.t_ic_s for s in steps])
        m = match_events(detected, truth, tolerance_s=0.05)
        assert set(m.reference_idx.tolist()) >= set(np.flatnonzero(truth < 3.5).tolist()), seed
        error = np.abs(detected[m.detected_idx] - truth[m.reference_idx])
        early = truth[m.reference_idx] < 0.5
        first.extend(error[early])
        later.extend(error[~early])
    assert len(first) >= 12
    assert max(first) <= max(later) + 0.002


def test_every_step_of_a_4_s_clip_has_angles_relative_to_the_mean_posture_and_the_summary_says_so() -> None:
    run = simulate(scenario_by_name("short_clip_4s"))
    result = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)
    assert result.mounting is not None
    assert result.mounting.calibration != "standing"
    running = [s for s in result.steps if s.is_running]
    assert len(running) >= 10
    tilt = np.array([s.pelvic_tilt_deg for s in running])
    assert np.isfinite(tilt).all()
    assert np.isfinite([s.pelvic_drop_deg for s in running]).all()
    assert np.isfinite([s.pelvic_rotation_deg for s in running]).all()
    # relative to the mean running posture: the runner's 4 deg of anterior tilt reads about 0
    assert abs(float(tilt.mean())) < 1.0 < float(np.mean(run.truth.steps.pelvic_tilt_deg))
    summary = summarize_run(result, input_name="clip.csv", sampling_rate_hz=104.0, duration_s=4.0)
    assert "mean posture" in summary.calibration.note
    assert summary.calibration.warning is not None
    assert "mean running posture" in summary.calibration.warning
    assert summary.cadence_spm == pytest.approx(run.scenario.cadence_spm, abs=3.0)


@pytest.mark.parametrize("name", ["short_clip_4s", "short_clip_4s_52hz"])
def test_a_4_s_clip_reads_no_left_right_drop_difference_the_runner_does_not_have(name: str) -> None:
    """The mean posture is taken over whole strides: over five and a half, the extra half stride's roll
    to one side reads as about 0.7 deg more drop on one side and 0.7 deg less on the other."""
    row = evaluate_scenario(scenario_by_name(name))
    assert row.drop_rl_error_deg <= 0.5
    assert row.tilt_rl_error_deg <= 0.5
    assert row.drop_rmse_deg <= 0.5


def _columns(steps: tuple[StepMetrics, ...] | list[StepMetrics]) -> dict[str, np.ndarray]:
    return {c: np.array([getattr(s, c) for s in steps]) for c in STEP_METRIC_COLUMNS}


@pytest.mark.parametrize("duration_s", [5.0, 64.0])
def test_streaming_equals_batch_without_a_standing_start(duration_s: float) -> None:
    """The orientation's levelled start reads the first samples whatever the blocks: on a clip (decided at
    its end) and on a long run (decided at the 60 s checkpoint) any split gives the batch steps."""
    run = simulate(Scenario(seed=3, standing_s=0.0, duration_s=duration_s, sampling_rate_hz=52.0))
    samples = run.samples
    expected = _columns(analyze(samples, sampling_rate_hz=52.0).steps)
    assert len(expected["t_ic_s"]) >= 10
    rng = np.random.default_rng(0)
    for _ in range(3):
        cuts = sorted(set(rng.integers(1, len(samples) - 1, size=12).tolist()))
        processor = StreamingProcessor(52.0, has_gyroscope=True, event_detector=default_event_detector())
        got: list[StepMetrics] = []
        for a, b in itertools.pairwise([0, *cuts, len(samples)]):
            got.extend(processor.update(samples.slice(a, b)))
        got.extend(processor.finish())
        streamed = _columns(got)
        for c in STEP_METRIC_COLUMNS:
            np.testing.assert_array_equal(streamed[c], expected[c], err_msg=c)
