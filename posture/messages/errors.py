"""The errors of `posture.messages`: one root, and the typed refusal of a message."""

from __future__ import annotations

from typing import Literal

__all__ = ["REASONS", "InvalidMessage", "MessagesError", "Reason"]

#: Why a message is refused, machine-readable: the ingest uses it as the last level of the dead-letter topic
#: (`posture/v1/_deadletter/{reason}`) and as the label of its counter.
Reason = Literal["not_json", "too_large", "unknown_schema", "schema", "topic", "mismatch"]
REASONS: tuple[Reason, ...] = ("not_json", "too_large", "unknown_schema", "schema", "topic", "mismatch")


class MessagesError(Exception):
    """Root of the errors of `posture.messages`."""


class InvalidMessage(MessagesError, ValueError):
    """A message (or a topic) that breaks the contract of docs/messages.md.

    Parameters
    ----------
    reason : Reason
        Short machine-readable cause; decisions (dead-letter topic, counters) read this, never the text.
    detail : str
        What is wrong, for a person: which field, which value, which rule.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason: Reason = reason
        self.detail = detail
        super().__init__(
            f"invalid message ({reason}): {detail}; the producer must follow docs/messages.md "
            "(schemas in posture/messages/schemas)"
        )
