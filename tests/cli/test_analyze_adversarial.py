"""`posture analyze` on adversarial but valid recordings: sensible steps or a clear error, never a crash.

Each file is a simulated recording written as a contract CSV, so the truth is known: the edge rates (50 and
500 Hz), extra columns, no gyroscope, all standing, all walking, 10 s, a long pause mid-run, a constant
gyroscope offset of 5 deg/s, and a treadmill-like run (constant speed and heading).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from posture.analysis import analyze_to_dir
from posture.recording_io import write_recording
from processing.alignment import STANDING_START_NEEDED_S
from processing.errors import InvalidSamplesError
from processing.samples import ImuSamples
from processing.simulation import Pause, Scenario, SimulatedRun, simulate


def analyse(tmp_path: Path, samples: ImuSamples) -> tuple[list[dict[str, str]], dict[str, object]]:
    """Write `samples` as a contract CSV, run `posture analyze`'s body on it, read steps.csv back."""
    path = tmp_path / "in.csv"
    write_recording(path, samples)
    n, summary = analyze_to_dir(path, tmp_path / "out")
    with (tmp_path / "out" / "steps.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    return rows, summary


def assert_running_steps_match(
    run: SimulatedRun, rows: list[dict[str, str]], summary: dict[str, object]
) -> None:
    """Nearly every true running contact is a running step, with both sides and the right cadence."""
    truth = run.truth.steps
    n_true = int(truth.is_running.sum())
    running = [r for r in rows if r["is_running"] == "1"]
    assert len(running) >= n_true - 2
    assert len(running) <= n_true
    assert {r["side"] for r in running} == {"L", "R"}
    ic = np.array([float(r["t_ic_s"]) for r in running])
    nearest = np.min(np.abs(ic[:, None] - truth.t_ic_s[None, truth.is_running]), axis=1)
    assert np.median(nearest) < 0.01
    true_cadence = 60.0 / float(np.nanmean(truth.step_time_s[truth.is_running]))
    assert summary["cadence_spm"] == pytest.approx(true_cadence, abs=1.0)


@pytest.mark.parametrize("rate_hz", [50.0, 500.0])
def test_the_edge_rates_give_every_running_step(tmp_path: Path, rate_hz: float) -> None:
    # 500 Hz written with microsecond timestamps measures a hair above 500 Hz: accepted, not refused
    run = simulate(Scenario(seed=1, sampling_rate_hz=rate_hz, duration_s=30.0))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)


def test_a_500_hz_sensor_whose_clock_runs_fast_is_accepted(tmp_path: Path) -> None:
    run = simulate(Scenario(seed=2, sampling_rate_hz=500.0, duration_s=30.0, sample_rate_error_ppm=8000.0))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)


def test_extra_columns_at_500_hz_without_a_gyroscope(tmp_path: Path) -> None:
    run = simulate(Scenario(seed=3, sampling_rate_hz=500.0, duration_s=30.0))
    s = run.samples
    path = tmp_path / "in.csv"
    header = ["temperature_c", "acc_z_mps2", "t_s", "mag_x_ut", "acc_x_mps2", "acc_y_mps2", "status"]
    n = s.t_s.shape[0]
    table = np.column_stack(
        [
            np.full(n, 31.5),
            s.acc_mps2[:, 2],
            s.t_s,
            np.full(n, -20.0),
            s.acc_mps2[:, 0],
            s.acc_mps2[:, 1],
            np.zeros(n),
        ]
    )
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([[f"{v:.6f}" for v in row] for row in table])
    _, summary = analyze_to_dir(path, tmp_path / "out")
    with (tmp_path / "out" / "steps.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert summary["has_gyroscope"] is False
    assert all(r["pelvic_drop_deg"] == "" for r in rows)
    assert_running_steps_match(run, rows, summary)


def test_a_recording_of_standing_only_is_refused_and_says_why(tmp_path: Path) -> None:
    run = simulate(Scenario(seed=4, standing_s=30.0, duration_s=0.0))
    path = tmp_path / "in.csv"
    write_recording(path, run.samples)
    with pytest.raises(InvalidSamplesError, match="no steps found: too little motion") as err:
        analyze_to_dir(path, tmp_path / "out")
    assert err.value.reason == "no_steps"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("standing_s", [0.0, 5.0])
def test_a_walk_without_running_gives_walking_steps(tmp_path: Path, standing_s: float) -> None:
    run = simulate(Scenario(seed=5, standing_s=standing_s, duration_s=0.0, warmup_walk_s=60.0))
    rows, summary = analyse(tmp_path, run.samples)
    truth = run.truth.steps
    assert len(rows) >= 0.95 * len(truth.t_ic_s)
    assert all(r["is_running"] == "0" for r in rows)
    assert {r["side"] for r in rows} == {"L", "R"}
    assert summary["cadence_spm"] == pytest.approx(60.0 / float(np.nanmean(truth.step_time_s)), abs=1.0)


@pytest.mark.parametrize("standing_s", [0.0, 2.0])
def test_a_10_s_file_gives_its_steps(tmp_path: Path, standing_s: float) -> None:
    run = simulate(Scenario(seed=6, standing_s=standing_s, duration_s=10.0 - standing_s))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)


