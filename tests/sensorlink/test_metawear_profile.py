"""The MetaMotion profile against the simulated MetaWear board on the virtual Bumble link.

What the issue asks of a device without a clock or counter: found by a scan, paired, streamed for ten
simulated minutes at its highest rate with the fault plan of our own simulated sensor (lost notifications,
arrival jitter, clock drift); loss reported where it cannot be checked, against the board's sent log; sample
times from the host clock against the simulator's truth, with the error stated; hostile notifications
counted, never a crash; bad settings one line.

Time: these tests run on the virtual event-loop clock (tests/sensorlink/conftest.py) with the board at time
scale 1, which plays the same role as a high time scale (ten simulated minutes take seconds) without
multiplying the host's own scheduling jitter by the scale: the only arrival jitter is the one injected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from bumble.gatt import Service
from hypothesis import given, settings
from hypothesis import strategies as st

from posture.sensors import pair_with
from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.blocks import SampleBlock
from sensorlink.bonds import BondStore
from sensorlink.errors import InvalidConfiguration, MalformedPacket
from sensorlink.link import HostClock, Link, LinkOptions
from sensorlink.profile import DecodedPacket, StreamSettings
from sensorlink.profiles.metawear import METAMOTION
from sensorlink.profiles.metawear_protocol import (
    AccConfig,
    Chip,
    GyroConfig,
    Module,
    ModuleInfo,
    MotionData,
    quantise,
)
from sensorlink.scan import BleBackend, open_ble_backend, scan_for_sensors
from sensorlink.simsensor.core import FaultPlan, LinkDrop
from sensorlink.simsensor.sim_metawear import SimulatedMetaMotion, SimulatedMetaMotionRL, SimulatedMetaMotionS
from sensorlink.simsensor.vendor import (
    NotificationFate,
    SampleChunk,
    SimulatedDeviceOptions,
    concatenate_chunks,
)

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])
HIGHEST = METAMOTION.default_settings  # 200 Hz, packed: the highest rate the profile streams


@asynccontextmanager
async def on_the_virtual_link(
    tmp_path: Path, board: type[SimulatedMetaMotion], options: SimulatedDeviceOptions
) -> AsyncIterator[tuple[BleBackend, SimulatedMetaMotion]]:
    """The `sim` adapter (what `--adapter sim:metamotion` opens) with a simulated board on it."""

    async def factory(link: object) -> SimulatedMetaMotion:
        return await board.start(link, options)  # type: ignore[arg-type]

    async with open_ble_backend(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[factory]
    ) as backend:
        yield backend, backend.simulated[0]  # type: ignore[misc]


async def collect(link: Link, samples: int) -> list[SampleBlock]:
    blocks: list[SampleBlock] = []
    received = 0
    async with link:
        async for block in link.blocks():
            blocks.append(block)
            received += len(block)
            if received >= samples:
                break
    return blocks


@dataclass(frozen=True)
class AgainstTruth:
    """Delivered samples matched to what the board measured (by their exact counts, in order).

    Attributes
    ----------
    matched : int
        Delivered samples that are, in order and once each, samples the board took.
    unmatched : int
        Delivered samples that are not (must be 0).
    missing : int
        Samples the board took between the first and last delivered one that never came out (the loss).
    error_ms : array
        Host-clock sample time minus the true instant (on the same loop clock), per matched sample.
    true_s : array
        The true instant of each matched sample, seconds since the board powered on.
    """

    matched: int
    unmatched: int
    missing: int
    error_ms: np.ndarray
    true_s: np.ndarray


def against_truth(blocks: list[SampleBlock], board: SimulatedMetaMotion) -> AgainstTruth:
    """Match each delivered sample to the board's sent log by its six raw counts (noise makes them unique).

    The board's streams (one per connection) are concatenated in order; `missing` then also counts what a
    link drop took, between streams.
    """
    acc, gyr, true_s = concatenate_chunks(list(board.log.chunks))
    acc_scale = board.acc_config.lsb_per_g / STANDARD_GRAVITY_MPS2
    gyr_scale = board.gyro_config.lsb_per_dps
    sent = np.hstack([quantise(acc, acc_scale), quantise(gyr, gyr_scale)])
    where: dict[bytes, list[int]] = {}
    for i, row in enumerate(sent):
        where.setdefault(row.tobytes(), []).append(i)
    got_acc = np.vstack([b.samples.acc_mps2 for b in blocks])
    got_gyr = np.vstack([b.samples.gyr_dps for b in blocks])  # type: ignore[misc]
    got = np.hstack([np.rint(got_acc * acc_scale), np.rint(got_gyr * gyr_scale)]).astype(np.int16)
    t_s = np.concatenate([b.samples.t_s for b in blocks])
    index, rows, previous = [], [], -1
    for k, row in enumerate(got):
        later = [i for i in where.get(row.tobytes(), []) if i > previous]
        if later:
            previous = later[0]
            index.append(previous)
            rows.append(k)
    matched = np.array(index)
    truth_s = np.array([board.loop_time_for(t) for t in true_s[matched]])
    error_ms = (t_s[rows] - truth_s) * 1e3
    return AgainstTruth(
        matched=matched.size,
        unmatched=len(got) - matched.size,
        missing=int(matched[-1] - matched[0] + 1 - matched.size),
        error_ms=error_ms,
        true_s=true_s[matched],
    )


# --- ten simulated minutes ----------------------------------------------------------------------------------


@VIRTUAL_TIME
async def test_found_paired_and_streamed_ten_minutes_at_200_hz_with_loss_and_host_clock_error_stated(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    # 2 % of notifications lost, up to 5 ms of extra arrival delay, a 60 ppm fast IMU oscillator, and 2 % of
    # connection events missed (the default radio model): every notification waits for a connection event.
    faults = FaultPlan(loss_probability=0.02, arrival_jitter_s=0.005, drift_ppm=60.0, seed=7)
    options = SimulatedDeviceOptions(faults=faults, radio_seed=3)
    async with on_the_virtual_link(tmp_path, SimulatedMetaMotionS, options) as (backend, board):
        found = await scan_for_sensors(backend, timeout_s=1.0)
        assert [(f.address, f.profile.kind, f.name) for f in found] == [
            (board.address, "metamotion", "MetaWear")
        ]
        bond = await pair_with(backend, found[0], BondStore(tmp_path / "bonds.json"))
        assert (bond.address, bond.profile) == (board.address, "metamotion")
        link = Link(
            bond.address,
            client_factory=backend.client_factory,
            profile=METAMOTION,
            options=LinkOptions(config=HIGHEST),
            host_clock_ns=loop_clock,
        )
        blocks = await collect(link, 10 * 60 * HIGHEST.sample_rate_hz)
        granted_s = board.granted_interval_s
        truth = against_truth(blocks, board)
        lost_notifications = board.log.notification_count(NotificationFate.FAULT_LOST)
    counters = link.counters
    abs_error_ms = np.abs(truth.error_ms)
    settled = truth.true_s > truth.true_s[0] + 60.0  # after the first minute of fitting
    print(
        f"\nMetaMotionS 10 min at 200 Hz: {truth.matched} samples delivered, {truth.unmatched} unmatched; "
        f"{lost_notifications} of {board.log.notification_count(*NotificationFate)} notifications lost; "
        f"samples missing {truth.missing}, reported lost {counters.samples_lost_inferred}; host-clock sample "
        f"time error: median {np.median(truth.error_ms):.2f} ms, "
        f"median |e| {np.median(abs_error_ms):.2f} ms, "
        f"p99 |e| {np.percentile(abs_error_ms, 99):.2f} ms (after the first minute "
        f"{np.percentile(abs_error_ms[settled], 99):.2f} ms), max |e| {np.max(abs_error_ms):.2f} ms"
    )
    # The central granted the interval the board asked for.
    assert granted_s == pytest.approx(0.00875)
    # Every delivered sample is one the board measured, in order, once: no wrong acc/gyro pairs.
    assert truth.unmatched == 0
    assert truth.matched >= 10 * 60 * HIGHEST.sample_rate_hz
    # No counter to check loss against: it is reported, and here the report equals the sent log's truth.
    assert lost_notifications > 1000
    assert counters.samples_lost_inferred == truth.missing
    # Host-clock sample times against the simulator's truth (the goal: median under 2 ms).
    assert np.median(abs_error_ms) < 2.0
    assert np.percentile(abs_error_ms, 99) < 3.0


# --- the other chip, hostile notifications, battery -----------------------------------------------------


@VIRTUAL_TIME
async def test_a_bmi160_board_streams_100_hz_unpacked_bit_exact(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    settings_100 = StreamSettings(100, 8, 500, 1)
    async with on_the_virtual_link(tmp_path, SimulatedMetaMotionRL, SimulatedDeviceOptions()) as (
        backend,
        board,
    ):
        link = Link(
            board.address,
            client_factory=backend.client_factory,
            profile=METAMOTION,
            options=LinkOptions(config=settings_100),
            host_clock_ns=loop_clock,
        )
        blocks = await collect(link, 30 * 100)
        granted_s = board.granted_interval_s
        truth = against_truth(blocks, board)
        subscribed = dict(board.subscribed)
    assert (board.acc_config.range_g, board.gyro_config.range_dps) == (8, 500)
    assert subscribed == {}  # stopped at the end: nothing left subscribed
    assert granted_s == pytest.approx(0.00875)  # the interval the board asked for
    assert truth.unmatched == 0
    assert truth.matched >= 3000
    assert truth.missing == link.counters.samples_lost_inferred


@VIRTUAL_TIME
async def test_after_a_link_drop_the_stream_is_configured_and_started_again(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    faults = FaultPlan(link_drops=(LinkDrop(at_s=30.0, duration_s=3.0),), loss_probability=0.02, seed=2)
    async with on_the_virtual_link(tmp_path, SimulatedMetaMotionS, SimulatedDeviceOptions(faults=faults)) as (
        backend,
        board,
    ):
        link = Link(
            board.address,
            client_factory=backend.client_factory,
            profile=METAMOTION,
            options=LinkOptions(config=HIGHEST),
            host_clock_ns=loop_clock,
        )
        blocks = await collect(link, 60 * HIGHEST.sample_rate_hz)
        truth = against_truth(blocks, board)
        streams = {c.stream_index for c in board.log.chunks}
    assert link.counters.reconnects == 1
    assert streams == {0, 1}  # the board's stream stopped with the link and the profile started it again
    assert truth.unmatched == 0
    assert truth.matched >= 60 * HIGHEST.sample_rate_hz
    assert sum(b.samples.t_s[0] > 40.0 for b in blocks) > 0  # samples well after the drop


class HostileMetaMotion(SimulatedMetaMotionS):
    """A board that also sends a random notification after every 40th chunk of its first 40 s (never a valid
    data length), as the chunk's last notification."""

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        notifications = list(super().encode_chunk(chunk))
        index = chunk.first_sample // chunk.sample_count
        if notifications and index % 40 == 39 and chunk.true_time_s[0] < 40.0:
            rng = np.random.default_rng(index)
            length = int(rng.choice([0, 1, 2, 3, 7, 9, 13, 19, 21, 40]))
            notifications.append(rng.integers(0, 256, size=length, dtype=np.uint8).tobytes())
        return notifications


