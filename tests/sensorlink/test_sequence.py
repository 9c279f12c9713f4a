"""Sequence tracking: every packet delivered once and in order; losses counted exactly, across seq wraps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensorlink.sequence import PacketVerdict, SequenceTracker

PERIOD_US = 19 / 208 * 1e6  # 19 samples per packet at 208 Hz


def packet(index: int, start_seq: int = 0, start_time_us: int = 0) -> tuple[int, int]:
    """Header fields of the index-th packet of a session (seq and time wrap like the sensor's)."""
    return (start_seq + index) % 65536, int(start_time_us + index * PERIOD_US) % (1 << 32)


def test_consecutive_packets_are_accepted_with_no_loss() -> None:
    tracker = SequenceTracker(PERIOD_US)
    decisions = [tracker.observe(*packet(i, start_seq=65530)) for i in range(20)]
    assert [d.verdict for d in decisions] == [PacketVerdict.ACCEPTED] * 20
    assert [d.packet_index for d in decisions] == list(range(20))
    assert tracker.counts.lost_packets == 0


def test_a_gap_reports_exactly_the_missing_packets() -> None:
    tracker = SequenceTracker(PERIOD_US)
    tracker.observe(*packet(0))
    decision = tracker.observe(*packet(34))  # a 3 s drop: 33 packets never arrived
    assert decision.verdict is PacketVerdict.ACCEPTED
    assert decision.packets_lost_before == 33
    assert decision.packet_index == 34


def test_duplicates_and_late_packets_are_dropped_and_counted() -> None:
    tracker = SequenceTracker(PERIOD_US)
    for i in (0, 1, 3):
        tracker.observe(*packet(i))
    assert tracker.observe(*packet(3)).verdict is PacketVerdict.DUPLICATE
    assert tracker.observe(*packet(1)).verdict is PacketVerdict.DUPLICATE
    assert tracker.observe(*packet(2)).verdict is PacketVerdict.LATE
    assert tracker.counts.duplicate == 2
    assert tracker.counts.late == 1
    assert tracker.counts.lost_packets == 1  # packet 2 stays lost: it came after its successor


def test_a_gap_longer_than_the_seq_range_is_resolved_by_sensor_time() -> None:
    # One sample per packet at 208 Hz: the 16-bit seq wraps every 315 s, the 32-bit us clock every 71 minutes.
    period_us = 1e6 / 208
    tracker = SequenceTracker(period_us)
    tracker.observe(100, 4_294_000_000)
    far = 65536 + 17  # a drop of 315 s: the seq came round once and 17 packets more
    decision = tracker.observe((100 + far) % 65536, int(4_294_000_000 + far * period_us) % (1 << 32))
    assert decision.packets_lost_before == far - 1
    assert decision.packet_index == far


def test_without_a_packet_period_the_seq_alone_decides() -> None:
    tracker = SequenceTracker(None)
    tracker.observe(65535, 0)
    assert tracker.observe(2, 0).packets_lost_before == 2


@given(st.lists(st.booleans(), min_size=1, max_size=400), st.integers(0, 65535))
def test_any_loss_pattern_is_counted_exactly(delivered: list[bool], start_seq: int) -> None:
    tracker = SequenceTracker(PERIOD_US)
    sent = [i for i, ok in enumerate(delivered) if ok]
    if not sent:
        return
    lost = sum(tracker.observe(*packet(i, start_seq)).packets_lost_before for i in sent)
    assert lost == sent[-1] - sent[0] + 1 - len(sent)
    assert tracker.last_packet_index == sent[-1] - sent[0]


def _receiver_cases() -> list[dict[str, object]]:
    import json
    from pathlib import Path

    import firmware_specs

    path = Path(firmware_specs.__file__).parent / "golden_vectors_v1.json"
    cases: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["receiver_rules"]
    return cases


@pytest.mark.parametrize("case", _receiver_cases(), ids=lambda c: str(c["name"]))
def test_the_tracker_follows_the_specs_receiver_rules(case: dict[str, Any]) -> None:
    config = case["config"]
    tracker = SequenceTracker(config["samples_per_packet"] * 1e6 / config["sample_rate_hz"])
    tracker.observe(case["last"]["seq"], case["last"]["sensor_time_us"])
    decision = tracker.observe(case["packet"]["seq"], case["packet"]["sensor_time_us"])
    verdict = {"next": PacketVerdict.ACCEPTED, "gap": PacketVerdict.ACCEPTED}.get(case["verdict"])
    expected = verdict or PacketVerdict(case["verdict"])
    assert decision.verdict is expected
    assert decision.packets_lost_before * config["samples_per_packet"] == case["lost_samples"]
    if expected is PacketVerdict.ACCEPTED:
        assert decision.packet_index == case["packets_since"]
