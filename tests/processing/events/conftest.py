"""Synthetic runs for the event engine: alternating left and right running steps with chosen metrics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from processing.steps import StepMetrics

StrideFn = Callable[[int], float]


def constant(value: float) -> StrideFn:
    return lambda _stride: value


DROP, STEP, TILT, ROTATION = constant(6.0), constant(0.35), constant(4.0), constant(12.0)
CONTACT, BRAKING_DV, IMPACT = constant(0.24), constant(0.3), constant(2.5)


def synthetic_run(
    strides: int,
    *,
    drop_l: StrideFn = DROP,
    drop_r: StrideFn = DROP,
    step_l: StrideFn = STEP,
    step_r: StrideFn = STEP,
    tilt: StrideFn = TILT,
    rotation: StrideFn = ROTATION,
    contact: StrideFn = CONTACT,
    braking_dv: StrideFn = BRAKING_DV,
    impact: StrideFn = IMPACT,
    noise: float = 0.02,
    running: Callable[[int], bool] = lambda _stride: True,
    t0: float = 5.0,
    seed: int = 0,
    angles: bool = True,
) -> list[StepMetrics]:
    """`strides` strides (left step, then right step) whose metrics follow the given functions of the stride
    index, each with a relative step-to-step noise of `noise` (seeded)."""
    rng = np.random.default_rng(seed)
    steps: list[StepMetrics] = []
    t = t0

    def jitter(x: float) -> float:
        return float(x * (1.0 + noise * rng.standard_normal()))

    for k in range(strides):
        for side in ("L", "R"):
            step_s = jitter(step_l(k) if side == "L" else step_r(k))
            contact_s = min(jitter(contact(k)), 0.9 * step_s)
            nan = float("nan")
            steps.append(
                StepMetrics(
                    t_ic_s=t,
                    side=side,
                    t_to_s=t + contact_s,
                    step_time_s=step_s,
                    contact_time_s=contact_s,
                    flight_time_s=step_s - contact_s,
                    cadence_spm=60.0 / step_s,
                    pelvic_tilt_deg=jitter(tilt(k)) if angles else nan,
                    pelvic_drop_deg=jitter(drop_l(k) if side == "L" else drop_r(k)) if angles else nan,
                    pelvic_rotation_deg=jitter(rotation(k)) if angles else nan,
                    vertical_oscillation_m=jitter(0.08),
                    braking_peak_mps2=jitter(4.0),
                    braking_dv_mps=jitter(braking_dv(k)),
                    impact_peak_g=jitter(impact(k)),
                    is_running=running(k),
                )
            )
            t += step_s
    return steps
