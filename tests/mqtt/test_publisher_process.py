"""A publisher process killed with SIGKILL: its outbox is delivered on the next start, and its last will
tells the consumers it is offline (issue 8, "Must show")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from posture.localstack.mosquitto import Mosquitto
from posture.messages import step_message
from posture.mqtt import MqttSettings, Publisher

from .conftest import PASSWORDS, T0_NS, Consumer, a_step

CHILD = Path(__file__).with_name("publisher_child.py")


StartChild = Callable[[str, Path, int], "subprocess.Popen[str]"]


@pytest.fixture
def start_child() -> Iterator[StartChild]:
    children: list[subprocess.Popen[str]] = []

    def start(url: str, outbox: Path, count: int) -> subprocess.Popen[str]:
        env = {**os.environ, "POSTURE_MQTT_USERNAME": "ann", "POSTURE_MQTT_PASSWORD": PASSWORDS["ann"]}
        args = [sys.executable, str(CHILD), url, str(outbox), str(count)]
        child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def wait_line(child: subprocess.Popen[str], expected: str) -> None:
    assert child.stdout is not None
    line = child.stdout.readline().strip()  # the test timeout guards a child that never answers
    assert line == expected, f"the publisher process said {line!r}, exit code {child.poll()}"


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()


def test_what_the_outbox_held_at_sigkill_is_delivered_on_the_next_start(
    broker: Mosquitto, consumer: Consumer, tmp_path: Path, start_child: StartChild
) -> None:
    outbox = tmp_path / "outbox.db"
    broker.stop()  # the broker is away while the run goes on
    child = start_child(broker.url, outbox, 40)
    wait_line(child, "stored")
    kill(child)
    broker.start()
    settings = MqttSettings.from_url(broker.url, username="ann", password=PASSWORDS["ann"])
    with Publisher(settings, "ann", "s1", outbox) as publisher:
        assert publisher.counters.pending == 41  # the status and 40 steps
        assert publisher.wait_until_delivered(10)
    expected = {step_message("ann", "s1", a_step(i), T0_NS).message_id for i in range(40)}
    assert consumer.wait_for(lambda c: set(c.unique("step")) == expected, 10)
    assert [m.payload["state"] for m in consumer.unique("status").values()][-1:] == ["running"]


def test_the_last_will_says_offline_when_the_publisher_dies(
    broker: Mosquitto, consumer: Consumer, tmp_path: Path, start_child: StartChild
) -> None:
    child = start_child(broker.url, tmp_path / "outbox.db", 3)
    wait_line(child, "stored")
    wait_line(child, "acknowledged")
    kill(child)

    def offline(c: Consumer) -> bool:
        return any(m.payload["state"] == "offline" for m in c.unique("status").values())

    assert consumer.wait_for(offline, 5)
    will = next(m for m in consumer.unique("status").values() if m.payload["state"] == "offline")
    assert will.payload["connected"] is False
    assert will.topic == "posture/v1/ann/s1/status"
