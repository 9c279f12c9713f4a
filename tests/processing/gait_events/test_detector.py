"""GaitEventDetector: the contract, known answers on hand-made signals, and the issue-3 targets on
simulations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.errors import InvalidSamplesError
from processing.evaluation import EventScores, ReferenceEvents, score_events
from processing.gait_events import GaitEventDetector, GaitEvents, bouts_from_step_times
from processing.samples import STANDARD_GRAVITY_MPS2

from .conftest import LevelledRun, half_sine_running


def _score(run: LevelledRun, events: GaitEvents) -> EventScores:
    steps = run.truth.steps  # type: ignore[attr-defined]
    ref = ReferenceEvents(
        ic_s=np.asarray(steps.t_ic_s) - run.t0_s,
        side=np.asarray(steps.side),
        to_s=np.asarray(steps.t_to_s) - run.t0_s,
        is_running=np.asarray(steps.is_running),
    )
    return score_events(events.ic_s, events.side, events.to_s, ref, tolerance_s=0.05)


def test_detect_returns_self_with_events() -> None:
    run = half_sine_running(104.0)
    det = GaitEventDetector()
    assert det.detect(run.acc_mps2, None, sampling_rate_hz=104.0) is det
    assert isinstance(det.events_, GaitEvents)


def test_standing_still_has_no_steps() -> None:
    rng = np.random.default_rng(1)
    acc = np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (1000, 1)) + rng.normal(0, 0.05, (1000, 3))
    events = GaitEventDetector().detect(acc, np.zeros((1000, 3)), sampling_rate_hz=100.0).events_
    assert len(events) == 0


@pytest.mark.parametrize("rate", [20.0, 1000.0])
def test_rate_outside_50_to_500_hz_is_refused(rate: float) -> None:
    with pytest.raises(InvalidSamplesError, match="resample"):
        GaitEventDetector().detect(np.zeros((100, 3)), None, sampling_rate_hz=rate)


def test_nan_samples_are_refused_as_value_error() -> None:
    acc = np.zeros((100, 3))
    acc[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaitEventDetector().detect(acc, None, sampling_rate_hz=100.0)


@pytest.mark.parametrize("rate", [52.0, 104.0, 416.0])
def test_half_sine_contacts_are_timed_between_samples(rate: float) -> None:
    # Spring-mass running: the straight-edge extrapolation is within 4 ms of the true onset and end at any
    # rate, while picking samples would be off by up to 19 ms at 52 Hz.
    run = half_sine_running(rate)
    events = GaitEventDetector().detect(run.acc_mps2, None, sampling_rate_hz=rate).events_
    assert len(events) == len(run.ic_s)
    np.testing.assert_allclose(events.ic_s, run.ic_s, atol=0.004)
    np.testing.assert_allclose(events.to_s, run.to_s, atol=0.004)
    assert set(events.activity.tolist()) == {"running"}


def test_contacts_alternate_sides_within_a_bout() -> None:
    run = half_sine_running(104.0)
    events = GaitEventDetector().detect(run.acc_mps2, None, sampling_rate_hz=104.0).events_
    assert np.all(events.side[1:] != events.side[:-1])
    assert np.unique(events.bout_id).size == 1


def test_a_slow_step_inside_a_walking_bout_does_not_end_it() -> None:
    # daily-life walking: a hesitant 1.6 s step (turning on the spot) stays in the bout, a 2.5 s pause ends it
    ic_s = np.array([0.0, 0.55, 1.1, 2.7, 3.25, 5.75, 6.3])
    bouts = bouts_from_step_times(ic_s, max_step_time_s=GaitEventDetector().max_bout_step_s)
    assert bouts.tolist() == [0, 0, 0, 0, 0, 1, 1]


def test_bouts_cannot_break_at_shorter_steps_than_the_cadence_floor() -> None:
    with pytest.raises(ValueError, match="max_bout_step_s"):
        GaitEventDetector(max_step_time_s=1.0, max_bout_step_s=0.8)


@pytest.mark.parametrize(
    "name", ["slow_jog_52hz", "fast_6mps_416hz", "walk_warmup_cooldown", "upside_down_clip", "track_turns"]
)
def test_issue_targets_on_representative_scenarios(short_suite: dict[str, LevelledRun], name: str) -> None:
    run = short_suite[name]
    events = (
        GaitEventDetector().detect(run.acc_mps2, run.gyr_dps, sampling_rate_hz=run.sampling_rate_hz).events_
    )
    s = _score(run, events)
    assert s.ic_f1 >= 0.99
    assert s.median_abs_ic_error_s <= 0.010
    assert s.contact_time_mae_s <= 0.015
    assert s.side_accuracy_running >= 0.99
    assert s.cadence_error_spm <= 1.0


def test_walking_and_running_are_told_apart(short_suite: dict[str, LevelledRun]) -> None:
    run = short_suite["walk_warmup_cooldown"]
    events = (
        GaitEventDetector().detect(run.acc_mps2, run.gyr_dps, sampling_rate_hz=run.sampling_rate_hz).events_
    )
    truth = run.truth.steps  # type: ignore[attr-defined]
    t_ic = np.asarray(truth.t_ic_s) - run.t0_s
    nearest = np.abs(events.ic_s[:, None] - t_ic[None, :]).argmin(axis=1)
    agree = (events.activity == "running") == np.asarray(truth.is_running)[nearest]
    assert agree.mean() >= 0.98


def test_accelerometer_only_still_gives_events_and_sides(short_suite: dict[str, LevelledRun]) -> None:
    run = short_suite["upside_down_clip"]
    events = GaitEventDetector().detect(run.acc_mps2, None, sampling_rate_hz=run.sampling_rate_hz).events_
    s = _score(run, events)
    assert s.ic_f1 >= 0.99
    assert s.side_accuracy_running >= 0.95


def test_a_window_gives_the_batch_events_away_from_its_edges(short_suite: dict[str, LevelledRun]) -> None:
    # What the streaming pipeline relies on: the detector needs only local context.
    run = short_suite["fast_6mps_416hz"]
    fs = run.sampling_rate_hz
    batch = GaitEventDetector().detect(run.acc_mps2, run.gyr_dps, sampling_rate_hz=fs).events_
    a, b = int(12.0 * fs), int(20.0 * fs)
    window = GaitEventDetector().detect(run.acc_mps2[a:b], run.gyr_dps[a:b], sampling_rate_hz=fs).events_
    window = window.shifted(a / fs)
    inner_w = (window.ic_s > 14.0) & (window.ic_s < 18.0)
    inner_b = (batch.ic_s > 14.0) & (batch.ic_s < 18.0)
    np.testing.assert_allclose(window.ic_s[inner_w], batch.ic_s[inner_b], atol=1e-4)
    np.testing.assert_allclose(window.to_s[inner_w], batch.to_s[inner_b], atol=1e-4)
    assert np.array_equal(window.side[inner_w], batch.side[inner_b])


def test_walking_toe_off_ends_the_next_double_support(short_suite: dict[str, LevelledRun]) -> None:
    run = short_suite["walk_warmup_cooldown"]
    events = (
        GaitEventDetector().detect(run.acc_mps2, run.gyr_dps, sampling_rate_hz=run.sampling_rate_hz).events_
    )
    truth = run.truth.steps  # type: ignore[attr-defined]
    walking = ~np.asarray(truth.is_running)
    ref = ReferenceEvents(
        ic_s=np.asarray(truth.t_ic_s)[walking] - run.t0_s,
        side=np.asarray(truth.side)[walking],
        to_s=np.asarray(truth.t_to_s)[walking] - run.t0_s,
        is_running=np.ones(int(walking.sum()), dtype=bool),  # score contact time on these steps
    )
    s = score_events(events.ic_s, events.side, events.to_s, ref, tolerance_s=0.05)
    assert s.contact_time_mae_s <= 0.015


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 600),
    rate=st.floats(50.0, 500.0),
    noise=st.floats(0.0, 30.0),
    seed=st.integers(0, 2**16),
    with_gyr=st.booleans(),
)
def test_any_input_gives_valid_events_inside_it(
    n: int, rate: float, noise: float, seed: int, with_gyr: bool
) -> None:
    rng = np.random.default_rng(seed)
    acc = np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (n, 1)) + rng.normal(0.0, noise, (n, 3))
    gyr = rng.normal(0.0, 50.0, (n, 3)) if with_gyr else None
    events = GaitEventDetector().detect(acc, gyr, sampling_rate_hz=rate).events_
    assert np.all((events.ic_s >= 0) & (events.ic_s <= max(n - 1, 0) / rate))
    finite_to = np.isfinite(events.to_s)
    assert np.all(events.to_s[finite_to] > events.ic_s[finite_to])


def _walk_with_one_shallow_step(
    fs: float, shallow_mps2: float, *, shallow: tuple[int, ...] = (8,), same_foot_from: int | None = None
) -> np.ndarray:
    """Levelled walking, 0.6 s steps: the vertical force dips mid-step and rises through 1 g before each
    contact (1.5 m/s^2 swing); the ninth step (or the steps in `shallow`) barely vaults (a shuffle), and the
    medio-lateral force pushes away from the stance foot. With `same_foot_from`, that step stays on the
    previous step's foot (a weight shift, not a step) and the feet alternate again after it."""
    step_s, n = 0.6, 18
    t = np.arange(int(n * step_s * fs)) / fs
    k = np.minimum((t / step_s).astype(int), n - 1)
    amp = np.full(n, 1.5)
    amp[list(shallow)] = shallow_mps2
    phase = (t % step_s) / step_s
    z = STANDARD_GRAVITY_MPS2 - amp[k] * np.cos(2 * np.pi * phase)
    foot = k % 2 if same_foot_from is None else np.where(k < same_foot_from, k % 2, (k + 1) % 2)
    y = -0.8 * np.where(foot == 0, 1.0, -1.0) * np.sin(np.pi * phase)
    return np.column_stack([np.zeros_like(t), y, z])


