"""The local run history: one SQLite file (the path is given; `Settings.history_file` in the data folder), one
row per run, for the training-load rule (`processing.events.load`) and the report's recent runs.

Each row keeps what a later run needs without the session file: athlete, session, start (ns since the Unix
epoch), duration, steps, the estimated distance (`processing.events.estimate_distance_m`: a model of
speed from contact time, about 15 to 25 % off on real runners, mostly a constant factor per runner) and
summary metrics over the running steps. Recording a session again (a replay) replaces its row, so the history
never counts a run twice.

The file carries its schema version (`PRAGMA user_version`); a file of a newer version, or not an SQLite file,
raises `HistoryFileError` with what to do. Each call opens and closes its own connection, so a history can be
shared by a `posture run` and a `posture report` at the same time (SQLite locks the file).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import cast

from processing.asymmetry import summarize_asymmetry
from processing.events import (
    FormEvent,
    LoadAssessment,
    RunLoad,
    WeeklyLoad,
    assess_load,
    estimate_distance_m,
    weekly_loads,
)
from processing.events.load import CHRONIC_WEEKS, WEEK_NS
from processing.steps import StepMetrics

__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryFileError",
    "RunHistory",
    "RunRecord",
    "run_record",
]

SCHEMA_VERSION = 1


class HistoryError(Exception):
    """Root of the errors of the run history; messages say what to do next."""


class HistoryFileError(HistoryError, ValueError):
    """The history file cannot be used (not an SQLite file, or written by a newer version).

    Attributes
    ----------
    path : Path
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"run history {path}: {message}")
        self.path = path


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of the history (NaN where a metric is unknown, e.g. angles without a gyroscope).

    Attributes
    ----------
    athlete, session : str
    started_ns : int
        Start of the run, ns since the Unix epoch.
    duration_s : float, s
        From the first initial contact to the end of the last step.
    steps, running_steps : int
    distance_m : float, m
        Estimated (module notes).
    cadence_spm : float, steps/min
    pelvic_tilt_deg, pelvic_drop_left_deg, pelvic_drop_right_deg, pelvic_rotation_deg : float, deg
        Means over the running steps (drop per stance side).
    contact_time_s : float, s
    step_time_si_pct, contact_time_si_pct : float, %
    form_events : int
        Form events of the run (the summary and training-load events not counted).
    """

    athlete: str
    session: str
    started_ns: int
    duration_s: float
    steps: int
    running_steps: int
    distance_m: float
    cadence_spm: float
    pelvic_tilt_deg: float
    pelvic_drop_left_deg: float
    pelvic_drop_right_deg: float
    pelvic_rotation_deg: float
    contact_time_s: float
    step_time_si_pct: float
    contact_time_si_pct: float
    form_events: int

    def __post_init__(self) -> None:
        for name in ("athlete", "session"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        for name in ("started_ns", "steps", "running_steps", "form_events"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("duration_s", "distance_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and non-negative, got {value!r}")

    @property
    def load(self) -> RunLoad:
        """The run as the training-load rule sees it."""
        return RunLoad(self.started_ns, self.duration_s, self.distance_m)


_COLUMNS = tuple(f.name for f in fields(RunRecord))
_INT_COLUMNS = frozenset({"started_ns", "steps", "running_steps", "form_events"})
_TEXT_COLUMNS = frozenset({"athlete", "session"})


def _sql_type(column: str) -> str:
    if column in _INT_COLUMNS:
        return "INTEGER NOT NULL"
    return "TEXT NOT NULL" if column in _TEXT_COLUMNS else "REAL"


def _mean(steps: Sequence[StepMetrics], name: str) -> float:
    values = [getattr(s, name) for s in steps if math.isfinite(getattr(s, name))]
    return sum(values) / len(values) if values else math.nan


def run_record(
    athlete: str,
    session: str,
    started_ns: int,
    steps: Sequence[StepMetrics],
    events: Sequence[FormEvent] = (),
) -> RunRecord:
    """The history row of a run from its steps (and its events, to count the form events)."""
    running = [s for s in steps if s.is_running]
    basis = running or list(steps)
    asym = {a.metric: a for a in summarize_asymmetry(basis)}
    duration = (steps[-1].t_ic_s + steps[-1].step_time_s - steps[0].t_ic_s) if steps else 0.0
    return RunRecord(
        athlete=athlete,
        session=session,
        started_ns=int(started_ns),
        duration_s=max(0.0, float(duration)),
        steps=len(steps),
        running_steps=len(running),
        distance_m=estimate_distance_m(steps),
        cadence_spm=_mean(basis, "cadence_spm"),
        pelvic_tilt_deg=_mean(basis, "pelvic_tilt_deg"),
        pelvic_drop_left_deg=asym["pelvic_drop_deg"].left_mean,
        pelvic_drop_right_deg=asym["pelvic_drop_deg"].right_mean,
        pelvic_rotation_deg=_mean(basis, "pelvic_rotation_deg"),
        contact_time_s=_mean(basis, "contact_time_s"),
        step_time_si_pct=asym["step_time_s"].si_pct,
        contact_time_si_pct=asym["contact_time_s"].si_pct,
        form_events=sum(e.type not in ("summary", "load") for e in events),
    )


class RunHistory:
    """The run history in the SQLite file `path` (created with its table on first use).

    Parameters
    ----------
    path : Path
        The SQLite file; its folder is created if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryFileError(
                    self.path,
                    f"written by a newer version of posture (schema {version}, this one reads "
                    f"{SCHEMA_VERSION}): "
                    "update posture, or move the file away to start a new history",
                )
            columns = ", ".join(f"{name} {_sql_type(name)}" for name in _COLUMNS)
            con.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns}, PRIMARY KEY (athlete, session))")
            con.execute("CREATE INDEX IF NOT EXISTS runs_by_start ON runs (athlete, started_ns)")
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=10.0)) as con, con:
                yield con
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise HistoryError(f"run history {self.path} is busy ({exc}); try again") from exc
            raise HistoryFileError(
                self.path, f"not a run history ({exc}); move the file away to start a new history"
            ) from exc

    def record_run(self, record: RunRecord) -> None:
        """Add a run, or replace the row of the same athlete and session (a replay)."""
        if not isinstance(record, RunRecord):
            raise TypeError("record must be a RunRecord (see run_record)")
        values = tuple(None if isinstance(v, float) and math.isnan(v) else v for v in astuple(record))
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._connect() as con:
            con.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({marks})",
                values,
            )

    def recent_runs(self, athlete: str, since_ns: int = 0) -> tuple[RunRecord, ...]:
        """The athlete's runs that started at or after `since_ns`, oldest first."""
        with self._connect() as con:
            rows = con.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE athlete = ? AND started_ns >= ? "
                "ORDER BY started_ns, session",
                (athlete, int(since_ns)),
            ).fetchall()
        return tuple(_record(row) for row in rows)

    def load_history(
        self, athlete: str, *, before_ns: int, weeks: int = CHRONIC_WEEKS + 1
    ) -> tuple[RunLoad, ...]:
        """The athlete's runs of the `weeks` weeks before `before_ns` (not at or after it), for
        `processing.events.LoadContext`."""
        since = max(0, before_ns - weeks * WEEK_NS)
        return tuple(r.load for r in self.recent_runs(athlete, since) if r.started_ns < before_ns)

    def weekly_load(
        self, athlete: str, *, at_ns: int, weeks: int = CHRONIC_WEEKS + 1
    ) -> tuple[WeeklyLoad, ...]:
        """Rolling 7-day blocks of the athlete's running ending at `at_ns` ([0] the last 7 days)."""
        since = max(0, at_ns - weeks * WEEK_NS)
        return weekly_loads((r.load for r in self.recent_runs(athlete, since)), at_ns=at_ns, weeks=weeks)

    def assess_load(self, athlete: str, *, at_ns: int) -> LoadAssessment:
        """This week's running distance against the weeks before, at `at_ns`."""
        since = max(0, at_ns - (CHRONIC_WEEKS + 1) * WEEK_NS)
        return assess_load([r.load for r in self.recent_runs(athlete, since)], at_ns=at_ns)


def _record(row: Sequence[object]) -> RunRecord:
    """A row of `runs` (in `_COLUMNS` order) back into a RunRecord; NULL (a NaN written) becomes NaN."""
    values: list[object] = []
    for name, value in zip(_COLUMNS, row, strict=True):
        if name in _INT_COLUMNS:
            values.append(int(cast("int", value)))
        elif name in _TEXT_COLUMNS:
            values.append(str(value))
        else:
            values.append(math.nan if value is None else float(cast("float", value)))
    return RunRecord(*values)  # type: ignore[arg-type]  # the column order is the field order
