"""The streaming processor's contract: validated parameters and blocks, degenerate input gives no steps."""

from __future__ import annotations

import numpy as np
import pytest

from processing.errors import InvalidSamplesError, ProcessingError
from processing.pipeline import PipelineParams, StreamingProcessor, analyze, default_event_detector
from processing.samples import ImuSamples

FS = 100.0


def still(n: int, t0: float = 0.0, gyr: bool = True) -> ImuSamples:
    t = t0 + np.arange(n) / FS
    acc = np.tile([0.3, -9.7, 1.2], (n, 1))
    return ImuSamples(t, acc, np.zeros((n, 3)) if gyr else None)


def processor(**kw: object) -> StreamingProcessor:
    return StreamingProcessor(FS, has_gyroscope=True, event_detector=default_event_detector(), **kw)  # type: ignore[arg-type]


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        PipelineParams(window_hop_s=0.0)
    with pytest.raises(ValueError, match="orientation_lookahead_s"):
        PipelineParams(window_margin_s=2.5, orientation_lookahead_s=3.0)
    with pytest.raises(ValueError, match="max_step_time_s"):
        PipelineParams(window_margin_s=2.5, orientation_lookahead_s=1.0, max_step_time_s=3.0)


@pytest.mark.parametrize("rate_hz", [20.0, 1000.0])
def test_sampling_rate_outside_50_to_500_hz_is_refused(rate_hz: float) -> None:
    with pytest.raises(InvalidSamplesError, match="resample") as err:
        StreamingProcessor(rate_hz, has_gyroscope=True, event_detector=default_event_detector())
    assert err.value.reason == "rate"


def test_blocks_must_continue_in_time_and_keep_the_sensor_mode() -> None:
    p = processor()
    p.update(still(100))
    with pytest.raises(InvalidSamplesError, match="increase") as err:
        p.update(still(10, t0=0.5))
    assert err.value.reason == "order"
    with pytest.raises(InvalidSamplesError, match="gyroscope"):
        p.update(still(10, t0=2.0, gyr=False))
    bad = still(10, t0=3.0)
    bad.acc_mps2[4, 1] = np.nan
    with pytest.raises(InvalidSamplesError, match="NaN") as nan_err:
        p.update(bad)
    assert isinstance(nan_err.value, ProcessingError)
    assert isinstance(nan_err.value, ValueError)


def test_a_finished_processor_refuses_more_blocks() -> None:
    p = processor()
    p.update(still(100))
    p.finish()
    assert p.finish() == []
    with pytest.raises(InvalidSamplesError, match="new one"):
        p.update(still(10, t0=5.0))


def test_standing_only_gives_no_steps_and_no_calibration() -> None:
    result = analyze(still(3000), sampling_rate_hz=FS)
    assert result.steps == ()
    assert result.mounting is None


def test_empty_input_gives_an_empty_result() -> None:
    result = analyze([], sampling_rate_hz=FS)
    assert result.steps == ()
    assert result.mounting is None
    p = processor()
    assert p.update(still(0)) == []
    assert p.finish() == []


def test_a_known_mounting_skips_the_calibration_wait() -> None:
    import dataclasses

    from processing.simulation import scenario_by_name, simulate

    run = simulate(dataclasses.replace(scenario_by_name("clean_run"), duration_s=30.0, sampling_rate_hz=52.0))
    first = analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)
    assert first.mounting is not None

    def early_steps(mounting: object) -> tuple[int, StreamingProcessor]:
        p = StreamingProcessor(
            run.sampling_rate_hz,
            has_gyroscope=True,
            event_detector=default_event_detector(),
            mounting=mounting,  # type: ignore[arg-type]
        )
        n = 0
        for a in range(0, len(run.samples), 26):
            block = run.samples.slice(a, min(a + 26, len(run.samples)))
            steps = p.update(block)
            if block.t_s[-1] < run.scenario.standing_s + 8.0:
                n += len(steps)
        return n, p

    known, p = early_steps(first.mounting)
    assert known > 0
    assert p.mounting_ is first.mounting
    unknown, _ = early_steps(None)
    assert unknown == 0  # the calibration waits for 10 s of running (checked every 5 s)
