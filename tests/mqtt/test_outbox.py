"""The outbox keeps QoS 1 messages on disk, in order, bounded, until they are acknowledged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from posture.mqtt import Outbox


def test_messages_come_back_in_order_and_leave_when_removed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    seqs = [outbox.add(f"t/{i}", bytes([i]), retain=i == 2) for i in range(5)]
    assert seqs == sorted(seqs)
    assert outbox.pending == 5
    rows = outbox.after(0, limit=3)
    assert [(r.topic, r.payload, r.retain) for r in rows] == [
        ("t/0", b"\0", False),
        ("t/1", b"\1", False),
        ("t/2", b"\2", True),
    ]
    assert [r.topic for r in outbox.after(rows[-1].seq, limit=10)] == ["t/3", "t/4"]
    assert outbox.remove(seqs[1]) is True
    assert outbox.remove(seqs[1]) is False
    assert outbox.pending == 4
    assert [r.topic for r in outbox.after(0, limit=10)] == ["t/0", "t/2", "t/3", "t/4"]
    outbox.close()


def test_what_is_stored_survives_reopening(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "sub" / "outbox.db")
    first.add("a", b"1", retain=False)
    first.add("b", b"2", retain=True)
    first.close()
    again = Outbox(tmp_path / "sub" / "outbox.db")
    assert again.pending == 2
    assert [r.topic for r in again.after(0, limit=10)] == ["a", "b"]
    assert again.add("c", b"3", retain=False) > max(r.seq for r in again.after(0, 2))
    again.close()


def test_a_full_outbox_drops_the_oldest_counts_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "outbox.db", max_messages=3)
    with caplog.at_level(logging.WARNING, logger="posture.mqtt.outbox"):
        for i in range(5):
            outbox.add(f"t/{i}", b"x", retain=False)
    assert outbox.pending == 3
    assert outbox.dropped == 2
    assert [r.topic for r in outbox.after(0, limit=10)] == ["t/2", "t/3", "t/4"]
    assert "dropped the oldest" in caplog.text
    outbox.close()
