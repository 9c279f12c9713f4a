"""Virtual event-loop time for link tests: `@pytest.mark.asyncio(loop_factories=["virtual_time"])`.

Everything on the virtual Bumble link is in-process (`bumble.link.LocalLink` delivers with `loop.call_soon`),
and the simulated sensor paces itself with `loop.time()` and `asyncio.sleep`. On an event loop whose clock
jumps to the next timer whenever nothing is ready, such a test no longer depends on how busy the machine is:
arrival times are exactly what the simulated sensor and its radio model make them, every run alike, and ten
simulated minutes take a few seconds of CPU. Timeouts (`asyncio.timeout`, `asyncio.wait_for`) read the same
clock, so they keep their meaning in simulated seconds.

Rules of the virtual clock (`VirtualTimeEventLoop`):

- Ready callbacks run first; only when none is ready does the clock advance, straight to the next timer.
- File descriptors are still polled (without waiting) on every turn, so the loop's self-pipe and any socket
  keep working.
- While work handed to a thread (`run_in_executor`, `asyncio.to_thread`) is in flight the clock stands still
  and the loop waits in real time for it: otherwise a timeout would expire while the thread is still busy.
- Nothing scheduled, nothing ready and nothing arriving within `DEADLOCK_WAIT_S` of real time is a deadlock:
  the loop raises instead of hanging the test run.

Tests that read a host clock must read this one: `Link(host_clock_ns=loop_clock_ns)`.

Deviation from the `looptime` package (which does the same as a pytest plugin): a loop class of our own,
passed to pytest-asyncio through its `pytest_asyncio_loop_factories` hook, so the loop of every other test is
untouched and no plugin patches loops behind pytest-asyncio's back.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar

import pytest

VIRTUAL_TIME = "virtual_time"
DEADLOCK_WAIT_S = 10.0

_T = TypeVar("_T")


class VirtualTimeDeadlock(RuntimeError):
    """The virtual-time loop has nothing to run, no timer and nothing arriving: the test would hang."""


class _FastForwardSelector:
    """Wraps the loop's selector: polls without blocking and advances the loop's virtual clock instead."""

    def __init__(self, selector: selectors.BaseSelector, loop: VirtualTimeEventLoop) -> None:
        self._selector = selector
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._selector.select(0)
        if events or timeout == 0:
            return events
        if self._loop.executor_jobs_in_flight:
            return self._selector.select(timeout)  # a thread is working: real time, the clock stands still
        if timeout is None:
            events = self._selector.select(DEADLOCK_WAIT_S)
            if not events:
                raise VirtualTimeDeadlock(
                    f"virtual-time loop idle for {DEADLOCK_WAIT_S} s of real time with no timer: a task "
                    "waits for something that never happens; add a timeout to find which"
                )
            return events
        self._loop.advance_s(timeout)
        return []


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose `time()` is virtual: it jumps to the next timer when no callback is ready.

    The clock starts at 0.0 s.
    """

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now_s = 0.0
        self.executor_jobs_in_flight = 0
        self._selector: Any = _FastForwardSelector(self._selector, self)

    def time(self) -> float:
        return self._virtual_now_s

    def advance_s(self, delta_s: float) -> None:
        """Move the clock forward (never back)."""
        if delta_s > 0:
            self._virtual_now_s += delta_s

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        future = super().run_in_executor(executor, func, *args)
        self.executor_jobs_in_flight += 1

        def finished(_future: asyncio.Future[_T]) -> None:
            self.executor_jobs_in_flight -= 1

        future.add_done_callback(finished)
        return future


def loop_clock_ns() -> int:
    """The running loop's clock in integer nanoseconds: the host clock of a virtual-time test."""
    return round(asyncio.get_running_loop().time() * 1e9)


@pytest.hookimpl
def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The virtual-time loop for tests that ask for it by name; asyncio's default loop for all others."""
    marker = item.get_closest_marker("asyncio")
    wanted = marker.kwargs.get("loop_factories", ()) if marker is not None else ()
    if VIRTUAL_TIME in wanted:
        return {VIRTUAL_TIME: VirtualTimeEventLoop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture
def loop_clock() -> Callable[[], int]:
    """`loop_clock_ns`, for tests that pass it as the link's host clock."""
    return loop_clock_ns
