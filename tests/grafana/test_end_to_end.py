"""End to end: two simulated runs published to a real Mosquitto, ingested by `posture ingest`'s `Ingest` into
a real InfluxDB, and the live-run and run-review dashboards' queries return what processing produced.

The same checks as test_dashboard_queries, which writes the ingest's points directly; here they run on what
the ingest itself wrote after MQTT delivered the runs (so a change in the ingest that loses or alters a point
the dashboards read fails here).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboards.influx_writer import InfluxWriter
from dashboards.ingest import BrokerAddress, Ingest, IngestOptions
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from tests.grafana import test_dashboard_queries as spec
from tests.grafana.published_runs import PublishedRun

BUCKET = "posture"


def _publish(url: str, runs: tuple[PublishedRun, ...]) -> int:
    """Publish every message of the runs in publication order, with their topic, QoS and retain flag."""
    broker = BrokerAddress.from_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [
            client.publish(t.message.topic, t.message.raw, qos=t.message.qos, retain=t.message.retain)
            for run in runs
            for t in run.published
        ]
        for info in infos:
            info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
    return len(infos)


@pytest.fixture(scope="module")
def ingested(fault_run: PublishedRun, clean_run: PublishedRun) -> Iterator[InfluxDB]:
    """InfluxDB after the ingest has written both runs, delivered through Mosquitto."""
    with Mosquitto() as broker, InfluxDB(database=BUCKET) as influxdb, V2WriteShim(influxdb.url) as shim:
        writer = InfluxWriter(shim.url, org="club", bucket=BUCKET, token="t")
        ingest = Ingest(BrokerAddress.from_url(broker.url), writer, IngestOptions(status_interval_s=1.0))
        stop = threading.Event()
        thread = threading.Thread(target=ingest.run, args=(stop,), name="test-ingest", daemon=True)
        thread.start()
        try:
            assert ingest.connected.wait(10), "the ingest connects and subscribes"
            total = _publish(broker.url, (fault_run, clean_run))
            deadline = time.monotonic() + 60
            while ingest.stats().written < total:
                assert time.monotonic() < deadline, f"{ingest.stats()} after 60 s; {total} published"
                time.sleep(0.05)
            yield influxdb
        finally:
            stop.set()
            thread.join(60)
            writer.close()
        stats = ingest.stats()
        assert (stats.written, stats.dead_lettered, stats.unwritten) == (total, 0, 0)


@pytest.mark.slow
def test_the_live_dashboard_shows_the_ingested_runs(
    ingested: InfluxDB, fault_run: PublishedRun, clean_run: PublishedRun
) -> None:
    spec.test_live_cadence_and_angles_are_the_published_live_samples_per_interval(ingested, fault_run)
    spec.test_live_drop_per_side_is_every_steps_drop(ingested, fault_run)
    spec.test_live_asymmetry_gauges_are_the_running_steps_means_in_their_colour_zones(
        ingested, fault_run, clean_run
    )
    spec.test_live_sensor_panel_is_the_latest_status(ingested, fault_run)
    spec.test_live_latest_cues_are_the_runs_form_events_newest_first(ingested, fault_run)


@pytest.mark.slow
def test_the_review_dashboard_shows_the_ingested_run(ingested: InfluxDB, fault_run: PublishedRun) -> None:
    spec.test_review_left_right_panel_of_every_metric_is_the_summarys(ingested, fault_run)
    spec.test_review_symmetry_bars_and_totals_are_the_summarys(ingested, fault_run)
    for metric in ("pelvic_drop_deg", "contact_time_s"):
        spec.test_review_metrics_over_the_run_are_the_steps_means_per_interval_and_side(
            ingested, fault_run, metric
        )
    spec.test_review_lists_every_form_event_with_its_advice_and_annotates_it(ingested, fault_run)
