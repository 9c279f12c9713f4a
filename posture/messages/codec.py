"""Topics and payloads of the live run: the one place where messages become bytes and bytes become messages.

The publisher, the ingest and the tests all go through `encode` and `decode`, which validate against the JSON
Schemas in `posture/messages/schemas/` (docs/messages.md is the prose of the same contract), so producer and
consumer cannot drift. Validation uses `fastjsonschema` (draft-07), each schema compiled once on first use.

Beyond the schemas, `decode` checks what a schema cannot express: the payload's `athlete`, `session` and kind
agree with the topic, and `message_id` is exactly the one built from the payload (docs/messages.md gives the
rule per kind), so a consumer may deduplicate by it.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args

import fastjsonschema

from posture.messages.errors import InvalidMessage

__all__ = [
    "DEADLETTER_PREFIX",
    "DELIVERY",
    "ID_PATTERN",
    "KINDS",
    "MAX_MESSAGE_BYTES",
    "SUBSCRIPTION",
    "TOPIC_ROOT",
    "Delivery",
    "Kind",
    "Message",
    "TopicParts",
    "deadletter_topic",
    "decode",
    "encode",
    "message_id_for",
    "parse_topic",
    "schema_name",
    "topic_for",
]

Kind = Literal["status", "live", "step", "event", "summary"]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: The first two topic levels of every message; the major version here moves with the schemas' `/1`.
TOPIC_ROOT: Final = "posture/v1"
#: A subscription that receives every message kind of every athlete and session (and nothing else).
SUBSCRIPTION: Final = f"{TOPIC_ROOT}/+/+/+"
#: Invalid messages go to `{DEADLETTER_PREFIX}/{reason}` (four levels: never matched by `SUBSCRIPTION`).
DEADLETTER_PREFIX: Final = f"{TOPIC_ROOT}/_deadletter"
#: Athlete and session ids: safe as MQTT topic levels, InfluxDB tags and file names.
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Anything larger is refused before parsing: no legitimate message comes close (a summary is about 3 KiB).
MAX_MESSAGE_BYTES: Final = 64 * 1024
#: The major version of every schema this code knows; a consumer refuses any other.
SCHEMA_MAJOR: Final = 1

_SCHEMA_NAME = re.compile(r"posture\.([a-z]{1,32})/([0-9]{1,6})")


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a kind travels: QoS 1 for what must arrive, 0 for live angles; retained for the latest state."""

    qos: Literal[0, 1]
    retain: bool


#: Per kind, as in the table of docs/messages.md.
DELIVERY: Mapping[Kind, Delivery] = {
    "status": Delivery(qos=1, retain=True),
    "live": Delivery(qos=0, retain=False),
    "step": Delivery(qos=1, retain=False),
    "event": Delivery(qos=1, retain=False),
    "summary": Delivery(qos=1, retain=True),
}


