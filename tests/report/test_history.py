"""This run against the recent runs of the run history (posture/report/history.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from posture.report import ReportError, load_run, render_report, write_report
from posture.report.history import MAX_RECENT_RUNS, THIS_RUN, comparison_points, history_figure
from posture.report.run import RunIdentity
from tests.report.test_run_folder import report_cli

DAY_NS = 86_400 * 10**9
#: 2026-12-07 07:00 UTC: "this run" in these tests.
THIS_START_NS = 1_796_626_800 * 10**9


@dataclass(frozen=True, slots=True)
class Row:
    """A run history row, as `posture.history.RunRecord` has it."""

    session: str
    started_ns: int
    duration_s: float = 1800.0
    distance_m: float = 5000.0
    cadence_spm: float = 172.0
    pelvic_drop_left_deg: float = 6.0
    pelvic_drop_right_deg: float = 5.0
    contact_time_si_pct: float = -1.5
    form_events: int = 0


def earlier_runs(n: int) -> list[Row]:
    return [Row(f"run-{i}", THIS_START_NS - (n - i) * 2 * DAY_NS) for i in range(n)]


def replayed(fault_run_dir: Path, tmp_path: Path, *, session: str = "today") -> Path:
    """The fault run as `posture replay` would leave it: with its session.json."""
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    doc = {"athlete": "ana", "session_id": session, "start_host_ns": THIS_START_NS}
    (run_dir / "session.json").write_text(json.dumps(doc))
    return run_dir


def test_the_folder_of_a_replayed_session_says_whose_run_it_was(fault_run_dir: Path, tmp_path: Path) -> None:
    assert load_run(fault_run_dir).identity == RunIdentity()
    assert load_run(replayed(fault_run_dir, tmp_path)).identity == RunIdentity("ana", "today", THIS_START_NS)


def test_this_run_comes_last_after_the_recent_runs_before_it(fault_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(replayed(fault_run_dir, tmp_path))
    later = Row("tomorrow", THIS_START_NS + DAY_NS)
    points = comparison_points(run, [later, *earlier_runs(MAX_RECENT_RUNS + 3)])
    assert len(points) == MAX_RECENT_RUNS + 1
    assert [p.is_this_run for p in points] == [False] * MAX_RECENT_RUNS + [True]
    assert points[-1].label == THIS_RUN
    drop = run.summary.metric("pelvic_drop_deg")
    assert drop is not None
    assert points[-1].pelvic_drop_left_deg == drop.left_mean
    assert math.isnan(points[-1].distance_m)  # not in the history: the folder does not estimate it
    assert points[-1].alerts == sum(e.type != "load" for e in run.alerts)


def test_this_runs_own_history_row_is_used_when_the_history_holds_it(
    fault_run_dir: Path, tmp_path: Path
) -> None:
    run = load_run(replayed(fault_run_dir, tmp_path))
    own = Row("today", THIS_START_NS, distance_m=4321.0, form_events=2)
    points = comparison_points(run, [*earlier_runs(3), own])
    assert len(points) == 4
    assert points[-1] == dataclasses.replace(points[-1], label=THIS_RUN, distance_m=4321.0, alerts=2)


def test_without_earlier_runs_the_page_says_the_comparison_starts_next_time(
    fault_run_dir: Path, tmp_path: Path
) -> None:
    run = load_run(replayed(fault_run_dir, tmp_path))
    assert history_figure(comparison_points(run, [])) is None
    html = render_report(run, advice={}, history=[], athlete="ana")
    assert "No earlier runs of ana in the run history yet" in html


def test_the_page_compares_this_run_with_the_average_of_the_recent_ones(
    fault_run_dir: Path, tmp_path: Path
) -> None:
    run = load_run(replayed(fault_run_dir, tmp_path))
    html = render_report(run, advice={}, history=earlier_runs(4), athlete="ana")
    assert "Compared with your recent runs" in html
    assert "Your last 4 runs (average)" in html
    assert (
        "<td>Pelvic drop, standing on your left leg</td><td class='num'>7.9°</td><td class='num'>6.0°</td>"
        in html
    )
    assert 'id="plot-history"' in html


def test_no_history_no_comparison(fault_run_dir: Path) -> None:
    html = render_report(load_run(fault_run_dir), advice={})
    assert "Compared with your recent runs" not in html


def test_a_history_needs_to_know_whose_run_it_is(fault_run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="pass --athlete"):
        write_report(fault_run_dir, tmp_path / "r.html", advice={}, history_file=tmp_path / "history.sqlite")


def test_a_missing_history_file_is_one_clear_line(fault_run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"no run history at .*history\.sqlite: give the history file"):
        write_report(
            fault_run_dir,
            tmp_path / "r.html",
            advice={},
            history_file=tmp_path / "history.sqlite",
            athlete="ana",
        )


def test_a_replayed_run_is_titled_with_its_date(fault_run_dir: Path, tmp_path: Path) -> None:
    html = render_report(load_run(replayed(fault_run_dir, tmp_path)), advice={})
    assert "<h1>Your run of " in html
    assert " 2026, " in html
    assert "<h1>Run report: run.csv</h1>" in render_report(load_run(fault_run_dir), advice={})


def test_posture_report_reads_the_run_history_of_the_sessions_athlete(
    fault_run_dir: Path, tmp_path: Path
) -> None:
    from posture.history import RunHistory, RunRecord

    history = RunHistory(tmp_path / "history.sqlite")
    for i, row in enumerate(earlier_runs(3)):
        history.record_run(
            RunRecord(
                athlete="ana",
                session=row.session,
                started_ns=row.started_ns,
                duration_s=row.duration_s,
                steps=5000,
                running_steps=5000,
                distance_m=row.distance_m,
                cadence_spm=row.cadence_spm,
                pelvic_tilt_deg=4.0,
                pelvic_drop_left_deg=6.0 + i,
                pelvic_drop_right_deg=5.0,
                pelvic_rotation_deg=12.0,
                contact_time_s=0.24,
                step_time_si_pct=0.5,
                contact_time_si_pct=row.contact_time_si_pct,
                form_events=i,
            )
        )
    other = dataclasses.replace(history.recent_runs("ana")[0], athlete="bo", session="bo-1")
    history.record_run(other)
    html = tmp_path / "report.html"

    code, output = report_cli(
        str(replayed(fault_run_dir, tmp_path)), "--out", str(html), "--history", str(history.path)
    )

    assert code == 0, output
    page = html.read_text(encoding="utf-8")
    assert "Your last 3 runs (average)" in page  # ana's, not bo's
    assert (
        "<td>Pelvic drop, standing on your left leg</td><td class='num'>7.9°</td><td class='num'>7.0°</td>"
        in page
    )


def test_the_weekly_running_ends_with_this_run(fault_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(replayed(fault_run_dir, tmp_path))
    own = Row("today", THIS_START_NS, duration_s=305.0, distance_m=4321.0)
    # 5 km every other day: 6, 4 and 2 days before this run in its week; 12, 10 and 8 the week before
    html = render_report(run, advice={}, history=[*earlier_runs(6), own], athlete="ana")
    assert (
        "The last 7 days: 19.3 km in 4 runs; the 4 weeks before: 3.8 km a week on average (+415 %)." in html
    )
    assert 'id="plot-weekly-load"' in html


def test_no_weekly_running_without_this_runs_own_history_row(fault_run_dir: Path, tmp_path: Path) -> None:
    html = render_report(load_run(replayed(fault_run_dir, tmp_path)), advice={}, history=earlier_runs(6))
    assert "Your weekly running" not in html
