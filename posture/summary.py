"""The run summary: one typed object for every run (a recording, a live run, a replay), and its summary.json.

`summarize_run` builds a `RunSummary` from the processing's result; `RunSummary.to_json` is the summary.json
document (plain JSON types, NaN as null, numbers rounded to 6 decimals), the contract that evaluation tools
outside the package rely on (docs/design.md, "Offline analysis contract"): its names do not change without a
new `SUMMARY_SCHEMA_VERSION`. The CLI, the demo, the report and the MQTT summary read the typed object, never
the document back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from processing.pipeline import AnalysisResult, GapCounts, PipelineParams
from processing.steps import METRIC_UNITS, StepMetrics
from processing.timebase import SEGMENT_BREAK_S, TimebaseReport

__all__ = [
    "ASYMMETRY_FILE",
    "SUMMARY_SCHEMA_VERSION",
    "CalibrationSummary",
    "InputChecks",
    "MetricLine",
    "RunSummary",
    "StepCounts",
    "input_notes",
    "no_steps_reason",
    "outcome_notes",
    "summarize_run",
]

SUMMARY_SCHEMA_VERSION = 1
#: Rolling-window asymmetry and drift (one row per window and metric), named in summary.json.
ASYMMETRY_FILE = "asymmetry.csv"

SideVerdict = Literal["L", "R", "even"]

#: What summary.json and the CLI say when left and right cannot be told (docs/biaxial.md).
UNOBSERVABLE_SIDES_NOTE = (
    "left and right cannot be told without the medio-lateral accelerometer axis or a gyroscope: steps.csv "
    "labels the two feet's steps L and R alternately, which foot is which is unknown; no left/right "
    "comparison and no side-based event"
)


#: summary.json's numbers are rounded to this many decimals (far below any metric's resolution).
DECIMALS = 6


def _num(x: float | None, digits: int | None = DECIMALS) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x) if digits is None else round(float(x), digits)


def _mean(steps: Sequence[StepMetrics], name: str) -> float:
    vals = np.array([getattr(s, name) for s in steps], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


@dataclass(frozen=True, slots=True)
class CalibrationSummary:
    """What defined "up" and the neutral posture.

    Attributes
    ----------
    kind : str
        "standing", the mounting estimator's other kinds, or "none" (too little motion: no steps).
    standing_s : (float, float) or None, s
        The standing period used.
    forward_strength : float or None
    mounting_rotation : 3x3 nested tuple or None
    note : str
        In plain words.
    standing_needed_s : float, s
    warning : str or None
        What the runner should know (no standing start), in plain words.
    angles : str or None
        Why the angles are empty (accelerometer-only input), if they are.
    """

    kind: str
    standing_s: tuple[float, float] | None
    forward_strength: float | None
    mounting_rotation: tuple[tuple[float, ...], ...] | None
    note: str
    standing_needed_s: float
    warning: str | None
    angles: str | None = None

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"kind": self.kind}
        if self.kind == "none":
            doc.update(standing_s=None, note=self.note)
        else:
            doc.update(
                standing_s=None if self.standing_s is None else [_num(v) for v in self.standing_s],
                forward_strength=_num(self.forward_strength),
                mounting_rotation=None
                if self.mounting_rotation is None
                else [[_num(v) for v in row] for row in self.mounting_rotation],
                note=self.note,
            )
        doc.update(standing_needed_s=self.standing_needed_s, warning=self.warning)
        if self.angles is not None:
            doc["angles"] = self.angles
        return doc


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric over the run: its mean, left against right, and its drift from the runner's baseline.

    NaN where unknown. `has_sides` is False for a metric without a left/right comparison.
    """

    unit: str
    mean: float
    has_sides: bool = False
    left_mean: float = math.nan
    right_mean: float = math.nan
    n_left: int = 0
    n_right: int = 0
    si_pct: float = math.nan
    right_minus_left: float = math.nan
    worse_side: SideVerdict | None = None
    drift_baseline: float | None = None
    drift_last_window: float = math.nan
    drift_change: float = math.nan
    drift_change_pct: float = math.nan

    def to_json(self, digits: int | None = DECIMALS) -> dict[str, object]:
        """Its summary.json entry (`digits` None: the numbers as computed, unrounded)."""

        def num(x: float | None) -> float | None:
            return _num(x, digits)

        doc: dict[str, object] = {"unit": self.unit, "mean": num(self.mean)}
        if self.has_sides:
            doc.update(
                left_mean=num(self.left_mean),
                right_mean=num(self.right_mean),
                n_left=self.n_left,
                n_right=self.n_right,
                si_pct=num(self.si_pct),
                right_minus_left=num(self.right_minus_left),
                worse_side=self.worse_side,
            )
        if self.drift_baseline is not None:
            doc["drift"] = {
                "baseline": num(self.drift_baseline),
                "last_window": num(self.drift_last_window),
                "change": num(self.drift_change),
                "change_pct": num(self.drift_change_pct),
            }
        return doc