@VIRTUAL_TIME
async def test_malformed_truncated_and_random_notifications_are_counted_and_never_end_the_stream(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    cut = frozenset({100, 201, 302, 403, 1003})  # notifications sent with their last byte cut off
    options = SimulatedDeviceOptions(faults=FaultPlan(corrupted_seqs=cut))
    async with on_the_virtual_link(tmp_path, HostileMetaMotion, options) as (backend, board):
        link = Link(
            board.address,
            client_factory=backend.client_factory,
            profile=METAMOTION,
            options=LinkOptions(config=HIGHEST),
            host_clock_ns=loop_clock,
        )
        blocks = await collect(link, 60 * HIGHEST.sample_rate_hz)
        truth = against_truth(blocks, board)
        records = list(board.log.notifications)
    counters = link.counters
    # A chunk's notifications: accelerometer (part 0), gyroscope (1), random (2).
    random_sent = sum(r.part == 2 and r.fate is NotificationFate.SENT for r in records)
    cut_data = sum(r.part < 2 and r.fate is NotificationFate.CORRUPTED for r in records)
    cut_random = sum(r.part == 2 and r.fate is NotificationFate.CORRUPTED for r in records)
    print(
        f"\nhostile: {random_sent} random, {cut_data} cut data and {cut_random} cut random notifications; "
        f"malformed counted {counters.packets_malformed}; samples delivered {truth.matched}, missing "
        f"{truth.missing}, inferred {counters.samples_lost_inferred}"
    )
    assert random_sent >= 30
    assert cut_data + cut_random == len(cut)
    assert counters.packets_malformed == random_sent + cut_data + cut_random
    assert truth.unmatched == 0
    assert truth.matched >= 60 * HIGHEST.sample_rate_hz
    # Each cut data notification takes its chunk (three 6-axis samples) with it, and that loss is reported.
    assert truth.missing == counters.samples_lost_inferred == 3 * cut_data


@VIRTUAL_TIME
@pytest.mark.parametrize("board_class", [SimulatedMetaMotionS, SimulatedMetaMotionRL])
async def test_module_discovery_tells_the_chip_and_the_settings_module_the_battery(
    tmp_path: Path, board_class: type[SimulatedMetaMotion]
) -> None:
    options = SimulatedDeviceOptions(battery_pct=64)
    async with on_the_virtual_link(tmp_path, board_class, options) as (backend, board):
        client = backend.client_factory(board.address, lambda _c: None)
        async with client:
            session = METAMOTION.session(client, command_timeout_s=2.0, on_status=lambda _s: None)
            revision = await session.check_device()
            battery_pct = await session.read_battery_pct()
    assert revision == board_class.firmware_revision
    assert session.chip is board_class.chip
    assert battery_pct == 64


# --- bad settings: one line each ------------------------------------------------------------------------


class NotAMetaWear(SimulatedMetaMotionS):
    """Advertises as a MetaWear but lacks the MetaWear service (another firmware)."""

    def build_services(self) -> list[Service]:
        (metawear,) = super().build_services()
        return [Service("0000fff0-0000-1000-8000-00805f9b34fb", list(metawear.characteristics))]


class MetaWearR(SimulatedMetaMotionS):
    """An older MetaWear R: an MMA8452Q accelerometer (implementation 0), no gyroscope."""

    module_infos: ClassVar[dict[int, ModuleInfo]] = {
        Module.ACCELEROMETER: ModuleInfo(Module.ACCELEROMETER, 0, 1),
        Module.SETTINGS: ModuleInfo(Module.SETTINGS, 0, 3),
    }


@VIRTUAL_TIME
@pytest.mark.parametrize(
    ("board_class", "config", "line"),
    [
        (
            SimulatedMetaMotionS,
            StreamSettings(400, 16, 1000, 3),
            "MbientLab MetaMotion does not sample at 400 Hz; it offers 25, 50, 100, 200 Hz",
        ),
        (
            NotAMetaWear,
            HIGHEST,
            "the device does not offer the MbientLab MetaMotion service(s) "
            "326a9000-85cb-9195-d9dd-464cfbbae75a: it is not a MbientLab MetaMotion or runs firmware "
            "without them",
        ),
        (
            MetaWearR,
            HIGHEST,
            "this MetaWear board's accelerometer has implementation id 0, neither a BMI160 (1) nor a BMI270 "
            "(4): posture supports the MetaMotionS and MetaMotionR/RL only",
        ),
    ],
)
async def test_bad_settings_a_missing_service_or_an_unknown_chip_are_one_clear_line(
    tmp_path: Path,
    loop_clock: HostClock,
    board_class: type[SimulatedMetaMotion],
    config: StreamSettings,
    line: str,
) -> None:
    async with on_the_virtual_link(tmp_path, board_class, SimulatedDeviceOptions()) as (backend, board):
        link = Link(
            board.address,
            client_factory=backend.client_factory,
            profile=METAMOTION,
            options=LinkOptions(config=config, connect_attempts=1),
            host_clock_ns=loop_clock,
        )
        with pytest.raises(InvalidConfiguration) as refused:
            async with link:
                pass
    assert str(refused.value) == line
    assert "\n" not in str(refused.value)


# --- the decoding alone ------------------------------------------------------------------------------------


def chunk_notifications(k: int, chip: Chip) -> tuple[bytes, bytes]:
    """Chunk k of a packed stream: accelerometer counts 10k.., gyroscope counts -(10k..)."""
    counts = (10 * k + np.arange(9, dtype=np.int16)).reshape(3, 3)
    return (
        MotionData(Module.ACCELEROMETER, True, counts).to_bytes(chip),
        MotionData(Module.GYRO, True, (-counts).astype(np.int16)).to_bytes(chip),
    )


@pytest.mark.parametrize("chip", list(Chip))
def test_a_board_that_sends_the_gyroscope_first_is_paired_and_each_lost_half_is_counted(chip: Chip) -> None:
    decoding = METAMOTION.decoding(HIGHEST)
    packets: list[DecodedPacket] = []
    for k in range(200):
        acc, gyr = chunk_notifications(k, chip)
        arrival_ns = 1_000_000_000 + k * 15_000_000 + (k * 7_919 % 5) * 1_000_000  # up to 4 ms late
        for data in (gyr, acc):  # this board sends the gyroscope's notification first
            if (k, data is acc) in {(50, True), (120, False)}:
                continue  # chunk 50 lost its accelerometer half, chunk 120 its gyroscope half
            packets.extend(decoding.decode(data, arrival_ns))
    chunks = emitted_chunks(packets, chip)
    assert np.array_equal(chunks, [k for k in range(chunks.max() + 1) if k not in (50, 120)])
    assert [p.samples_lost_before for p in packets if p.samples_lost_before] == [3, 3]
    t_s = np.concatenate([p.host_time_s for p in packets])
    assert np.all(np.diff(t_s) > 0)
    counts = decoding.counts
    assert (counts.acc_missing, counts.gyro_missing, counts.samples_lost_unseen) == (1, 1, 0)


def emitted_chunks(packets: list[DecodedPacket], chip: Chip) -> np.ndarray:
    """Chunk index of every emitted sample, after checking each sample's gyroscope half is its own."""
    lsb_per_g = AccConfig(chip, 200, HIGHEST.acc_range_g).lsb_per_g
    lsb_per_dps = GyroConfig(200, HIGHEST.gyr_range_dps).lsb_per_dps
    acc_counts = np.rint(np.vstack([p.acc_mps2 for p in packets]) * lsb_per_g / STANDARD_GRAVITY_MPS2)
    gyr_counts = np.rint(np.vstack([p.gyr_dps for p in packets]) * lsb_per_dps)  # type: ignore[misc]
    assert np.array_equal(gyr_counts, -acc_counts)  # every accelerometer sample with its own gyroscope sample
    return np.unique((acc_counts[:, 0] // 10).astype(int))


def test_a_host_stall_keeps_two_halves_together_and_a_lost_half_is_not_filled_from_the_next_chunk() -> None:
    decoding = METAMOTION.decoding(HIGHEST)
    period_ns = 15_000_000
    packets: list[DecodedPacket] = []
    for k in range(200):
        acc, gyr = chunk_notifications(k, Chip.BMI270)
        acc_ns = gyr_ns = 1_000_000_000 + k * period_ns
        if k == 60:
            gyr_ns += 11_000_000  # the host stalled 11 ms between the two deliveries
        if k == 101:
            acc = b""  # chunk 100's gyroscope half and chunk 101's accelerometer half are lost
        for data, at_ns in ((acc, acc_ns), (gyr if k != 100 else b"", gyr_ns)):
            if data:
                packets.extend(decoding.decode(data, at_ns))
    chunks = emitted_chunks(packets, Chip.BMI270)
    assert 60 in chunks
    assert np.array_equal(chunks, [k for k in range(chunks.max() + 1) if k not in (100, 101)])
    assert [p.samples_lost_before for p in packets if p.samples_lost_before] == [6]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=24), min_size=1, max_size=30), st.sampled_from([25, 200]))
def test_random_notifications_raise_only_malformed_packet(payloads: list[bytes], rate_hz: int) -> None:
    decoding = METAMOTION.decoding(StreamSettings(rate_hz, 16, 1000, 1))
    for i, payload in enumerate(payloads):
        with suppress(MalformedPacket):
            decoding.decode(payload, 10_000_000 * (i + 1))
