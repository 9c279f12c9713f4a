"""Helpers of the ingest tests: a simulated session as messages, a publisher, an ingest in a thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboards.ingest import BrokerAddress, Ingest, IngestStats, status_topic
from posture.live.mqtt_sink import MqttRunSink
from posture.localstack.influxdb import InfluxDB
from posture.messages import Message, MetricSummary, ns_from_s, step_message, summary_message
from processing.events import EventEngine, EventUpdate, FormEvent
from processing.pipeline import analyze
from processing.simulation import scenario_by_name, simulate
from processing.steps import METRIC_UNITS, StepMetrics

ATHLETE = "alex"
SESSION = "run-2026-12-07"
#: The epoch time of the recording's first sample (t = 0 s on the processing axis).
T0_NS = 1_796_000_000_000_000_000
BUCKET = "posture"


@dataclass(frozen=True)
class SimulatedSession:
    """What processing produced for one simulated run, and the messages a run publishes for it.

    `steps` are the steps.csv rows and `events` the events.json entries of the run; the messages are built
    from them by `posture.live.mqtt_sink.MqttRunSink`, the mapping `posture run` and `posture replay
    --publish` use (an event opens when the live engine raises it, closes when it ends or the run does).
    """

    steps: tuple[StepMetrics, ...]
    events: tuple[FormEvent, ...]
    step_messages: tuple[Message, ...]
    event_messages: tuple[Message, ...]
    summary: Message

    @property
    def messages(self) -> tuple[Message, ...]:
        return (*self.step_messages, *self.event_messages, self.summary)

    def opened_severity(self, event: FormEvent) -> str:
        """The severity an event was published with (the one it opened with: a tag, kept at its close)."""
        for m in self.event_messages:
            p = m.payload
            if (p["rule"], p["side"], p["t_start_ns"]) == (
                event.rule,
                event.side,
                ns_from_s(T0_NS, event.t_start_s),
            ):
                return str(p["severity"])
        raise KeyError(event.rule)


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def publish(self, kind: str, payload: Message) -> None:
        self.messages.append(payload)


def build_session(athlete: str = ATHLETE, session: str = SESSION) -> SimulatedSession:
    """90 s of a runner whose hip drops more in right stance: steps, form events (one escalates), summary."""
    scenario = replace(scenario_by_name("drop_asymmetry_right_stance"), duration_s=90.0)
    run = simulate(scenario)
    steps = analyze(run.samples, sampling_rate_hz=scenario.sampling_rate_hz).steps
    collect = _Collect()
    sink = MqttRunSink(collect, athlete, session)
    for step in steps:
        sink.on_step(step, T0_NS)
    engine = EventEngine()
    updates = engine.update(steps)
    for update in updates:
        sink.on_event(update, T0_NS)
    events = engine.finish()
    closed = {u.event for u in updates if u.kind == "closed"}
    for event in events:  # what the run's end closes, and the summary event (as posture.live.run does)
        if event not in closed:
            sink.on_event(EventUpdate("closed", event), T0_NS)
    t_last = ns_from_s(T0_NS, steps[-1].t_ic_s)
    drop = MetricSummary(6.5, 6.25, 6.75, 0.5, 7.6923076923076925, "R")
    sink.publish("summary", summary_message(sink.athlete, sink.session,
        t_ns=t_last + 10**9, started_ns=T0_NS, duration_s=95.0, steps_total=len(steps),
        steps_left=sum(s.side == "L" for s in steps), steps_right=sum(s.side == "R" for s in steps),
        steps_running=sum(s.is_running for s in steps), cadence_spm=171.25, distance_m=120.5,
        events={"asymmetry": 1, "level": 1, "summary": 1}, metrics={"pelvic_drop_deg": drop},
    ))  # fmt: skip
    step_messages = tuple(m for m in collect.messages if m.kind == "step")
    event_messages = tuple(m for m in collect.messages if m.kind == "event")
    (summary,) = (m for m in collect.messages if m.kind == "summary")
    return SimulatedSession(steps, events, step_messages, event_messages, summary)


_SESSION_CACHE: dict[tuple[str, str], SimulatedSession] = {}


def publish_all(url: str, items: Sequence[tuple[str, bytes, int, bool]], *, client_id: str = "") -> None:
    """Publish (topic, payload, qos, retain) items in order with one paho client; wait for every PUBACK."""
    broker = BrokerAddress.from_url(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [
            client.publish(topic, payload, qos=qos, retain=retain) for topic, payload, qos, retain in items
        ]
        for info in infos:
            info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_messages(url: str, messages: Sequence[Message]) -> None:
    """Publish messages as a run does (their topic, QoS and retain flag)."""
    publish_all(url, [(m.topic, m.raw, m.qos, m.retain) for m in messages])


def wait_until(predicate: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class RunningIngest:
    """An `Ingest` running in a thread of the test process."""

    ingest: Ingest
    stop_event: threading.Event
    thread: threading.Thread
    result: list[IngestStats] = field(default_factory=list)

    def stats(self) -> IngestStats:
        return self.ingest.stats()

    def stop(self) -> IngestStats:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the ingest did not stop"
        return self.result[0]


def synthetic_step_messages(
    count: int, session: str, *, athlete: str = ATHLETE, seed: int = 0
) -> list[Message]:
    """`count` step messages of one session, 0.33 s apart, with full-precision random values."""
    rng = np.random.default_rng(seed)
    messages = []
    for i in range(count):
        t_ic_s = 5.0 + 0.33 * i + float(rng.uniform(0, 0.01))
        step = StepMetrics(
            t_ic_s=t_ic_s,
            side="L" if i % 2 == 0 else "R",
            t_to_s=t_ic_s + 0.25,
            step_time_s=float(rng.uniform(0.3, 0.36)),
            contact_time_s=float(rng.uniform(0.2, 0.3)),
            flight_time_s=float(rng.uniform(0.02, 0.1)),
            cadence_spm=float(rng.uniform(160, 190)),
            pelvic_tilt_deg=float(rng.normal(12, 2)),
            pelvic_drop_deg=float(rng.normal(6, 1)),
            pelvic_rotation_deg=float(rng.uniform(8, 20)),
            vertical_oscillation_m=float(rng.uniform(0.05, 0.1)),
            braking_peak_mps2=float(rng.uniform(5, 15)),
            braking_dv_mps=float(rng.uniform(0.1, 0.5)),
            impact_peak_g=float(rng.uniform(1.5, 3.5)),
            is_running=True,
        )
        messages.append(step_message(athlete, session, step, T0_NS))
    return messages


class PacedPublisher:
    """Publishes messages at a steady rate in a background thread (a run streaming its steps)."""

    def __init__(self, url: str, messages: Sequence[Message], rate_per_s: float) -> None:
        self._items = [(m.topic, m.raw, m.qos, m.retain) for m in messages]
        self._rate = rate_per_s
        self._url = url
        self.sent = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="paced-publisher", daemon=True)

    def start(self) -> PacedPublisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            broker = BrokerAddress.from_url(self._url)
            client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
            client.max_inflight_messages_set(1000)
            client.max_queued_messages_set(0)
            acked: set[int] = set()
            client.on_publish = lambda c, u, mid, rc, p: acked.add(mid)
            client.connect(broker.host, broker.port)
            client.loop_start()
            start = time.monotonic()
            infos = []
            for i, (topic, payload, qos, retain) in enumerate(self._items):
                delay = start + i / self._rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                infos.append(client.publish(topic, payload, qos=qos, retain=retain))
                self.sent = i + 1
            # PUBACKs counted in on_publish, not wait_for_publish: a message published while the broker
            # restarts is queued by paho (rc "not connected"), sent after the reconnect; its info raises
            wanted = {info.mid for info in infos}
            wait_until(lambda: wanted <= acked, timeout_s=60, what="every PUBACK")
            client.disconnect()
            client.loop_stop()
        except BaseException as exc:  # surfaced by join()
            self.error = exc

    def join(self, timeout_s: float = 120.0) -> None:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError("the publisher did not finish")
        if self.error is not None:
            raise self.error


def step_count(influxdb: InfluxDB, session: str) -> int:
    """How many step points of `session` InfluxDB holds."""
    series = influxdb.query(f'SELECT count("step_time_s") FROM "step" WHERE "session" = \'{session}\'')
    return int(series[0].values[0][1]) if series else 0  # type: ignore[call-overload]


def assert_steps_stored_exactly(influxdb: InfluxDB, messages: Sequence[Message]) -> None:
    """Every step message is one point with its exact values; nothing else of its session is stored."""
    session = messages[0].session
    (series,) = influxdb.query(f'SELECT * FROM "step" WHERE "session" = \'{session}\'')
    rows = {row["time"]: row for row in series.rows()}
    assert len(rows) == len(series.values) == len(messages)
    for m in messages:
        row = rows[m.payload["t_ic_ns"]]
        for name in METRIC_UNITS:
            assert row[name] == m.payload[name], name


def retained_status(url: str, client_id: str) -> dict[str, object]:
    """The retained status an ingest published on its status topic."""
    got: list[dict[str, object]] = []
    broker = BrokerAddress.from_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    client.connect(broker.host, broker.port)
    client.subscribe(status_topic(client_id), qos=1)
    client.loop_start()
    try:
        wait_until(lambda: bool(got), timeout_s=10, what="the retained status")
    finally:
        client.disconnect()
        client.loop_stop()
    return got[-1]
