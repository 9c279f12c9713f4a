"""A simulated run, published as `posture run` publishes it and ingested: InfluxDB holds exactly what
processing produced, once, however often it is delivered."""

from __future__ import annotations

import math
from collections.abc import Callable

from dashboards.schema import EVENT, RUN_HISTORY, SESSION_SUMMARY, STEP
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from posture.messages import ns_from_s
from processing.steps import METRIC_UNITS
from tests.dashboards.live import (
    SESSION,
    T0_NS,
    RunningIngest,
    SimulatedSession,
    publish_messages,
    wait_until,
)


def count(influxdb: InfluxDB, measurement: str) -> int:
    series = influxdb.query(f'SELECT count(*) FROM "{measurement}"')
    if not series:
        return 0
    return max(int(v) for v in series[0].values[0][1:] if v is not None)  # type: ignore[call-overload]


def assert_steps_exactly_as_processed(influxdb: InfluxDB, session: SimulatedSession) -> None:
    (series,) = influxdb.query(f'SELECT * FROM "{STEP.name}" WHERE "session" = \'{SESSION}\'')
    rows = series.rows()
    assert len(rows) == len(session.steps)
    for row, step in zip(rows, session.steps, strict=True):
        assert row["time"] == ns_from_s(T0_NS, step.t_ic_s)
        assert row["side"] == step.side
        assert row["is_running"] is step.is_running
        t_to = None if math.isnan(step.t_to_s) else ns_from_s(T0_NS, step.t_to_s)
        assert row["t_to_ns"] == t_to
        for name in METRIC_UNITS:
            expected = getattr(step, name)
            got = row[STEP.field(name)]
            # float-exact: the value processing computed, bit for bit; NaN is an absent field
            assert (got is None) if math.isnan(expected) else (got == expected), (name, got, expected)


def assert_events_and_summary(influxdb: InfluxDB, session: SimulatedSession) -> None:
    """Every events.json entry is one point (its open overwritten by its close) with the processed values."""
    (series,) = influxdb.query(f'SELECT * FROM "{EVENT.name}" WHERE "session" = \'{SESSION}\'')
    rows = {(row["rule"], row["side"], row["time"]): row for row in series.rows()}
    assert len(rows) == len(series.values) == len(session.events)
    assert any(e.type == "summary" for e in session.events)
    for event in session.events:
        row = rows[(event.rule, event.side, ns_from_s(T0_NS, event.t_start_s))]
        assert row["state"] == ("summary" if event.type == "summary" else "closed")
        assert row["event_type"] == event.type
        assert row["metric"] == event.metric
        assert row["t_end_ns"] == (None if event.t_end_s is None else ns_from_s(T0_NS, event.t_end_s))
        assert row["value"] == event.value  # float-exact (None where the event has no value)
        assert row["threshold"] == event.threshold
        assert row["message"] == event.message
        assert row["advice"] == (",".join(event.advice) or None)
        # the severity is a tag: the one the event opened with, so that its close lands on its open
        assert row["severity"] == session.opened_severity(event)
    (summary,) = influxdb.query(f'SELECT * FROM "{SESSION_SUMMARY.name}"')
    (row,) = summary.rows()
    assert row["time"] == T0_NS
    assert row["steps_total"] == len(session.steps)
    assert row["pelvic_drop_deg_si_pct"] == 7.6923076923076925
    (history,) = influxdb.query(f'SELECT * FROM "{RUN_HISTORY.name}"')
    assert [(r["session"], r["distance_m"]) for r in history.rows()] == [(SESSION, 120.5)]


def test_every_step_and_event_is_in_influxdb_with_exactly_the_processed_values(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
    simulated_session: SimulatedSession,
) -> None:
    ingest = ingest_thread(mosquitto.url, influx_v2.url)
    publish_messages(mosquitto.url, simulated_session.messages)
    total = len(simulated_session.messages)
    wait_until(lambda: ingest.stats().written == total, what=f"{total} messages written")
    stats = ingest.stop()
    assert (stats.received, stats.written, stats.dead_lettered, stats.unwritten) == (total, total, 0, 0)
    assert_steps_exactly_as_processed(influxdb, simulated_session)
    assert_events_and_summary(influxdb, simulated_session)


def test_the_same_session_republished_is_held_once(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
    simulated_session: SimulatedSession,
) -> None:
    ingest = ingest_thread(mosquitto.url, influx_v2.url)
    total = len(simulated_session.messages)
    publish_messages(mosquitto.url, simulated_session.messages)
    wait_until(lambda: ingest.stats().written == total, what="the first publication written")
    publish_messages(mosquitto.url, simulated_session.messages)  # a replay, republished
    wait_until(lambda: ingest.stats().received == 2 * total, what="the replay received")
    wait_until(lambda: ingest.stats().unwritten == 0, what="the replay handled")
    stats = ingest.stop()
    # the summary is retained, but the ingest is subscribed already: it arrives once per publication
    assert stats.duplicates == total
    assert count(influxdb, STEP.name) == len(simulated_session.steps)
    assert_steps_exactly_as_processed(influxdb, simulated_session)
    assert_events_and_summary(influxdb, simulated_session)


def test_a_replay_is_held_once_even_by_a_fresh_ingest_that_remembers_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    influx_v2: V2WriteShim,
    ingest_thread: Callable[..., RunningIngest],
    simulated_session: SimulatedSession,
) -> None:
    total = len(simulated_session.messages)
    for round_ in range(2):
        ingest = ingest_thread(mosquitto.url, influx_v2.url, client_id=f"ingest-{round_}")
        publish_messages(mosquitto.url, simulated_session.messages)
        wait_until(lambda: ingest.stats().written >= total, what="the session written")  # noqa: B023
        # A new process remembers nothing: InfluxDB's overwrite does the deduplication. In the second round
        # the retained summary of the first also reaches the new subscription: one message more, skipped as
        # a duplicate if it was written before its republication arrived, else written twice (overwritten).
        stats = ingest.stop()
        assert stats.received == total + round_
        assert stats.duplicates <= round_
    assert count(influxdb, STEP.name) == len(simulated_session.steps)
    assert_steps_exactly_as_processed(influxdb, simulated_session)
    assert_events_and_summary(influxdb, simulated_session)