@dataclass(frozen=True, slots=True)
class InputChecks:
    """What reading the input decided, counted (summary.json "input_checks"; docs/recordings.md).

    Attributes
    ----------
    source_format : str
        The format the file was read as (`posture.formats.FORMATS`).
    truncated_rows_dropped : int
        Incomplete last rows left out.
    impossible_samples_dropped : int
        Samples left out for a reading beyond any IMU's range (dropped as lost; the gap policy bridges them).
    timebase : TimebaseReport or None
        How the time axis was put on a constant grid (`processing.timebase`); None when not checked.
    """

    source_format: str = "csv"
    truncated_rows_dropped: int = 0
    impossible_samples_dropped: int = 0
    timebase: TimebaseReport | None = None

    def to_json(self, duplicate_rows_dropped: int) -> dict[str, object]:
        tb = self.timebase
        timebase: dict[str, object] | None = None
        if tb is not None:
            timebase = {
                "resampled": tb.resampled,
                "nominal_rate_hz": _num(tb.nominal_rate_hz),
                "estimated_rate_hz": _num(tb.estimated_rate_hz),
                "jitter_ms_p50": _num(tb.jitter_ms_p50),
                "jitter_ms_p99": _num(tb.jitter_ms_p99),
                "samples": tb.samples,
                "lost_samples_detected": tb.lost_samples_detected,
                "gaps_split": tb.gaps_split,
                "gap_s_total": _num(tb.gap_s_total),
                "stamps_reordered_or_repeated": tb.stamps_reordered_or_repeated,
                "batch_samples": tb.batch_samples,
            }
        return {
            "format": self.source_format,
            "duplicate_rows_dropped": duplicate_rows_dropped,
            "truncated_rows_dropped": self.truncated_rows_dropped,
            "impossible_samples_dropped": self.impossible_samples_dropped,
            "timebase": timebase,
        }


@dataclass(frozen=True, slots=True)
class StepCounts:
    total: int
    left: int
    right: int
    running: int

    @property
    def walking(self) -> int:
        return self.total - self.running


