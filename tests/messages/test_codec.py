"""Topics and the codec: what a consumer accepts, and the reason it gives for everything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture.messages import (
    KINDS,
    MAX_MESSAGE_BYTES,
    REASONS,
    SUBSCRIPTION,
    InvalidMessage,
    Message,
    TopicParts,
    deadletter_topic,
    decode,
    encode,
    parse_topic,
    status_message,
    topic_for,
)

T0_NS = 1_780_000_000_000_000_000
TOPIC = "posture/v1/ann/s1/status"


def a_status() -> Message:
    return status_message("ann", "s1", t_ns=T0_NS, state="online", connected=False)


def edited(changes: dict[str, Any]) -> bytes:
    payload = {**a_status().payload, **changes}
    return json.dumps(payload).encode()


def reason_of(topic: str, data: bytes) -> str:
    with pytest.raises(InvalidMessage) as info:
        decode(topic, data)
    assert info.value.detail
    return info.value.reason


def test_topics_are_built_and_parsed_the_same_way() -> None:
    assert topic_for("ann", "2026-05-28_run", "step") == "posture/v1/ann/2026-05-28_run/step"
    assert parse_topic("posture/v1/ann/2026-05-28_run/step") == TopicParts("ann", "2026-05-28_run", "step")
    assert KINDS == ("status", "live", "step", "event", "summary")
    assert SUBSCRIPTION == "posture/v1/+/+/+"
    assert deadletter_topic("schema") == "posture/v1/_deadletter/schema"


@pytest.mark.parametrize(
    "topic",
    [
        "posture/v1/ann/s1",
        "posture/v2/ann/s1/step",
        "posture/v1/ann/s1/steps",
        "posture/v1/ann/s1/step/extra",
        "posture/v1/an n/s1/step",
        "posture/v1//s1/step",
        "posture/v1/ann/" + "s" * 65 + "/step",
        "posture/v1/+/s1/step",
        "posture/v1/_deadletter/schema",
    ],
)
def test_any_other_topic_is_refused_with_reason_topic(topic: str) -> None:
    assert reason_of(topic, a_status().raw) == "topic"


def test_ids_that_cannot_be_a_topic_level_are_refused_when_building() -> None:
    for athlete in ("", "a/b", "a+b", "a#", "ä", "x" * 65):
        with pytest.raises(InvalidMessage):
            topic_for(athlete, "s1", "step")


def test_a_valid_message_round_trips() -> None:
    message = a_status()
    assert decode(TOPIC, message.raw) == message
    assert encode("status", message.payload) == message.raw


def test_encode_is_compact_and_deterministic() -> None:
    raw = a_status().raw
    assert b" " not in raw
    reordered = dict(reversed(list(a_status().payload.items())))
    assert encode("status", reordered) == raw


def test_encode_refuses_nan_and_asks_for_null() -> None:
    with pytest.raises(InvalidMessage, match="null") as info:
        encode("status", {**a_status().payload, "battery_pct": float("nan")})
    assert info.value.reason == "schema"


def test_encode_refuses_an_unknown_kind() -> None:
    with pytest.raises(InvalidMessage):
        encode("steps", a_status().payload)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "not_json"),
        (b"{", "not_json"),
        (b'{"battery_pct": NaN}', "not_json"),
        (b"[" * 5000 + b"]" * 5000, "not_json"),
        (b"1" * 5000, "not_json"),
        (b" " * (MAX_MESSAGE_BYTES + 1), "too_large"),
        (b"[1, 2]", "schema"),
        (b"{}", "unknown_schema"),
    ],
)
def test_what_is_not_a_message_object_gives_its_reason(data: bytes, reason: str) -> None:
    assert reason_of(TOPIC, data) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"schema": "posture.status/2"}, "unknown_schema"),
        ({"schema": "posture.weather/1"}, "unknown_schema"),
        ({"schema": 1}, "unknown_schema"),
        ({"schema": "posture.step/1"}, "mismatch"),
        ({"athlete": "bob"}, "mismatch"),
        ({"session": "s2"}, "mismatch"),
        ({"message_id": "ann/s1/status/1/online"}, "mismatch"),
        ({"state": "sleeping"}, "schema"),
        ({"battery_pct": 101}, "schema"),
        ({"battery_pct": "87"}, "schema"),
        ({"connected": 1}, "schema"),
        ({"reconnects": True}, "schema"),
        ({"reconnects": -1}, "schema"),
        ({"t_ns": -5}, "schema"),
        ({"t_ns": float(T0_NS)}, "schema"),
        ({"t_ns": 2**63}, "schema"),
        ({"extra": 1}, "schema"),
    ],
)
def test_a_payload_that_breaks_the_contract_gives_its_reason(changes: dict[str, Any], reason: str) -> None:
    assert reason_of(TOPIC, edited(changes)) == reason


def test_a_missing_field_is_a_schema_failure() -> None:
    payload = dict(a_status().payload)
    del payload["outbox_pending"]
    assert reason_of(TOPIC, json.dumps(payload).encode()) == "schema"


def test_every_reason_is_listed() -> None:
    assert set(REASONS) == {"not_json", "too_large", "unknown_schema", "schema", "topic", "mismatch"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_invalid_message(data: bytes) -> None:
    reason = None
    try:
        decode(TOPIC, data)
    except InvalidMessage as exc:  # any other exception fails the test
        reason = exc.reason
    assert reason is None or reason in REASONS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(a_status().payload)), json_values, max_size=4))
def test_random_edits_of_a_valid_payload_raise_only_invalid_message(changes: dict[str, Any]) -> None:
    try:
        message = decode(TOPIC, edited(changes))
    except InvalidMessage as exc:  # any other exception fails the test
        reason: str = exc.reason
        assert reason in REASONS
    else:
        assert (
            encode("status", message.payload)
            == json.dumps(message.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
        )


def test_the_schema_files_are_strict_and_name_their_kind() -> None:
    from importlib.resources import files

    for kind in KINDS:
        schema = json.loads(
            files("posture.messages").joinpath("schemas", f"{kind}.v1.json").read_text("utf-8")
        )
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == set(schema["properties"])
        assert schema["properties"]["schema"] == {"const": f"posture.{kind}/1"}
