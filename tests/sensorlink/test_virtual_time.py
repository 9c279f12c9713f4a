"""The virtual event-loop clock of conftest.py: what link tests on it may rely on."""

from __future__ import annotations

import asyncio
import time

import pytest

from sensorlink.link import HostClock

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])


@VIRTUAL_TIME
async def test_an_hour_of_sleeping_takes_no_real_time_and_timers_fire_in_order(loop_clock: HostClock) -> None:
    loop = asyncio.get_running_loop()
    start_real_s = time.monotonic()
    start_virtual_s = loop.time()
    fired: list[tuple[str, float]] = []

    async def sleeper(name: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        fired.append((name, loop.time() - start_virtual_s))

    await asyncio.gather(sleeper("late", 3600.0), sleeper("early", 0.015), sleeper("middle", 60.0))
    assert [name for name, _ in fired] == ["early", "middle", "late"]
    assert [at_s for _, at_s in fired] == pytest.approx([0.015, 60.0, 3600.0], abs=1e-9)
    assert loop_clock() == pytest.approx(round((start_virtual_s + 3600.0) * 1e9), abs=1)
    assert time.monotonic() - start_real_s < 1.0


@VIRTUAL_TIME
async def test_timeouts_expire_in_virtual_seconds() -> None:
    loop = asyncio.get_running_loop()
    start_s = loop.time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(15.0):
            await asyncio.Event().wait()
    assert loop.time() - start_s == pytest.approx(15.0)


@VIRTUAL_TIME
async def test_the_clock_stands_still_while_a_thread_works() -> None:
    # A thread's work takes real time the virtual clock cannot skip: a timeout must not expire meanwhile.
    loop = asyncio.get_running_loop()
    start_s = loop.time()
    async with asyncio.timeout(1.0):
        await asyncio.to_thread(time.sleep, 0.2)
    assert loop.time() - start_s < 1.0


async def test_other_tests_keep_asyncio_s_real_clock() -> None:
    loop = asyncio.get_running_loop()
    start_real_s = time.monotonic()
    start_s = loop.time()
    await asyncio.sleep(0.05)
    assert loop.time() - start_s >= 0.05
    assert time.monotonic() - start_real_s >= 0.05