def test_a_long_pause_mid_run_splits_the_steps_without_inventing_any(tmp_path: Path) -> None:
    pause = Pause(60.0, 90.0)
    run = simulate(Scenario(seed=7, duration_s=180.0, pauses=(pause,)))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)
    ic = np.array([float(r["t_ic_s"]) for r in rows])
    assert not np.any((ic > pause.t_start_s + 1.0) & (ic < pause.t_end_s - 1.0))


def test_a_constant_gyroscope_offset_of_5_dps_keeps_steps_and_angles(tmp_path: Path) -> None:
    run = simulate(Scenario(seed=8, duration_s=60.0, gyr_bias_dps=(5.0, -5.0, 5.0)))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)
    truth = run.truth.steps
    metrics = summary["metrics"]
    for name in ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg"):
        true_mean = float(np.nanmean(getattr(truth, name)[truth.is_running]))
        assert metrics[name]["mean"] == pytest.approx(true_mean, abs=1.5)  # type: ignore[index]


def test_a_treadmill_like_run_at_constant_speed_and_heading(tmp_path: Path) -> None:
    run = simulate(Scenario(seed=9, duration_s=60.0, pace_variability_pct=0.0, heading_wander_deg=0.0))
    rows, summary = analyse(tmp_path, run.samples)
    assert_running_steps_match(run, rows, summary)
    truth = run.truth.steps
    drop = np.array([float(r["pelvic_drop_deg"]) for r in rows if r["is_running"] == "1"])
    assert float(np.nanmean(drop)) == pytest.approx(
        float(np.nanmean(truth.pelvic_drop_deg[truth.is_running])), abs=1.0
    )


def test_a_run_without_standing_start_says_its_angles_are_relative_to_the_running_posture(
    tmp_path: Path,
) -> None:
    run = simulate(Scenario(seed=13, standing_s=0.0, duration_s=30.0))
    _, summary = analyse(tmp_path, run.samples)
    calibration = summary["calibration"]
    assert calibration["kind"] == "running_mean"  # type: ignore[index]
    assert calibration["standing_s"] is None  # type: ignore[index]
    warning = str(calibration["warning"])  # type: ignore[index]
    assert "relative to your mean running posture" in warning
    assert f"Stand still for {STANDING_START_NEEDED_S:g} s before you start" in warning


@pytest.mark.parametrize("standing_s", [STANDING_START_NEEDED_S, 2.5, 5.0])
def test_a_standing_start_is_used_and_reported_with_its_span_without_a_warning(
    tmp_path: Path, standing_s: float
) -> None:
    run = simulate(Scenario(seed=14, standing_s=standing_s, duration_s=30.0))
    _, summary = analyse(tmp_path, run.samples)
    calibration = summary["calibration"]
    assert calibration["kind"] == "standing"  # type: ignore[index]
    start, end = calibration["standing_s"]  # type: ignore[index]
    assert 0.0 < start < end < standing_s
    assert calibration["warning"] is None  # type: ignore[index]
