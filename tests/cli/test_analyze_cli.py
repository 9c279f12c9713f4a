"""`posture analyze`: the offline analysis contract, and one clear line for every bad input."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from posture.recording_io import read_recording, write_recording
from processing.errors import InvalidSamplesError
from processing.samples import ImuSamples
from processing.simulation import SimulatedRun, scenario_by_name, simulate
from processing.steps import STEP_METRIC_COLUMNS

CONTRACT_COLUMNS = ["t_s", "acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]


@cache
def short_run() -> SimulatedRun:
    scenario = dataclasses.replace(
        scenario_by_name("arbitrary_mount_b"), duration_s=30.0, sampling_rate_hz=104.0
    )
    return simulate(scenario)


def posture(*args: str) -> subprocess.CompletedProcess[str]:
    # COLUMNS=60: a narrow terminal must not split an error message over several lines.
    env = {**os.environ, "COLUMNS": "60"}
    return subprocess.run(
        [sys.executable, "-m", "posture", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def write_csv(path: Path, header: list[str], rows: np.ndarray) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows.tolist())
    return path


def recording_rows() -> np.ndarray:
    s = short_run().samples
    assert s.gyr_dps is not None
    return np.column_stack([s.t_s, s.acc_mps2, s.gyr_dps])


def test_analyze_writes_steps_events_and_summary(tmp_path: Path) -> None:
    csv_path = tmp_path / "run.csv"
    write_recording(csv_path, short_run().samples)
    out = tmp_path / "out"
    result = posture("analyze", str(csv_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with (out / "steps.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(STEP_METRIC_COLUMNS)
    truth = short_run().truth.steps
    assert len(rows) >= 0.95 * len(truth.t_ic_s)
    assert {r["side"] for r in rows} == {"L", "R"}
    running = [r for r in rows if r["is_running"] == "1"]
    drops = np.array([float(r["pelvic_drop_deg"]) for r in running if r["pelvic_drop_deg"]])
    assert drops.mean() == pytest.approx(truth.pelvic_drop_deg[truth.is_running].mean(), abs=1.0)
    assert json.loads((out / "events.json").read_text()) == []
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calibration"]["kind"] == "standing"
    assert summary["cadence_spm"] == pytest.approx(short_run().scenario.cadence_spm, abs=2.0)
    for metric in ("step_time_s", "contact_time_s", "pelvic_drop_deg"):
        entry = summary["metrics"][metric]
        assert {"left_mean", "right_mean", "right_minus_left", "worse_side"} <= set(entry)
    assert summary["metrics"]["contact_time_s"]["si_pct"] is not None


def test_accelerometer_only_file_leaves_the_angles_blank(tmp_path: Path) -> None:
    rows = recording_rows()[:, :4]
    csv_path = write_csv(tmp_path / "acc_only.csv", CONTRACT_COLUMNS[:4], rows)
    out = tmp_path / "out"
    result = posture("analyze", str(csv_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with (out / "steps.csv").open() as f:
        rows_out = list(csv.DictReader(f))
    assert len(rows_out) > 50
    assert all(r["pelvic_tilt_deg"] == "" and r["pelvic_rotation_deg"] == "" for r in rows_out)
    assert all(r["step_time_s"] != "" for r in rows_out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["has_gyroscope"] is False
    assert summary["metrics"]["pelvic_drop_deg"]["mean"] is None


def test_extra_columns_are_ignored_and_column_order_is_free(tmp_path: Path) -> None:
    rows = recording_rows()
    order = [6, 0, 3, 1, 2, 4, 5]
    header = [CONTRACT_COLUMNS[i] for i in order] + ["temperature_c"]
    data = np.column_stack([rows[:, order], np.full(rows.shape[0], 21.5)])
    rec = read_recording(write_csv(tmp_path / "shuffled.csv", header, data))
    assert rec.sampling_rate_hz == pytest.approx(104.0, rel=1e-3)
    np.testing.assert_allclose(rec.samples.acc_mps2, rows[:, 1:4])
    assert rec.samples.gyr_dps is not None


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    rows = recording_rows()
    out: dict[str, tuple[Path, str]] = {}
    out["missing"] = (
        write_csv(tmp_path / "m.csv", ["t_s", "acc_x_mps2", "acc_y_mps2"], rows[:, :3]),
        "acc_z_mps2",
    )
    backwards = rows.copy()
    backwards[500, 0] = backwards[499, 0]
    out["order"] = (write_csv(tmp_path / "o.csv", CONTRACT_COLUMNS, backwards), "does not increase")
    gap = np.delete(rows, np.s_[800:900], axis=0)
    out["gap"] = (write_csv(tmp_path / "g.csv", CONTRACT_COLUMNS, gap), "irregular time axis")
    out["short"] = (write_csv(tmp_path / "s.csv", CONTRACT_COLUMNS, rows[:300]), "record at least")
    nan = rows.copy()
    nan[1200, 2] = np.nan
    out["nan"] = (write_csv(tmp_path / "n.csv", CONTRACT_COLUMNS, nan), "NaN")
    clipped = rows.copy()
    clipped[:, 1:4] = np.clip(clipped[:, 1:4], -2.0 * 9.80665, 2.0 * 9.80665)  # a 2 g sensor range
    out["clipped"] = (write_csv(tmp_path / "c.csv", CONTRACT_COLUMNS, clipped), "clipped")
    return out


@pytest.mark.parametrize("case", ["missing", "order", "gap", "short", "nan", "clipped"])
def test_bad_input_raises_a_value_error_that_says_what_to_do(tmp_path: Path, case: str) -> None:
    path, expected = bad_files(tmp_path)[case]
    with pytest.raises(InvalidSamplesError, match=expected) as err:
        read_recording(path)
    assert isinstance(err.value, ValueError)
    assert ":" in str(err.value)  # what is wrong: what to do


def test_bad_input_gives_one_line_without_traceback(tmp_path: Path) -> None:
    path, _ = bad_files(tmp_path)["gap"]
    result = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "irregular time axis" in lines[0]
    assert not (tmp_path / "out" / "steps.csv").exists()


def test_timestamp_jitter_is_not_a_gap(tmp_path: Path) -> None:
    rows = recording_rows()
    rng = np.random.default_rng(0)
    rows[:, 0] += rng.uniform(-0.2, 0.2, rows.shape[0]) / 104.0
    rec = read_recording(write_csv(tmp_path / "jitter.csv", CONTRACT_COLUMNS, rows))
    assert len(rec.samples) == rows.shape[0]


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    s = short_run().samples
    write_recording(tmp_path / "rt.csv", s)
    rec = read_recording(tmp_path / "rt.csv")
    np.testing.assert_allclose(rec.samples.t_s, s.t_s, atol=1e-6)
    np.testing.assert_allclose(rec.samples.acc_mps2, s.acc_mps2, atol=1e-6)
    write_recording(tmp_path / "acc.csv", ImuSamples(s.t_s, s.acc_mps2, None))
    assert read_recording(tmp_path / "acc.csv").samples.gyr_dps is None
