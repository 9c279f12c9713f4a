"""`posture analyze`: the offline analysis contract, and one clear line for every bad input."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import pty
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from posture.analysis import PROGRESS_MIN_S, wants_progress
from posture.recording_io import read_recording, write_recording
from processing.errors import InvalidSamplesError
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, scenario_by_name, simulate
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
    events = json.loads((out / "events.json").read_text())
    assert [e["type"] for e in events] == ["summary"]  # a clean run holds only the summary event
    assert events[0]["t_start_s"] == pytest.approx(float(rows[0]["t_ic_s"]))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calibration"]["kind"] == "standing"
    assert summary["cadence_spm"] == pytest.approx(short_run().scenario.cadence_spm, abs=2.0)
    for metric in ("step_time_s", "contact_time_s", "pelvic_drop_deg"):
        entry = summary["metrics"][metric]
        assert {"left_mean", "right_mean", "right_minus_left", "worse_side"} <= set(entry)
    assert summary["metrics"]["contact_time_s"]["si_pct"] is not None
    assert summary["asymmetry_windows"]["file"] == "asymmetry.csv"


ASYMMETRY_CSV_COLUMNS = [
    "window",
    "t_start_s",
    "t_end_s",
    "n_steps",
    "metric",
    "unit",
    "n_left",
    "n_right",
    "left_mean",
    "right_mean",
    "right_minus_left",
    "si_pct",
    "worse_side",
    "window_mean",
    "baseline_mean",
    "change_from_baseline",
    "change_from_baseline_pct",
]
METRIC_UNITS = {
    "step_time_s": "s",
    "contact_time_s": "s",
    "flight_time_s": "s",
    "pelvic_tilt_deg": "deg",
    "pelvic_drop_deg": "deg",
    "pelvic_rotation_deg": "deg",
    "vertical_oscillation_m": "m",
    "braking_peak_mps2": "m/s^2",
    "braking_dv_mps": "m/s",
    "impact_peak_g": "g",
}


def test_analyze_writes_the_rolling_window_asymmetry_a_coach_can_plot(tmp_path: Path) -> None:
    csv_path = tmp_path / "run.csv"
    write_recording(csv_path, short_run().samples)
    out = tmp_path / "out"
    assert posture("analyze", str(csv_path), "--out", str(out)).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    spec = summary["asymmetry_windows"]
    assert (spec["window_strides"], spec["hop_strides"], spec["steps_over"]) == (20, 10, "running steps")
    with (out / spec["file"]).open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ASYMMETRY_CSV_COLUMNS
    n_running = summary["steps"]["running"]
    assert spec["windows"] == (n_running - 40) // 20 + 1 >= 2  # a 30 s run: 40-step windows every 20 steps
    assert len(rows) == spec["windows"] * len(METRIC_UNITS)
    assert {(r["metric"], r["unit"]) for r in rows} == set(METRIC_UNITS.items())
    for r in rows:
        assert r["n_steps"] == "40"
        assert int(r["n_left"]) + int(r["n_right"]) <= 40
        assert float(r["t_start_s"]) < float(r["t_end_s"])
        assert r["worse_side"] in ("L", "R", "")
        if r["metric"].endswith("_deg"):
            assert r["si_pct"] == ""  # angles: right minus left, no ratio
    contact = [r for r in rows if r["metric"] == "contact_time_s"]
    for r in contact:
        left, right = float(r["left_mean"]), float(r["right_mean"])
        assert 0.15 < left < 0.4  # seconds, not milliseconds
        assert float(r["si_pct"]) == pytest.approx(100 * (right - left) / (0.5 * (right + left)), abs=1e-3)
        assert float(r["right_minus_left"]) == pytest.approx(right - left, abs=2e-6)
    # the drift columns: the window mean against the first minutes (here the whole run is the baseline)
    window_mean = float(contact[0]["window_mean"])
    baseline = float(contact[0]["baseline_mean"])
    assert float(contact[0]["change_from_baseline"]) == pytest.approx(window_mean - baseline, abs=2e-6)
    assert baseline == pytest.approx(summary["metrics"]["contact_time_s"]["mean"], abs=1e-6)


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
    # one absent acc_* column is a biaxial logger (read as NaN), two are not a recording
    out["missing"] = (
        write_csv(tmp_path / "m.csv", ["t_s", "acc_x_mps2"], rows[:, :2]),
        "acc_y_mps2, acc_z_mps2",
    )
    backwards = rows.copy()
    backwards[1500:, 0] -= 10.0  # two recordings joined (a stamp a little back is jitter, repaired)
    out["order"] = (write_csv(tmp_path / "o.csv", CONTRACT_COLUMNS, backwards), "runs back by 9.99 s")
    in_g = rows.copy()
    in_g[:, 1:4] /= 9.80665
    out["acc_in_g"] = (write_csv(tmp_path / "ag.csv", CONTRACT_COLUMNS, in_g), "looks like g: multiply")
    in_mg = rows.copy()
    in_mg[:, 1:4] *= 1000.0 / 9.80665
    out["acc_in_mg"] = (write_csv(tmp_path / "amg.csv", CONTRACT_COLUMNS, in_mg), "looks like milli-g")
    in_rad = rows.copy()
    in_rad[:, 4:7] = np.radians(in_rad[:, 4:7])
    out["gyr_in_rad_s"] = (write_csv(tmp_path / "gr.csv", CONTRACT_COLUMNS, in_rad), "looks like rad/s")
    semicolons = tmp_path / "sc.csv"
    semicolons.write_text(
        ";".join(CONTRACT_COLUMNS) + "\n" + "\n".join(";".join(f"{v:.6f}" for v in r) for r in rows) + "\n"
    )
    out["semicolon"] = (semicolons, "separates its columns with ';'")
    # A gap (lost samples) is read and analysed (test_a_recording_through_a_link_drop_is_analysed_...), and
    # so are jittered stamps (processing.timebase); a rate that halves midway is refused.
    rate_change = np.concatenate([rows[:1500], rows[1500::2]])
    out["rate_change"] = (write_csv(tmp_path / "g.csv", CONTRACT_COLUMNS, rate_change), "rate changes")
    out["short"] = (write_csv(tmp_path / "s.csv", CONTRACT_COLUMNS, rows[:300]), "record at least")
    nan = rows.copy()
    nan[1200, 2] = np.nan
    out["nan"] = (write_csv(tmp_path / "n.csv", CONTRACT_COLUMNS, nan), "NaN")
    clipped = rows.copy()
    clipped[:, 1:4] = np.clip(clipped[:, 1:4], -2.0 * 9.80665, 2.0 * 9.80665)  # a 2 g sensor range
    out["clipped"] = (write_csv(tmp_path / "c.csv", CONTRACT_COLUMNS, clipped), "clipped")
    return out


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "order",
        "rate_change",
        "short",
        "nan",
        "clipped",
        "acc_in_g",
        "acc_in_mg",
        "gyr_in_rad_s",
        "semicolon",
    ],
)
def test_bad_input_raises_a_value_error_that_says_what_to_do(tmp_path: Path, case: str) -> None:
    path, expected = bad_files(tmp_path)[case]
    with pytest.raises(InvalidSamplesError, match=expected) as err:
        read_recording(path)
    assert isinstance(err.value, ValueError)
    assert ":" in str(err.value)  # what is wrong: what to do


def test_bad_input_gives_one_line_without_traceback(tmp_path: Path) -> None:
    path, _ = bad_files(tmp_path)["rate_change"]
    result = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "rate changes" in lines[0]
    assert not (tmp_path / "out" / "steps.csv").exists()


def test_a_recording_with_gaps_is_read_with_its_samples_and_rate(tmp_path: Path) -> None:
    # a link drop of about 1 s and one lost packet: the times mark the gaps; the pipeline decides them
    rows = np.delete(recording_rows(), np.s_[800:900], axis=0)
    rows = np.delete(rows, np.s_[2000:2008], axis=0)
    rec = read_recording(write_csv(tmp_path / "gaps.csv", CONTRACT_COLUMNS, rows))
    assert len(rec.samples) == rows.shape[0]
    assert rec.sampling_rate_hz == pytest.approx(104.0, rel=1e-3)


@cache
def run_through_drops() -> SimulatedRun:
    return simulate(Scenario(name="drop", seed=21, sampling_rate_hz=208.0, duration_s=60.0))


def test_a_recording_through_a_link_drop_is_analysed_in_two_halves(tmp_path: Path) -> None:
    # `posture record` writes through a drop as it comes: the samples lost are missing, the rest keep their
    # times. A 3 s drop (split: the halves analysed apart) and one lost packet of 8 samples (bridged).
    run = run_through_drops()
    s = run.samples
    assert s.gyr_dps is not None
    lost = (s.t_s >= 30.0) & (s.t_s < 33.0)
    lost[np.searchsorted(s.t_s, 45.0) + np.arange(8)] = True
    path = tmp_path / "drop.csv"
    write_recording(path, ImuSamples(s.t_s[~lost], s.acc_mps2[~lost], s.gyr_dps[~lost]))
    result = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    gaps = summary["gaps"]
    assert (gaps["bridged"], gaps["split"], gaps["segments"], gaps["samples_interpolated"]) == (1, 1, 2, 8)
    assert gaps["split_s"] == pytest.approx(3.0, abs=0.01)
    assert gaps["bridged_s"] == pytest.approx(8 / 208.0, abs=1e-4)
    assert gaps["total_s"] == pytest.approx(gaps["split_s"] + gaps["bridged_s"])
    with (tmp_path / "out" / "steps.csv").open() as f:
        rows = list(csv.DictReader(f))
    ic = np.array([float(r["t_ic_s"]) for r in rows])
    end = ic + np.array([float(r["step_time_s"]) for r in rows])
    last_before, first_after = (
        float(s.t_s[~lost & (s.t_s < 30.0)][-1]),
        float(s.t_s[~lost & (s.t_s >= 33.0)][0]),
    )
    # none invented: no step inside the drop or across it, every step a true contact (50 ms)
    assert not np.any((ic > last_before) & (ic < first_after))
    assert not np.any((ic <= last_before) & (end > last_before))
    truth = run.truth.steps
    nearest = np.abs(ic[:, None] - truth.t_ic_s[None, :]).min(axis=1)
    assert nearest.max() < 0.05
    # none lost: every true running contact outside the drop but for two steps at its edges; times right
    edge_s = 2.0 * float(np.nanmedian(truth.step_time_s))
    outside = truth.is_running & (
        (truth.t_ic_s < last_before - edge_s) | (truth.t_ic_s > first_after + edge_s)
    )
    found = np.abs(truth.t_ic_s[outside][:, None] - ic[None, :]).min(axis=1)
    assert found.max() < 0.05
    for half in (ic < last_before, ic > first_after):
        assert np.median(nearest[half]) < 0.010
        assert half.sum() > 40


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


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording just past PROGRESS_MIN_S (52 Hz keeps it cheap)."""
    scenario = dataclasses.replace(
        scenario_by_name("arbitrary_mount_b"), duration_s=PROGRESS_MIN_S + 5.0, sampling_rate_hz=52.0
    )
    path = tmp_path_factory.mktemp("long") / "long.csv"
    write_recording(path, simulate(scenario).samples)
    return path


