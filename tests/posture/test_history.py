"""The local run history (SQLite): record, replace, read back, weekly load, a file it cannot use."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from posture.history import SCHEMA_VERSION, HistoryFileError, RunHistory, RunRecord, run_record
from processing.events import FormEvent, LoadContext, detect_events
from processing.events.load import DAY_NS, WEEK_NS
from processing.steps import StepMetrics

T0 = 1_750_000_000 * 1_000_000_000


def steps(n: int = 200, *, contact_s: float = 0.24) -> list[StepMetrics]:
    out = []
    for k in range(n):
        t = 5.0 + 0.35 * k
        out.append(
            StepMetrics(
                t,
                "L" if k % 2 == 0 else "R",
                t + contact_s,
                0.35,
                contact_s,
                0.35 - contact_s,
                60 / 0.35,
                4.0,
                6.0 + (k % 2),
                12.0,
                0.08,
                4.0,
                0.3,
                2.5,
                True,
            )
        )
    return out


def record(session: str, started_ns: int, distance_m: float = 5000.0) -> RunRecord:
    return replace(run_record("alex", session, started_ns, steps()), distance_m=distance_m)


def test_a_run_record_summarises_the_steps(tmp_path: Path) -> None:
    events = (
        FormEvent(
            "pelvic_drop_high", "level", "pelvic_drop_deg", "R", 5.0, 9.0, "warning", (), "x", 8.1, 8.0
        ),
    )
    r = run_record("alex", "s1", T0, steps(), events)
    assert (r.steps, r.running_steps, r.form_events) == (200, 200, 1)
    assert r.duration_s == pytest.approx(200 * 0.35)
    assert r.cadence_spm == pytest.approx(60 / 0.35)
    assert (r.pelvic_drop_left_deg, r.pelvic_drop_right_deg) == (pytest.approx(6.0), pytest.approx(7.0))
    assert r.distance_m == pytest.approx(200 * 0.35 * (0.24 / 0.52) ** (1 / -0.6))
    assert r.load.distance_m == r.distance_m


def test_runs_are_recorded_replaced_and_read_back_in_order(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "data" / "history.sqlite")  # the folder is created
    late, early = record("s2", T0 + DAY_NS), record("s1", T0)
    history.record_run(late)
    history.record_run(early)
    history.record_run(early)  # a replay replaces, never duplicates
    other = replace(early, athlete="sam")
    history.record_run(other)
    assert history.recent_runs("alex") == (early, late)
    assert history.recent_runs("alex", since_ns=T0 + 1) == (late,)
    assert history.recent_runs("sam") == (other,)
    assert RunHistory(tmp_path / "data" / "history.sqlite").recent_runs("alex") == (early, late)  # reopened


def test_unknown_metrics_survive_as_nan(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "h.sqlite")
    base = record("s1", T0)
    no_angles = replace(base, pelvic_tilt_deg=math.nan)
    history.record_run(no_angles)
    (back,) = history.recent_runs("alex")
    assert math.isnan(back.pelvic_tilt_deg)
    assert back.cadence_spm == no_angles.cadence_spm


def test_weekly_load_and_the_history_feed_the_load_rule(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "h.sqlite")
    now = T0 + 10 * WEEK_NS
    for week in range(1, 5):  # 6 km a week for four weeks
        for day in (1, 3, 5):
            history.record_run(record(f"w{week}d{day}", now - week * WEEK_NS - day * DAY_NS, 2000.0))
    for day in (1, 2, 3):  # this week: 3 x 3 km already
        history.record_run(record(f"now{day}", now - day * DAY_NS, 3000.0))
    weeks = history.weekly_load("alex", at_ns=now)
    assert [w.distance_m for w in weeks] == [9000.0, 6000.0, 6000.0, 6000.0, 6000.0]
    assert history.assess_load("alex", at_ns=now).ratio == pytest.approx(1.5)
    past = history.load_history("alex", before_ns=now)
    assert len(past) == 15
    assert all(r.started_ns < now for r in past)
    # today's run (about 2.5 km by the model) on top: the load rule fires
    events = detect_events(steps(2000), load=LoadContext(past, now))
    assert [e.rule for e in events if e.type == "load"] == ["weekly_load_jump"]


def test_a_file_it_cannot_use_fails_with_what_to_do(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryFileError, match="move the file away") as info:
        RunHistory(junk)
    assert info.value.path == junk
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryFileError, match="newer version"):
        RunHistory(newer)


def test_records_are_validated() -> None:
    base = record("s1", T0)
    with pytest.raises(ValueError, match="athlete"):
        replace(base, athlete="")
    with pytest.raises(ValueError, match="distance_m"):
        replace(base, distance_m=-1.0)
    with pytest.raises(TypeError, match="RunRecord"):
        RunHistory.record_run(RunHistory.__new__(RunHistory), asdict(base))  # type: ignore[arg-type]
