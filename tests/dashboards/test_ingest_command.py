"""`posture ingest`: flags of the live-run contract, refused early when incomplete; status on its topic."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner

from posture.commands.ingest import register
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from tests.dashboards.live import (
    RunningIngest,
    publish_messages,
    retained_status,
    synthetic_step_messages,
    wait_until,
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_the_command_names_every_missing_flag(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--mqtt", "mqtt://127.0.0.1:1883"])
    assert result.exit_code == 2
    for flag in ("--influx-url", "--org", "--bucket"):
        assert flag in result.output


def test_the_command_refuses_a_bad_influxdb_url(app: typer.Typer) -> None:
    args = ["--mqtt", "mqtt://x", "--influx-url", "localhost:8086", "--org", "o", "--bucket", "b"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "http://host:8086" in result.output


def test_the_command_refuses_a_bad_broker_url(app: typer.Typer) -> None:
    args = ["--mqtt", "tcp://x", "--influx-url", "http://x:8086", "--org", "o", "--bucket", "b"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "mqtt://host:1883" in result.output


def test_the_counters_are_published_retained_on_the_status_topic(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
) -> None:
    ingest = ingest_thread(mosquitto.url, influx_v2.url, client_id="ingest-s")
    publish_messages(mosquitto.url, synthetic_step_messages(30, "status", seed=7))
    wait_until(lambda: ingest.stats().written == 30, what="written")
    ingest.stop()
    status = retained_status(mosquitto.url, "ingest-s")
    assert status["state"] == "stopped"
    assert (status["received"], status["written"], status["dead_lettered"], status["duplicates"]) == (
        30,
        30,
        0,
        0,
    )
