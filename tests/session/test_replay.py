"""Replay: a recorded session file gives what the recording gave, and a killed recording is recovered.

- A simulated run recorded on the virtual link into the CSV and the session file at once: replaying the
  session file gives the same steps as analysing the CSV (on the run's own time axis).
- `posture record` killed with SIGKILL mid-run: its session file reads up to the last packet and the replay
  analyses the run.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from posture.analysis import analyze_to_dir
from posture.session import read_session, replay_blocks, replay_run, replay_to_dir
from posture.session.recording import record_device, session_file_for
from sensorlink.link import HostClock, LinkOptions
from sensorlink.simsensor import FaultPlan, LinkDrop, SimulatedSensorOptions
from tests.sensorlink.conftest import loop_clock_ns
from tests.sensorlink.test_link import RATE_HZ, VIRTUAL_TIME, simulated

RUN_S = 40.0


def read_steps(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@VIRTUAL_TIME
async def test_a_replayed_session_gives_the_steps_of_the_csv_recorded_with_it(tmp_path: Path) -> None:
    clock: HostClock = loop_clock_ns
    csv_path = tmp_path / "run.csv"
    async with simulated(tmp_path, SimulatedSensorOptions()) as (_, sensor, factory):
        summary = await record_device(
            sensor.options.address,
            csv_path,
            client_factory=factory,
            duration_s=RUN_S,
            host_clock_ns=clock,
            athlete="ana",
            session_id="sim-run",
        )
    assert summary.session_path == session_file_for(csv_path)
    contents = read_session(summary.session_path)
    assert contents.end is not None
    assert contents.end.reason == "duration reached"
    assert contents.header.athlete == "ana"
    assert contents.firmware_revision == summary.firmware_revision

    n_csv, _ = analyze_to_dir(csv_path, tmp_path / "from-csv")
    n_replay, _ = replay_to_dir(summary.session_path, tmp_path / "from-session")
    assert n_csv == n_replay > 40
    from_csv = read_steps(tmp_path / "from-csv" / "steps.csv")
    replayed = read_steps(tmp_path / "from-session" / "steps.csv")
    assert [s["side"] for s in replayed] == [s["side"] for s in from_csv]
    # The same steps, both on the run's axis: seconds after the session's start.
    t_csv = np.array([float(s["t_ic_s"]) for s in from_csv])
    t_replay = np.array([float(s["t_ic_s"]) for s in replayed])
    np.testing.assert_allclose(t_replay, t_csv, atol=2e-6)
    # The replay runs on the link's exact samples, the CSV's are rounded to 1e-6: the rotation, read off the
    # integrated heading, carries that rounding as about 1e-3 deg (replay against the live run itself is
    # byte-identical: tests/mqtt/test_run_command.py).
    tolerance = {
        "contact_time_s": 1e-4,
        "pelvic_tilt_deg": 1e-4,
        "pelvic_drop_deg": 1e-4,
        "pelvic_rotation_deg": 1e-2,
    }
    for metric, atol in tolerance.items():
        a = np.array([float(s[metric] or "nan") for s in replayed])
        b = np.array([float(s[metric] or "nan") for s in from_csv])
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol, err_msg=metric)
    session = json.loads((tmp_path / "from-session" / "session.json").read_text())
    assert session["start_host_ns"] == contents.header.start_host_ns
    assert session["ended_cleanly"] is True
    # The replayed samples are the CSV's, on the same axis.
    rows = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    again = np.loadtxt(tmp_path / "from-session" / "samples.csv", delimiter=",", skiprows=1)
    assert again.shape == rows.shape
    np.testing.assert_allclose(again[:, 1:], rows[:, 1:], atol=1e-6)
    np.testing.assert_allclose(again[:, 0], rows[:, 0], atol=2e-6)


@VIRTUAL_TIME
async def test_a_replay_through_a_link_drop_reports_the_samples_lost(tmp_path: Path) -> None:
    options = SimulatedSensorOptions(faults=FaultPlan(link_drops=(LinkDrop(at_s=6, duration_s=3),)))
    csv_path = tmp_path / "drop.csv"
    async with simulated(tmp_path, options) as (_, sensor, factory):
        summary = await record_device(
            sensor.options.address,
            csv_path,
            client_factory=factory,
            duration_s=15.0,
            host_clock_ns=loop_clock_ns,
            options=LinkOptions(reconnect_budget_s=10.0),
        )
    assert summary.reconnects == 1
    assert summary.lost_samples >= 3 * RATE_HZ
    assert summary.session_path is not None
    run = replay_run(summary.session_path)
    assert run.lost_samples == summary.lost_samples
    assert len(run.samples) >= summary.samples
    blocks = list(replay_blocks(summary.session_path))
    assert sum(b.lost_samples_before for b in blocks) == summary.lost_samples


def posture(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posture", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.slow
def test_posture_record_killed_with_sigkill_mid_run_is_recovered_by_the_replay(tmp_path: Path) -> None:
    assert posture("--adapter", "sim", "pair", "--timeout", "1").returncode == 0
    csv_path = tmp_path / "killed.csv"
    session_file = session_file_for(csv_path)
    args = ["--adapter", "sim", "record", "--duration", "600", "--time-scale", "10", "--out", str(csv_path)]
    record = subprocess.Popen(
        [sys.executable, "-m", "posture", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wanted_bytes = 30 * RATE_HZ * 12  # 30 s of samples at 12 bytes each, and packet framing on top
    try:
        deadline = time.monotonic() + 90
        while not (session_file.exists() and session_file.stat().st_size > wanted_bytes):
            assert record.poll() is None, "posture record ended by itself"
            assert time.monotonic() < deadline, "posture record wrote too little"
            time.sleep(0.1)
        os.kill(record.pid, signal.SIGKILL)
        record.wait(timeout=10)
    finally:
        record.kill()
        record.wait(timeout=10)
    contents = read_session(session_file)
    assert contents.end is None
    assert "did not end cleanly" in " ".join(contents.notes())
    assert contents.damaged_records == 0
    n_steps, summary = replay_to_dir(session_file, tmp_path / "recovered")
    assert n_steps > 20
    run = replay_run(session_file)
    assert run.samples.t_s[-1] >= 25.0
    # Every sample the CSV got before the kill is in the replay (the CSV's buffer may have held back more).
    rows = np.loadtxt(csv_path, delimiter=",", skiprows=1, ndmin=2)
    assert len(run.samples) >= rows.shape[0]
    np.testing.assert_allclose(run.samples.acc_mps2[: rows.shape[0]], rows[:, 1:4], atol=1e-6)
    assert summary["steps"]["total"] == n_steps  # type: ignore[index]
