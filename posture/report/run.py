"""A run folder read into typed values: what `posture analyze` / `posture replay` wrote (docs/design.md,
"Offline analysis contract": steps.csv, asymmetry.csv, events.json, summary.json).

The only module of the report that reads files. Every time it hands on counts from the start of the run
(`RunData.start_s` on the recording's time axis): steps.csv and events.json keep the recording's own axis,
which for a recorded run is epoch seconds, while a runner thinks in minutes into the run.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from posture.report.errors import RunFolderError
from processing.samples import FloatArray

__all__ = [
    "ASYMMETRY_FILE",
    "EVENTS_FILE",
    "STEPS_FILE",
    "SUMMARY_FILE",
    "FormEvent",
    "MetricSummary",
    "RunData",
    "RunIdentity",
    "RunSummary",
    "StepSeries",
    "WindowSeries",
    "load_run",
]

STEPS_FILE = "steps.csv"
ASYMMETRY_FILE = "asymmetry.csv"
EVENTS_FILE = "events.json"
SUMMARY_FILE = "summary.json"

WorseSide = Literal["L", "R"]
_AGAIN = "run `posture analyze` (or `posture replay`) again to rewrite the folder"


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over the whole run, as summary.json gives it (values in the file's unit).

    Attributes
    ----------
    metric : str
        The `steps.csv` column.
    mean, left_mean, right_mean, right_minus_left : float
        NaN when missing.
    si_pct : float, %
        Symmetry index; NaN for angles (their right-minus-left is the measure).
    worse_side : "L", "R" or None
        None when summary.json says "even" or names no side.
    drift_baseline, drift_last_window, drift_change, drift_change_pct : float
        The last rolling window against the first minutes of running (NaN without windows).
    """

    metric: str
    mean: float
    left_mean: float = math.nan
    right_mean: float = math.nan
    right_minus_left: float = math.nan
    si_pct: float = math.nan
    worse_side: WorseSide | None = None
    drift_baseline: float = math.nan
    drift_last_window: float = math.nan
    drift_change: float = math.nan
    drift_change_pct: float = math.nan

    def __post_init__(self) -> None:
        if self.worse_side not in ("L", "R", None):
            raise ValueError(f"worse_side must be 'L', 'R' or None, got {self.worse_side!r}")


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The run as a whole.

    Attributes
    ----------
    input_name : str
        The recording's file name.
    duration_s : float, s
    steps_total, steps_running : int
    cadence_spm : float, steps/min
        NaN without steps.
    metrics : tuple of MetricSummary
        In summary.json's order.
    notes : tuple of str
        What the runner should know about the numbers (calibration warning, no running found).
    """

    input_name: str
    duration_s: float
    steps_total: int
    steps_running: int
    cadence_spm: float
    metrics: tuple[MetricSummary, ...]
    notes: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricSummary | None:
        """The summary of the metric `name`, None when summary.json has none."""
        return next((m for m in self.metrics if m.metric == name), None)


@dataclass(frozen=True, slots=True, eq=False)
class StepSeries:
    """steps.csv as columns.

    Attributes
    ----------
    t_s : (n,) array, s
        Initial contact, from the start of the run.
    is_left, is_running : (n,) bool arrays
    values : mapping of column name to (n,) array
        Every numeric metric column, in the file's unit (NaN where empty).
    """

    t_s: FloatArray
    is_left: np.ndarray
    is_running: np.ndarray
    values: Mapping[str, FloatArray]

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass(frozen=True, slots=True, eq=False)
class WindowSeries:
    """One metric over the rolling windows of asymmetry.csv (values in the file's unit).

    Attributes
    ----------
    metric : str
    t_start_s, t_end_s : (n,) arrays, s
        First and last initial contact of each window, from the start of the run.
    left_mean, right_mean, window_mean : (n,) arrays
    baseline_mean : float
        The runner's own baseline (first minutes of running) that the drift is measured against.
    """

    metric: str
    t_start_s: FloatArray
    t_end_s: FloatArray
    left_mean: FloatArray
    right_mean: FloatArray
    window_mean: FloatArray
    baseline_mean: float

    @property
    def t_mid_s(self) -> FloatArray:
        """Middle of each window, s from the start of the run."""
        return 0.5 * (self.t_start_s + self.t_end_s)


@dataclass(frozen=True, slots=True)
class FormEvent:
    """One entry of events.json (docs/design.md: the events contract), times from the start of the run.

    Attributes
    ----------
    rule : str
        Stable id of the rule that fired.
    type : str
        "asymmetry", "level", "drift", "cadence", "load" or "summary".
    metric : str or None
        The steps.csv column it concerns.
    side : "L", "R" or None
        The side of the steps in which the problem shows (for pelvic drop, the stance side).
    t_start_s : float, s
    t_end_s : float, s
        NaN while still open.
    severity : str
    advice : tuple of str
        Advice ids (keys of the advice catalog).
    message : str
        The cue, in plain words.
    value, threshold : float
        NaN when the event does not give them.
    """

    rule: str
    type: str
    metric: str | None
    side: WorseSide | None
    t_start_s: float
    t_end_s: float
    severity: str
    advice: tuple[str, ...]
    message: str
    value: float = math.nan
    threshold: float = math.nan

    @property
    def is_alert(self) -> bool:
        """Every event but the run's summary event is an alert for the runner."""
        return self.type != "summary"


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """Whose run it was and when, as far as the folder tells (a replayed session does; a recording
    analysed from a CSV file does not).

    Attributes
    ----------
    athlete, session : str or None
    started_ns : int or None
        Start of the session, ns since the Unix epoch.
    """

    athlete: str | None = None
    session: str | None = None
    started_ns: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class RunData:
    """Everything the report shows about one run.

    Attributes
    ----------
    folder : Path
    start_s : float, s
        The start of the run on the recording's time axis (every other time here counts from it).
    summary : RunSummary
    steps : StepSeries
    windows : tuple of WindowSeries
        One per metric of asymmetry.csv (empty when the run is shorter than one window).
    events : tuple of FormEvent
        In events.json's order.
    identity : RunIdentity
        From the replay's session.json; all None for a folder analysed from a CSV recording.
    """

    folder: Path
    start_s: float
    summary: RunSummary
    steps: StepSeries
    windows: tuple[WindowSeries, ...]
    events: tuple[FormEvent, ...]
    identity: RunIdentity = RunIdentity()

    @property
    def alerts(self) -> tuple[FormEvent, ...]:
        """The events a runner acts on (all but the summary event), in time order."""
        return tuple(sorted((e for e in self.events if e.is_alert), key=lambda e: e.t_start_s))

    def window(self, metric: str) -> WindowSeries | None:
        """The rolling windows of `metric`, None when asymmetry.csv has none."""
        return next((w for w in self.windows if w.metric == metric), None)


def _float(value: object) -> float:
    """A JSON or CSV value as a float: missing, null and empty become NaN."""
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _side(value: object) -> WorseSide | None:
    """'L' or 'R' as is; "even", empty and null are no side."""
    if value == "L":
        return "L"
    if value == "R":
        return "R"
    if value in (None, "", "even"):
        return None
    raise ValueError(f"side must be 'L', 'R', 'even' or null, got {value!r}")


def _read_json(path: Path) -> object:
    if not path.is_file():
        raise RunFolderError(str(path), f"{path} is missing: {_AGAIN}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(str(path), f"{path} cannot be read as JSON ({exc}): {_AGAIN}") from exc


def _summary(path: Path, doc: object) -> RunSummary:
    try:
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")
        metrics = []
        for name, entry in doc["metrics"].items():
            drift = entry.get("drift") or {}
            metrics.append(
                MetricSummary(
                    metric=name,
                    mean=_float(entry.get("mean")),
                    left_mean=_float(entry.get("left_mean")),
                    right_mean=_float(entry.get("right_mean")),
                    right_minus_left=_float(entry.get("right_minus_left")),
                    si_pct=_float(entry.get("si_pct")),
                    worse_side=_side(entry.get("worse_side")),
                    drift_baseline=_float(drift.get("baseline")),
                    drift_last_window=_float(drift.get("last_window")),
                    drift_change=_float(drift.get("change")),
                    drift_change_pct=_float(drift.get("change_pct")),
                )
            )
        steps = doc["steps"]
        calibration = doc.get("calibration") or {}
        notes = []
        if steps["total"] and not steps["running"]:
            notes.append("No running was found: the numbers are over walking steps.")
        if calibration.get("warning"):
            notes.append(str(calibration["warning"]))
        if not doc.get("has_gyroscope", True):
            notes.append(
                "The recording has no gyroscope: pelvic tilt, drop and rotation could not be measured, only "
                "the timing and the forces of your steps."
            )
        return RunSummary(
            input_name=str(doc.get("input", "")),
            duration_s=_float(doc["duration_s"]),
            steps_total=int(steps["total"]),
            steps_running=int(steps["running"]),
            cadence_spm=_float(doc.get("cadence_spm")),
            metrics=tuple(metrics),
            notes=tuple(notes),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        message = f"{path} is not a summary the report can read ({exc!r}): {_AGAIN}"
        raise RunFolderError(str(path), message) from exc


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise RunFolderError(str(path), f"{path} is missing: {_AGAIN}")
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunFolderError(str(path), f"{path} cannot be read as CSV ({exc}): {_AGAIN}") from exc
    if not rows:
        raise RunFolderError(str(path), f"{path} is empty (not even a header row): {_AGAIN}")
    return rows[0], rows[1:]


def _column(header: list[str], rows: list[list[str]], name: str, path: Path) -> list[str]:
    if name not in header:
        raise RunFolderError(str(path), f"{path} has no column {name!r}: {_AGAIN}")
    i = header.index(name)
    return [row[i] if i < len(row) else "" for row in rows]


def _floats(values: list[str], path: Path) -> FloatArray:
    try:
        return np.array([_float(v) for v in values], dtype=np.float64)
    except ValueError as exc:
        message = f"{path} holds a value that is not a number ({exc}): {_AGAIN}"
        raise RunFolderError(str(path), message) from exc


def _steps(path: Path) -> tuple[StepSeries, FloatArray]:
    """steps.csv as columns, and its initial contacts on the recording's own time axis."""
    header, rows = _csv_rows(path)
    t_ic = _floats(_column(header, rows, "t_ic_s", path), path)
    is_left = np.array([v == "L" for v in _column(header, rows, "side", path)], dtype=bool)
    is_running = np.array([v == "1" for v in _column(header, rows, "is_running", path)], dtype=bool)
    skip = {"t_ic_s", "t_to_s", "side", "is_running"}
    values = {name: _floats(_column(header, rows, name, path), path) for name in header if name not in skip}
    return StepSeries(t_s=t_ic, is_left=is_left, is_running=is_running, values=values), t_ic


def _windows(path: Path, start_s: float) -> tuple[WindowSeries, ...]:
    if not path.is_file():  # a folder written before asymmetry.csv existed: no drift plot, the rest stands
        return ()
    header, rows = _csv_rows(path)
    metric_col = _column(header, rows, "metric", path)
    cols = {
        name: _floats(_column(header, rows, name, path), path)
        for name in ("t_start_s", "t_end_s", "left_mean", "right_mean", "window_mean", "baseline_mean")
    }
    metrics = np.array(metric_col, dtype=object)
    out = []
    for metric in dict.fromkeys(metric_col):
        sel = metrics == metric
        baseline = cols["baseline_mean"][sel]
        out.append(
            WindowSeries(
                metric=metric,
                t_start_s=cols["t_start_s"][sel] - start_s,
                t_end_s=cols["t_end_s"][sel] - start_s,
                left_mean=cols["left_mean"][sel],
                right_mean=cols["right_mean"][sel],
                window_mean=cols["window_mean"][sel],
                baseline_mean=float(baseline[0]) if baseline.size else math.nan,
            )
        )
    return tuple(out)


def _events(path: Path, start_s: float) -> tuple[FormEvent, ...]:
    if not path.is_file():
        return ()
    doc = _read_json(path)
    if not isinstance(doc, list):
        raise RunFolderError(str(path), f"{path} must hold a JSON list of events: {_AGAIN}")
    out = []
    for i, entry in enumerate(doc):
        try:
            advice = entry.get("advice") or []
            if isinstance(advice, str) or not all(isinstance(a, str) for a in advice):
                raise TypeError("advice must be a list of advice ids")
            metric = entry.get("metric")
            out.append(
                FormEvent(
                    rule=str(entry["rule"]),
                    type=str(entry["type"]),
                    metric=None if metric is None else str(metric),
                    side=_side(entry.get("side")),
                    t_start_s=_float(entry.get("t_start_s")) - start_s,
                    t_end_s=_float(entry.get("t_end_s")) - start_s,
                    severity=str(entry.get("severity") or ""),
                    advice=tuple(advice),
                    message=str(entry.get("message") or ""),
                    value=_float(entry.get("value")),
                    threshold=_float(entry.get("threshold")),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RunFolderError(
                str(path), f"{path}: event {i} does not follow the events contract ({exc!r}): {_AGAIN}"
            ) from exc
    return tuple(out)


def _identity(folder: Path) -> RunIdentity:
    """Athlete, session and start from the session.json `posture replay` writes; empty without one."""
    from posture.session.replay import SESSION_JSON

    path = folder / SESSION_JSON
    if not path.is_file():
        return RunIdentity()
    doc = _read_json(path)
    if not isinstance(doc, dict):
        raise RunFolderError(str(path), f"{path} must hold a JSON object: {_AGAIN}")
    athlete, session, started = doc.get("athlete"), doc.get("session_id"), doc.get("start_host_ns")
    return RunIdentity(
        athlete=athlete if isinstance(athlete, str) and athlete else None,
        session=session if isinstance(session, str) and session else None,
        started_ns=started if isinstance(started, int) and not isinstance(started, bool) else None,
    )


def run_start_s(t_ic_s: FloatArray, summary: RunSummary, summary_doc: Mapping[str, object]) -> float:
    """The start of the run on the recording's time axis.

    A simulated or logged recording that counts from 0 starts at 0. A recording whose time axis is the
    wall clock (epoch seconds: initial contacts later than the run's whole duration) starts at the
    standing start when the calibration found one, otherwise at the first initial contact.
    """
    finite = t_ic_s[np.isfinite(t_ic_s)]
    if not finite.size or not math.isfinite(summary.duration_s) or finite[0] <= summary.duration_s:
        return 0.0
    calibration = summary_doc.get("calibration")
    standing = calibration.get("standing_s") if isinstance(calibration, dict) else None
    if (
        isinstance(standing, list)
        and standing
        and isinstance(standing[0], (int, float))
        and float(standing[0]) <= finite[0]
    ):
        return float(standing[0])
    return float(finite[0])


def load_run(folder: Path) -> RunData:
    """Read a run folder written by `posture analyze` or `posture replay`.

    summary.json and steps.csv are required; asymmetry.csv and events.json may be missing (the report then
    has no drift plot or no alerts). Raises `RunFolderError` naming the file at fault.
    """
    if not folder.is_dir():
        raise RunFolderError(
            str(folder), f"{folder} is not a folder: pass the folder that `posture analyze --out` wrote"
        )
    summary_path = folder / SUMMARY_FILE
    if not summary_path.is_file():
        raise RunFolderError(
            str(folder),
            f"{folder} is not a run folder (it has no {SUMMARY_FILE}): pass the folder that "
            "`posture analyze --out` or `posture replay --out` wrote",
        )
    doc = _read_json(summary_path)
    summary = _summary(summary_path, doc)
    steps, t_ic = _steps(folder / STEPS_FILE)
    start = run_start_s(t_ic, summary, doc if isinstance(doc, dict) else {})
    steps = StepSeries(
        t_s=steps.t_s - start, is_left=steps.is_left, is_running=steps.is_running, values=steps.values
    )
    return RunData(
        folder=folder,
        start_s=start,
        summary=summary,
        steps=steps,
        windows=_windows(folder / ASYMMETRY_FILE, start),
        events=_events(folder / EVENTS_FILE, start),
        identity=_identity(folder),
    )
