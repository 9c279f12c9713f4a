"""The packet decoder and its tap: a replay of the link's raw inputs decodes what the link did, bit for bit.

The link's decoding state lives in `PacketDecoder`; the link's `packet_sink` sees every input of it. A
replay of those inputs (`sensorlink.decoder.replay`) must give the live link's blocks exactly: same samples,
same host times, same numbering and losses, also across a link drop, TIME_SYNC round trips that take effect
while packets wait in the receive queue, and a session restart.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorlink.blocks import SampleBlock
from sensorlink.decoder import (
    PacketDecoder,
    RawPacket,
    StreamConfigured,
    TapRecord,
    TimeSynced,
    replay,
)
from sensorlink.link import STREAMING_CONFIG, HostClock, Link
from sensorlink.profiles import POSTURE_V1
from sensorlink.protocol import ImuPacket
from sensorlink.simsensor import FaultPlan, LinkDrop, SimulatedSensorOptions
from tests.sensorlink.test_link import RATE_HZ, VIRTUAL_TIME, simulated

CONFIG = STREAMING_CONFIG
SPP = CONFIG.samples_per_packet


def configured(after_packets: int = 0) -> StreamConfigured:
    return StreamConfigured(after_packets, 0, CONFIG, new_tracking=True, firmware_revision="1.0.0")


def packet(seq: int, *, flags: int = 0, sensor_time_us: int | None = None) -> bytes:
    raw = np.full((SPP, 6), seq % 100, dtype=np.int16)
    period_us = SPP * 1e6 / CONFIG.sample_rate_hz
    time_us = int(seq * period_us) if sensor_time_us is None else sensor_time_us
    return bytes(ImuPacket(seq, time_us, flags, raw))


def assert_same_blocks(replayed: list[SampleBlock], live: list[SampleBlock]) -> None:
    assert len(replayed) == len(live)
    for r, b in zip(replayed, live, strict=True):
        np.testing.assert_array_equal(r.samples.t_s, b.samples.t_s)
        np.testing.assert_array_equal(r.samples.acc_mps2, b.samples.acc_mps2)
        assert r.samples.gyr_dps is not None
        assert b.samples.gyr_dps is not None
        np.testing.assert_array_equal(r.samples.gyr_dps, b.samples.gyr_dps)
        assert (r.first_sample_index, r.lost_samples_before, r.sensor_time_us, r.sampling_rate_hz) == (
            b.first_sample_index,
            b.lost_samples_before,
            b.sensor_time_us,
            b.sampling_rate_hz,
        )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=20))
def test_any_bytes_fed_to_the_decoder_are_skipped_never_raised(payloads: list[bytes]) -> None:
    decoder = PacketDecoder(POSTURE_V1)
    decoder.apply(configured())
    for i, payload in enumerate(payloads):
        blocks = decoder.feed(1_000_000 * (i + 1), payload)
        assert len(blocks) <= 1
        assert all(len(b) == SPP for b in blocks)
    counters = decoder.counters
    assert counters.packets_received == len(payloads)
    assert (
        counters.packets_accepted
        + counters.packets_malformed
        + counters.packets_duplicate
        + counters.packets_late
        == len(payloads)
    )


def test_packets_before_the_stream_is_configured_are_counted_and_skipped() -> None:
    decoder = PacketDecoder(POSTURE_V1)
    assert decoder.feed(1, packet(0)) == []
    assert decoder.counters.packets_received == 1
    assert decoder.counters.packets_accepted == 0


def test_a_session_start_packet_restarts_tracking_and_numbering_continues() -> None:
    decoder = PacketDecoder(POSTURE_V1)
    decoder.apply(configured())
    first = [packet(100 + i, sensor_time_us=i * 100_000) for i in range(3)]
    restarted = [
        packet(7, flags=ImuPacket.FLAG_SESSION_START, sensor_time_us=50_000_000),
        packet(8, sensor_time_us=50_100_000),
    ]
    blocks = [b for i, p in enumerate(first + restarted) for b in decoder.feed(1_000_000_000 * (i + 1), p)]
    assert [b.first_sample_index for b in blocks] == [0, SPP, 2 * SPP, 3 * SPP, 4 * SPP]
    assert sum(b.lost_samples_before for b in blocks) == 0
    assert decoder.counters.packets_accepted == 5
    assert decoder.counters.packets_lost == 0


def test_an_event_applies_after_the_packets_it_followed_not_where_it_was_tapped() -> None:
    # Live: packets 0..3 arrive (tapped), the consumer has decoded 1 when a TIME_SYNC takes effect.
    arrivals = [(10_000_000 + i * 115_000_000, packet(i)) for i in range(4)]
    sync = TimeSynced(
        after_packets=1, sensor_time_us=200_000, host_send_ns=150_000_000, host_receive_ns=151_000_000
    )
    live = PacketDecoder(POSTURE_V1)
    live.apply(configured())
    expected = live.feed(*arrivals[0])
    live.apply(sync)
    expected += [b for a in arrivals[1:] for b in live.feed(*a)]
    tapped: list[TapRecord] = [configured(), *(RawPacket(t, d) for t, d in arrivals), sync]
    replayed = list(replay(tapped, PacketDecoder(POSTURE_V1)))
    assert_same_blocks(replayed, expected)
    # Applied where it was tapped instead, the times differ: the order is what makes the replay exact.
    elsewhere = PacketDecoder(POSTURE_V1)
    elsewhere.apply(configured())
    wrong = [b for a in arrivals for b in elsewhere.feed(*a)]
    elsewhere.apply(sync)
    assert len(wrong) == len(expected) == 4
    assert not np.array_equal(wrong[1].samples.t_s, expected[1].samples.t_s)


def test_a_packet_the_full_queue_dropped_is_counted_by_the_replay_and_never_decoded() -> None:
    records: list[TapRecord] = [configured(), RawPacket(1, packet(0)), RawPacket(2, packet(1), queued=False)]
    records.append(RawPacket(3, packet(2)))
    decoder = PacketDecoder(POSTURE_V1)
    blocks = list(replay(records, decoder))
    assert [b.first_sample_index for b in blocks] == [0, 2 * SPP]
    assert blocks[1].lost_samples_before == SPP
    assert decoder.counters.queue_overflows == 1
    assert decoder.counters.packets_received == 2


def test_the_decoder_runs_without_bleak() -> None:
    code = "import sys, sensorlink.decoder; sys.exit('bleak' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


async def collect_slowly(link: Link, samples: int) -> list[SampleBlock]:
    """Blocks of the link, with a consumer that falls behind now and then (packets pile up in the queue)."""
    blocks: list[SampleBlock] = []
    async for block in link.blocks():
        blocks.append(block)
        if len(blocks) % 25 == 0:
            await asyncio.sleep(2.5)
        if sum(len(b) for b in blocks) >= samples:
            break
    return blocks


@VIRTUAL_TIME
async def test_a_replay_of_the_links_tap_gives_its_blocks_bit_for_bit_across_a_link_drop(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    options = SimulatedSensorOptions(
        faults=FaultPlan(link_drops=(LinkDrop(at_s=20, duration_s=3),), drift_ppm=40.0),
        connection_interval_s=0.03,
        connection_event_loss_probability=0.05,
        radio_seed=3,
    )
    tapped: list[TapRecord] = []
    async with simulated(tmp_path, options) as (_, sensor, factory):
        link = Link(
            sensor.options.address,
            client_factory=factory,
            host_clock_ns=loop_clock,
            packet_sink=tapped.append,
        )
        async with link:
            live = await collect_slowly(link, 60 * RATE_HZ)
            counters = link.counters
    assert counters.reconnects == 1
    assert sum(b.lost_samples_before for b in live) > 0
    syncs = [r for r in tapped if isinstance(r, TimeSynced)]
    tapped_before = [sum(isinstance(x, RawPacket) for x in tapped[: tapped.index(s)]) for s in syncs]
    # The slow consumer left packets waiting when round trips took effect: the replay has to reorder.
    assert any(s.after_packets < n for s, n in zip(syncs, tapped_before, strict=True))
    # The link's tap goes on after the consumer stopped; the replay gives what the consumer saw, and more.
    decoder = PacketDecoder(POSTURE_V1)
    replayed = list(replay(tapped, decoder))[: len(live)]
    assert_same_blocks(replayed, live)


@VIRTUAL_TIME
async def test_a_failing_packet_sink_ends_the_stream_with_its_error(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    seen: list[TapRecord] = []

    def sink(record: TapRecord) -> None:
        seen.append(record)
        if len(seen) > 40:
            raise OSError(28, "No space left on device")

    async with simulated(tmp_path, SimulatedSensorOptions()) as (_, sensor, factory):
        link = Link(
            sensor.options.address, client_factory=factory, host_clock_ns=loop_clock, packet_sink=sink
        )

        async def stream() -> None:
            async with link:
                async for _ in link.blocks():
                    pass

        with pytest.raises(OSError, match="No space left"):
            await stream()


def test_one_lost_packet_of_the_streaming_default_is_bridged_not_split() -> None:
    # A lost notification must not split the run (a split costs the step whose contact fell into the hole):
    # the streaming default is the most samples whose loss stays within the gap policy's bridge.
    from processing.pipeline.gaps import GapPolicy

    bridge_s = GapPolicy().max_bridge_s
    assert SPP / CONFIG.sample_rate_hz <= bridge_s
    assert (SPP + 1) / CONFIG.sample_rate_hz > bridge_s