def analyze_on_a_terminal(input_csv: Path, out: Path) -> tuple[int, str]:
    """`posture analyze` with stderr on a pseudo-terminal, as a runner at a shell sees it."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TTY_", "FORCE_", "NO_COLOR"))}
    env.update(TERM="xterm", COLUMNS="80")
    proc = subprocess.Popen(
        [sys.executable, "-m", "posture", "analyze", str(input_csv), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_only_and_the_results_do_not_depend_on_it(
    tmp_path: Path, long_csv: Path
) -> None:
    code, terminal = analyze_on_a_terminal(long_csv, tmp_path / "tty")
    assert code == 0, terminal
    assert "analysing" in terminal  # the bar was drawn
    assert "%" in terminal
    piped = posture("analyze", str(long_csv), "--out", str(tmp_path / "pipe"))
    assert piped.returncode == 0, piped.stderr
    # a pipe or a log file gets the result lines in plain words, no bar, no escape codes, no blank lines
    assert "analysing" not in piped.stderr
    assert "\x1b" not in piped.stderr
    lines = piped.stderr.splitlines()
    assert all(line.strip() for line in lines)
    assert lines[0].startswith("run of ")
    assert "results in" in lines[-1] or any("results in" in line for line in lines)
    for name in ("steps.csv", "asymmetry.csv", "events.json", "summary.json"):
        assert (tmp_path / "tty" / name).read_bytes() == (tmp_path / "pipe" / name).read_bytes(), name


def test_short_recordings_get_no_progress_bar_even_on_a_terminal(tmp_path: Path) -> None:
    csv_path = tmp_path / "run.csv"
    write_recording(csv_path, short_run().samples)
    code, terminal = analyze_on_a_terminal(csv_path, tmp_path / "out")
    assert code == 0, terminal
    assert "analysing" not in terminal
    assert "steps, cadence" in terminal


def test_progress_needs_a_long_recording_and_an_interactive_terminal() -> None:
    tty = Console(file=io.StringIO(), force_terminal=True)
    log = Console(file=io.StringIO(), force_terminal=False)
    assert wants_progress(PROGRESS_MIN_S, tty)
    assert not wants_progress(PROGRESS_MIN_S - 1.0, tty)
    assert not wants_progress(3 * 3600.0, log)


def test_analyze_prints_the_calibration_warning_when_there_is_no_standing_start(tmp_path: Path) -> None:
    run = simulate(dataclasses.replace(scenario_by_name("no_standing"), duration_s=20.0))
    path = tmp_path / "in.csv"
    write_recording(path, run.samples)
    done = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "calibration running_mean" in done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1
    assert "relative to your mean running posture" in warning[0]
    assert "Stand still for" in warning[0]


def test_analyze_prints_no_warning_after_a_standing_start(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    write_recording(path, short_run().samples)
    done = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "calibration standing" in done.stderr
    assert "warning:" not in done.stderr


@pytest.mark.parametrize(
    "dialect",
    ["windows_line_endings", "byte_order_mark", "trailing_empty_line", "trailing_spaces_line", "all_of_them"],
)
def test_a_spreadsheet_export_reads_like_the_plain_file(tmp_path: Path, dialect: str) -> None:
    plain = tmp_path / "plain.csv"
    write_recording(plain, short_run().samples)
    text = plain.read_text()
    if dialect in ("trailing_empty_line", "all_of_them"):
        text += "\n"
    if dialect == "trailing_spaces_line":
        text += "   \n"
    if dialect in ("windows_line_endings", "all_of_them"):
        text = text.replace("\n", "\r\n")
    if dialect in ("byte_order_mark", "all_of_them"):
        text = "\ufeff" + text
    exported = tmp_path / "exported.csv"
    exported.write_bytes(text.encode("utf-8"))
    a, b = read_recording(plain), read_recording(exported)
    np.testing.assert_array_equal(a.samples.t_s, b.samples.t_s)
    np.testing.assert_array_equal(a.samples.acc_mps2, b.samples.acc_mps2)
    assert b.samples.gyr_dps is not None
    assert b.duplicate_rows_dropped == 0


def test_rows_written_twice_are_dropped_and_reported(tmp_path: Path) -> None:
    rows = recording_rows()
    twice = np.insert(rows, [300, 301, 2000], rows[[299, 300, 1999]], axis=0)
    path = write_csv(tmp_path / "twice.csv", CONTRACT_COLUMNS, twice)
    rec = read_recording(path)
    assert rec.duplicate_rows_dropped == 3
    np.testing.assert_array_equal(rec.samples.t_s, rows[:, 0])
    done = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "3 rows that repeated the row before exactly were left out" in done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["duplicate_rows_dropped"] == 3


def test_a_file_of_standing_only_fails_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "standing.csv"
    write_recording(path, simulate(Scenario(seed=4, standing_s=20.0, duration_s=0.0)).samples)
    done = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "no steps found" in lines[0]
    assert "record some walking or running" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_file_of_walking_only_says_its_metrics_are_over_walking(tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    scenario = Scenario(seed=5, standing_s=3.0, duration_s=0.0, warmup_walk_s=30.0, sampling_rate_hz=52.0)
    write_recording(path, simulate(scenario).samples)
    done = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "no running found: the metrics are over walking steps" in done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"]["walking"] > 20
    assert summary["steps"]["metrics_over"] == "all steps"


def test_a_four_second_clip_with_no_standing_start_analyses_relative_to_the_mean_posture(
    tmp_path: Path,
) -> None:
    # Issue 11: 4 s of steady running (416 samples at 104 Hz) is long enough; there is no standing start, so
    # the angles are relative to the mean running posture, and the runner is told so.
    run = simulate(scenario_by_name("short_clip_4s"))
    path = tmp_path / "clip.csv"
    write_recording(path, run.samples)
    assert len(run.samples) / 104.0 <= 4.01
    result = posture("analyze", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"]["running"] >= 10
    assert summary["calibration"]["kind"] != "standing"
    assert "mean" in summary["calibration"]["note"]