@dataclass(frozen=True, slots=True, eq=False)
class RunSummary:
    """Everything summary.json says about a run (see the module docstring).

    Attributes
    ----------
    input_name : str
        The recording's or the session file's name.
    duplicate_rows_dropped : int
    sampling_rate_hz : float
    duration_s : float, s
        First to last sample.
    has_gyroscope : bool
    gaps : GapCounts
        Link drops: short gaps bridged, long ones split the run into segments analysed apart.
    calibration : CalibrationSummary
    steps : StepCounts
    cadence_spm : float, steps/min
        Over the running steps (all steps without running); NaN without steps.
    metrics : mapping of metric name to MetricLine
        Over the running steps (all steps without running).
    asymmetry_windows : int
        Rows of asymmetry.csv per metric.
    input_checks : InputChecks
        What reading the input decided (format, rows dropped, the time axis).
    sides_observable : bool
        False when left and right cannot be told (a biaxial logger without a gyroscope,
        `processing.pipeline.axes`): the steps' L/R labels are then an alternation of unknown parity, so the
        metrics carry no left/right comparison.
    """

    input_name: str
    duplicate_rows_dropped: int
    sampling_rate_hz: float
    duration_s: float
    has_gyroscope: bool
    gaps: GapCounts
    calibration: CalibrationSummary
    steps: StepCounts
    cadence_spm: float
    metrics: Mapping[str, MetricLine]
    asymmetry_windows: int
    sides_observable: bool = True
    input_checks: InputChecks = InputChecks()

    def to_json(self, digits: int | None = DECIMALS) -> dict[str, object]:
        """The summary.json document (`digits` None: the metrics' numbers as computed, unrounded)."""
        from processing.asymmetry import BASELINE_S, HOP_STRIDES, WINDOW_STRIDES

        over = "running steps" if self.steps.running else "all steps"
        gaps = self.gaps
        return {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "input": self.input_name,
            "duplicate_rows_dropped": self.duplicate_rows_dropped,
            "sampling_rate_hz": _num(self.sampling_rate_hz),
            "duration_s": _num(self.duration_s),
            "has_gyroscope": self.has_gyroscope,
            # Every decision taken on the input: its format, the rows left out, the time axis's repair.
            "input_checks": self.input_checks.to_json(self.duplicate_rows_dropped),
            # Link drops: short gaps bridged by interpolation, long ones split the recording into segments
            # analysed apart (same calibration, same time axis; no step spans a split).
            "gaps": {
                "bridged": gaps.bridged,
                "split": gaps.split,
                "total": gaps.total,
                "bridged_s": _num(gaps.bridged_s),
                "split_s": _num(gaps.split_s),
                "total_s": _num(gaps.total_s),
                "samples_interpolated": gaps.samples_interpolated,
                "segments": gaps.split + 1,
                "max_bridge_s": PipelineParams().gaps.max_bridge_s,
            },
            "calibration": self.calibration.to_json(),
            "steps": {
                "total": self.steps.total,
                "left": self.steps.left,
                "right": self.steps.right,
                "running": self.steps.running,
                "walking": self.steps.walking,
                "metrics_over": over,
            },
            "sides": {
                "observable": self.sides_observable,
                "note": None if self.sides_observable else UNOBSERVABLE_SIDES_NOTE,
            },
            "cadence_spm": _num(self.cadence_spm),
            "metrics": {name: line.to_json(digits) for name, line in self.metrics.items()},
            # When asymmetry emerged: every metric over rolling windows, with its drift, in asymmetry.csv.
            "asymmetry_windows": {
                "file": ASYMMETRY_FILE,
                "windows": self.asymmetry_windows,
                "window_strides": WINDOW_STRIDES,
                "hop_strides": HOP_STRIDES,
                "steps_over": over,
                "baseline_s": BASELINE_S,
            },
        }


def _calibration(result: AnalysisResult) -> CalibrationSummary:
    from processing.alignment import STANDING_START_NEEDED_S

    m = result.mounting
    angles = None if result.has_gyroscope else "accelerometer-only input: pelvic angles left empty"
    if m is None:
        return CalibrationSummary(
            kind="none",
            standing_s=None,
            forward_strength=None,
            mounting_rotation=None,
            note="too little motion to find the sensor mounting: no steps were analysed",
            standing_needed_s=STANDING_START_NEEDED_S,
            warning=None,
            angles=angles,
        )
    warning = None
    if m.calibration != "standing" and result.has_gyroscope:
        warning = (
            "no standing start found: pelvic tilt and drop are relative to your mean running posture, "
            "not to your standing posture (a runner who tilts forward 5 deg reads 0 deg). Stand still for "
            f"{STANDING_START_NEEDED_S:g} s before you start."
        )
    return CalibrationSummary(
        kind=m.calibration,
        standing_s=None if m.standing_s is None else (float(m.standing_s[0]), float(m.standing_s[1])),
        forward_strength=float(m.forward_strength),
        mounting_rotation=tuple(tuple(float(v) for v in row) for row in m.rotation.tolist()),
        note=(
            "angles relative to the standing posture at the start"
            if m.calibration == "standing"
            else "no standing period found: angles relative to the mean posture while moving"
        ),
        standing_needed_s=STANDING_START_NEEDED_S,
        warning=warning,
        angles=angles,
    )


