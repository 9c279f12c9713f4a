"""The MQTT messages of the live run: topics, JSON payloads validated against one schema per kind, builders.

The contract is docs/messages.md; the schemas are `posture/messages/schemas/{kind}.v1.json`. Publisher, ingest
and tests all use `encode`/`decode` (bytes <-> `Message`), so they validate against the same files.
No I/O beyond reading the packaged schemas.
"""

from posture.messages.builders import (
    EventSeverity,
    EventState,
    EventType,
    MetricSummary,
    RunState,
    WorseSide,
    event_message,
    live_message,
    ns_from_s,
    status_message,
    step_message,
    summary_message,
)
from posture.messages.codec import (
    DEADLETTER_PREFIX,
    DELIVERY,
    ID_PATTERN,
    KINDS,
    MAX_MESSAGE_BYTES,
    SUBSCRIPTION,
    TOPIC_ROOT,
    Delivery,
    Kind,
    Message,
    TopicParts,
    deadletter_topic,
    decode,
    encode,
    message_id_for,
    parse_topic,
    schema_name,
    topic_for,
)
from posture.messages.errors import REASONS, InvalidMessage, MessagesError, Reason

__all__ = [
    "DEADLETTER_PREFIX",
    "DELIVERY",
    "ID_PATTERN",
    "KINDS",
    "MAX_MESSAGE_BYTES",
    "REASONS",
    "SUBSCRIPTION",
    "TOPIC_ROOT",
    "Delivery",
    "EventSeverity",
    "EventState",
    "EventType",
    "InvalidMessage",
    "Kind",
    "Message",
    "MessagesError",
    "MetricSummary",
    "Reason",
    "RunState",
    "TopicParts",
    "WorseSide",
    "deadletter_topic",
    "decode",
    "encode",
    "event_message",
    "live_message",
    "message_id_for",
    "ns_from_s",
    "parse_topic",
    "schema_name",
    "status_message",
    "step_message",
    "summary_message",
    "topic_for",
]
