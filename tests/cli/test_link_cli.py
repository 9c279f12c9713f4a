"""`posture scan / pair / record / doctor` as a user runs them: processes, exit codes, messages.

Cross-process behaviour runs `python -m posture` in subprocesses sharing one POSTURE_CONFIG_DIR (the
isolated_user_dirs fixture), so "remembered across processes" means exactly that.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posture.session import read_session, replay_blocks

HEADER = ["t_s", "acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]


def posture(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posture", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def run_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """`posture ARGS` through `posture.cli.main` in this process (no start-up cost): (exit code, out, err)."""
    from posture.cli import main

    monkeypatch.setattr(sys, "argv", ["posture", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def one_line(text: str) -> str:
    """stderr with rich's line wrapping undone."""
    return re.sub(r"\s+", " ", text).strip()


def assert_clear_error(code: int, stderr: str, *fragments: str) -> None:
    """Exit code 1, no traceback, and the last thing on stderr is one `error:` message with the fragments.

    Log lines (warnings of the link) may come before it; rich may wrap the message, so whitespace is folded.
    """
    assert code == 1, stderr
    assert "Traceback" not in stderr
    text = one_line(stderr)
    assert "error:" in text, text
    message = text[text.rindex("error:") :]
    for fragment in fragments:
        assert fragment in message, message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# How long a child process gets to end after SIGTERM before it is killed.
CHILD_EXIT_S = 10.0


@dataclass(frozen=True, slots=True)
class SimProcess:
    """`posture sim` running in its own process; its output goes to `log_path` (a pipe nobody reads fills)."""

    adapter: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def stop_child(process: subprocess.Popen[Any]) -> None:
    """End a child for good: resume it (a test may have frozen it), SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)
    process.terminate()
    try:
        process.wait(timeout=CHILD_EXIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=CHILD_EXIT_S)


@pytest.fixture
def sim_process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimProcess]:
    """`posture sim` in its own process on a TCP transport (extra options by indirect parametrization)."""
    port = free_port()
    extra: list[str] = getattr(request, "param", [])
    log_path = tmp_path / "posture-sim.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "posture", "sim", "--transport", f"tcp-server:127.0.0.1:{port}", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sim = SimProcess(f"tcp-client:127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"posture sim did not start: {sim.log()}")
            time.sleep(0.1)
        yield sim
    finally:
        stop_child(process)


@pytest.fixture
def tcp_sensor(sim_process: SimProcess) -> str:
    """The central's adapter spec for the `posture sim` process."""
    return sim_process.adapter


def test_scan_lists_the_simulated_sensor(cli: Cli) -> None:
    code, out, err = run_in_process(*cli, "--adapter", "sim", "scan", "--timeout", "1")
    assert code == 0, err
    assert "PostureSensor-0001" in out
    assert "C4:5E:00:00:00:01" in out


def test_pair_is_remembered_by_the_next_processes(tmp_path: Path, cli: Cli) -> None:
    paired = posture("--adapter", "sim", "pair", "--timeout", "1")
    assert paired.returncode == 0, paired.stderr
    assert "paired with PostureSensor-0001" in one_line(paired.stdout)

    code, out, _ = run_in_process(*cli, "--adapter", "sim", "doctor")
    assert code == 0, out
    assert "PostureSensor-0001 (C4:5E:00:00:00:01) on adapter sim" in out
    assert "ready to record" in out

    run_csv = tmp_path / "run.csv"
    recorded = posture(
        "--adapter", "sim", "record", "--duration", "2", "--time-scale", "5", "--out", str(run_csv)
    )
    assert recorded.returncode == 0, recorded.stderr
    rows = list(csv.reader(run_csv.read_text().splitlines()))
    assert rows[0] == HEADER
    assert len(rows) - 1 >= 2 * 208
    times = [float(r[0]) for r in rows[1:]]
    assert all(b > a for a, b in itertools.pairwise(times))
    # Every raw packet also went into the session file next to the CSV, which replays into the same samples.
    session_file = run_csv.with_suffix(".posture")
    assert str(session_file) in one_line(recorded.stdout)
    contents = read_session(session_file)
    assert contents.end is not None
    assert contents.end.reason == "duration reached"
    replayed = sum(len(b) for b in replay_blocks(session_file))
    assert replayed >= len(rows) - 1


