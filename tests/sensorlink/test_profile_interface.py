"""The profile interface as vendor profiles need it: per-stream decoding, any timing, a registry.

The made-up "Stamp" vendor (`stamp_vendor.py`) has what Polar's and MetaWear's devices make a link do: no
packet counter, a nanosecond clock that stamps the LAST sample of a frame, frames of varying size, and the
accelerometer and gyroscope in separate notifications that its decoding merges. Its simulated device is a
`VendorPeripheral` on the real virtual Bumble link, with the fault plan of our own simulated sensor. If the
link, the decoder or the tracking still assumed our packets anywhere, these samples would not come through
exactly, once each, in order, with every lost one counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from bleak.backends.scanner import AdvertisementData
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorlink.blocks import SampleBlock
from sensorlink.decoder import PacketDecoder, StreamConfigured, TapRecord, replay
from sensorlink.errors import InvalidConfiguration, UnknownProfile
from sensorlink.link import HostClock, Link, LinkOptions
from sensorlink.profile import Capabilities, DecodedPacket, StreamSettings
from sensorlink.profiles import POSTURE_V1, profile_by_kind, profile_by_name, profile_for_advertisement
from sensorlink.scan import BleBackend, open_ble_backend, scan_for_sensors
from sensorlink.sequence import PacketVerdict, SampleTimeTracker
from sensorlink.simsensor.core import FaultPlan
from sensorlink.simsensor.vendor import SimulatedDeviceOptions, VendorPeripheral, concatenate_chunks
from tests.sensorlink.stamp_vendor import (
    INITIAL_DEVICE_TIME_NS,
    STAMP,
    STAMP_ACC,
    StampAccDevice,
    StampDevice,
    float32,
)

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])
RATE_HZ = 208
SETTINGS = StreamSettings(RATE_HZ, 16, 2000, 9)


@asynccontextmanager
async def on_the_virtual_link(
    tmp_path: Path, device: type[VendorPeripheral], options: SimulatedDeviceOptions
) -> AsyncIterator[tuple[BleBackend, VendorPeripheral]]:
    """The `sim` adapter (what `--adapter sim:KIND` opens) with a simulated vendor device on it."""

    async def factory(link: object) -> VendorPeripheral:
        return await device.start(link, options)  # type: ignore[arg-type]

    async with open_ble_backend(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[factory]
    ) as backend:
        yield backend, backend.simulated[0]  # type: ignore[misc]


async def collect(link: Link, samples: int) -> list[SampleBlock]:
    blocks: list[SampleBlock] = []
    async with link:
        async for block in link.blocks():
            blocks.append(block)
            if sum(len(b) for b in blocks) >= samples:
                break
    return blocks


# --- a vendor device over the virtual link ------------------------------------------------------------------


@VIRTUAL_TIME
async def test_a_device_clock_without_a_counter_gives_every_sample_once_in_order_and_counts_each_loss(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    # Notification 10 is chunk 5's accelerometer frame, 25 chunk 12's gyroscope frame: each loses its chunk.
    faults = FaultPlan(lost_seqs=frozenset({10, 25, 41}), drift_ppm=80.0)
    options = SimulatedDeviceOptions(faults=faults, initial_device_time_ns=INITIAL_DEVICE_TIME_NS)
    tapped: list[TapRecord] = []
    async with on_the_virtual_link(tmp_path, StampDevice, options) as (backend, device):
        link = Link(
            device.address,
            client_factory=backend.client_factory,
            profile=STAMP,
            options=LinkOptions(config=SETTINGS),
            host_clock_ns=loop_clock,
            packet_sink=tapped.append,
        )
        blocks = await collect(link, 120 * RATE_HZ)
        counters = link.counters
        log = device.log
        loop_time_for = device.loop_time_for
    delivered = log.delivered_chunks()[: len(blocks)]
    last_first = delivered[-1].first_sample
    lost = [c for c in log.chunks if c not in delivered and c.first_sample < last_first]
    # The faults took chunks 5, 12 and 20 (one frame each), nothing else.
    assert [c.first_sample for c in lost] == [log.chunks[k].first_sample for k in (5, 12, 20)]
    # Every delivered sample once and in order, exactly as the device measured it (through float32).
    acc_sent, gyr_sent, true_s = concatenate_chunks(delivered)
    np.testing.assert_array_equal(np.vstack([b.samples.acc_mps2 for b in blocks]), float32(acc_sent))
    np.testing.assert_array_equal(np.vstack([b.samples.gyr_dps for b in blocks]), float32(gyr_sent))  # type: ignore[misc]
    # Numbering counts the lost samples; each loss is counted where it happened, exactly.
    assert [b.first_sample_index for b in blocks] == [c.first_sample for c in delivered]
    assert [b.lost_samples_before for b in blocks if b.lost_samples_before] == [c.sample_count for c in lost]
    assert counters.samples_lost == sum(c.sample_count for c in lost)
    assert counters.samples_lost_inferred == 0
    # Sample times on the host clock: within one sample period of the truth once the drift is fitted.
    t_s = np.concatenate([b.samples.t_s for b in blocks])
    assert np.all(np.diff(t_s) > 0)
    truth_s = np.array([loop_time_for(t) for t in true_s])
    settled = true_s > 60.0
    error_s = (t_s - truth_s)[settled]
    assert np.max(np.abs(error_s - np.median(error_s))) < 1.0 / RATE_HZ
    # A replay of the tap rebuilds the decoding state and gives the same blocks, bit for bit.
    replayed = list(replay(tapped, PacketDecoder(STAMP)))[: len(blocks)]
    for r, b in zip(replayed, blocks, strict=True):
        np.testing.assert_array_equal(r.samples.t_s, b.samples.t_s)
        np.testing.assert_array_equal(r.samples.acc_mps2, b.samples.acc_mps2)
        assert (r.first_sample_index, r.lost_samples_before) == (b.first_sample_index, b.lost_samples_before)


@VIRTUAL_TIME
async def test_an_accelerometer_only_device_streams_with_no_gyroscope(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    options = SimulatedDeviceOptions(initial_device_time_ns=INITIAL_DEVICE_TIME_NS)
    async with on_the_virtual_link(tmp_path, StampAccDevice, options) as (backend, device):
        link = Link(
            device.address,
            client_factory=backend.client_factory,
            profile=STAMP_ACC,
            options=LinkOptions(config=SETTINGS),
            host_clock_ns=loop_clock,
        )
        blocks = await collect(link, 10 * RATE_HZ)
        delivered = device.log.delivered_chunks()[: len(blocks)]
    assert all(b.samples.gyr_dps is None for b in blocks)
    acc_sent, _, _ = concatenate_chunks(delivered)
    np.testing.assert_array_equal(np.vstack([b.samples.acc_mps2 for b in blocks]), float32(acc_sent))
    assert link.counters.samples_lost == 0


@VIRTUAL_TIME
async def test_a_rate_the_device_does_not_offer_is_one_line_listing_the_offered_ones(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    async with on_the_virtual_link(tmp_path, StampDevice, SimulatedDeviceOptions()) as (backend, device):
        link = Link(
            device.address,
            client_factory=backend.client_factory,
            profile=STAMP,
            options=LinkOptions(config=StreamSettings(100, 16, 2000, 9), connect_attempts=1),
            host_clock_ns=loop_clock,
        )
        with pytest.raises(InvalidConfiguration) as refused:
            async with link:
                pass
    assert str(refused.value) == "the stamp device does not sample at 100 Hz; it offers 52, 104, 208 Hz"


@VIRTUAL_TIME
async def test_a_device_without_the_profiles_service_is_one_clear_line(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    # An accelerometer-only Stamp has another service: the full profile refuses it before streaming.
    async with on_the_virtual_link(tmp_path, StampAccDevice, SimulatedDeviceOptions()) as (backend, device):
        link = Link(
            device.address,
            client_factory=backend.client_factory,
            profile=STAMP,
            options=LinkOptions(config=SETTINGS, connect_attempts=1),
            host_clock_ns=loop_clock,
        )
        with pytest.raises(InvalidConfiguration, match="does not offer the the stamp device service"):
            async with link:
                pass


@VIRTUAL_TIME
async def test_a_scan_names_each_device_by_the_profile_that_recognises_it(tmp_path: Path) -> None:
    async with on_the_virtual_link(tmp_path, StampDevice, SimulatedDeviceOptions()) as (backend, device):
        found = await scan_for_sensors(backend, timeout_s=1.0, profiles=(POSTURE_V1, STAMP_ACC, STAMP))
    assert [(f.address, f.profile.kind) for f in found] == [(device.address, "stamp")]


# --- the decoder with per-stream decodings (no BLE) ---------------------------------------------------------


def configured(after_packets: int = 0, *, new_tracking: bool = True) -> StreamConfigured:
    return StreamConfigured(after_packets, 0, SETTINGS, new_tracking=new_tracking, firmware_revision="x")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=120), min_size=1, max_size=12))
def test_random_notifications_to_a_vendor_decoding_are_counted_and_skipped_never_raised(
    payloads: list[bytes],
) -> None:
    decoder = PacketDecoder(STAMP)
    decoder.apply(configured())
    for i, payload in enumerate(payloads):
        decoder.feed(1_000_000 * (i + 1), payload)
    counters = decoder.counters
    assert counters.packets_received == len(payloads)
    assert counters.packets_malformed <= len(payloads)


class HostTimed:
    """A decoding without any device clock: it hands the link host-clock times and inferred losses."""

    def __init__(self, settings: StreamSettings) -> None:
        self._next_s = 100.0
        self._period_s = 1.0 / settings.sample_rate_hz

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        n, lost = data[0], data[1]
        self._next_s += lost * self._period_s
        times = self._next_s + np.arange(n, dtype=np.float64) * self._period_s
        self._next_s = float(times[-1]) + self._period_s
        acc = np.full((n, 3), float(data[2]))
        return (DecodedPacket(acc_mps2=acc, gyr_dps=None, host_time_s=times, samples_lost_before=lost),)


class HostTimedProfile:
    kind = name = "host-timed"
    counters = STAMP.counters

    def decoding(self, settings: StreamSettings) -> HostTimed:
        return HostTimed(settings)


def test_host_timed_packets_are_numbered_with_the_losses_their_decoding_infers() -> None:
    decoder = PacketDecoder(HostTimedProfile())  # type: ignore[arg-type]
    decoder.apply(configured())
    blocks = [b for p in (b"\x04\x00\x01", b"\x03\x05\x02", b"\x04\x00\x03") for b in decoder.feed(0, p)]
    assert [b.first_sample_index for b in blocks] == [0, 9, 12]
    assert [b.lost_samples_before for b in blocks] == [0, 5, 0]
    assert decoder.counters.samples_lost_inferred == 5
    assert decoder.counters.samples_lost == 0  # nothing counted exactly: the device numbers nothing
    assert decoder.counters.sample_loss_rate == pytest.approx(5 / 16)


def test_a_resumed_stream_keeps_its_decoding_and_a_new_one_starts_afresh() -> None:
    # An accelerometer frame waits for its gyroscope frame; a resume in between must not lose it.
    acc, gyr = StampDevice_frames(last_ns=INITIAL_DEVICE_TIME_NS)
    kept = PacketDecoder(STAMP)
    kept.apply(configured())
    assert kept.feed(1, acc) == []
    kept.apply(configured(1, new_tracking=False))
    assert len(kept.feed(2, gyr)) == 1
    fresh = PacketDecoder(STAMP)
    fresh.apply(configured())
    fresh.feed(1, acc)
    fresh.apply(configured(1, new_tracking=True))
    assert fresh.feed(2, gyr) == []  # the new stream's decoding never saw that accelerometer frame


def StampDevice_frames(last_ns: int) -> tuple[bytes, bytes]:
    from tests.sensorlink.stamp_vendor import ACC_FRAME, GYR_FRAME, frame

    values = np.arange(15, dtype=np.float64).reshape(5, 3)
    return frame(ACC_FRAME, last_ns, values), frame(GYR_FRAME, last_ns, -values)


# --- the pieces ---------------------------------------------------------------------------------------------


def test_sample_time_tracking_counts_lost_samples_and_drops_duplicates_and_late_packets() -> None:
    period_us = 1e6 / 200
    tracker = SampleTimeTracker(period_us, sensor_time_modulo_us=2**32)
    first = [tracker.observe(round(i * period_us), 10) for i in (0, 10)]
    lost_gap = tracker.observe(round(27 * period_us), 5)  # 7 samples (20..26) never came
    duplicate = tracker.observe(round(27 * period_us), 5)
    late = tracker.observe(round(20 * period_us), 7)  # the missing packet, after its gap was counted
    assert [d.first_sample_index for d in first] == [0, 10]
    assert (lost_gap.first_sample_index, lost_gap.samples_lost_before) == (27, 7)
    assert (duplicate.verdict, late.verdict) == (PacketVerdict.DUPLICATE, PacketVerdict.LATE)
    assert tracker.samples_lost == 7
    assert tracker.next_sample_index == 32


def test_sample_time_tracking_follows_a_device_rate_off_nominal_without_miscounting() -> None:
    # A device sampling 0.5 % slower than nominal, in frames of 60 samples: 0.3 periods off per frame.
    true_period_us = 1e6 / 52 * 1.005
    tracker = SampleTimeTracker(1e6 / 52, sensor_time_modulo_us=2**40)
    decisions = [tracker.observe(round(k * 60 * true_period_us), 60) for k in range(200)]
    assert tracker.samples_lost == 0
    assert [d.first_sample_index for d in decisions] == [60 * k for k in range(200)]
    assert tracker.period_us == pytest.approx(true_period_us, rel=1e-4)


def test_a_decoded_packet_says_how_it_is_timed_and_refuses_mixed_timing() -> None:
    acc = np.zeros((4, 3))
    assert DecodedPacket(acc_mps2=acc, gyr_dps=None, sensor_time_us=5).clock == "device"
    assert DecodedPacket(acc_mps2=acc, gyr_dps=None, host_time_s=np.arange(4.0)).clock == "host"
    with pytest.raises(ValueError, match="host_time_s is for packets without"):
        DecodedPacket(acc_mps2=acc, gyr_dps=None, seq=1, sensor_time_us=5, host_time_s=np.arange(4.0))
    with pytest.raises(ValueError, match="needs sensor_time_us"):
        DecodedPacket(acc_mps2=acc, gyr_dps=None)
    with pytest.raises(ValueError, match="inferred count"):
        DecodedPacket(acc_mps2=acc, gyr_dps=None, sensor_time_us=5, samples_lost_before=2)


def test_capabilities_refuse_settings_in_one_line_that_lists_what_the_device_offers() -> None:
    offers = Capabilities(sample_rates_hz=(26, 52, 104), acc_ranges_g=(2, 4, 8), gyr_ranges_dps=())
    offers.check(StreamSettings(52, 8, 250, 1), "Polar H10")  # no gyroscope: its range is not checked
    with pytest.raises(InvalidConfiguration) as refused:
        offers.check(StreamSettings(52, 16, 250, 1), "Polar H10")
    assert str(refused.value) == "Polar H10 has no accelerometer range of +-16 g; it offers 2, 4, 8 g"


def test_the_registry_finds_a_profile_by_kind_name_and_advertisement() -> None:
    assert profile_by_name("posture-v1") is POSTURE_V1  # what a session file records
    assert profile_by_name("posture") is POSTURE_V1  # what a bond records
    assert profile_by_kind("posture") is POSTURE_V1
    ours = AdvertisementData(
        local_name=None,
        manufacturer_data={},
        service_data={},
        service_uuids=[POSTURE_V1.discovery.service_uuids[0]],
        tx_power=None,
        rssi=-50,
        platform_data=(),
    )
    assert profile_for_advertisement(ours) is POSTURE_V1
    assert profile_for_advertisement(ours._replace(service_uuids=[])) is None
    with pytest.raises(UnknownProfile, match="posture-v1"):
        profile_by_name("garmin-pod")


@VIRTUAL_TIME
async def test_our_sensor_takes_the_same_random_loss_and_jitter_and_still_counts_every_lost_sample(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    from sensorlink.simsensor import PacketFate, SimulatedSensorOptions
    from tests.sensorlink.test_link import simulated

    faults = FaultPlan(loss_probability=0.03, arrival_jitter_s=0.005, seed=4)
    async with simulated(tmp_path, SimulatedSensorOptions(faults=faults)) as (_, sensor, factory):
        link = Link(sensor.options.address, client_factory=factory, host_clock_ns=loop_clock)
        blocks = await collect(link, 30 * RATE_HZ)
        counters = link.counters
        records = list(sensor.log.records)
    spp = blocks[0].samples.t_s.size
    last_seq = round(blocks[-1].first_sample_index / spp)
    lost = [r for r in records[:last_seq] if r.fate is PacketFate.FAULT_LOST]
    assert len(lost) > 10
    assert counters.samples_lost == len(lost) * spp
    assert np.all(np.diff(np.concatenate([b.samples.t_s for b in blocks])) > 0)
