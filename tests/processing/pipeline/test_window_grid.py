"""A step's numbers do not depend on the window grid.

The streaming processor cuts a recording into windows on a fixed grid of absolute samples (`window_hop_s`)
and a step is committed either inside a window's core or, as the core's last step, by the next window. The
same recording analysed on another grid (the hop changed by a fraction, so every step falls elsewhere in its
window) must give the same steps and the same contact times (walking ones too, whose toe-off comes after
the next contact): one rule for a toe-off, whichever window commits it.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from processing.pipeline import PipelineParams, analyze
from processing.simulation import Scenario, SimulatedRun, simulate
from processing.steps import StepMetrics

#: Hops whose grids put the steps at different places of their windows (4 s is the default; 5 s puts the
#: first contact after the 5 s standing start at the end of the first window's core).
HOPS_S = (4.0, 4.6, 5.0)


@cache
def recording() -> SimulatedRun:
    # standing start, walking warm-up and cool-down: running steps, walking steps (with double support)
    # and the transitions between them
    return simulate(
        Scenario(
            name="grid",
            seed=5,
            sampling_rate_hz=104.0,
            duration_s=24.0,
            warmup_walk_s=8.0,
            cooldown_walk_s=8.0,
            acc_noise_mps2=0.015,
            gyr_noise_dps=0.07,
        )
    )


@cache
def steps(hop_s: float) -> tuple[StepMetrics, ...]:
    run = recording()
    params = PipelineParams(window_hop_s=hop_s)
    return analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz, params=params).steps


@pytest.mark.parametrize("hop_s", HOPS_S[1:])
def test_another_window_grid_gives_the_same_contact_times(hop_s: float) -> None:
    reference, shifted = steps(HOPS_S[0]), steps(hop_s)
    assert [s.t_ic_s for s in shifted] == pytest.approx([s.t_ic_s for s in reference], abs=1e-9)
    assert any(s.is_running for s in reference)
    assert any(not s.is_running for s in reference)
    for a, b in zip(reference, shifted, strict=True):
        assert math.isnan(a.contact_time_s) == math.isnan(b.contact_time_s), a.t_ic_s
        if not math.isnan(a.contact_time_s):
            assert b.contact_time_s == pytest.approx(a.contact_time_s, abs=1e-3), a.t_ic_s
