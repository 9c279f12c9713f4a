"""`posture run` end to end: the simulated sensor on the virtual link, the run, a real Mosquitto with a
password file and an ACL, and a consumer that deduplicates by message_id.

Each run is its own process (`python -m posture`), as a runner starts it; the broker and the consumer are the
fixtures of this folder (`conftest.py`: user `ann` may write `posture/v1/ann/#` only).
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from posture.localstack.mosquitto import Mosquitto, free_port, make_certificates
from posture.messages import Message
from posture.session import read_session
from tests.mqtt.conftest import PASSWORDS, Consumer

pytestmark = pytest.mark.slow

SCENARIO = "drop_asymmetry_left_stance"


def posture_env(tmp_path: Path, *, password: str | None = PASSWORDS["ann"]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTURE_")}
    env.update(
        POSTURE_CONFIG_DIR=str(tmp_path / "config"),
        POSTURE_DATA_DIR=str(tmp_path / "data"),
        POSTURE_MQTT_USERNAME="ann",
        PYTHONUNBUFFERED="1",
    )
    if password is not None:
        env["POSTURE_MQTT_PASSWORD"] = password
    return env


def run_args(*extra: str, athlete: str = "ann", session: str = "s1", duration_s: float = 60.0) -> list[str]:
    return [
        sys.executable,
        "-m",
        "posture",
        "--adapter",
        "sim",
        "run",
        "--athlete",
        athlete,
        "--session",
        session,
        "--scenario",
        SCENARIO,
        "--duration",
        f"{duration_s:g}",
        "--run-s",  # the simulated run no longer than the recording: less to simulate at start-up
        f"{max(duration_s, 5.0):g}",
        *extra,
    ]


def posture_run(
    tmp_path: Path, *extra: str, timeout_s: float = 110.0, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    password = kwargs.pop("password", PASSWORDS["ann"])
    return subprocess.run(
        run_args(*extra, **kwargs),  # type: ignore[arg-type]
        env=posture_env(tmp_path, password=password),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def run_folder(tmp_path: Path, athlete: str = "ann", session: str = "s1") -> Path:
    return tmp_path / "data" / "sessions" / athlete / session


def steps_csv(folder: Path) -> list[dict[str, str]]:
    with (folder / "steps.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def same_number(text: str, value: object) -> bool:
    """A steps.csv field (6 decimals, empty for NaN) against a message's number (full precision, null)."""
    if text == "":
        return value is None
    return isinstance(value, int | float) and math.isclose(float(text), float(value), abs_tol=5.1e-7)


def assert_steps_match(rows: Sequence[dict[str, str]], messages: Sequence[Message], start_ns: int) -> None:
    """Every steps.csv row has exactly one step message with the same values, and no message is extra."""
    by_time = sorted(messages, key=lambda m: m.payload["t_ic_ns"])
    assert len(by_time) == len(rows)
    for row, message in zip(rows, by_time, strict=True):
        p = message.payload
        assert p["side"] == row["side"]
        assert math.isclose((p["t_ic_ns"] - start_ns) * 1e-9, float(row["t_ic_s"]), abs_tol=2e-6)
        for name in ("step_time_s", "contact_time_s", "pelvic_tilt_deg", "pelvic_drop_deg", "impact_peak_g"):
            assert same_number(row[name], p[name]), (name, row[name], p[name])


def session_start_ns(folder: Path) -> int:
    return int(json.loads((folder / "session.json").read_text())["start_host_ns"])


def test_a_run_publishes_every_step_and_event_the_run_folder_holds(
    tmp_path: Path, broker: Mosquitto, consumer: Consumer
) -> None:
    done = posture_run(tmp_path, "--speed", "20", "--mqtt", broker.url)
    assert done.returncode == 0, done.stderr
    folder = run_folder(tmp_path)
    assert done.stdout.strip() == str(folder / "session.posture")
    rows = steps_csv(folder)
    events = json.loads((folder / "events.json").read_text())
    assert consumer.wait_for(
        lambda c: (
            len(c.unique("step")) >= len(rows)
            and "ann/s1/summary" in {m.message_id for m in c.unique("summary").values()}
        ),
        20,
    )
    assert_steps_match(rows, list(consumer.unique("step").values()), session_start_ns(folder))

    event_messages = list(consumer.unique("event").values())
    final = {
        (m.payload["rule"], m.payload["side"], m.payload["t_start_ns"]): m.payload for m in event_messages
    }
    assert len(final) == len(events)
    drop = [e for e in events if e["metric"] == "pelvic_drop_deg" and e["type"] != "summary"]
    assert drop, "the planted pelvic drop asymmetry raised an event"
    assert any(m.payload["state"] == "summary" for m in event_messages)
    status = [m.payload["state"] for m in consumer.unique("status").values()]
    assert status[-1] == "finished"
    assert consumer.unique("live"), "live angles were published"

    # the replay gives the same run, and republishing it adds no new message id
    before = {m.message_id for m in consumer.unique().values() if m.kind != "live"}
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "posture",
            "replay",
            str(folder / "session.posture"),
            "--out",
            str(tmp_path / "r"),
            "--publish",
            "--mqtt",
            broker.url,
        ],
        env=posture_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert (tmp_path / "r" / "steps.csv").read_bytes() == (folder / "steps.csv").read_bytes()
    assert (tmp_path / "r" / "events.json").read_bytes() == (folder / "events.json").read_bytes()
    time.sleep(1.0)
    after = {m.message_id for m in consumer.unique().values() if m.kind not in ("live", "status")}
    assert after <= before | {m for m in after if "/status/" in m}


