"""Bad payloads go to the dead-letter topic with their reason; the valid stream around them is all written."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboards.ingest import BrokerAddress, deadletter_payload
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from posture.messages import DEADLETTER_PREFIX, Message
from tests.dashboards.live import (
    RunningIngest,
    assert_steps_stored_exactly,
    publish_all,
    step_count,
    synthetic_step_messages,
    wait_until,
)

MAX_BYTES = 4096


def malformed(valid: list[Message], rng: random.Random) -> list[tuple[str, bytes, str]]:
    """1,000 bad messages as (topic, payload, expected reason), each category built from a valid step."""

    def variant(i: int, change: Callable[[dict[str, Any]], None]) -> bytes:
        payload = dict(valid[i % len(valid)].payload)
        change(payload)
        return json.dumps(payload).encode()

    topic = valid[0].topic
    bad: list[tuple[str, bytes, str]] = []
    for i in range(200):  # not JSON: random bytes, cut JSON, empty, NaN
        kind = i % 4
        payload = (
            rng.randbytes(rng.randint(1, 300)) if kind == 0
            else valid[i].raw[: rng.randint(1, len(valid[i].raw) - 1)] if kind == 1
            else b"" if kind == 2
            else valid[i].raw.replace(b'"pelvic_tilt_deg":', b'"pelvic_tilt_deg":NaN,"x":')
        )  # fmt: skip
        bad.append((topic, payload, "not_json"))
    for i in range(150):  # a schema version we do not know, or none
        version = "posture.step/2" if i % 3 else None
        bad.append((topic, variant(i, lambda p, v=version: p.update(schema=v)), "unknown_schema"))  # type: ignore[misc]
    for i in range(200):  # a required field missing
        field = ["side", "is_running", "t_ic_ns", "pelvic_drop_deg", "message_id"][i % 5]
        bad.append((topic, variant(i, lambda p, f=field: p.pop(f)), "schema"))  # type: ignore[misc]
    for i in range(200):  # absurd values
        change = [
            ("pelvic_drop_deg", 500.0), ("step_time_s", -1.0), ("cadence_spm", 10_000),
            ("side", "X"), ("t_ic_ns", -5),
        ][i % 5]  # fmt: skip
        bad.append((topic, variant(i, lambda p, c=change: p.update([c])), "schema"))  # type: ignore[misc]
    bad.append((topic, b"{" + b" " * (10 * 1024 * 1024) + b"}", "too_large"))  # 10 MB
    for i in range(49):
        bad.append((topic, valid[i].raw[:-1] + b',"pad":"' + b"x" * 70_000 + b'"}', "too_large"))
    for i in range(100):  # not a topic of the contract
        bad.append((f"posture/v1/alex/s1/{['bogus', 'steps', 'Step', 'x'][i % 4]}", valid[i].raw, "topic"))
    for i in range(100):  # the payload's athlete is not the topic's
        bad.append((topic.replace("/alex/", "/someone-else/"), valid[i].raw, "mismatch"))
    assert len(bad) == 1000
    return bad


def test_1000_malformed_payloads_are_dead_lettered_and_every_valid_message_is_written(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    rng = random.Random(9)
    valid = synthetic_step_messages(500, "mixed", seed=4)
    bad = malformed(valid, rng)
    stream = [(m.topic, m.raw, 1, False) for m in valid] + [(t, p, 1, False) for t, p, _ in bad]
    rng.shuffle(stream)

    letters: list[tuple[str, dict[str, Any]]] = []
    collector = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    collector.on_message = lambda c, u, m: letters.append((m.topic, json.loads(m.payload)))
    broker = BrokerAddress.from_url(mosquitto.url)
    collector.connect(broker.host, broker.port)
    collector.subscribe(f"{DEADLETTER_PREFIX}/#", qos=1)
    collector.loop_start()
    try:
        ingest = ingest_thread(mosquitto.url, influx_v2.url)
        publish_all(mosquitto.url, stream)
        wait_until(lambda: len(letters) >= 1000 and ingest.stats().written == 500, what="the stream handled")
        stats = ingest.stats()
        assert (stats.received, stats.written, stats.dead_lettered) == (1500, 500, 1000)
        assert ingest.thread.is_alive()  # it never stopped
    finally:
        collector.disconnect()
        collector.loop_stop()

    assert len(letters) == 1000
    assert all(topic == f"{DEADLETTER_PREFIX}/{letter['reason']}" for topic, letter in letters)
    # each letter names the original topic and carries the original payload (cut only when too large)
    got = Counter(
        (letter["topic"], letter["reason"], letter["payload_bytes"], original_bytes(letter))
        for _, letter in letters
    )
    assert got == Counter((t, reason, len(p), p[:MAX_BYTES]) for t, p, reason in bad)
    huge = next(letter for _, letter in letters if letter["payload_bytes"] == 10 * 1024 * 1024 + 2)
    assert huge["truncated"] is True
    assert step_count(influxdb, "mixed") == 500
    assert_steps_stored_exactly(influxdb, valid)


def original_bytes(letter: dict[str, Any]) -> bytes:
    if "payload" in letter:
        return str(letter["payload"]).encode("utf-8")
    return base64.b64decode(letter["payload_base64"])


@given(payload=st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_a_dead_letter_carries_the_original_payload_text_or_base64(payload: bytes) -> None:
    letter = json.loads(deadletter_payload("posture/v1/a/s/step", payload, "not_json", "bad", max_bytes=4096))
    assert original_bytes(letter) == payload
    assert (letter["reason"], letter["topic"], letter["payload_bytes"], letter["truncated"]) == (
        "not_json",
        "posture/v1/a/s/step",
        len(payload),
        False,
    )


@pytest.mark.parametrize("payload", [b"x" * 5000, "é".encode() * 3000, bytes(range(256)) * 20])
def test_a_dead_letter_cuts_a_large_payload_and_says_so(payload: bytes) -> None:
    letter = json.loads(deadletter_payload("t", payload, "too_large", "big", max_bytes=4096))
    assert letter["truncated"] is True
    assert letter["payload_bytes"] == len(payload)
    kept = original_bytes(letter)
    assert 4093 <= len(kept) <= 4096
    assert payload.startswith(kept)
