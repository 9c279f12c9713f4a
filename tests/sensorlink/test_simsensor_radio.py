"""The simulated sensor's BLE timing (connection events, lost events) and its behaviour when it falls behind.

Radio cases run on the virtual event-loop clock (conftest.py), where an arrival time is exactly what the radio
model made it; the clock itself is checked here too. The falling-behind case needs real time: it is about the
event loop starving. It measures this process's CPU time, not wall-clock time: on a loaded machine the process
waits for a core between loop turns, and wall-clock gaps then say how busy the machine is, not whether the
sensor gives the loop a turn (a run beside two busy loops on 2 cores saw 45 ticks in 1.5 s where 50 were due).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import FrameType

import numpy as np
import pytest
from bleak import BleakClient
from bleak.backends.device import BLEDevice

from sensorlink.bumble_backend import BumbleClient, open_adapter
from sensorlink.link import HostClock, Link
from sensorlink.protocol import ImuPacket
from sensorlink.simsensor import PacketFate, SimulatedSensor, SimulatedSensorOptions, start_simulated_sensor

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])
RATE_HZ = 208


@asynccontextmanager
async def streaming(
    tmp_path: Path, options: SimulatedSensorOptions, host_clock_ns: HostClock | None = None
) -> AsyncIterator[tuple[SimulatedSensor, Link, list[tuple[float, bytes]]]]:
    """A connected, streaming link; the third item collects (sensor true time, payload) at every arrival."""

    async def factory(link: object) -> SimulatedSensor:
        return await start_simulated_sensor(link, options)  # type: ignore[arg-type]

    async with open_adapter(
        "sim", key_store_path=tmp_path / "keys.json", simulated_peripherals=[factory]
    ) as adapter:
        sensor = adapter.peripherals[0]
        assert isinstance(sensor, SimulatedSensor)

        def client_factory(
            device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]
        ) -> BleakClient:
            return BleakClient(device, on_disconnect, backend=BumbleClient, bumble_adapter=adapter)

        link = Link(sensor.options.address, client_factory=client_factory, host_clock_ns=host_clock_ns)
        arrivals: list[tuple[float, bytes]] = []
        receive = link._on_imu_data

        def stamped(data: bytearray) -> None:
            arrivals.append((sensor.true_time_s(), bytes(data)))
            receive(data)

        link._on_imu_data = stamped  # type: ignore[method-assign]
        async with link:
            yield sensor, link, arrivals


async def stream_for(link: Link, *, samples: int) -> None:
    total = 0
    async for block in link.blocks():
        total += len(block)
        if total >= samples:
            return


def delays_s(sensor: SimulatedSensor, arrivals: list[tuple[float, bytes]]) -> np.ndarray:
    """Arrival minus completion (true seconds) of every packet that arrived, matched by its bytes."""
    ready = {
        bytes(ImuPacket(record.seq, record.sensor_time_us, record.flags, record.raw)): record.ready_true_s
        for record in sensor.log.records
        if record.fate is PacketFate.SENT
    }
    return np.array([t - ready[payload] for t, payload in arrivals if payload in ready])


@VIRTUAL_TIME
async def test_notifications_leave_only_at_connection_events(tmp_path: Path, loop_clock: HostClock) -> None:
    interval_s = 0.030
    options = SimulatedSensorOptions(connection_interval_s=interval_s, connection_event_loss_probability=0.0)
    async with streaming(tmp_path, options, loop_clock) as (sensor, link, arrivals):
        await stream_for(link, samples=20 * RATE_HZ)
    times_s = np.array([t for t, _ in arrivals])
    events = (times_s - times_s[0]) / interval_s
    np.testing.assert_allclose(events, np.round(events), atol=1e-6)  # on the connection-event grid
    delays = delays_s(sensor, arrivals)
    assert len(delays) == len(arrivals) > 100
    # Never early, never later than one interval, and spread over the interval (quantised, not constant).
    assert delays.min() >= -1e-9
    assert delays.max() <= interval_s + 1e-9
    assert np.std(delays) > interval_s / 6


@VIRTUAL_TIME
async def test_lost_connection_events_delay_packets_by_whole_intervals_the_same_way_for_the_same_seed(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    interval_s = 0.015
    options = SimulatedSensorOptions(
        connection_interval_s=interval_s, connection_event_loss_probability=0.3, radio_seed=11
    )
    runs = []
    for run in range(2):
        async with streaming(tmp_path / str(run), options, loop_clock) as (sensor, link, arrivals):
            await stream_for(link, samples=30 * RATE_HZ)
        runs.append(delays_s(sensor, arrivals))
    first, second = runs
    assert len(first) > 100
    # About 30 % of packets wait at least one more interval; some wait several.
    late = np.mean(first > interval_s + 1e-9)
    assert 0.15 < late < 0.45
    assert first.max() > 2 * interval_s
    # Deterministic (seeded model, virtual clock), up to float rounding of the later start.
    np.testing.assert_allclose(first, second[: len(first)], rtol=0, atol=1e-9)


def test_the_connection_interval_is_checked_against_the_core_spec_range() -> None:
    with pytest.raises(ValueError, match=r"0\.0075\.\.4 s"):
        SimulatedSensorOptions(connection_interval_s=0.005)
    with pytest.raises(ValueError, match="connection_event_loss_probability"):
        SimulatedSensorOptions(connection_event_loss_probability=1.0)
    assert SimulatedSensorOptions(connection_interval_s=0).connection_interval_s == 0  # radio timing off


class _Frozen(Exception):
    """Raised by the watchdog alarm into whatever code holds the event loop."""


@contextmanager
def watchdog(after_cpu_s: float) -> Iterator[None]:
    """Raise `_Frozen` into the main thread after `after_cpu_s` of this process's CPU time, so a frozen loop
    fails the test instead of hanging the run (asyncio's own timeouts cannot fire while the loop is stuck).

    CPU time (ITIMER_PROF), not wall-clock time: a frozen loop burns CPU, while a process that merely waits
    for a core on a loaded machine does not, and must not fail for it.
    """

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise _Frozen

    previous = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, after_cpu_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


async def test_a_sensor_far_behind_its_pacing_slows_down_instead_of_freezing_the_event_loop(
    tmp_path: Path,
) -> None:
    # At time scale 5000 the sensor owes a million samples a second, far more than one process can carry.
    # It used to fall into ever larger catch-up batches without yielding, so nothing else ever ran again.
    # Gaps and the run's length are in CPU seconds of this process (see the module docstring).
    options = SimulatedSensorOptions(time_scale=5000.0)
    gaps_cpu_s: list[float] = []
    received = 0
    with watchdog(after_cpu_s=8.0):
        try:
            async with streaming(tmp_path, options) as (_, link, _arrivals):
                last = time.process_time()

                async def ticker() -> None:
                    nonlocal last
                    while True:
                        await asyncio.sleep(0.005)
                        now = time.process_time()
                        gaps_cpu_s.append(now - last)
                        last = now

                ticks = asyncio.create_task(ticker())
                started = time.process_time()
                async for block in link.blocks():
                    received += len(block)
                    if time.process_time() - started > 1.5:
                        break
                ticks.cancel()
                await asyncio.gather(ticks, return_exceptions=True)
        except _Frozen:
            pytest.fail(f"the event loop froze: {len(gaps_cpu_s)} ticks, {received} samples in 8 CPU s")
    assert received > 5 * RATE_HZ
    assert len(gaps_cpu_s) > 50
    assert max(gaps_cpu_s) < 1.0  # a turn for everyone else at least every CPU second (usually every few ms)
