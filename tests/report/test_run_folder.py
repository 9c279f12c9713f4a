"""Reading a run folder (posture/report/run.py) and `posture report`'s one-line errors."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from posture.commands.report import register
from posture.report import RunFolderError, load_run, render_report
from processing.asymmetry import ASYMMETRY_METRICS

#: A wall-clock time axis: a recorded run's steps.csv counts in epoch seconds.
EPOCH_S = 1_796_000_000.0


def report_cli(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.output


def shift_csv(path: Path, columns: tuple[str, ...], by: float) -> None:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{float(v) + by:.6f}" if k in columns and v else v) for k, v in row.items()})


def test_a_run_folder_reads_with_times_from_the_start(fault_run_dir: Path) -> None:
    run = load_run(fault_run_dir)
    summary = json.loads((fault_run_dir / "summary.json").read_text())
    assert run.start_s == 0.0
    assert len(run.steps) == summary["steps"]["total"] == run.summary.steps_total
    assert 0.0 < run.steps.t_s[0] < run.steps.t_s[-1] <= run.summary.duration_s
    assert {w.metric for w in run.windows} == set(ASYMMETRY_METRICS)
    drop = run.summary.metric("pelvic_drop_deg")
    assert drop is not None
    assert drop.worse_side == "L"  # the planted fault: left stance, the right hip sags


def test_a_wall_clock_time_axis_counts_from_the_standing_start(fault_run_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    shift_csv(run_dir / "steps.csv", ("t_ic_s", "t_to_s"), EPOCH_S)
    shift_csv(run_dir / "asymmetry.csv", ("t_start_s", "t_end_s"), EPOCH_S)
    summary = json.loads((run_dir / "summary.json").read_text())
    standing_start_s = summary["calibration"]["standing_s"][0]
    summary["calibration"]["standing_s"] = [v + EPOCH_S for v in summary["calibration"]["standing_s"]]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "events.json").write_text(
        json.dumps(
            [
                {
                    "rule": "r",
                    "type": "level",
                    "metric": "pelvic_drop_deg",
                    "side": "L",
                    "t_start_s": EPOCH_S + 150.0,
                    "t_end_s": None,
                    "severity": "warning",
                    "advice": [],
                    "message": "m",
                }
            ]
        )
    )

    original, shifted = load_run(fault_run_dir), load_run(run_dir)

    assert shifted.start_s == pytest.approx(EPOCH_S + standing_start_s)
    np.testing.assert_allclose(shifted.steps.t_s, original.steps.t_s - standing_start_s, atol=1e-5)
    drop = shifted.window("pelvic_drop_deg")
    assert drop is not None
    assert drop.t_start_s[0] < 60.0
    assert shifted.events[0].t_start_s == pytest.approx(150.0 - standing_start_s)
    assert np.isnan(shifted.events[0].t_end_s)  # still open


def test_even_in_the_summary_means_no_worse_side(fault_run_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["metrics"]["step_time_s"]["worse_side"] = "even"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    step_time = load_run(run_dir).summary.metric("step_time_s")
    assert step_time is not None
    assert step_time.worse_side is None


def test_a_folder_without_rolling_windows_or_events_still_makes_a_report(
    fault_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    (run_dir / "asymmetry.csv").unlink()
    (run_dir / "events.json").unlink()
    run = load_run(run_dir)
    assert run.windows == ()
    assert run.events == ()
    html = render_report(run, advice={})
    assert "too short to show how your form changed" in html
    assert "No form alerts during this run." in html


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "summary.json").unlink(), "is not a run folder (it has no summary.json)"),
        (lambda d: (d / "steps.csv").unlink(), "steps.csv is missing: run `posture analyze`"),
        (lambda d: (d / "summary.json").write_text("{not json"), "summary.json cannot be read as JSON"),
        (lambda d: (d / "events.json").write_text('[{"type": "level"}]'), "event 0 does not follow"),
        (lambda d: (d / "events.json").write_text('{"rule": "r"}'), "must hold a JSON list of events"),
    ],
)
def test_a_damaged_folder_is_one_clear_line(
    fault_run_dir: Path, tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    damage(run_dir)
    with pytest.raises(RunFolderError, match=re.escape(message)):
        load_run(run_dir)
    code, output = report_cli(str(run_dir), "--out", str(tmp_path / "report.html"))
    assert code == 1
    assert output.startswith("error: ")
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "report.html").exists()


def test_a_file_that_is_no_run_is_refused_in_one_line(tmp_path: Path) -> None:
    recording = tmp_path / "run.csv"
    recording.write_text("t_s,acc_x_mps2\n0,1\n")
    code, output = report_cli(str(recording), "--out", str(tmp_path / "report.html"))
    assert code == 1
    assert output.startswith("error: ")
    assert "posture replay" in output or "session file" in output
    assert "Traceback" not in output


def test_help_names_the_argument_and_the_output() -> None:
    code, output = report_cli("--help")
    assert code == 0
    assert "RUN_DIR_OR_SESSION" in output
    assert "--out" in output


def test_the_side_table_says_less_where_less_is_worse(fault_run_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["metrics"]["flight_time_s"].update(left_mean=0.100, right_mean=0.115, si_pct=14.0, worse_side="L")
    (run_dir / "summary.json").write_text(json.dumps(summary))
    html = render_report(load_run(run_dir), advice={})
    assert "<td class='uneven'>less on left steps</td>" in html
    assert "<td class='uneven'>more when standing on your left leg (right hip sags)</td>" in html
