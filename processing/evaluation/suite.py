"""The suite runner behind `posture evaluate`: the whole pipeline over simulated scenarios and real
recordings.

Each scenario is simulated and its raw sensor-frame samples go through `processing.pipeline.analyze` exactly
as a recording would (mounting calibration, orientation, events, per-step metrics): nothing is levelled with
the truth. The rows compare the steps it emits with the simulator's truth (50 ms tolerance) or with a real
recording's reference system (0.5 s, inside its walking bouts, as mobgap scores it). Pure: the caller reads
the real recordings from disk and hands them in as `ReferenceRecording`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from processing.evaluation.matching import match_events
from processing.evaluation.scores import (
    EventScores,
    ReferenceEvents,
    matched_rmse,
    right_minus_left,
    score_events,
    symmetry_index,
)
from processing.samples import ImuSamples
from processing.steps import StepMetrics

if TYPE_CHECKING:
    from processing.simulation import SimulatedRun

__all__ = [
    "REAL_TOLERANCE_S",
    "SIM_TOLERANCE_S",
    "EvaluationRow",
    "ReferenceRecording",
    "StepContacts",
    "as_recorded",
    "contacts_from_steps",
    "evaluate_recording",
    "evaluate_recording_detector",
    "evaluate_scenario",
    "evaluate_suite",
    "level_with_gravity",
]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

#: Matching tolerance on the simulator (issue 3) and on the real walking recordings (mobgap's choice).
SIM_TOLERANCE_S = 0.05
REAL_TOLERANCE_S = 0.5
#: The first and last this much of a simulated recording are not scored (`_scored_span`): a contact cut by
#: either end has only part of what marks it in the recording (the flight before its IC; the loading after
#: it, which rises over the first 40 to 50 % of a running contact, about 0.1 s), so whether it is found and
#: where is down to the cut, not the pipeline. Neither a truth contact nor a detection there counts.
SIM_UNSCORED_EDGE_S = 0.1
# A step's end (its contact plus its step time) is the next step's contact when they agree to within this, s:
# only the rounding of that sum. The pipeline ends every emitted step on the next emitted contact or at the
# end of its bout (the commit rule of `processing.pipeline.streaming`), and so does the simulator's truth.
_SAME_CONTACT_S = 1e-6

Analyzer = Callable[[ImuSamples, float], tuple[StepMetrics, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceRecording:
    """A real recording with reference events, read by the caller.

    Attributes
    ----------
    name : str
    samples : ImuSamples
        Sensor frame, as recorded (the pipeline calibrates the mounting itself).
    sampling_rate_hz : float
    reference : ReferenceEvents
        Reference contacts and the bouts they cover (times on the samples' axis).
    reference_system : str
        E.g. "INDIP" or "Stereophoto".
    sensor_to_body : (3, 3) array or None
        The recording's documented axis convention as a rotation, v_body = R @ v_sensor (body: x forward, y
        left, z up); lets the gait-event detector be scored on its own, apart from the pipeline's calibration.
    """

    name: str
    samples: ImuSamples
    sampling_rate_hz: float
    reference: ReferenceEvents
    reference_system: str
    sensor_to_body: FloatArray | None = None
    primary: bool = True


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """One line of the evaluation table; NaN where a figure does not apply (e.g. angles without truth).

    Attributes
    ----------
    name, source : str
        Scenario or recording name; "sim" or "real:<reference system>".
    sampling_rate_hz : float
    events : EventScores
        IC detection, timing, contact time, sides, cadence.
    tilt_rmse_deg, drop_rmse_deg, rotation_rmse_deg : float
        Per-step RMSE of the pelvic angles over matched running steps.
    step_time_si_error_pp, contact_time_si_error_pp : float
        |SI(detected) - SI(truth)| in percentage points, running steps.
    tilt_rl_error_deg, drop_rl_error_deg, rotation_rl_error_deg : float
        |(R - L)(detected) - (R - L)(truth)| of the per-side means, running steps.
    vertical_oscillation_rmse_m, braking_peak_rmse_mps2, braking_dv_rmse_mps, impact_peak_rmse_g : float
        Per-step RMSE over matched running steps against the truth of the same definition (the sacrum's,
        `processing.simulation.truth.StepTruth`); no target in issue 3.
    """

    name: str
    source: str
    sampling_rate_hz: float
    events: EventScores
    tilt_rmse_deg: float = float("nan")
    drop_rmse_deg: float = float("nan")
    rotation_rmse_deg: float = float("nan")
    step_time_si_error_pp: float = float("nan")
    contact_time_si_error_pp: float = float("nan")
    tilt_rl_error_deg: float = float("nan")
    drop_rl_error_deg: float = float("nan")
    rotation_rl_error_deg: float = float("nan")
    vertical_oscillation_rmse_m: float = float("nan")
    braking_peak_rmse_mps2: float = float("nan")
    braking_dv_rmse_mps: float = float("nan")
    impact_peak_rmse_g: float = float("nan")


@dataclass(frozen=True, slots=True, eq=False)
class _StepArrays:
    t_ic_s: FloatArray
    side: npt.NDArray[np.str_]
    t_to_s: FloatArray
    step_time_s: FloatArray
    contact_time_s: FloatArray
    tilt_deg: FloatArray
    drop_deg: FloatArray
    rotation_deg: FloatArray
    is_running: npt.NDArray[np.bool_]


def _arrays(steps: tuple[StepMetrics, ...]) -> _StepArrays:
    def col(name: str) -> FloatArray:
        return np.array([getattr(s, name) for s in steps], dtype=np.float64)

    return _StepArrays(
        t_ic_s=col("t_ic_s"),
        side=np.array([s.side for s in steps], dtype="<U1"),
        t_to_s=col("t_to_s"),
        step_time_s=col("step_time_s"),
        contact_time_s=col("contact_time_s"),
        tilt_deg=col("pelvic_tilt_deg"),
        drop_deg=col("pelvic_drop_deg"),
        rotation_deg=col("pelvic_rotation_deg"),
        is_running=np.array([s.is_running for s in steps], dtype=bool),
    )


@dataclass(frozen=True, slots=True, eq=False)
class StepContacts:
    """The initial contacts reported by a sequence of steps (see `contacts_from_steps`).

    Attributes
    ----------
    ic_s : (k,) array, s
    side : (k,) array of "L"/"R"
    to_s : (k,) array, s
        Toe-off of the contact's foot; NaN for a bout's last contact (no step of its own).
    step_idx : (k,) int array
        The step each contact comes from (its own, or the one it ends).
    """

    ic_s: FloatArray
    side: npt.NDArray[np.str_]
    to_s: FloatArray
    step_idx: npt.NDArray[np.int64]


def contacts_from_steps(steps: tuple[StepMetrics, ...]) -> StepContacts:
    """Every initial contact the steps report: each step's own, plus the next contact that ends a bout's last
    step (it has no step of its own, since no contact follows it; its foot is the other one by definition).

    Scoring IC detection on step starts alone would count the last contact of every walking bout as missed
    although the pipeline found it (in daily-life walking, with bouts of a few steps, that is a large share).

    The steps must be one consistent sequence, as the pipeline emits them: in time order, each ending on the
    next step's contact or ending its bout (a ValueError names the first step that overlaps the next one).
    """
    return _contacts(
        np.array([st.t_ic_s for st in steps], dtype=np.float64),
        np.array([st.side for st in steps], dtype="<U1"),
        np.array([st.t_to_s for st in steps], dtype=np.float64),
        np.array([st.step_time_s for st in steps], dtype=np.float64),
    )


def _contacts(
    ic_s: FloatArray, side: npt.NDArray[np.str_], to_s: FloatArray, step_s: FloatArray
) -> StepContacts:
    """`contacts_from_steps` on arrays (also used for the simulator's truth steps, which end the same way)."""
    if ic_s.size == 0:
        return StepContacts(np.empty(0), np.empty(0, dtype="<U1"), np.empty(0), np.empty(0, dtype=np.int64))
    nxt = ic_s + step_s
    overlap = (ic_s[1:] <= ic_s[:-1]) | (nxt[:-1] > ic_s[1:] + _SAME_CONTACT_S)
    if overlap.any():
        i = int(overlap.argmax())
        raise ValueError(
            f"the step at {ic_s[i]:.3f} s ends at {nxt[i]:.3f} s, not before the next step's contact at "
            f"{ic_s[i + 1]:.3f} s: pass the steps in time order, each ending on the next step's contact or "
            "ending its bout (as the pipeline emits them)"
        )
    # A step that no step follows ends its bout on a contact of the other foot (none is added where the truth
    # leaves the step time NaN, before a pause).
    followed = np.concatenate([ic_s[1:] - nxt[:-1] <= _SAME_CONTACT_S, [False]])
    ends = np.flatnonzero(~followed & np.isfinite(nxt))
    other = np.where(side[ends] == "L", "R", "L").astype("<U1")
    all_ic = np.concatenate([ic_s, nxt[ends]])
    order = np.argsort(all_ic, kind="stable")
    return StepContacts(
        all_ic[order],
        np.concatenate([side.astype("<U1"), other])[order],
        np.concatenate([to_s, np.full(ends.size, np.nan)])[order],
        np.concatenate([np.arange(ic_s.size), ends]).astype(np.int64)[order],
    )


def _default_analyzer(samples: ImuSamples, sampling_rate_hz: float) -> tuple[StepMetrics, ...]:
    from processing.pipeline import analyze

    return analyze(samples, sampling_rate_hz=sampling_rate_hz).steps


def as_recorded(run: SimulatedRun) -> tuple[ImuSamples, float]:
    """The samples and rate the pipeline is given, as for a recording with the same time stamps.

    Host-stamped samples (`Scenario.host_stamps`: arrival jitter, lost packets, a rate off the nominal one)
    go through the time-base repair every such recording gets (`processing.timebase.regularize`, with the
    scenario's nominal rate); the truth stays on the true time axis.
    """
    if run.scenario.host_stamps is None:
        return run.samples, run.sampling_rate_hz
    from processing.timebase import regularize

    s = run.samples
    repaired = regularize(s.t_s, s.acc_mps2, s.gyr_dps, nominal_rate_hz=run.sampling_rate_hz)
    return repaired.samples, float(repaired.sampling_rate_hz)


def _scored_span(truth_ic_s: FloatArray, t_first_s: float, t_last_s: float) -> tuple[float, float]:
    """The part of a simulated recording that is scored: all but its first and last `SIM_UNSCORED_EDGE_S`.

    Each edge of the span lies halfway between the last truth contact outside it and the first one inside,
    so a detection of an unscored contact (within the tolerance of it) is never a false positive and one of a
    scored contact is always scored. Without a truth contact near an edge, the edge stays that far in (a
    detection there, of a contact cut by the edge, is not scored either), but never closer than the
    tolerance to a scored contact.
    """
    ic = np.asarray(truth_ic_s, dtype=np.float64)
    early = ic < t_first_s + SIM_UNSCORED_EDGE_S
    late = ic > t_last_s - SIM_UNSCORED_EDGE_S
    inner = (~early & ~late).nonzero()[0]
    if inner.size == 0:
        return t_first_s + SIM_UNSCORED_EDGE_S, t_last_s - SIM_UNSCORED_EDGE_S
    first, last = int(inner[0]), int(inner[-1])
    if first > 0:
        start = 0.5 * float(ic[first - 1] + ic[first])
    else:
        start = min(t_first_s + SIM_UNSCORED_EDGE_S, float(ic[first]) - SIM_TOLERANCE_S)
    if last < ic.shape[0] - 1:
        end = 0.5 * float(ic[last] + ic[last + 1])
    else:
        end = max(t_last_s - SIM_UNSCORED_EDGE_S, float(ic[last]) + SIM_TOLERANCE_S)
    return start, end


def evaluate_scenario(scenario: object, *, analyzer: Analyzer | None = None) -> EvaluationRow:
    """Simulate `scenario` (a `processing.simulation.Scenario`), run the pipeline, score against the truth.

    Side accuracy and the left/right errors are NaN where the recording cannot tell left from right (a
    biaxial logger without a gyroscope, `processing.pipeline.sides_observable`): its step labels are an
    alternation of unknown parity.
    """
    from processing.pipeline import absent_acc_axes, sides_observable
    from processing.simulation import Scenario, simulate

    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a processing.simulation.Scenario, got {type(scenario).__name__}")
    run = simulate(scenario)
    samples, fs = as_recorded(run)
    steps = (analyzer or _default_analyzer)(samples, fs)
    det = _arrays(steps)
    truth = run.truth.steps
    # the truth lists steps too: its contacts include the one that ends each bout's last step
    t = _contacts(
        np.asarray(truth.t_ic_s, dtype=np.float64),
        np.asarray(truth.side, dtype="<U1"),
        np.asarray(truth.t_to_s, dtype=np.float64),
        np.asarray(truth.step_time_s, dtype=np.float64),
    )
    t_run = np.asarray(truth.is_running, dtype=bool)
    t_true = run.truth.t_true_s
    scored = np.array([_scored_span(t.ic_s, float(t_true[0]), float(t_true[-1]))])
    contacts_ref = ReferenceEvents(
        ic_s=t.ic_s, side=t.side, to_s=t.to_s, is_running=t_run[t.step_idx], bouts_s=scored
    )
    c = contacts_from_steps(steps)
    events = score_events(c.ic_s, c.side, c.to_s, contacts_ref, tolerance_s=SIM_TOLERANCE_S)
    sides_known = sides_observable(has_gyroscope=samples.has_gyroscope, absent_axes=absent_acc_axes(samples))
    if not sides_known:
        events = replace(events, side_accuracy=float("nan"), side_accuracy_running=float("nan"))
    # the per-step metrics are matched step to step
    m = match_events(det.t_ic_s, np.asarray(truth.t_ic_s, dtype=np.float64), tolerance_s=SIM_TOLERANCE_S)
    running = t_run[m.reference_idx]
    di, ri = m.detected_idx[running], m.reference_idx[running]
    d_run = det.is_running
    t_side = np.asarray(truth.side, dtype="<U1")
    tilt_t = np.asarray(truth.pelvic_tilt_deg, dtype=np.float64)
    drop_t = np.asarray(truth.pelvic_drop_deg, dtype=np.float64)
    rot_t = np.asarray(truth.pelvic_rotation_deg, dtype=np.float64)
    step_t = np.asarray(truth.step_time_s, dtype=np.float64)
    contact_t = np.asarray(truth.contact_time_s, dtype=np.float64)

    def side_error(
        stat: Callable[[FloatArray, StrArray], float], detected: FloatArray, true: FloatArray
    ) -> float:
        """How far a left/right statistic (SI or R - L) over the running steps is from the truth's (NaN
        where the sides cannot be told)."""
        if not sides_known:
            return float("nan")
        return abs(stat(detected[d_run], det.side[d_run]) - stat(true[t_run], t_side[t_run]))

    return EvaluationRow(
        name=scenario.name,
        source="sim",
        sampling_rate_hz=float(run.sampling_rate_hz),
        events=events,
        tilt_rmse_deg=matched_rmse(det.tilt_deg[di], tilt_t[ri]),
        drop_rmse_deg=matched_rmse(det.drop_deg[di], drop_t[ri]),
        rotation_rmse_deg=matched_rmse(det.rotation_deg[di], rot_t[ri]),
        step_time_si_error_pp=side_error(symmetry_index, det.step_time_s, step_t),
        contact_time_si_error_pp=side_error(symmetry_index, det.contact_time_s, contact_t),
        tilt_rl_error_deg=side_error(right_minus_left, det.tilt_deg, tilt_t),
        drop_rl_error_deg=side_error(right_minus_left, det.drop_deg, drop_t),
        rotation_rl_error_deg=side_error(right_minus_left, det.rotation_deg, rot_t),
        vertical_oscillation_rmse_m=_step_rmse(steps, truth, di, ri, "vertical_oscillation_m"),
        braking_peak_rmse_mps2=_step_rmse(steps, truth, di, ri, "braking_peak_mps2"),
        braking_dv_rmse_mps=_step_rmse(steps, truth, di, ri, "braking_dv_mps"),
        impact_peak_rmse_g=_step_rmse(steps, truth, di, ri, "impact_peak_g"),
    )


def _step_rmse(
    steps: tuple[StepMetrics, ...],
    truth: object,
    di: npt.NDArray[np.intp],
    ri: npt.NDArray[np.intp],
    metric: str,
) -> float:
    """Per-step RMSE of `metric` over the matched steps `di` (detected) and `ri` (truth, same field name)."""
    detected = np.array([getattr(steps[i], metric) for i in di.tolist()], dtype=np.float64)
    return matched_rmse(detected, np.asarray(getattr(truth, metric), dtype=np.float64)[ri])


def evaluate_recording(recording: ReferenceRecording, *, analyzer: Analyzer | None = None) -> EvaluationRow:
    """Run the pipeline on a real recording and score its contacts against the reference inside its bouts."""
    steps = (analyzer or _default_analyzer)(recording.samples, recording.sampling_rate_hz)
    c = contacts_from_steps(steps)
    events = score_events(c.ic_s, c.side, c.to_s, recording.reference, tolerance_s=REAL_TOLERANCE_S)
    return EvaluationRow(
        name=recording.name,
        source=f"real:{recording.reference_system}",
        sampling_rate_hz=recording.sampling_rate_hz,
        events=events,
    )


def level_with_gravity(
    acc_mps2: FloatArray, gyr_dps: FloatArray | None, sensor_to_body: FloatArray
) -> tuple[FloatArray, FloatArray | None]:
    """Rotate sensor-frame samples into a levelled body frame: the documented axes, then the smallest rotation
    that takes the mean specific force (gravity, over the whole recording) onto +z."""
    acc = acc_mps2 @ sensor_to_body.T
    up = acc.mean(axis=0)
    up = up / np.linalg.norm(up)
    axis = np.cross(up, np.array([0.0, 0.0, 1.0]))
    s, c = float(np.linalg.norm(axis)), float(up[2])
    rot = sensor_to_body
    if s > 1e-12:
        k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
        level = np.eye(3) + k + k @ k * ((1.0 - c) / s**2)
        rot = level @ sensor_to_body
    gyr = None if gyr_dps is None else gyr_dps @ rot.T
    return acc_mps2 @ rot.T, gyr


def evaluate_recording_detector(recording: ReferenceRecording) -> EvaluationRow:
    """Score the gait-event detector alone on a real recording, levelled from its documented axes.

    Separates the detector's share of the error from the pipeline's calibration and orientation. It is not an
    upper bound for the pipeline: `level_with_gravity` takes "up" from the mean specific force of the whole
    recording, which is the standing vertical only if the trunk stays upright. In a daily-activity recording
    with sitting (mobgap HA002 Test11) that mean leans about 21 deg back from the vertical of the standing
    start, so this row's "vertical" is 0.93 of the vertical force minus 0.37 of the antero-posterior one:
    the braking at each heel strike then adds to the loading rise, which helps on shuffling steps by
    accident (levelled from the standing start instead, the same detector scores below the pipeline there).
    """
    from processing.gait_events import GaitEventDetector

    if recording.sensor_to_body is None:
        raise ValueError(f"{recording.name}: no documented sensor axes; use evaluate_recording instead")
    s = recording.samples
    acc, gyr = level_with_gravity(s.acc_mps2, s.gyr_dps, recording.sensor_to_body)
    ev = GaitEventDetector().detect(acc, gyr, sampling_rate_hz=recording.sampling_rate_hz).events_
    ev = ev.shifted(float(s.t_s[0]))
    events = score_events(ev.ic_s, ev.side, ev.to_s, recording.reference, tolerance_s=REAL_TOLERANCE_S)
    return EvaluationRow(
        name=recording.name,
        source=f"real:{recording.reference_system} (detector, documented axes)",
        sampling_rate_hz=recording.sampling_rate_hz,
        events=events,
    )


def evaluate_suite(
    scenarios: Iterable[object] = (),
    recordings: Iterable[ReferenceRecording] = (),
    *,
    analyzer: Analyzer | None = None,
) -> Iterator[EvaluationRow]:
    """Rows for every scenario, then every recording, one at a time (so a caller can show progress)."""
    for scenario in scenarios:
        yield evaluate_scenario(scenario, analyzer=analyzer)
    for recording in recordings:
        yield evaluate_recording(recording, analyzer=analyzer)
        if recording.primary and recording.sensor_to_body is not None:
            yield evaluate_recording_detector(recording)
