"""`posture analyze` on input that is bad or merely uneven: repaired and counted where it can be, otherwise
one clear line, exit 1, and nothing written into the output folder (an earlier run's files stay as they were).

Through the real command line (`python -m posture`), as a runner or a script calls it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from posture.recording_io import MIN_RECORDING_S, read_recording, write_recording
from processing.errors import InvalidSamplesError
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, scenario_by_name, simulate
from processing.simulation.host_stamps import HostStamps

RUN_FILES = ("steps.csv", "asymmetry.csv", "events.json", "summary.json")


def posture(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "60"}  # a narrow terminal must not split a line
    return subprocess.run(
        [sys.executable, "-m", "posture", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@cache
def run_60s() -> SimulatedRun:
    """60 s at 104 Hz (6,240 rows), standing start."""
    scenario = dataclasses.replace(
        scenario_by_name("arbitrary_mount_b"), duration_s=55.0, sampling_rate_hz=104.0
    )
    return simulate(scenario)


def lines_of(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def assert_one_line_and_nothing_written(
    done: subprocess.CompletedProcess[str], out: Path, words: str
) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = lines_of(done)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error:")
    assert words in lines[0]
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no staging left


def test_one_absurd_value_among_6000_rows_is_dropped_as_lost_and_said(tmp_path: Path) -> None:
    s = run_60s().samples
    assert s.gyr_dps is not None
    acc = s.acc_mps2.copy()
    acc[3000, 1] = 1e300  # a corrupted field
    path = tmp_path / "absurd.csv"
    write_recording(path, ImuSamples(s.t_s, acc, s.gyr_dps))
    out = tmp_path / "out"
    done = posture("analyze", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    notes = [line for line in lines_of(done) if "beyond any IMU's range" in line]
    assert len(notes) == 1
    assert notes[0].startswith("note: 1 samples")
    summary = json.loads((out / "summary.json").read_text())
    checks = summary["input_checks"]
    assert checks["impossible_samples_dropped"] == 1
    assert checks["timebase"]["resampled"] is False  # the grid with one hole passes through
    true_running = int(run_60s().truth.steps.is_running.sum())
    assert summary["steps"]["running"] >= true_running - 2  # the analysis is not wiped


def test_a_damaged_file_full_of_absurd_values_is_refused(tmp_path: Path) -> None:
    s = run_60s().samples
    assert s.gyr_dps is not None
    gyr = s.gyr_dps.copy()
    gyr[::50, 2] = np.inf  # 2 % of the samples
    path = tmp_path / "damaged.csv"
    write_recording(path, ImuSamples(s.t_s, s.acc_mps2, gyr))
    with pytest.raises(InvalidSamplesError, match="beyond any IMU's range") as err:
        read_recording(path)
    assert err.value.reason == "range"
    assert "data row 1:" in str(err.value)


def test_eight_seconds_of_standing_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "standing.csv"
    write_recording(path, simulate(Scenario(seed=4, standing_s=8.0, duration_s=0.0)).samples)
    out = tmp_path / "out"
    done = posture("analyze", str(path), "--out", str(out))
    assert_one_line_and_nothing_written(done, out, "no steps found")


def test_a_failed_run_leaves_an_earlier_run_folder_as_it_was_and_a_good_one_replaces_it(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.csv"
    write_recording(good, run_60s().samples)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the runner's own file\n")
    (out / "steps.csv").write_text("an earlier run's steps\n")
    joined = tmp_path / "joined.csv"  # two recordings joined: time runs back by 60 s
    s = run_60s().samples
    assert s.gyr_dps is not None
    write_recording(
        joined,
        ImuSamples(np.concatenate([s.t_s, s.t_s]), np.vstack([s.acc_mps2] * 2), np.vstack([s.gyr_dps] * 2)),
    )
    done = posture("analyze", str(joined), "--out", str(out))
    assert done.returncode == 1
    assert "runs back by" in lines_of(done)[0]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "steps.csv"]
    assert (out / "steps.csv").read_text() == "an earlier run's steps\n"
    done = posture("analyze", str(good), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["notes.txt", *RUN_FILES])
    assert (out / "steps.csv").read_text().startswith("t_ic_s,")
    assert (out / "notes.txt").read_text() == "the runner's own file\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_phone_stamped_recording_is_put_on_a_grid_and_analysed(tmp_path: Path) -> None:
    # a phone app's export: each sample stamped at arrival (per-sample spread, 3 ms latency), 1.5 % of the
    # packets of 4 lost, the sensor's clock 0.5 % fast, stamps in ms
    stamps = HostStamps(jitter_s=0.003, lost_packet_share=0.015, packet_samples=4, style="per_sample")
    scenario = dataclasses.replace(
        scenario_by_name("arbitrary_mount_b"),
        duration_s=40.0,
        sampling_rate_hz=104.0,
        sample_rate_error_ppm=5000.0,
        host_stamps=stamps,
        seed=31,
    )
    run = simulate(scenario)
    # a late packet's spread repeats the stamp before (or goes back by a tick): kept, and placed by the time
    # base
    s = run.samples
    assert s.gyr_dps is not None
    t = s.t_s
    assert 0 < np.count_nonzero(np.diff(t) <= 0) < 0.01 * len(s)
    intervals_ms = 1e3 * np.diff(t)
    assert intervals_ms.min() < 5.0  # far from one constant interval
    assert intervals_ms.max() > 15.0
    path = tmp_path / "phone.csv"
    write_recording(path, ImuSamples(t, s.acc_mps2, s.gyr_dps))
    out = tmp_path / "out"
    done = posture("analyze", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("note: time stamps jitter by") for line in lines_of(done))
    summary = json.loads((out / "summary.json").read_text())
    timebase = summary["input_checks"]["timebase"]
    assert timebase["resampled"] is True
    assert timebase["estimated_rate_hz"] == pytest.approx(104.0 * 1.005, rel=5e-4)
    assert timebase["lost_samples_detected"] > 0
    assert timebase["samples"] == len(s)
    assert summary["input_checks"]["format"] == "csv"
    truth = run.truth.steps
    true_cadence = 60.0 / float(np.nanmean(truth.step_time_s[truth.is_running]))
    assert summary["cadence_spm"] == pytest.approx(true_cadence, abs=1.0)
    assert summary["steps"]["running"] >= int(truth.is_running.sum()) - 4


def test_uneven_intervals_alone_are_never_refused(tmp_path: Path) -> None:
    s = run_60s().samples
    assert s.gyr_dps is not None
    t = s.t_s.copy()
    t[700] = t[699] + 0.3 / 104.0  # one stamp far early, one a little back: jitter, not a reason to refuse
    t[1200] = t[1199] - 0.002
    path = tmp_path / "uneven.csv"
    write_recording(path, ImuSamples(t, s.acc_mps2, s.gyr_dps))
    rec = read_recording(path)
    assert rec.timebase is not None
    assert rec.timebase.resampled
    assert rec.timebase.stamps_reordered_or_repeated == 1
    np.testing.assert_allclose(rec.samples.t_s - rec.samples.t_s[0], s.t_s - s.t_s[0], atol=2e-4)


def test_a_recording_of_min_recording_s_passes_validation_and_a_shorter_one_does_not(tmp_path: Path) -> None:
    s = run_60s().samples
    assert s.gyr_dps is not None
    for seconds, ok in ((MIN_RECORDING_S + 0.1, True), (MIN_RECORDING_S - 0.1, False)):
        n = int(seconds * 104.0) + 1
        path = tmp_path / f"clip_{seconds:g}.csv"
        write_recording(
            path, ImuSamples(s.t_s[2000 : 2000 + n], s.acc_mps2[2000 : 2000 + n], s.gyr_dps[2000 : 2000 + n])
        )
        if ok:
            assert len(read_recording(path).samples) == n
        else:
            with pytest.raises(InvalidSamplesError, match=f"record at least {MIN_RECORDING_S:g} s") as err:
                read_recording(path)
            assert err.value.reason == "short"
