"""Helpers of the ingest tests: a simulated session as messages, a publisher, an ingest in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboards.ingest import BrokerAddress, Ingest, IngestStats
from posture.messages import Message, MetricSummary, event_message, step_message, summary_message
from processing.pipeline import analyze
from processing.simulation import Scenario, simulate
from processing.steps import StepMetrics

ATHLETE = "alex"
SESSION = "run-2026-12-07"
#: The epoch time of the recording's first sample (t = 0 s on the processing axis).
T0_NS = 1_796_000_000_000_000_000
BUCKET = "posture"


@dataclass(frozen=True)
class SimulatedSession:
    """What processing produced for one simulated run, and the messages a run publishes for it.

    `events` stands in for the events.json entries (an asymmetry event opened and closed, a level event
    left open, and the summary event), built from the run's own steps.
    """

    steps: tuple[StepMetrics, ...]
    step_messages: tuple[Message, ...]
    event_messages: tuple[Message, ...]
    summary: Message

    @property
    def messages(self) -> tuple[Message, ...]:
        return (*self.step_messages, *self.event_messages, self.summary)


def build_session(athlete: str = ATHLETE, session: str = SESSION) -> SimulatedSession:
    scenario = Scenario(name="ingest", seed=11, duration_s=40.0, standing_s=5.0)
    run = simulate(scenario)
    steps = analyze(run.samples, sampling_rate_hz=scenario.sampling_rate_hz).steps
    step_messages = tuple(step_message(athlete, session, s, T0_NS) for s in steps)
    t_mid = step_messages[len(steps) // 2].payload["t_ic_ns"]
    t_last = step_messages[-1].payload["t_ic_ns"]
    common: dict[str, Any] = {"metric": "pelvic_drop_deg", "threshold": 8.0, "advice": ["glute_med"]}
    events = (
        event_message(
            athlete,
            session,
            rule="drop_asym",
            type="asymmetry",
            side="R",
            t_start_ns=t_mid,
            t_end_ns=None,
            state="open",
            severity="warning",
            value=9.25,
            message="Right hip drops more",
            **common,
        ),
        event_message(
            athlete,
            session,
            rule="drop_asym",
            type="asymmetry",
            side="R",
            t_start_ns=t_mid,
            t_end_ns=t_last,
            state="closed",
            severity="warning",
            value=10.125,
            message='Right hip drops more: "squeeze"',
            **common,
        ),
        event_message(
            athlete,
            session,
            rule="tilt_high",
            type="level",
            side=None,
            t_start_ns=t_last,
            t_end_ns=None,
            state="open",
            severity="alert",
            value=None,
            message="Tuck the pelvis",
            **common,
        ),
        event_message(
            athlete,
            session,
            rule="summary",
            type="summary",
            side=None,
            t_start_ns=T0_NS,
            t_end_ns=t_last,
            state="summary",
            severity="info",
            value=None,
            threshold=None,
            metric=None,
            advice=[],
            message="Clean run",
        ),
    )
    drop = MetricSummary(6.5, 6.25, 6.75, 0.5, 7.6923076923076925, "R")
    summary = summary_message(
        athlete,
        session,
        t_ns=t_last + 10**9,
        started_ns=T0_NS,
        duration_s=45.0,
        steps_total=len(steps),
        steps_left=sum(s.side == "L" for s in steps),
        steps_right=sum(s.side == "R" for s in steps),
        steps_running=sum(s.is_running for s in steps),
        cadence_spm=171.25,
        distance_m=120.5,
        events={"asymmetry": 1, "level": 1, "summary": 1},
        metrics={"pelvic_drop_deg": drop},
    )
    return SimulatedSession(steps, step_messages, events, summary)


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
