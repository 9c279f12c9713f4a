"""The publisher against a real Mosquitto with a password file and an ACL (issue 8, "Must show").

Every QoS 1 message arrives, through a broker outage too, and a consumer that deduplicates by message_id
sees each exactly once; every broker problem is one clear line and the caller goes on.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from posture.localstack.mosquitto import Mosquitto, free_port, make_certificates
from posture.messages import (
    InvalidMessage,
    Message,
    event_message,
    live_message,
    status_message,
    step_message,
)
from posture.mqtt import (
    AuthenticationFailed,
    BrokerUnreachable,
    MqttError,
    MqttSettings,
    PublishDenied,
    Publisher,
    TlsVerificationFailed,
)

from .conftest import PASSWORDS, T0_NS, Consumer, a_step


def a_publisher(
    url: str,
    outbox: Path,
    *,
    athlete: str = "ann",
    user: str = "ann",
    password: str = PASSWORDS["ann"],
    **options: Any,
) -> Publisher:
    quick = {"connect_timeout_s": 2.0, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5}
    settings = MqttSettings.from_url(url, username=user, password=password, **{**quick, **options})
    return Publisher(settings, athlete, "s1", outbox)


def steps(first: int, count: int, athlete: str = "ann") -> list[Message]:
    return [step_message(athlete, "s1", a_step(i), T0_NS) for i in range(first, first + count)]


def a_status(state: str = "running", athlete: str = "ann") -> Message:
    return status_message(athlete, "s1", t_ns=T0_NS, state=state, connected=True)  # type: ignore[arg-type]


def error_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and text in r.getMessage()]


def wait_until(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_steps_events_status_and_live_arrive_as_published(
    broker: Mosquitto, consumer: Consumer, tmp_path: Path
) -> None:
    sent = steps(0, 50)
    opened = event_message(
        "ann", "s1", rule="pelvic_drop_high", type="level", metric="pelvic_drop_deg", side="L",
        t_start_ns=T0_NS + 10**10, t_end_ns=None, state="open", severity="warning", value=9.1, threshold=8.0,
        advice=["form.hips_level"], message="Keep your hips level",
    )  # fmt: skip
    with a_publisher(broker.url, tmp_path / "outbox.db") as publisher:
        publisher.publish("status", a_status())
        for message in sent:
            publisher.publish("step", message)
        publisher.publish("event", opened)
        assert publisher.wait_until_delivered(10)
        publisher.publish(
            "live",
            live_message(
                "ann", "s1", t_ns=T0_NS, pelvic_tilt_deg=8.0, pelvic_obliquity_deg=1.0,
                pelvic_rotation_deg=2.0, cadence_spm=171.4,
            ),
        )  # fmt: skip
        assert consumer.wait_for(lambda c: len(c.unique("step")) == 50 and len(c.unique("live")) == 1, 10)
        counters = publisher.counters
    assert [m.raw for m in consumer.unique("step").values()] == [m.raw for m in sent]
    assert [m.payload for m in consumer.unique("event").values()] == [opened.payload]
    assert (counters.published, counters.acknowledged, counters.pending) == (52, 52, 0)
    assert (counters.denied, counters.dropped, counters.live_sent) == (0, 0, 1)
    assert consumer.invalid == []


def test_the_status_is_retained_and_a_payload_mapping_is_validated(
    broker: Mosquitto, consumer: Consumer, tmp_path: Path
) -> None:
    with a_publisher(broker.url, tmp_path / "outbox.db") as publisher:
        publisher.publish("status", dict(a_status("calibrating").payload))
        with pytest.raises(InvalidMessage, match="given as step"):
            publisher.publish("step", a_status())
        with pytest.raises(InvalidMessage):
            publisher.publish("step", {**steps(0, 1)[0].payload, "pelvic_drop_deg": 120.0})
        assert publisher.wait_until_delivered(5)
    late = Consumer(broker, client_id="late-consumer")
    try:
        assert late.wait_for(lambda c: len(c.unique("status")) == 1, 5)
        assert [m.payload["state"] for m in late.unique("status").values()] == ["calibrating"]
    finally:
        late.close()


def broker_outage(broker: Mosquitto, consumer: Consumer, tmp_path: Path, outage_s: float) -> None:
    """Publish at running pace before, during and after the broker is away for `outage_s`."""
    sent = steps(0, 30)
    with a_publisher(broker.url, tmp_path / "outbox.db") as publisher:
        assert wait_until(lambda: publisher.connected, 5)
        publisher.publish("status", a_status())
        for message in sent:
            publisher.publish("step", message)
        broker.stop()
        assert wait_until(lambda: not publisher.connected, 5)
        during = steps(30, max(10, int(outage_s * 3)))  # about 3 steps a second
        for message in during:
            publisher.publish("step", message)
            time.sleep(outage_s / len(during))
        assert publisher.counters.pending >= len(during)
        broker.start()
        after = steps(30 + len(during), 30)
        for message in after:
            publisher.publish("step", message)
        sent += during + after
        assert publisher.wait_until_delivered(20)
        assert consumer.wait_for(lambda c: len(c.unique("step")) == len(sent), 20)
        assert publisher.counters.reconnects == 1
        assert "connected" in publisher.status_line()
    # After the reconnection the latest status is said again (the broker may hold the will's "offline").
    assert consumer.wait_for(lambda c: sum(m.kind == "status" for m in c.received) >= 2, 5)
    seen = consumer.unique("step")
    assert list(seen) == [m.message_id for m in sent] or set(seen) == {m.message_id for m in sent}
    assert {m.message_id: m.payload for m in sent} == {key: m.payload for key, m in seen.items()}


def test_a_broker_outage_loses_nothing(broker: Mosquitto, consumer: Consumer, tmp_path: Path) -> None:
    broker_outage(broker, consumer, tmp_path, outage_s=2.0)


@pytest.mark.slow
def test_a_30_s_broker_outage_loses_nothing(broker: Mosquitto, consumer: Consumer, tmp_path: Path) -> None:
    broker_outage(broker, consumer, tmp_path, outage_s=30.0)


def test_in_flight_one_keeps_the_order(broker: Mosquitto, consumer: Consumer, tmp_path: Path) -> None:
    sent = steps(0, 200)
    with a_publisher(broker.url, tmp_path / "outbox.db", max_in_flight=1) as publisher:
        for message in sent:
            publisher.publish("step", message)
        assert publisher.wait_until_delivered(10)
    assert consumer.wait_for(lambda c: len(c.unique("step")) == 200, 5)
    assert [m.message_id for m in consumer.received] == [m.message_id for m in sent]


def test_an_acl_denial_is_counted_and_said_once_per_topic(
    broker: Mosquitto, consumer: Consumer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # ann may write posture/v1/ann/# only; this publisher sends bob's session.
    publisher = a_publisher(broker.url, tmp_path / "o.db", athlete="bob")
    with caplog.at_level(logging.INFO), publisher:
        for message in steps(0, 3, athlete="bob"):
            publisher.publish("step", message)
        assert wait_until(lambda: publisher.counters.denied == 3, 5)
        assert publisher.connected
        error = publisher.last_error
    assert isinstance(error, PublishDenied)
    assert (error.topic, error.reason_code) == ("posture/v1/bob/s1/step", 135)
    assert "ACL" in str(error)
    assert "\n" not in str(error)
    assert len(error_lines(caplog, "posture/v1/bob/s1/step")) == 1
    assert publisher.counters.pending == 0  # given up: it would be refused again
    assert consumer.unique() == {}


def test_a_wrong_password_is_one_line_and_the_caller_goes_on(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = a_publisher(broker.url, tmp_path / "o.db", password="wrong")
    with caplog.at_level(logging.INFO), publisher:
        assert wait_until(lambda: isinstance(publisher.last_error, AuthenticationFailed), 5)
        time.sleep(1.0)  # several attempts
        for message in steps(0, 5):
            publisher.publish("step", message)
        assert publisher.counters.pending == 5
        assert not publisher.connected
        assert "offline" in publisher.status_line()
    error = publisher.last_error
    assert isinstance(error, AuthenticationFailed)
    assert error.reason_code in (134, 135)  # Mosquitto 2.0 answers a bad password with 135
    assert "POSTURE_MQTT_PASSWORD" in str(error)
    assert len(error_lines(caplog, "refused user 'ann'")) == 1


def test_an_unreachable_broker_is_one_line_and_the_caller_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.INFO):
        publisher = a_publisher(url, tmp_path / "o.db")
        publisher.start()
        assert wait_until(lambda: isinstance(publisher.last_error, BrokerUnreachable), 5)
        time.sleep(1.0)
        started = time.monotonic()
        for message in steps(0, 5):
            publisher.publish("step", message)
        assert time.monotonic() - started < 0.5  # publish never waits for the broker
        publisher.close(timeout_s=1.0)
    assert len(error_lines(caplog, "cannot reach the MQTT broker")) == 1
    assert "recording" in str(publisher.last_error)
    assert publisher.counters.pending == 5


def test_tls_with_the_right_ca_delivers_and_a_wrong_ca_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_certificates(tmp_path / "pki")
    client = make_certificates(tmp_path / "pki", name="client")
    stranger = make_certificates(tmp_path / "other-pki")
    with Mosquitto(tmp_path / "tls-broker", tls=server, require_client_certificate=True) as broker:
        good = a_publisher(
            broker.tls_url,
            tmp_path / "good.db",
            ca_file=server.ca_file,
            cert_file=client.cert_file,
            key_file=client.key_file,
        )
        with good:
            good.publish("step", steps(0, 1)[0])
            assert good.wait_until_delivered(5)
        with caplog.at_level(logging.INFO):
            bad = a_publisher(
                broker.tls_url,
                tmp_path / "bad.db",
                ca_file=stranger.ca_file,
                cert_file=client.cert_file,
                key_file=client.key_file,
            )
            with bad:
                assert wait_until(lambda: isinstance(bad.last_error, TlsVerificationFailed), 5)
                time.sleep(0.5)
    assert "does not verify" in str(bad.last_error)
    assert len(error_lines(caplog, "does not verify")) == 1


def test_mqtt_3_1_1_delivers_too(broker: Mosquitto, consumer: Consumer, tmp_path: Path) -> None:
    with a_publisher(broker.url, tmp_path / "outbox.db", protocol="3.1.1") as publisher:
        for message in steps(0, 10):
            publisher.publish("step", message)
        assert publisher.wait_until_delivered(5)
    assert consumer.wait_for(lambda c: len(c.unique("step")) == 10, 5)


def test_live_messages_are_skipped_while_offline_never_stored(tmp_path: Path) -> None:
    publisher = a_publisher(f"mqtt://127.0.0.1:{free_port()}", tmp_path / "o.db")
    publisher.start()
    live = live_message(
        "ann", "s1", t_ns=T0_NS, pelvic_tilt_deg=1.0, pelvic_obliquity_deg=None, pelvic_rotation_deg=None,
        cadence_spm=None,
    )  # fmt: skip
    publisher.publish("live", live)
    publisher.close(timeout_s=0.5)
    assert (publisher.counters.live_skipped, publisher.counters.pending) == (1, 0)


def test_an_outbox_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(MqttError, match="check that its folder is writable") as info:
        a_publisher("mqtt://127.0.0.1:1883", tmp_path / "a-file" / "outbox.db")
    assert "\n" not in str(info.value)


def test_a_server_that_never_answers_connect_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A wrong port that leads to some other service: TCP connects, no CONNACK ever comes.
    with socket.create_server(("127.0.0.1", 0)) as silent, caplog.at_level(logging.INFO):
        port = silent.getsockname()[1]
        publisher = a_publisher(f"mqtt://127.0.0.1:{port}", tmp_path / "o.db", connect_timeout_s=0.3)
        publisher.start()
        assert wait_until(lambda: isinstance(publisher.last_error, BrokerUnreachable), 5)
        started = time.monotonic()
        publisher.publish("step", steps(0, 1)[0])
        assert time.monotonic() - started < 0.2
        publisher.close(timeout_s=0.5)
    assert "no CONNACK" in str(publisher.last_error)
    assert len(error_lines(caplog, "no CONNACK")) == 1


def test_a_full_outbox_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    settings = MqttSettings.from_url(f"mqtt://127.0.0.1:{free_port()}", reconnect_min_s=0.1)
    publisher = Publisher(settings, "ann", "s1", tmp_path / "o.db", max_outbox_messages=5)
    publisher.start()
    sent = steps(0, 8)
    for message in sent:
        publisher.publish("step", message)
    publisher.close(timeout_s=0.2)
    assert (publisher.counters.pending, publisher.counters.dropped) == (5, 3)
    with Publisher(settings, "ann", "s1", tmp_path / "o.db") as again:
        assert again.counters.pending == 5
