"""The link against the simulated sensor on a virtual Bumble link: the issue's "Must show" cases.

Every test runs the real path: bleak's BleakClient with the Bumble backend, the simulated sensor implementing
the firmware spec, and `sensorlink.link.Link` decoding, tracking and mapping clocks. Long and timing-sensitive
cases run at true speed on the virtual event-loop clock (`VIRTUAL_TIME`, see conftest.py): deterministic, and
faster than any time scale. The others run time-scaled in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient
from bleak.backends.device import BLEDevice

from processing.samples import ImuSamples
from sensorlink.blocks import SampleBlock
from sensorlink.bumble_backend import BumbleAdapter, BumbleClient, open_adapter
from sensorlink.errors import ConnectFailed, LinkLost, SensorlinkError, UnsupportedFirmware
from sensorlink.link import STREAMING_CONFIG, ClientFactory, HostClock, Link, LinkOptions
from sensorlink.protocol import PROFILE, ControlRequest, ImuPacket
from sensorlink.simsensor import (
    FaultPlan,
    LinkDrop,
    PacketFate,
    SimulatedSensor,
    SimulatedSensorOptions,
    start_simulated_sensor,
)

RATE_HZ = 208
# Run on the virtual event-loop clock of tests/sensorlink/conftest.py; the link's host clock is then the
# `loop_clock` fixture (the loop's clock), which is the simulated sensor's true time at time scale 1.
VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])


def scaled_clock(time_scale: float) -> Callable[[], int]:
    """The host clock as the simulated sensor sees true time: loop time times the time scale."""
    return lambda: int(time.monotonic_ns() * time_scale)


@asynccontextmanager
async def simulated(
    tmp_path: Path, options: SimulatedSensorOptions
) -> AsyncIterator[tuple[BumbleAdapter, SimulatedSensor, ClientFactory]]:
    async def factory(link: object) -> SimulatedSensor:
        return await start_simulated_sensor(link, options)  # type: ignore[arg-type]

    async with open_adapter(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[factory]
    ) as adapter:

        def client_factory(
            device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]
        ) -> BleakClient:
            return BleakClient(device, on_disconnect, backend=BumbleClient, bumble_adapter=adapter)

        sensor = adapter.peripherals[0]
        assert isinstance(sensor, SimulatedSensor)
        yield adapter, sensor, client_factory


async def collect(link: Link, *, samples: int) -> list[SampleBlock]:
    blocks: list[SampleBlock] = []
    total = 0
    async for block in link.blocks():
        blocks.append(block)
        total += len(block)
        if total >= samples:
            break
    return blocks


def sent_samples(sensor: SimulatedSensor, config: object, last_packet_index: int) -> tuple[np.ndarray, int]:
    """(decoded acc+gyr of SENT packets, undelivered sample count) up to the given packet index."""
    records = [r for r in sensor.log.records if r.packet_index <= last_packet_index]
    sent = [r for r in records if r.fate is PacketFate.SENT]
    undelivered = sum(r.raw.shape[0] for r in records if r.fate is not PacketFate.SENT)
    decoded = [np.hstack(ImuPacket(r.seq, r.sensor_time_us, r.flags, r.raw).decode(config)) for r in sent]  # type: ignore[arg-type]
    return np.vstack(decoded), undelivered


@VIRTUAL_TIME
async def test_60_s_at_208_hz_every_sample_arrives_once_in_order_equal_to_what_was_sent(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    async with simulated(tmp_path, SimulatedSensorOptions()) as (_, sensor, factory):
        link = Link(sensor.options.address, client_factory=factory, host_clock_ns=loop_clock)
        async with link:
            blocks = await collect(link, samples=60 * RATE_HZ)
            config = link.config
    samples = ImuSamples.concatenate([b.samples for b in blocks])
    assert samples.gyr_dps is not None
    received = np.hstack([samples.acc_mps2, samples.gyr_dps])
    last_index = blocks[-1].first_sample_index // config.samples_per_packet
    expected, undelivered = sent_samples(sensor, config, last_index)
    assert undelivered == 0
    assert sum(b.lost_samples_before for b in blocks) == 0
    assert len(samples) >= 60 * RATE_HZ
    np.testing.assert_array_equal(received, expected)  # exact: same counts, same scale factors
    assert [b.first_sample_index for b in blocks] == list(range(0, len(samples), config.samples_per_packet))
    assert np.all(np.diff(samples.t_s) > 0)
    # One sample period on the host time base (the sensor runs without drift here).
    assert np.median(np.diff(samples.t_s)) == pytest.approx(1 / RATE_HZ, rel=1e-3)


@VIRTUAL_TIME
async def test_a_3_s_link_drop_reconnects_by_itself_and_reports_exactly_the_samples_not_delivered(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    options = SimulatedSensorOptions(faults=FaultPlan(link_drops=(LinkDrop(at_s=8, duration_s=3),)))
    async with simulated(tmp_path, options) as (_, sensor, factory):
        link = Link(sensor.options.address, client_factory=factory, host_clock_ns=loop_clock)
        async with link:
            blocks = await collect(link, samples=20 * RATE_HZ)
            config = link.config
            counters = link.counters
    gaps = [b for b in blocks if b.lost_samples_before]
    last_index = blocks[-1].first_sample_index // config.samples_per_packet
    _, undelivered = sent_samples(sensor, config, last_index)
    assert len(gaps) == 1
    assert gaps[0].lost_samples_before == undelivered
    # At least the 3 s the sensor was away, plus what it took to reconnect.
    assert undelivered >= 3 * RATE_HZ
    assert counters.reconnects == 1
    assert counters.samples_lost == undelivered
    indices = [b.first_sample_index for b in blocks]
    assert indices == sorted(indices)
    assert (
        gaps[0].first_sample_index - gaps[0].lost_samples_before
        == indices[indices.index(gaps[0].first_sample_index) - 1] + config.samples_per_packet
    )


async def test_random_bytes_in_notifications_are_counted_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scale = 20.0
    faults = FaultPlan(corrupted_seqs=frozenset({3, 4}), duplicated_seqs=frozenset({6}))
    rng = np.random.default_rng(7)
    async with simulated(tmp_path, SimulatedSensorOptions(time_scale=scale, faults=faults)) as (
        _,
        sensor,
        factory,
    ):
        link = Link(sensor.options.address, client_factory=factory, host_clock_ns=scaled_clock(scale))
        async with link:
            delivered = 0
            async for block in link.blocks():
                delivered += len(block)
                # Garbage on the real notification path, between good packets.
                for _ in range(5):
                    link._on_imu_data(
                        bytearray(rng.integers(0, 256, int(rng.integers(0, 300))).astype(np.uint8))
                    )
                if delivered >= 5 * RATE_HZ:
                    break
            counters = link.counters
    assert counters.packets_malformed >= 2  # the two corrupted packets, plus garbage that fails to decode
    assert counters.packets_duplicate >= 1
    assert counters.packets_lost >= 2  # corrupted packets are lost samples, reported as such
    assert "skipped packet" in caplog.text


@VIRTUAL_TIME
@pytest.mark.parametrize(
    ("rate_hz", "connection_interval_s"), [(52, 0.030), (208, 0.015), (208, 0.050)], ids=str
)
async def test_50_ppm_of_sensor_clock_drift_is_estimated_within_5_ppm_over_10_minutes(
    tmp_path: Path, loop_clock: HostClock, rate_hz: int, connection_interval_s: float
) -> None:
    # Arrivals as on a real BLE link: only at connection events, 5 % of events not acknowledged (the packet
    # waits one more interval, or several). The virtual clock adds no host jitter, so the run is exact and
    # the same every time; the radio model's seed makes the jitter itself reproducible.
    options = SimulatedSensorOptions(
        faults=FaultPlan(drift_ppm=50.0),
        connection_interval_s=connection_interval_s,
        connection_event_loss_probability=0.05,
        radio_seed=rate_hz,
    )
    link_options = LinkOptions(config=replace(STREAMING_CONFIG, sample_rate_hz=rate_hz))
    async with simulated(tmp_path, options) as (_, sensor, factory):
        link = Link(
            sensor.options.address, client_factory=factory, options=link_options, host_clock_ns=loop_clock
        )
        async with link:
            await collect(link, samples=600 * rate_hz)
            estimate = link.clock.estimate()
    assert estimate is not None
    assert estimate.span_s > 580
    assert estimate.drift_ppm == pytest.approx(50.0, abs=5.0)


async def test_unknown_firmware_is_refused_with_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    options = SimulatedSensorOptions(time_scale=20.0, faults=FaultPlan(firmware_revision="2.1.0"))
    async with simulated(tmp_path, options) as (_, sensor, factory):
        with pytest.raises(UnsupportedFirmware, match=r"2\.1\.0.*posture supports 1\.x.*update posture"):
            async with Link(sensor.options.address, client_factory=factory):
                pass


@VIRTUAL_TIME
async def test_a_sensor_out_of_range_longer_than_the_reconnect_budget_ends_the_stream_with_link_lost(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    options = SimulatedSensorOptions(faults=FaultPlan(link_drops=(LinkDrop(at_s=4, duration_s=600),)))
    link_options = LinkOptions(reconnect_budget_s=1.0, connect_timeout_s=0.5)
    async with simulated(tmp_path, options) as (_, sensor, factory):
        link = Link(
            sensor.options.address,
            client_factory=factory,
            options=link_options,
            host_clock_ns=loop_clock,
        )
        received: list[int] = []

        async def consume() -> None:
            async for block in link.blocks():
                received.append(len(block))

        async with link:
            with pytest.raises(LinkLost, match="could not reconnect") as info:
                await consume()
    assert isinstance(info.value, SensorlinkError)
    assert info.value.samples_received == sum(received) > 0


async def test_an_absent_sensor_fails_to_connect_after_the_retries(tmp_path: Path) -> None:
    async with simulated(tmp_path, SimulatedSensorOptions(time_scale=20.0)) as (_, _sensor, factory):
        sleeps: list[float] = []

        async def no_sleep(delay_s: float) -> None:
            sleeps.append(delay_s)

        link = Link(
            "D0:D0:D0:D0:D0:D0",
            client_factory=factory,
            options=LinkOptions(connect_attempts=3, connect_timeout_s=0.3),
            sleep=no_sleep,
            jitter=lambda: 0.0,
        )
        with pytest.raises(ConnectFailed, match="after 3 attempts"):
            async with link:
                pass
    assert sleeps == [0.25, 0.5]


async def test_a_session_left_running_by_a_crashed_client_is_stopped_and_a_new_one_started(
    tmp_path: Path,
) -> None:
    scale = 20.0
    async with simulated(tmp_path, SimulatedSensorOptions(time_scale=scale)) as (_, sensor, factory):
        crashed = factory(sensor.options.address, lambda _client: None)
        await crashed.connect()
        await crashed.start_notify(PROFILE.gatt.control_point_uuid, lambda _c, _d: None)
        await crashed.write_gatt_char(
            PROFILE.gatt.control_point_uuid, bytes(ControlRequest.start()), response=True
        )
        await crashed.disconnect()  # no STOP: the sensor keeps its session running
        assert sensor.core.streaming
        link = Link(sensor.options.address, client_factory=factory, host_clock_ns=scaled_clock(scale))
        async with link:
            blocks = await collect(link, samples=RATE_HZ)
    assert blocks[0].first_sample_index == 0
    assert sum(b.lost_samples_before for b in blocks) == 0


class _LosesOneCancellation(BumbleClient):
    """A client whose control-point write loses a cancellation, as Bumble's GATT client does on Python 3.11.

    Bumble waits for an ATT response with `asyncio.wait_for`, which on 3.11 returns the response instead of
    raising `CancelledError` when the response and the cancellation arrive in the same loop turn. In
    `posture record` that turn comes when the last wanted packet and the write response of a TIME_SYNC arrive
    together (the run that hung for 13 minutes). Armed, the next write swallows the cancellation that lands
    while the (already answered) request is still in flight.
    """

    armed = False
    in_flight: asyncio.Event

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        await super().write_gatt_char(characteristic, data, response)
        if type(self).armed and characteristic.uuid == PROFILE.gatt.control_point_uuid:
            type(self).armed = False
            type(self).in_flight.set()
            with contextlib.suppress(asyncio.CancelledError):  # what 3.11's wait_for does
                await asyncio.sleep(0.5)


@VIRTUAL_TIME
async def test_closing_the_link_returns_and_stops_the_sensor_even_when_a_cancellation_is_lost(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    _LosesOneCancellation.in_flight = asyncio.Event()
    async with simulated(tmp_path, SimulatedSensorOptions()) as (adapter, sensor, _):

        def factory(device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]) -> BleakClient:
            return BleakClient(device, on_disconnect, backend=_LosesOneCancellation, bumble_adapter=adapter)

        options = LinkOptions(time_sync_interval_s=0.5)
        link = Link(sensor.options.address, client_factory=factory, options=options, host_clock_ns=loop_clock)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(60.0):  # virtual seconds; before the fix the exit never returned
            async with link:
                await collect(link, samples=RATE_HZ)
                _LosesOneCancellation.armed = True
                await _LosesOneCancellation.in_flight.wait()  # housekeeping's TIME_SYNC is in its write
                closing_at_s = loop.time()
        assert loop.time() - closing_at_s <= 2 * options.command_timeout_s
        assert not sensor.core.streaming  # STOP was still sent
