"""Shared helpers: hand-made running signals with known contacts, and short simulated runs levelled with
truth."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pytest

from processing.samples import STANDARD_GRAVITY_MPS2
from processing.simulation import Scenario, scenario_by_name, simulate

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SyntheticRun:
    acc_mps2: FloatArray
    ic_s: FloatArray
    to_s: FloatArray
    sampling_rate_hz: float


def half_sine_running(
    sampling_rate_hz: float, *, step_s: float = 0.35, contact_s: float = 0.22, n_steps: int = 30
) -> SyntheticRun:
    """Vertical specific force of spring-mass running: 0 in flight, a half-sine in contact carrying 1 g per
    step.

    The input starts and ends in flight (a window cut out of a run).
    Contacts start at non-integer sample positions so that sample picking would be off by up to one sample.
    """
    fs = sampling_rate_hz
    t0 = 1.0 + 0.37 / fs
    ic = t0 + step_s * np.arange(n_steps) + 0.004 * np.sin(np.arange(n_steps))
    to = ic + contact_s
    duration = float(to[-1] + 0.1)
    t = np.arange(int(duration * fs)) / fs
    amplitude = np.pi * STANDARD_GRAVITY_MPS2 * step_s / (2.0 * contact_s)
    vz = np.zeros_like(t)
    for a, b in zip(ic, to, strict=True):
        inside = (t >= a) & (t < b)
        vz[inside] += amplitude * np.sin(np.pi * (t[inside] - a) / contact_s)
    acc = np.zeros((t.size, 3))
    acc[:, 2] = vz
    return SyntheticRun(acc, ic, to, fs)


@dataclass(frozen=True)
class LevelledRun:
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    sampling_rate_hz: float
    t0_s: float
    truth: object


def levelled(scenario: Scenario) -> LevelledRun:
    """Simulate and rotate into the body frame with the truth mounting (the pipeline's job, done exactly)."""
    run = simulate(scenario)
    rot = run.truth.mounting_rotation
    assert run.samples.gyr_dps is not None
    return LevelledRun(
        acc_mps2=run.samples.acc_mps2 @ rot.T,
        gyr_dps=run.samples.gyr_dps @ rot.T,
        sampling_rate_hz=run.sampling_rate_hz,
        t0_s=float(run.samples.t_s[0]),
        truth=run.truth,
    )


@pytest.fixture(scope="session")
def short_suite() -> dict[str, LevelledRun]:
    """A few representative suite scenarios, shortened to 30 s of running to keep the tests fast (the walking
    one keeps its length: its two transitions weigh on F1 in proportion)."""
    names = ("slow_jog_52hz", "fast_6mps_416hz", "upside_down_clip", "track_turns")
    runs = {name: levelled(replace(scenario_by_name(name), duration_s=30.0)) for name in names}
    runs["walk_warmup_cooldown"] = levelled(scenario_by_name("walk_warmup_cooldown"))
    return runs