@pytest.mark.parametrize("fs", [52.0, 100.0, 208.0])
def test_a_shallow_step_inside_a_steady_walk_is_still_a_contact(fs: float) -> None:
    # its rise stays inside the standing-noise band but fills a two-step gap in the rhythm
    acc = _walk_with_one_shallow_step(fs, shallow_mps2=0.42)
    events = GaitEventDetector().detect(acc, None, sampling_rate_hz=fs).events_
    steps = np.diff(events.ic_s)[1:]  # the first contact of a bout may be timed late (gait initiation)
    np.testing.assert_allclose(steps, 0.6, atol=0.05)
    assert np.all(events.side[1:] != events.side[:-1])
    # without the weaker band the shallow step is lost
    strict = GaitEventDetector(weak_hysteresis_mps2=0.5).detect(acc, None, sampling_rate_hz=fs).events_
    assert np.diff(strict.ic_s).max() > 1.0


@pytest.mark.parametrize("fs", [52.0, 100.0, 208.0])
def test_two_shallow_steps_in_a_row_are_still_contacts(fs: float) -> None:
    # a turn on the spot: two steps in a row barely lift the trunk; they split the gap evenly and keep the
    # feet alternating, so both are found
    acc = _walk_with_one_shallow_step(fs, shallow_mps2=0.42, shallow=(8, 9))
    events = GaitEventDetector().detect(acc, None, sampling_rate_hz=fs).events_
    steps = np.diff(events.ic_s)[1:]
    np.testing.assert_allclose(steps, 0.6, atol=0.05)
    assert np.all(events.side[1:] != events.side[:-1])


@pytest.mark.parametrize("fs", [52.0, 100.0, 208.0])
def test_a_weight_shift_between_alternating_feet_is_not_a_contact(fs: float) -> None:
    # the same shallow rise, but the medio-lateral force says the foot did not change: the contacts on
    # either side of the gap are on opposite feet, which one missed step cannot be
    acc = _walk_with_one_shallow_step(fs, shallow_mps2=0.42, same_foot_from=8)
    events = GaitEventDetector().detect(acc, None, sampling_rate_hz=fs).events_
    assert np.diff(events.ic_s).max() > 1.0
    # with alternating feet the same rise is a contact (test_a_shallow_step_inside_a_steady_walk_...)
    stepped = _walk_with_one_shallow_step(fs, shallow_mps2=0.42)
    assert np.diff(GaitEventDetector().detect(stepped, None, sampling_rate_hz=fs).events_.ic_s).max() < 1.0
