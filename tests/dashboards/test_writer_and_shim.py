"""The writer's failures are typed for the retry decision; the v2 shim passes InfluxDB's answers through."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

import pytest

from dashboards.errors import IngestConfigError, WriteFailed
from dashboards.influx_writer import InfluxWriter, is_retryable_status
from dashboards.ingest import BrokerAddress, IngestOptions, backoff_s, status_topic, subscription_for
from dashboards.schema import EVENT
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from tests.dashboards.live import (
    BUCKET,
    T0_NS,
    RunningIngest,
    SimulatedSession,
    assert_steps_stored_exactly,
    publish_messages,
    step_count,
    synthetic_step_messages,
    wait_until,
)


def test_backoff_doubles_from_its_start_up_to_its_cap() -> None:
    waits = [backoff_s(n, initial_s=0.1, max_s=5.0) for n in range(1, 10)]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert backoff_s(10_000, initial_s=0.1, max_s=5.0) == 5.0
    with pytest.raises(ValueError, match="from 1"):
        backoff_s(0, initial_s=0.1, max_s=5.0)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (None, True),
        (500, True),
        (503, True),
        (429, True),
        (401, True),
        (404, True),
        (400, False),
        (422, False),
    ],
)
def test_only_a_refusal_of_the_points_themselves_is_not_retried(status: int | None, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_the_broker_url_gives_host_port_and_tls() -> None:
    assert BrokerAddress.from_url("mqtt://broker.club.org") == BrokerAddress("broker.club.org", 1883)
    assert BrokerAddress.from_url("mqtts://b:9999/") == BrokerAddress("b", 9999, tls=True)
    for bad in ("http://b:1883", "mqtt://", "mqtt://b:1883/topic", "mqtt://b:x"):
        with pytest.raises(IngestConfigError, match="--mqtt"):
            BrokerAddress.from_url(bad)


def test_inconsistent_options_are_refused_at_start_up_naming_the_flag() -> None:
    with pytest.raises(IngestConfigError, match="--batch-size"):
        IngestOptions(batch_size=500, max_unwritten=100)
    with pytest.raises(IngestConfigError, match="--client-id"):
        IngestOptions(client_id="a/b")
    with pytest.raises(IngestConfigError, match="--share-group"):
        IngestOptions(share_group="club/x")


def test_the_subscription_is_shared_only_when_a_group_is_given() -> None:
    assert subscription_for(None) == "posture/v1/+/+/+"
    assert subscription_for("club") == "$share/club/posture/v1/+/+/+"
    assert status_topic("ingest-1") == "posture/v1/_ingest/ingest-1/status"


def test_a_write_through_the_shim_lands_in_influxdb(influxdb: InfluxDB, influx_v2: V2WriteShim) -> None:
    with InfluxWriter(influx_v2.url, org="club", bucket=BUCKET, token="t") as writer:
        writer.write(["m,a=b x=1.5 1000", "m,a=b x=2.5 2000"])
    (series,) = influxdb.query("SELECT x FROM m")
    assert series.values == ((1000, 1.5), (2000, 2.5))


def test_a_refused_point_is_not_retryable_and_says_why(influxdb: InfluxDB, influx_v2: V2WriteShim) -> None:
    with InfluxWriter(influx_v2.url, org="club", bucket=BUCKET, token="t") as writer:
        writer.write(["m x=1.5 1000"])
        with pytest.raises(WriteFailed) as caught:
            writer.write(['m x="text" 2000'])  # a string where the field is a float
    assert (caught.value.status, caught.value.retryable) == (400, False)
    assert "field type conflict" in str(caught.value)


def test_influxdb_away_is_a_retryable_failure(influxdb: InfluxDB, influx_v2: V2WriteShim) -> None:
    influxdb.stop()
    with (
        InfluxWriter(influx_v2.url, org="club", bucket=BUCKET, token="t") as writer,
        pytest.raises(WriteFailed) as caught,
    ):
        writer.write(["m x=1 1000"])
    assert (caught.value.status, caught.value.retryable) == (503, True)


def test_nothing_listening_is_a_retryable_failure_without_status(influxdb: InfluxDB) -> None:
    shim = V2WriteShim(influxdb.url)
    url = shim.url
    shim.close()  # the port is free again: connection refused
    with (
        InfluxWriter(url, org="club", bucket=BUCKET, token="t") as writer,
        pytest.raises(WriteFailed) as caught,
    ):
        writer.write(["m x=1 1000"])
    assert (caught.value.status, caught.value.retryable) == (None, True)


def test_the_shim_checks_the_token_when_given_one(influxdb: InfluxDB) -> None:
    with V2WriteShim(influxdb.url, token="secret") as shim:
        with (
            InfluxWriter(shim.url, org="club", bucket=BUCKET, token="wrong") as writer,
            pytest.raises(WriteFailed) as caught,
        ):
            writer.write(["m x=1 1000"])
        assert caught.value.status == 401
        with InfluxWriter(shim.url, org="club", bucket=BUCKET, token="secret") as writer:
            writer.write(["m x=1 1000"])


def test_the_shim_answers_health_and_ping_from_the_real_server(influxdb: InfluxDB) -> None:
    with V2WriteShim(influxdb.url) as shim:
        with urllib.request.urlopen(f"{shim.url}/health") as response:
            assert json.load(response)["status"] == "pass"
        with urllib.request.urlopen(f"{shim.url}/ping") as response:
            assert response.status == 204
        influxdb.stop()
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{shim.url}/health")
        assert caught.value.code == 503
        caught.value.close()


class FlakyWriter:
    """A writer that fails (retryably) a given number of times, then writes to InfluxDB for real."""

    def __init__(self, real: InfluxWriter, failures: int) -> None:
        self.real = real
        self.failures = failures

    def write(self, lines: Sequence[str]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise WriteFailed("scripted failure", status=503, retryable=True)
        self.real.write(lines)


def test_retries_are_counted_and_the_batch_is_written_once_influxdb_answers(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    messages = synthetic_step_messages(50, "flaky", seed=5)
    with InfluxWriter(influx_v2.url, org="club", bucket=BUCKET, token="t") as real:
        ingest = ingest_thread(mosquitto.url, writer=FlakyWriter(real, failures=3), backoff_initial_s=0.01)
        publish_messages(mosquitto.url, messages)
        wait_until(lambda: ingest.stats().written == 50, what="written after the failures")
        stats = ingest.stop()
    assert stats.retried == 3
    assert step_count(influxdb, "flaky") == 50


def test_a_message_influxdb_refuses_is_dead_lettered_and_the_rest_of_its_batch_written(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
    simulated_session: SimulatedSession,
) -> None:
    steps = synthetic_step_messages(20, "conflict", seed=6)
    events = simulated_session.event_messages
    # an earlier writer stored the events' `state` as an integer in the same shard: InfluxDB refuses them
    influxdb.write_v1(f"{EVENT.name},athlete=other {EVENT.field('state')}=1i {T0_NS}")
    ingest = ingest_thread(mosquitto.url, influx_v2.url, flush_interval_s=0.5)
    publish_messages(mosquitto.url, [*steps, *events])
    total = len(steps) + len(events)
    wait_until(lambda: ingest.stats().written + ingest.stats().dead_lettered == total, what="all handled")
    stats = ingest.stop()
    assert (stats.written, stats.dead_lettered) == (len(steps), len(events))
    assert_steps_stored_exactly(influxdb, steps)