def test_a_30_s_broker_outage_mid_run_loses_no_step_or_event(
    tmp_path: Path, broker: Mosquitto, consumer: Consumer
) -> None:
    process = subprocess.Popen(
        run_args("--speed", "3", "--mqtt", broker.url, duration_s=150.0),
        env=posture_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert consumer.wait_for(lambda c: len(c.unique("step")) > 0, 40), "steps flow before the outage"
        broker.stop()
        time.sleep(30.0)
        broker.start()
        _stdout, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    folder = run_folder(tmp_path)
    rows = steps_csv(folder)
    assert consumer.wait_for(lambda c: len(c.unique("step")) >= len(rows), 30)
    steps = [m for m in consumer.received if m.kind == "step"]
    unique = consumer.unique("step")
    assert_steps_match(rows, list(unique.values()), session_start_ns(folder))
    events = json.loads((folder / "events.json").read_text())
    finals = {
        (m.payload["rule"], m.payload["side"], m.payload["t_start_ns"])
        for m in consumer.unique("event").values()
    }
    assert len(finals) == len(events)
    assert len(steps) >= len(unique)  # redeliveries are possible; the consumer counts each id once


def test_a_run_killed_with_sigkill_is_replayable_and_its_outbox_goes_out_next_time(
    tmp_path: Path, broker: Mosquitto, consumer: Consumer
) -> None:
    broker.stop()  # the broker is away: everything goes to the outbox
    process = subprocess.Popen(
        run_args("--speed", "5", "--mqtt", broker.url, duration_s=300.0),
        env=posture_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    session_file = run_folder(tmp_path) / "session.posture"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        session_file.exists() and session_file.stat().st_size > 400_000
    ):
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(10)

    contents = read_session(session_file)
    assert contents.end is None
    assert contents.packets > 1000
    replayed = subprocess.run(
        [sys.executable, "-m", "posture", "replay", str(session_file), "--out", str(tmp_path / "r")],
        env=posture_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "did not end cleanly" in replayed.stderr
    recovered = steps_csv(tmp_path / "r")
    assert len(recovered) > 100

    outbox = tmp_path / "data" / "outbox.sqlite"
    assert outbox.exists()
    broker.start()
    nxt = posture_run(tmp_path, "--speed", "20", "--mqtt", broker.url, session="s2", duration_s=20.0)
    assert nxt.returncode == 0, nxt.stderr
    # the killed run's steps that reached the outbox arrive now (those not yet committed when it died
    # are in the session file only, and the replay above has them)
    assert consumer.wait_for(lambda c: any("/s1/step/" in i for i in c.unique("step")), 20)
    first_run = [m for m in consumer.unique("step").values() if m.session == "s1"]
    assert len(first_run) > 50
    start = int(json.loads((tmp_path / "r" / "session.json").read_text())["start_host_ns"])
    recovered_t = [float(row["t_ic_s"]) for row in recovered]
    for message in first_run:  # each delivered step is one the replay recovered
        t_s = (message.payload["t_ic_ns"] - start) * 1e-9
        assert min(abs(t - t_s) for t in recovered_t) < 2e-6


def _one_line(stderr: str, words: str) -> None:
    lines = [line for line in stderr.splitlines() if words in line]
    assert lines, stderr
    assert "Traceback" not in stderr


def test_an_acl_denial_is_said_and_the_run_still_records(tmp_path: Path, broker: Mosquitto) -> None:
    done = posture_run(tmp_path, "--speed", "20", "--mqtt", broker.url, athlete="bob", duration_s=25.0)
    assert done.returncode == 0, done.stderr
    _one_line(done.stderr, "Not authorized")
    assert (run_folder(tmp_path, "bob") / "steps.csv").exists()


def test_a_wrong_password_is_said_and_the_run_still_records(tmp_path: Path, broker: Mosquitto) -> None:
    done = posture_run(tmp_path, "--speed", "20", "--mqtt", broker.url, duration_s=25.0, password="wrong")
    assert done.returncode == 0, done.stderr
    _one_line(done.stderr, "password")
    assert (run_folder(tmp_path) / "steps.csv").exists()


def test_an_unreachable_broker_is_said_and_the_run_still_records(tmp_path: Path) -> None:
    done = posture_run(
        tmp_path, "--speed", "20", "--mqtt", f"mqtt://127.0.0.1:{free_port()}", duration_s=25.0
    )
    assert done.returncode == 0, done.stderr
    _one_line(done.stderr, "127.0.0.1")
    assert (run_folder(tmp_path) / "steps.csv").exists()


def test_a_certificate_that_does_not_verify_is_said(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path / "tls")
    with Mosquitto(tmp_path / "broker", users=PASSWORDS, tls=tls) as secure:
        done = posture_run(tmp_path, "--speed", "20", "--mqtt", secure.tls_url, duration_s=25.0)
    assert done.returncode == 0, done.stderr
    _one_line(done.stderr, "certificate")
    assert (run_folder(tmp_path) / "steps.csv").exists()


def test_a_bad_settings_value_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    env = posture_env(tmp_path)
    env["POSTURE_MQTT_KEEPALIVE_S"] = "soon"
    done = subprocess.run(run_args(), env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "POSTURE_MQTT_KEEPALIVE_S" in done.stderr
    bad_url = posture_run(tmp_path, "--mqtt", "http://broker:1883")
    assert bad_url.returncode == 1
    assert "mqtt://host:1883" in bad_url.stderr
    assert "Traceback" not in bad_url.stderr
