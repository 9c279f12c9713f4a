"""The ingest under faults: InfluxDB away, the ingest killed, bad payloads, a shared subscription.

In every case: nothing lost, nothing duplicated, the ingest never stops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboards.ingest import BrokerAddress, status_topic
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from tests.dashboards.live import (
    BUCKET,
    PacedPublisher,
    RunningIngest,
    assert_steps_stored_exactly,
    publish_messages,
    retained_status,
    step_count,
    synthetic_step_messages,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]


def outage_run(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
    *,
    outage_s: float,
    count: int,
    rate_per_s: float,
) -> None:
    messages = synthetic_step_messages(count, "outage")
    ingest = ingest_thread(mosquitto.url, influx_v2.url, max_unwritten=200, batch_size=100)
    publisher = PacedPublisher(mosquitto.url, messages, rate_per_s).start()
    wait_until(lambda: step_count(influxdb, "outage") > 0, what="the first steps written")
    influxdb.stop()
    stopped_at = time.monotonic()
    wait_until(lambda: ingest.stats().retried > 0, what="a failed write")
    time.sleep(max(0.0, outage_s - (time.monotonic() - stopped_at)))
    held = ingest.stats().unwritten
    influxdb.start()
    publisher.join()
    wait_until(lambda: ingest.stats().written == count, timeout_s=60, what="every message written")
    stats = ingest.stop()
    assert held <= 200  # backpressure: the rest waited in the broker
    assert (stats.received, stats.written, stats.dead_lettered) == (count, count, 0)
    assert_steps_stored_exactly(influxdb, messages)


def test_influxdb_away_for_a_few_seconds_loses_and_duplicates_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    outage_run(mosquitto, influxdb, influx_v2, ingest_thread, outage_s=3.0, count=1200, rate_per_s=200.0)


@pytest.mark.slow
def test_influxdb_away_for_20_s_during_a_run_loses_and_duplicates_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    outage_run(mosquitto, influxdb, influx_v2, ingest_thread, outage_s=20.0, count=4000, rate_per_s=150.0)


def start_ingest_process(
    mosquitto: Mosquitto, influx_v2: V2WriteShim, client_id: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTURE_INFLUX_TOKEN": "t"}
    args = [
        sys.executable, "-m", "posture.commands.ingest",
        "--mqtt", mosquitto.url, "--influx-url", influx_v2.url, "--org", "club", "--bucket", BUCKET,
        "--client-id", client_id, "--batch-size", "200", "--flush-interval", "0.05",
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def wait_subscribed(mosquitto: Mosquitto, client_id: str) -> None:
    """Until the ingest's retained status says it runs (it publishes that once subscribed)."""
    seen: list[dict[str, object]] = []
    broker = BrokerAddress.from_url(mosquitto.url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = lambda c, u, m: seen.append(json.loads(m.payload))
    client.connect(broker.host, broker.port)
    client.subscribe(status_topic(client_id), qos=1)
    client.loop_start()
    try:
        wait_until(lambda: any(s.get("state") == "running" for s in seen), timeout_s=20, what="the ingest")
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_ingest_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    count = 2000
    messages = synthetic_step_messages(count, "killed", seed=1)
    processes.append(start_ingest_process(mosquitto, influx_v2, "ingest-k"))
    wait_subscribed(mosquitto, "ingest-k")
    publisher = PacedPublisher(mosquitto.url, messages, rate_per_s=800.0).start()
    wait_until(lambda: step_count(influxdb, "killed") > count // 4, what="a quarter written")
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait()
    assert retained_status(mosquitto.url, "ingest-k")["state"] == "offline"  # its last will
    killed_at = step_count(influxdb, "killed")
    assert killed_at < count, "killed too late to prove anything"
    time.sleep(0.5)  # messages keep coming while no ingest runs: the session queues them
    processes.append(start_ingest_process(mosquitto, influx_v2, "ingest-k"))
    publisher.join()
    wait_until(lambda: step_count(influxdb, "killed") == count, timeout_s=60, what="every step written")
    processes[1].send_signal(signal.SIGTERM)
    _, stderr = processes[1].communicate(timeout=30)
    assert processes[1].returncode == 0, stderr.decode()[-2000:]
    assert b"ingest stopped: received" in stderr
    assert_steps_stored_exactly(influxdb, messages)


def test_sigterm_flushes_what_is_held_and_exits_0(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    messages = synthetic_step_messages(300, "sigterm", seed=2)
    processes.append(start_ingest_process(mosquitto, influx_v2, "ingest-t"))
    wait_subscribed(mosquitto, "ingest-t")
    publish_messages(mosquitto.url, messages)
    processes[0].send_signal(signal.SIGTERM)
    _, stderr = processes[0].communicate(timeout=30)
    assert processes[0].returncode == 0, stderr.decode()[-2000:]
    # whatever it had not taken yet stays in its session: a restart writes the rest
    processes.append(start_ingest_process(mosquitto, influx_v2, "ingest-t"))
    wait_until(lambda: step_count(influxdb, "sigterm") == 300, timeout_s=30, what="every step written")
    processes[1].send_signal(signal.SIGINT)
    assert processes[1].wait(30) == 0
    assert_steps_stored_exactly(influxdb, messages)


def test_two_ingests_on_one_shared_subscription_write_every_message_once(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    count = 2000
    messages = synthetic_step_messages(count, "shared", seed=3)
    first = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-a", share_group="club")
    second = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-b", share_group="club")
    publish_messages(mosquitto.url, messages)
    wait_until(lambda: first.stats().written + second.stats().written == count, what="every message written")
    a, b = first.stop(), second.stop()
    assert a.received + b.received == count  # each message went to one of them
    assert a.written > 0
    assert b.written > 0
    assert a.duplicates + b.duplicates == 0
    assert_steps_stored_exactly(influxdb, messages)


def test_the_broker_restarted_mid_stream_loses_and_duplicates_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    count = 1500
    messages = synthetic_step_messages(count, "broker", seed=8)
    ingest = ingest_thread(mosquitto.url, influx_v2.url, max_unwritten=300, batch_size=100)
    publisher = PacedPublisher(mosquitto.url, messages, rate_per_s=500.0).start()
    wait_until(lambda: step_count(influxdb, "broker") > count // 4, what="a quarter written")
    mosquitto.stop()  # SIGTERM: it saves the sessions and their queued messages
    mosquitto.start()
    publisher.join()
    wait_until(lambda: step_count(influxdb, "broker") == count, timeout_s=60, what="every step written")
    stats = ingest.stop()
    assert stats.unwritten == 0
    assert stats.received >= count  # what was in flight at the restart came again (and overwrote itself)
    assert_steps_stored_exactly(influxdb, messages)


def test_stopped_while_influxdb_is_away_it_exits_in_time_and_the_broker_keeps_the_rest(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    messages = synthetic_step_messages(200, "away", seed=9)
    ingest = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-w", shutdown_timeout_s=1.0)
    influxdb.stop()
    publish_messages(mosquitto.url, messages)
    wait_until(lambda: ingest.stats().retried > 0, what="a failed write")
    started = time.monotonic()
    stats = ingest.stop()
    assert time.monotonic() - started < 5.0
    assert stats.written == 0
    influxdb.start()
    again = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-w")
    wait_until(lambda: step_count(influxdb, "away") == 200, what="every step written after the restart")
    assert again.stop().written == 200
    assert_steps_stored_exactly(influxdb, messages)


def test_a_member_stopped_for_good_with_retire_leaves_no_share_behind(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    before = synthetic_step_messages(600, "retire-before", seed=10)
    after = synthetic_step_messages(400, "retire-after", seed=11)
    stays = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-stays", share_group="club")
    leaves = ingest_thread(
        mosquitto.url, influx_v2.url, client_id="ingest-leaves", share_group="club", retire=True,
        retire_idle_s=0.5,
    )  # fmt: skip
    publisher = PacedPublisher(mosquitto.url, before, rate_per_s=1000.0).start()
    wait_until(lambda: leaves.stats().received > 50, what="the leaving member busy")
    left = leaves.stop()  # mid-stream: it unsubscribes, writes what it holds and what the broker had for it
    publisher.join()
    assert left.written == left.received > 0
    publish_messages(mosquitto.url, after)
    # without retire, Mosquitto would assign half of these to the stopped member's session
    wait_until(lambda: step_count(influxdb, "retire-after") == len(after), what="all later steps written")
    wait_until(lambda: step_count(influxdb, "retire-before") == len(before), what="all earlier steps written")
    assert stays.stop().written + left.written == len(before) + len(after)
    assert retained_status(mosquitto.url, "ingest-leaves")["state"] == "retired"
    assert_steps_stored_exactly(influxdb, before)
    assert_steps_stored_exactly(influxdb, after)