def summarize_run(
    result: AnalysisResult,
    *,
    input_name: str,
    sampling_rate_hz: float,
    duration_s: float,
    duplicate_rows_dropped: int = 0,
    asymmetry_windows: int = 0,
    input_checks: InputChecks | None = None,
) -> RunSummary:
    """The summary of a run from the processing's result (metrics over its running steps, or all steps
    without running)."""
    from processing.asymmetry import drift_against_baseline, summarize_asymmetry

    steps = list(result.steps)
    running = [s for s in steps if s.is_running]
    basis = running or steps
    # without observable sides the L/R labels are an alternation of unknown parity: no left/right figures
    asym = {a.metric: a for a in summarize_asymmetry(basis)} if result.sides_observable else {}
    last_drift = {d.metric: d for d in drift_against_baseline(steps)}  # the last window of each metric wins
    metrics: dict[str, MetricLine] = {}
    for name, unit in METRIC_UNITS.items():
        line = MetricLine(unit=unit, mean=_mean(basis, name))
        if name in asym:
            a = asym[name]
            line = MetricLine(
                unit=unit,
                mean=line.mean,
                has_sides=True,
                left_mean=a.left_mean,
                right_mean=a.right_mean,
                n_left=a.n_left,
                n_right=a.n_right,
                si_pct=a.si_pct,
                right_minus_left=a.right_minus_left,
                worse_side=a.side_verdict,
            )
        if name in last_drift:
            d = last_drift[name]
            line = replace(
                line,
                drift_baseline=d.baseline,
                drift_last_window=d.value,
                drift_change=d.change,
                drift_change_pct=d.change_pct,
            )
        metrics[name] = line
    mean_step = _mean(basis, "step_time_s")
    return RunSummary(
        input_name=input_name,
        duplicate_rows_dropped=duplicate_rows_dropped,
        sampling_rate_hz=float(sampling_rate_hz),
        duration_s=float(duration_s),
        has_gyroscope=result.has_gyroscope,
        gaps=result.gaps,
        calibration=_calibration(result),
        steps=StepCounts(
            total=len(steps),
            left=sum(s.side == "L" for s in steps),
            right=sum(s.side == "R" for s in steps),
            running=len(running),
        ),
        cadence_spm=60.0 / mean_step if math.isfinite(mean_step) and mean_step > 0 else math.nan,
        metrics=metrics,
        asymmetry_windows=asymmetry_windows,
        sides_observable=result.sides_observable,
        input_checks=input_checks or InputChecks(),
    )


def no_steps_reason(result: AnalysisResult) -> str:
    """Why a run found no steps, in plain words."""
    calibration = _calibration(result)
    if calibration.kind == "none":
        return calibration.note
    return "the recording holds no walking or running that the detector recognised"


def input_notes(checks: InputChecks) -> list[str]:
    """One line for each repair of the input: rows cut short, impossible readings, the time axis."""
    from posture.recording_io import ACC_LIMIT_MPS2, GYR_LIMIT_DPS
    from processing.samples import STANDARD_GRAVITY_MPS2

    notes: list[str] = []
    if checks.truncated_rows_dropped:
        notes.append(
            f"note: {checks.truncated_rows_dropped} incomplete last row(s) left out (a cut-off file)"
        )
    if checks.impossible_samples_dropped:
        notes.append(
            f"note: {checks.impossible_samples_dropped} samples with readings beyond any IMU's range "
            f"(|acc| above {ACC_LIMIT_MPS2 / STANDARD_GRAVITY_MPS2:g} g or |gyr| above {GYR_LIMIT_DPS:g} "
            "deg/s) were dropped as lost"
        )
    tb = checks.timebase
    if tb is not None and tb.resampled:
        notes.append(
            f"note: time stamps jitter by {tb.jitter_ms_p99:.1f} ms (99th percentile): the samples were put "
            f"on a constant grid at {tb.estimated_rate_hz:.3f} Hz, {tb.lost_samples_detected} lost samples "
            f"left as holes, {tb.gaps_split} silences over {SEGMENT_BREAK_S:g} s"
        )
    return notes


def outcome_notes(summary: RunSummary) -> list[str]:
    """What the runner should read besides the step count, one line each: no steps (and why), no running,
    rows dropped from the input, gaps, the calibration warning."""
    calibration = summary.calibration
    notes: list[str] = []
    if summary.steps.total == 0:
        why = (
            calibration.note
            if calibration.kind == "none"
            else "the recording holds no walking or running that the detector recognised"
        )
        notes.append(f"no steps found: {why}; steps.csv is empty (record some walking or running)")
    elif summary.steps.running == 0:
        notes.append("no running found: the metrics are over walking steps")
    if summary.duplicate_rows_dropped:
        notes.append(
            f"note: {summary.duplicate_rows_dropped} rows that repeated the row before exactly were left out"
        )
    notes.extend(input_notes(summary.input_checks))
    if summary.gaps.split:
        notes.append(
            f"note: {summary.gaps.split} gaps in the samples ({summary.gaps.split_s:.1f} s in all, a link "
            "drop): the parts between them were analysed apart"
        )
    if calibration.warning:
        notes.append(f"warning: {calibration.warning}")
    if not summary.sides_observable and summary.steps.total:
        notes.append(f"note: {UNOBSERVABLE_SIDES_NOTE}")
    return notes
