"""The durable outbox: QoS 1 messages on disk from before they are sent until the broker acknowledges them.

SQLite in WAL mode with `synchronous=NORMAL`: a committed row survives the process being killed (SIGKILL, a
crash); only a power cut may lose the last moments. Rows are kept in the order they were added (`seq`) and
delivered in that order, the previous run's first. The outbox is bounded: when full, the oldest rows are
dropped, counted and logged (a long outage keeps the most recent messages).

Not thread-safe by itself: the publisher serialises access with its lock.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_MAX_MESSAGES", "Outbox", "OutboxRow"]

log = logging.getLogger(__name__)

#: About 50 MB of step messages: more than a day of running, so only a very long outage drops anything.
DEFAULT_MAX_MESSAGES: Final = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored message: its place in the order, topic, bytes and retain flag (QoS is always 1)."""

    seq: int
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """A bounded FIFO of QoS 1 messages in a SQLite file.

    Parameters
    ----------
    path : Path
        The database file (its folder is created); it may hold messages of a previous run.
    max_messages : int
        When full, adding a message drops the oldest one.
    """

    def __init__(self, path: Path, *, max_messages: int = DEFAULT_MAX_MESSAGES) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be >= 1, got {max_messages}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_messages = max_messages
        # isolation_level=None: autocommit, each statement is its own transaction (no implicit BEGIN).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._pending: int = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Messages stored and not yet acknowledged."""
        return self._pending

    def add(self, topic: str, payload: bytes, *, retain: bool) -> int:
        """Store a message; returns its `seq`. Drops (and counts) the oldest ones when the outbox is full."""
        excess = self._pending + 1 - self.max_messages
        if excess > 0:
            dropped = self._db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
            ).rowcount
            self._pending -= dropped
            self.dropped += dropped
            if self.dropped == dropped or self.dropped % 1000 < dropped:
                log.warning(
                    "MQTT outbox %s is full (%d messages): dropped the oldest, %d dropped so far; "
                    "the broker has been away too long",
                    self.path,
                    self.max_messages,
                    self.dropped,
                )
        cursor = self._db.execute(
            "INSERT INTO outbox (topic, payload, retain) VALUES (?, ?, ?)", (topic, payload, int(retain))
        )
        self._pending += 1
        seq = cursor.lastrowid
        if seq is None:  # never for a successful INSERT into a rowid table
            raise sqlite3.DatabaseError("SQLite returned no rowid for an insert")
        return seq

    def after(self, seq: int, limit: int) -> list[OutboxRow]:
        """Up to `limit` stored messages with a `seq` above `seq`, oldest first."""
        rows = self._db.execute(
            "SELECT seq, topic, payload, retain FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [OutboxRow(int(s), str(t), bytes(p), bool(r)) for s, t, p, r in rows]

    def remove(self, seq: int) -> bool:
        """Forget an acknowledged (or refused) message; False when it was already gone (dropped)."""
        removed = self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,)).rowcount > 0
        self._pending -= int(removed)
        return removed

    def close(self) -> None:
        self._db.close()