Cli = tuple[pytest.CaptureFixture[str], pytest.MonkeyPatch]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return capsys, monkeypatch


def test_record_without_pairing_says_to_pair_first(cli: Cli) -> None:
    code, _, err = run_in_process(*cli, "--adapter", "sim", "record", "--duration", "1", "--out", "x.csv")
    assert_clear_error(code, err, "posture --adapter sim pair")


def test_no_adapter_on_this_machine_is_one_clear_line(cli: Cli) -> None:
    code, _, err = run_in_process(*cli, "--adapter", "auto", "scan")
    assert_clear_error(code, err, "no usable Bluetooth adapter for --adapter auto", "--adapter sim")


@pytest.mark.parametrize("spec", ["usb:99", "tcp-client:127.0.0.1:1", "serial:/dev/posture-no-such-port"])
def test_a_bumble_transport_that_cannot_open_is_one_clear_line(cli: Cli, spec: str) -> None:
    code, _, err = run_in_process(*cli, "--adapter", spec, "scan")
    assert_clear_error(code, err, f"no usable Bluetooth adapter for --adapter {spec}", "cannot open")


def test_a_transport_with_nothing_behind_it_is_one_clear_line(cli: Cli) -> None:
    code, _, err = run_in_process(*cli, "--adapter", f"tcp-client:127.0.0.1:{free_port()}", "scan")
    assert_clear_error(code, err, "cannot open the Bumble transport", "posture doctor")


def test_a_sensor_that_is_not_there_is_one_clear_line(cli: Cli) -> None:
    code, _, err = run_in_process(*cli, "--adapter", "sim", "pair", "D0:D0:D0:D0:D0:D0", "--timeout", "0.5")
    assert_clear_error(code, err, "no sensor D0:D0:D0:D0:D0:D0 found", "posture scan")


def test_doctor_explains_what_would_stop_a_run(cli: Cli) -> None:
    code, out, err = run_in_process(*cli, "--adapter", "auto", "doctor")
    assert code == 1
    assert "no BlueZ Bluetooth service" in out
    assert "what would stop a run" in one_line(out)
    assert "Traceback" not in err


def test_a_separate_process_sensor_is_found_paired_and_recorded(
    tcp_sensor: str, tmp_path: Path, cli: Cli
) -> None:
    code, out, err = run_in_process(*cli, "--adapter", tcp_sensor, "pair", "--timeout", "2")
    assert code == 0, err
    assert "paired with PostureSensor-0001" in one_line(out)
    csv_path = tmp_path / "tcp.csv"
    code, out, err = run_in_process(
        *cli, "--adapter", tcp_sensor, "record", "--duration", "2", "--out", str(csv_path)
    )
    assert code == 0, err
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    assert rows[0] == HEADER
    assert len(rows) - 1 >= 2 * 208
    assert "lost 0 samples" in out


@pytest.mark.parametrize("sim_process", [["--firmware", "2.0.0"]], indirect=True)
def test_unknown_firmware_is_one_clear_line(tcp_sensor: str, cli: Cli) -> None:
    code, _, err = run_in_process(*cli, "--adapter", tcp_sensor, "pair", "--timeout", "2")
    assert_clear_error(code, err, "posture supports 1.x", "update posture")