@dataclass(frozen=True, slots=True)
class TopicParts:
    """The levels of `posture/v1/{athlete}/{session}/{kind}`, validated."""

    athlete: str
    session: str
    kind: Kind

    def __post_init__(self) -> None:
        for name in ("athlete", "session"):
            value = getattr(self, name)
            if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
                raise InvalidMessage(
                    "topic", f"{name} {value!r} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
                )
        if self.kind not in KINDS:
            raise InvalidMessage("topic", f"kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def topic(self) -> str:
        return f"{TOPIC_ROOT}/{self.athlete}/{self.session}/{self.kind}"


def topic_for(athlete: str, session: str, kind: Kind) -> str:
    """The topic of one kind of message of a session; raises `InvalidMessage` (reason `topic`) on bad ids."""
    return TopicParts(athlete, session, kind).topic


def parse_topic(topic: str) -> TopicParts:
    """Split `posture/v1/{athlete}/{session}/{kind}`; anything else raises `InvalidMessage` (`topic`)."""
    levels = topic.split("/")
    if len(levels) != 5 or "/".join(levels[:2]) != TOPIC_ROOT:
        raise InvalidMessage(
            "topic", f"topic {topic[:200]!r} is not {TOPIC_ROOT}/{{athlete}}/{{session}}/{{kind}}"
        )
    return TopicParts(levels[2], levels[3], cast(Kind, levels[4]))


def deadletter_topic(reason: str) -> str:
    """Where the ingest republishes a message refused for `reason` (an `InvalidMessage.reason`)."""
    return f"{DEADLETTER_PREFIX}/{reason}"


def schema_name(kind: Kind) -> str:
    """The `schema` field of a kind's payload, e.g. `posture.step/1`."""
    return f"posture.{kind}/{SCHEMA_MAJOR}"


def message_id_for(kind: Kind, payload: Mapping[str, Any]) -> str:
    """The message id that docs/messages.md prescribes for a payload (which must already fit its schema).

    Built only from the session and what the message is about, never a counter or the wall clock, so a
    redelivery or a replay of the same session carries the same id.
    """
    head = f"{payload['athlete']}/{payload['session']}/{kind}"
    if kind == "step":
        return f"{head}/{payload['t_ic_ns']}"
    if kind == "event":
        side = payload["side"] or "-"
        return f"{head}/{payload['rule']}/{side}/{payload['t_start_ns']}/{payload['state']}"
    if kind == "live":
        return f"{head}/{payload['t_ns']}"
    if kind == "status":
        return f"{head}/{payload['t_ns']}/{payload['state']}"
    return head  # summary: one per session


@dataclass(frozen=True, slots=True)
class Message:
    """One valid message, as `decode` (or a builder) returns it.

    Attributes
    ----------
    kind, athlete, session : str
        As in the topic and the payload (they agree).
    message_id : str
        The deduplication key (see `message_id_for`).
    payload : dict
        The decoded JSON object, valid against its schema; unknown values are None.
    raw : bytes
        The exact bytes on the wire (compact UTF-8 JSON).
    """

    kind: Kind
    athlete: str
    session: str
    message_id: str
    payload: dict[str, Any]
    raw: bytes

    @property
    def topic(self) -> str:
        return topic_for(self.athlete, self.session, self.kind)

    @property
    def qos(self) -> Literal[0, 1]:
        return DELIVERY[self.kind].qos

    @property
    def retain(self) -> bool:
        return DELIVERY[self.kind].retain


@functools.cache
def _schema(kind: Kind) -> dict[str, Any]:
    text = (
        importlib.resources.files("posture.messages")
        .joinpath("schemas", f"{kind}.v1.json")
        .read_text("utf-8")
    )
    return cast(dict[str, Any], json.loads(text))


@functools.cache
def _validator(kind: Kind) -> Callable[[Any], Any]:
    return cast(Callable[[Any], Any], fastjsonschema.compile(_schema(kind)))


@functools.cache
def _integer_fields(kind: Kind) -> tuple[str, ...]:
    """The top-level fields whose schema type is integer (read from the schema: one home)."""
    fields = []
    for name, spec in _schema(kind)["properties"].items():
        types = spec.get("type", ())
        if "integer" in ([types] if isinstance(types, str) else types):
            fields.append(name)
    return tuple(fields)


def _refuse_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity, which are not JSON: the contract sends null instead.
    raise ValueError(f"{name} is not JSON (the contract sends null for an unknown or non-finite number)")


def _check_content(kind: Kind, payload: Mapping[str, Any]) -> None:
    """Rules that a JSON Schema cannot state; the payload already fits its schema."""
    # JSON Schema's integer admits 1.0; times and counts must be integers on the wire (InfluxDB timestamps).
    for name in _integer_fields(kind):
        if isinstance(payload[name], float):
            raise InvalidMessage("schema", f"{name} must be an integer, got {payload[name]!r}")
    if kind == "summary" and any(isinstance(count, float) for count in payload["events"].values()):
        raise InvalidMessage("schema", "the event counts must be integers")
    if kind == "step":
        if payload["t_ns"] != payload["t_ic_ns"]:
            raise InvalidMessage("schema", "a step's t_ns must equal its t_ic_ns")
        if payload["t_to_ns"] is not None and payload["t_to_ns"] < payload["t_ic_ns"]:
            raise InvalidMessage("schema", "a step's t_to_ns must not precede its t_ic_ns")
    elif kind == "event":
        if payload["t_ns"] != payload["t_start_ns"]:
            raise InvalidMessage("schema", "an event's t_ns must equal its t_start_ns")
        t_end_ns = payload["t_end_ns"]
        if payload["state"] == "open" and t_end_ns is not None:
            raise InvalidMessage("schema", "an open event has t_end_ns null")
        if payload["state"] == "closed" and t_end_ns is None:
            raise InvalidMessage("schema", "a closed event needs t_end_ns")
        if t_end_ns is not None and t_end_ns < payload["t_start_ns"]:
            raise InvalidMessage("schema", "an event's t_end_ns must not precede its t_start_ns")
    elif kind == "summary":
        if payload["steps_left"] + payload["steps_right"] > payload["steps_total"]:
            raise InvalidMessage("schema", "steps_left + steps_right exceed steps_total")
        if payload["steps_running"] > payload["steps_total"]:
            raise InvalidMessage("schema", "steps_running exceeds steps_total")
    expected = message_id_for(kind, payload)
    if payload["message_id"] != expected:
        raise InvalidMessage("mismatch", f"message_id {payload['message_id']!r} should be {expected!r}")


def _validate(kind: Kind, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise InvalidMessage("schema", f"the payload must be a JSON object, got {type(payload).__name__}")
    try:
        _validator(kind)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise InvalidMessage("schema", f"{schema_name(kind)}: {exc.message}") from None
    _check_content(kind, payload)


def encode(kind: Kind, payload: Mapping[str, Any]) -> bytes:
    """Validate a payload and return it as compact UTF-8 JSON (keys sorted: equal payloads, equal bytes).

    Raises
    ------
    InvalidMessage
        Reason `schema` when the payload breaks its kind's schema (including NaN or infinity, which must be
        sent as null), `mismatch` when its `message_id` is not the one `message_id_for` builds, `topic` for an
        unknown kind.
    """
    if kind not in KINDS:
        raise InvalidMessage("topic", f"kind {kind!r} is not one of {', '.join(KINDS)}")
    try:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage("schema", f"{schema_name(kind)}: {exc} (send null for NaN)") from None
    # Validate what goes on the wire, not the Python objects (a tuple or a float subclass serialises fine).
    _validate(kind, json.loads(text))
    return text.encode("utf-8")


def decode(topic: str, data: bytes | bytearray) -> Message:
    """Turn a received message into a `Message`, or raise `InvalidMessage` with the reason.

    Checks, in order: the topic (`topic`), the size (`too_large`, over `MAX_MESSAGE_BYTES`), UTF-8 JSON
    without NaN/Infinity (`not_json`), the `schema` field names this topic's kind at a major version we know
    (`unknown_schema`; another kind is `mismatch`), the schema (`schema`), and finally that athlete, session
    and message_id agree with the topic and the payload (`mismatch`).
    """
    parts = parse_topic(topic)
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidMessage("too_large", f"{len(data)} bytes, the limit is {MAX_MESSAGE_BYTES}")
    try:
        payload = json.loads(bytes(data).decode("utf-8"), parse_constant=_refuse_constant)
    except (
        ValueError,
        RecursionError,
    ) as exc:  # JSONDecodeError, UnicodeDecodeError and int limits are ValueError
        raise InvalidMessage("not_json", f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(payload, dict):
        raise InvalidMessage("schema", f"the payload must be a JSON object, got {type(payload).__name__}")
    name = payload.get("schema")
    if not isinstance(name, str):
        raise InvalidMessage("unknown_schema", "the payload has no string field 'schema'")
    match = _SCHEMA_NAME.fullmatch(name)
    if match is None or match.group(1) not in KINDS or int(match.group(2)) != SCHEMA_MAJOR:
        raise InvalidMessage("unknown_schema", f"schema {name[:100]!r} is not one of posture.{{kind}}/1")
    if match.group(1) != parts.kind:
        raise InvalidMessage("mismatch", f"schema {name!r} arrived on the {parts.kind!r} topic")
    for level in ("athlete", "session"):
        got, expected = payload.get(level), getattr(parts, level)
        if got != expected:
            raise InvalidMessage(
                "mismatch", f"{level} {str(got)[:70]!r} differs from the topic's {expected!r}"
            )
    _validate(parts.kind, payload)
    return Message(
        kind=parts.kind,
        athlete=parts.athlete,
        session=parts.session,
        message_id=payload["message_id"],
        payload=payload,
        raw=bytes(data),
    )
