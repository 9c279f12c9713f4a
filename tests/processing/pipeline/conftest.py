"""Pipeline test helpers: the simulator's truth as an event source, to test the metric side on its own."""

from __future__ import annotations

import numpy as np
import pytest

from processing.gait_events.events import GaitEvents
from processing.simulation import SimulatedRun


class TruthEvents:
    """A `WindowEventDetector` that returns the simulator's true contacts inside the window."""

    def __init__(self, run: SimulatedRun) -> None:
        self.steps = run.truth.steps

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        s = self.steps
        inside = (s.t_ic_s >= t_s[0]) & (s.t_ic_s <= t_s[-1])
        n = int(inside.sum())
        return GaitEvents(
            ic_s=s.t_ic_s[inside],
            to_s=s.t_to_s[inside],
            side=s.side[inside],
            side_score=np.where(s.side[inside] == "L", 1.0, -1.0),
            bout_id=np.zeros(n, dtype=np.int64),
            activity=np.where(s.is_running[inside], "running", "walking"),
        )


@pytest.fixture
def truth_events() -> type[TruthEvents]:
    """The `TruthEvents` class (construct it with a simulated run)."""
    return TruthEvents