@pytest.mark.parametrize(
    "sim_process", [["--time-scale", "5", "--drop-at", "3", "--drop-for", "600"]], indirect=True
)
def test_a_sensor_out_of_range_for_longer_than_the_budget_is_one_clear_line(
    tcp_sensor: str, tmp_path: Path, cli: Cli
) -> None:
    assert run_in_process(*cli, "--adapter", tcp_sensor, "pair", "--timeout", "2")[0] == 0
    out = tmp_path / "cut.csv"
    code, _, err = run_in_process(
        *cli,
        "--adapter",
        tcp_sensor,
        "record",
        "--duration",
        "60",
        "--time-scale",
        "5",
        "--reconnect-budget",
        "1",
        "--out",
        str(out),
    )
    assert_clear_error(code, err, "could not reconnect", "samples received so far were kept")
    assert len(out.read_text().splitlines()) > 1  # what arrived before the loss is on disk
    ended = read_session(out.with_suffix(".posture")).end
    assert ended is not None
    assert ended.reason.startswith("LinkLost")  # the session file says why it ended


# What `posture record` may take, from the moment its sensor goes silent, to exit: noticing the silence
# (LinkOptions.stall_timeout_s, 5 s), the reconnect budget given below, bounded waits for a disconnect and for
# its own tasks to end (command_timeout_s, 5 s each), and closing the adapter; with room for a loaded machine.
RECONNECT_BUDGET_S = 2.0
RECORD_EXIT_AFTER_SILENCE_S = 5.0 + RECONNECT_BUDGET_S + 2 * 5.0 + 10.0


def wait_for_rows(path: Path, rows: int, process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and len(path.read_text().splitlines()) > rows):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"posture record wrote no {rows} rows: {process.communicate(timeout=10)}")
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("how", "sig"), [("frozen", signal.SIGSTOP), ("killed", signal.SIGKILL)], ids=["stalls", "dies"]
)
def test_a_sensor_process_that_stalls_or_dies_mid_record_ends_it_within_its_budget_with_one_clear_line(
    sim_process: SimProcess, tmp_path: Path, cli: Cli, how: str, sig: signal.Signals
) -> None:
    # A sensor (or the bridge to it) that goes silent without a disconnect, or whose transport vanishes, must
    # not leave a runner's `posture record` waiting forever: what arrived is kept and one line says so.
    assert run_in_process(*cli, "--adapter", sim_process.adapter, "pair", "--timeout", "2")[0] == 0
    out = tmp_path / "silent.csv"
    args = ["--adapter", sim_process.adapter, "record", "--duration", "600", "--out", str(out)]
    record = subprocess.Popen(
        [sys.executable, "-m", "posture", *args, "--reconnect-budget", str(RECONNECT_BUDGET_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        wait_for_rows(out, 100, record)
        sim_process.process.send_signal(sig)  # {how}: no disconnect reaches the central
        silent_at = time.monotonic()
        _, err = record.communicate(timeout=RECORD_EXIT_AFTER_SILENCE_S)
        exit_after_s = time.monotonic() - silent_at
    finally:
        stop_child(record)
    assert_clear_error(record.returncode, err, "could not reconnect", "samples received so far were kept")
    assert exit_after_s < RECORD_EXIT_AFTER_SILENCE_S
    print(f"record exited {exit_after_s:.1f} s after the sensor process was {how}")
    assert len(out.read_text().splitlines()) > 100  # what arrived before the silence is on disk


def test_a_sensor_process_frozen_before_pairing_ends_pair_within_its_budget_with_one_clear_line(
    sim_process: SimProcess,
) -> None:
    # The TCP port still accepts (the kernel does it), but nothing behind it answers a single HCI command.
    sim_process.process.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    paired = posture("--adapter", sim_process.adapter, "pair", "--timeout", "2", timeout_s=90.0)
    took_s = time.monotonic() - started
    assert_clear_error(paired.returncode, paired.stderr, "the controller did not answer", "posture doctor")
    # The adapter gives the controller 10 s to power on; the rest is the CLI's start-up on a loaded machine.
    assert took_s < 45.0, took_s
    print(f"pair exited {took_s:.1f} s after starting against a frozen sensor process")
