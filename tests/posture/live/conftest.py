"""Live-run tests run links on the virtual event-loop clock, as the link tests do (see tests/sensorlink)."""

from __future__ import annotations

from tests.sensorlink.conftest import loop_clock, pytest_asyncio_loop_factories

__all__ = ["loop_clock", "pytest_asyncio_loop_factories"]
