"""The gait timeline: every foot contact (initial contact, toe-off, side, gait mode) and the speed profile.

Steps are generated one after another: each step's duration follows the cadence of its segment (walking
warm-up, running, walking cool-down), the per-side asymmetry, the fatigue drift and an AR(1) stride-to-stride
variability, so that nothing is exactly periodic (real stride times vary by about 1 to 3 %, with positive
serial correlation). Around a pause the runner slows to a walk, no contact falls inside it, and the last
contact before it is flagged (`Contacts.ends_bout`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.simulation import terrain
from processing.simulation.rotations import FloatArray
from processing.simulation.scenario import Scenario

#: Walking stance lasts about 62 % of the gait cycle (Perry & Burnfield, Gait Analysis, 2010).
WALK_STANCE_FRACTION_OF_STRIDE = 0.62
#: Speed changes between segments take this long (smoothstep; mean acceleration about 0.5-0.9 m/s^2), s.
SPEED_RAMP_S = 4.0
#: Without a standing period the runner is already moving when the recording starts: the gait is simulated
#: from this long before the first sample so that the recording opens mid-stride, s.
PRE_ROLL_S = 1.5
#: Pace fluctuation: this many random sinusoids with periods between these bounds, s.
PACE_COMPONENTS = 4
PACE_PERIODS_S = (20.0, 90.0)
#: Slowing down into a pause and setting off again take this long, s.
PAUSE_RAMP_S = 3.0
#: Below this share of the running speed around a pause, the runner walks.
PAUSE_WALK_BELOW = 0.5
#: Lag-one autocorrelation of step-time fluctuations (stride times show persistent, not white, variation).
STEP_TIME_AR1 = 0.5


@dataclass(frozen=True, slots=True, eq=False)
class Contacts:
    """All foot contacts of a recording, in time order.

    Attributes
    ----------
    t_ic_s, t_to_s : (k,) arrays, s
        Initial contact (the instant the foot's force starts) and toe-off (the instant it ends).
    side : (k,) array of "L"/"R"
    is_running : (k,) bool array
        Gait mode of the step that starts at this contact.
    step_time_s : (k,) array, s
        Time to the next contact's IC; for the last contact, the step time it was generated with.
    fatigue_fraction : (k,) array
        0 at the start of the run rising linearly to 1 at its end (0 before, 1 after).
    ends_bout : (k,) bool array
        True for the last contact before a pause: its "next IC" comes only after standing, so it is no step.
    """

    t_ic_s: FloatArray
    t_to_s: FloatArray
    side: npt.NDArray[np.str_]
    is_running: npt.NDArray[np.bool_]
    step_time_s: FloatArray
    fatigue_fraction: FloatArray
    ends_bout: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.t_ic_s.shape[0])

    @property
    def side_sign(self) -> FloatArray:
        """+1 for left contacts, -1 for right ones."""
        return np.where(self.side == "L", 1.0, -1.0)


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def speed_mps(scenario: Scenario, t_s: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Forward speed of the centre of mass averaged over a step, m/s.

    Smooth transitions between segments and into and out of pauses, and a slow pace fluctuation (runners
    hold a pace only to a few per cent; `pace_variability_pct`, periods of `PACE_PERIODS_S`), which the
    fore-aft impulses of the steps then carry.
    """
    t = np.asarray(t_s, dtype=float)
    v = np.zeros_like(t)
    first = scenario.walk_speed_mps if scenario.warmup_walk_s > 0 else scenario.speed_mps
    levels = [(scenario.standing_s, first), (scenario.run_start_s, scenario.speed_mps)]
    levels.append((scenario.run_end_s, scenario.walk_speed_mps))
    previous = 0.0
    if scenario.standing_s <= 0:  # already moving at the first sample
        v = v + first
        previous = first
        levels = levels[1:]
    for start_s, level in levels:
        if start_s >= scenario.total_s:
            break
        v = v + (level - previous) * _smoothstep((t - start_s) / SPEED_RAMP_S)
        previous = level
    if scenario.pace_variability_pct > 0:
        periods = rng.uniform(*PACE_PERIODS_S, PACE_COMPONENTS)
        phases = rng.uniform(0.0, 2.0 * np.pi, PACE_COMPONENTS)
        amp = scenario.pace_variability_pct / 100.0 * np.sqrt(2.0 / PACE_COMPONENTS)
        for period, phase in zip(periods, phases, strict=True):
            v = v * (1.0 + amp * np.sin(2.0 * np.pi * t / period + phase))
    return v * pause_factor(scenario, t)


def pause_factor(scenario: Scenario, t_s: FloatArray | float) -> FloatArray:
    """Share of the planned speed around pauses: 1 away from them, 0 while standing, smoothstep ramps."""
    t = np.asarray(t_s, dtype=float)
    factor = np.ones_like(t)
    for p in scenario.pauses:
        down = _smoothstep((t - (p.t_start_s - PAUSE_RAMP_S)) / PAUSE_RAMP_S)
        up = _smoothstep((t - p.t_end_s) / PAUSE_RAMP_S)
        factor = factor * (1.0 - down + up)
    return factor


def fatigue_fraction(scenario: Scenario, t_s: FloatArray | float) -> FloatArray:
    """How far into the run (0 at its start, 1 at its end) each time is."""
    if scenario.duration_s <= 0:
        return np.zeros_like(np.asarray(t_s, dtype=float))
    return np.clip((np.asarray(t_s, dtype=float) - scenario.run_start_s) / scenario.duration_s, 0.0, 1.0)


def generate_contacts(scenario: Scenario, rng: np.random.Generator) -> Contacts:
    """Lay out every initial contact and toe-off from the end of standing to the end of the recording."""
    s = scenario
    t = s.standing_s if s.standing_s > 0 else -PRE_ROLL_S + float(rng.uniform(0.0, 0.2))
    side = s.first_side if s.first_side is not None else ("L" if rng.random() < 0.5 else "R")
    cv = s.stride_variability_pct / 100.0
    innovation = cv * np.sqrt(1.0 - STEP_TIME_AR1**2)
    e_step = rng.normal(0.0, cv)
    ic: list[float] = []
    to: list[float] = []
    sides: list[str] = []
    running: list[bool] = []
    steps: list[float] = []
    fatigue: list[float] = []
    ends: list[bool] = []
    while t < s.total_s:
        pause = next((p for p in s.pauses if p.t_start_s <= t < p.t_end_s), None)
        if pause is not None:
            # Standing still: the step that was due lands only when the runner sets off again.
            ends[-1] = True
            t = pause.t_end_s
            continue
        is_run = s.run_start_s <= max(t, 0.0) < s.run_end_s and float(pause_factor(s, t)) >= PAUSE_WALK_BELOW
        frac = float(fatigue_fraction(s, t))
        sign = 1.0 if side == "R" else -1.0  # symmetry index: R = mean (1 + SI/200)
        if is_run:
            hill = float(terrain.grade(s, t))  # the grade changes cadence and contact (`terrain`)
            cadence = (s.cadence_spm + frac * s.fatigue_cadence_spm) * float(terrain.cadence_factor(hill))
            asymmetry = s.step_time_asymmetry_pct + frac * s.fatigue_step_time_asymmetry_pct
            mean_step = 60.0 / cadence * (1.0 + sign * asymmetry / 200.0)
            mean_contact = (s.run_contact_time_s + frac * s.fatigue_contact_time_s) * (
                1.0 + sign * s.contact_time_asymmetry_pct / 200.0
            )
            mean_contact *= float(terrain.contact_factor(hill))
        else:
            mean_step = 60.0 / s.walk_cadence_spm
            mean_contact = WALK_STANCE_FRACTION_OF_STRIDE * 2.0 * mean_step
        e_step = STEP_TIME_AR1 * e_step + rng.normal(0.0, innovation)
        step = mean_step * (1.0 + e_step)
        # Contact time co-varies with step time (a longer step is mostly a longer stance) plus its own noise.
        contact = mean_contact * (1.0 + 0.6 * e_step + rng.normal(0.0, 0.8 * cv))
        if is_run:
            contact = min(contact, 0.9 * step)
        ic.append(t)
        to.append(t + contact)
        sides.append(side)
        running.append(is_run)
        steps.append(step)
        fatigue.append(frac)
        ends.append(False)
        t += step
        side = "R" if side == "L" else "L"
    return Contacts(
        t_ic_s=np.asarray(ic, dtype=float),
        t_to_s=np.asarray(to, dtype=float),
        side=np.asarray(sides, dtype="<U1"),
        is_running=np.asarray(running, dtype=bool),
        step_time_s=np.asarray(steps, dtype=float),
        fatigue_fraction=np.asarray(fatigue, dtype=float),
        ends_bout=np.asarray(ends, dtype=bool),
    )
