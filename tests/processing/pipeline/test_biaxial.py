"""A biaxial logger (vertical and fore-aft axes, no medio-lateral axis, no gyroscope) through the pipeline.

Convention: the absent axis is an all-NaN column of `ImuSamples.acc_mps2`. Events, contact times and cadence
hold; left and right cannot be told, and the result says so (`processing.pipeline.axes`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from processing.errors import InvalidSamplesError
from processing.evaluation import ReferenceEvents, contacts_from_steps, score_events
from processing.pipeline import AnalysisResult, analyze
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, scenario_by_name, simulate


@pytest.fixture(scope="module")
def biaxial_run() -> SimulatedRun:
    return simulate(replace(scenario_by_name("biaxial_logger_100hz"), duration_s=40.0))


@pytest.fixture(scope="module")
def biaxial_result(biaxial_run: SimulatedRun) -> AnalysisResult:
    return analyze(biaxial_run.samples, sampling_rate_hz=biaxial_run.sampling_rate_hz)


def test_the_simulated_logger_has_two_accelerometer_axes_and_no_gyroscope(biaxial_run: SimulatedRun) -> None:
    acc = biaxial_run.samples.acc_mps2
    assert acc.shape[1] == 3
    assert np.isnan(acc[:, 1]).all()
    assert np.isfinite(acc[:, [0, 2]]).all()
    assert biaxial_run.samples.gyr_dps is None


def test_a_biaxial_logger_gives_contacts_contact_times_and_cadence(
    biaxial_run: SimulatedRun, biaxial_result: AnalysisResult
) -> None:
    truth = biaxial_run.truth.steps
    reference = ReferenceEvents(
        ic_s=truth.t_ic_s, side=truth.side, to_s=truth.t_to_s, is_running=truth.is_running
    )
    c = contacts_from_steps(biaxial_result.steps)
    scores = score_events(c.ic_s, c.side, c.to_s, reference, tolerance_s=0.05)
    assert scores.n_reference > 100
    assert scores.ic_f1 >= 0.99
    assert scores.contact_time_mae_s <= 0.015
    assert scores.cadence_error_spm <= 1.0


def test_sides_are_unobservable_and_the_labels_only_alternate(biaxial_result: AnalysisResult) -> None:
    assert biaxial_result.absent_acc_axes == (1,)
    assert not biaxial_result.sides_observable
    sides = [s.side for s in biaxial_result.steps if s.is_running]
    assert len(sides) > 100
    assert all(a != b for a, b in itertools.pairwise(sides))


def test_three_axes_without_a_gyroscope_keep_their_sides(biaxial_run: SimulatedRun) -> None:
    s = biaxial_run.samples
    acc = np.nan_to_num(s.acc_mps2)  # the same numbers, the axis present (reading zero)
    result = analyze(ImuSamples(s.t_s, acc, None), sampling_rate_hz=biaxial_run.sampling_rate_hz)
    assert result.absent_acc_axes == ()
    assert result.sides_observable


def test_blocks_give_the_steps_of_the_whole_recording(
    biaxial_run: SimulatedRun, biaxial_result: AnalysisResult
) -> None:
    s = biaxial_run.samples
    edges = [0, 777, 2500, 2501, len(s)]
    blocks = [s.slice(a, b) for a, b in itertools.pairwise(edges)]
    streamed = analyze(blocks, sampling_rate_hz=biaxial_run.sampling_rate_hz)
    assert len(streamed.steps) == len(biaxial_result.steps) > 50
    for name in ("t_ic_s", "side", "t_to_s", "contact_time_s", "step_time_s", "vertical_oscillation_m"):
        got = [getattr(st, name) for st in streamed.steps]
        np.testing.assert_array_equal(got, [getattr(st, name) for st in biaxial_result.steps], err_msg=name)
    assert streamed.absent_acc_axes == (1,)
    assert not streamed.sides_observable


def _block(n: int = 500, *, nan_cols: tuple[int, ...] = (), gyro: bool = False) -> ImuSamples:
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    acc[:, list(nan_cols)] = np.nan
    gyr = np.zeros((n, 3)) if gyro else None
    return ImuSamples(np.arange(n) / 100.0, acc, gyr)


def test_two_absent_axes_are_refused() -> None:
    with pytest.raises(InvalidSamplesError, match="at least two axes") as info:
        analyze(_block(nan_cols=(0, 1)), sampling_rate_hz=100.0)
    assert info.value.reason == "column"


def test_an_absent_axis_with_a_gyroscope_is_refused() -> None:
    with pytest.raises(InvalidSamplesError, match="three accelerometer axes") as info:
        analyze(_block(nan_cols=(1,), gyro=True), sampling_rate_hz=100.0)
    assert info.value.reason == "column"


def test_an_absent_axis_that_later_holds_values_is_refused() -> None:
    first = _block(nan_cols=(1,))
    later = _block()
    later = ImuSamples(later.t_s + 5.0, later.acc_mps2, None)
    with pytest.raises(InvalidSamplesError, match="keep the logger's mode"):
        analyze([first, later], sampling_rate_hz=100.0)


def test_a_nan_among_the_present_axes_is_still_refused() -> None:
    block = _block(nan_cols=(1,))
    block.acc_mps2[10, 2] = np.nan
    with pytest.raises(InvalidSamplesError) as info:
        analyze(block, sampling_rate_hz=100.0)
    assert info.value.reason == "nan"


def test_an_absent_axis_that_is_not_horizontal_is_refused() -> None:
    """The vertical axis missing (a logger worn a quarter turn off): no up, no contacts to find."""
    run = simulate(Scenario(seed=3, absent_acc_axis=2, duration_s=10.0))  # sensor z is the body's up
    with pytest.raises(InvalidSamplesError, match="medio-lateral") as info:
        analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)
    assert info.value.reason == "column"


def test_a_biaxial_logger_tilted_30_deg_is_still_taken() -> None:
    scenario = replace(
        scenario_by_name("biaxial_logger_100hz"), mounting_zyx_deg=(0.0, -90.0, 30.0), duration_s=20.0
    )
    run = simulate(scenario)
    assert len(analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz).steps) > 40
