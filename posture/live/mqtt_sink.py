"""A run's results as MQTT messages (docs/messages.md), handed to the publisher as they happen.

The mapping from the typed results (`StepMetrics`, `EventUpdate`, `LiveAngles`, the run summary) to the
messages' builders lives here, so `posture run` and `posture replay --publish` send the same messages with
the same ids. The publisher never blocks (its outbox takes QoS 1 messages even while the broker is away).

One rule the storage needs: an event's open and close are one point in the database (same tags, same start),
so the severity published with an event is the one it opened with; a later escalation shows in the close's
`value` and in events.json, not as a new series.
"""

from __future__ import annotations

from typing import Protocol

from posture.messages import (
    EventSeverity,
    EventState,
    Kind,
    Message,
    RunState,
    event_message,
    live_message,
    ns_from_s,
    status_message,
    step_message,
)
from processing.events import EventUpdate, FormEvent
from processing.pipeline import LiveAngles
from processing.steps import StepMetrics
from sensorlink.blocks import LinkStatus

__all__ = ["MessageSink", "MqttRunSink"]


class MessageSink(Protocol):
    """What takes the messages: `posture.mqtt.Publisher` (or a test's list)."""

    def publish(self, kind: Kind, payload: Message) -> None: ...


class MqttRunSink:
    """Turns a run's results into messages of one athlete's session and publishes them.

    Parameters
    ----------
    publisher : MessageSink
    athlete, session : str
    """

    def __init__(self, publisher: MessageSink, athlete: str, session: str) -> None:
        self.publisher = publisher
        self.athlete = athlete
        self.session = session
        self._opened_severity: dict[tuple[str, str | None, float], EventSeverity] = {}

    def on_step(self, step: StepMetrics, t0_ns: int) -> None:
        self.publisher.publish("step", step_message(self.athlete, self.session, step, t0_ns))

    def on_event(self, update: EventUpdate, t0_ns: int) -> None:
        event = update.event
        key = (event.rule, event.side, event.t_start_s)
        if update.kind == "escalated":
            return  # the same point in the database: the close carries the event's final value
        severity = self._opened_severity.setdefault(key, event.severity)
        state: EventState = "summary" if event.type == "summary" else ("open" if event.is_open else "closed")
        self.publish_event(event, t0_ns, state=state, severity=severity)

    def publish_event(
        self, event: FormEvent, t0_ns: int, *, state: EventState, severity: EventSeverity
    ) -> None:
        self.publisher.publish(
            "event",
            event_message(
                self.athlete,
                self.session,
                rule=event.rule,
                type=event.type,
                metric=event.metric,
                side=event.side,
                t_start_ns=ns_from_s(t0_ns, event.t_start_s),
                t_end_ns=None if event.t_end_s is None else ns_from_s(t0_ns, event.t_end_s),
                state=state,
                severity=severity,
                value=event.value,
                threshold=event.threshold,
                advice=event.advice,
                message=event.message,
            ),
        )

    def on_live(self, angles: LiveAngles, cadence_spm: float, t0_ns: int) -> None:
        self.publisher.publish(
            "live",
            live_message(
                self.athlete,
                self.session,
                t_ns=ns_from_s(t0_ns, angles.t_s),
                pelvic_tilt_deg=angles.pelvic_tilt_deg,
                pelvic_obliquity_deg=angles.pelvic_obliquity_deg,
                pelvic_rotation_deg=angles.pelvic_rotation_deg,
                cadence_spm=cadence_spm,
            ),
        )

    def status(
        self,
        state: RunState,
        *,
        t_ns: int,
        link: LinkStatus | None,
        samples_lost: int,
        reconnects: int,
        outbox_pending: int,
    ) -> None:
        """Publish the retained status (the run's state and the sensor's health)."""
        self.publisher.publish(
            "status",
            status_message(
                self.athlete,
                self.session,
                t_ns=t_ns,
                state=state,
                connected=bool(link and link.connected),
                battery_pct=None if link is None else link.battery_pct,
                rssi_dbm=None if link is None else link.rssi_dbm,
                packet_loss_rate=None if link is None else link.packet_loss_rate,
                samples_lost=samples_lost,
                reconnects=reconnects,
                outbox_pending=outbox_pending,
            ),
        )

    def publish(self, kind: Kind, message: Message) -> None:
        """Hand a message of this session to the publisher (e.g. the run's `summary_message`)."""
        self.publisher.publish(kind, message)
