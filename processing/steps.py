"""The per-step results that leave the processing core: `Step` (the events) and `StepMetrics` (the numbers).

Definitions follow docs/design.md, "Body frame and definitions": a step starts at one foot's initial contact
(IC) and ends at the next IC of the other foot; its side is the side of its IC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

__all__ = ["METRIC_UNITS", "STEP_METRIC_COLUMNS", "Side", "Step", "StepMetrics"]

Side = Literal["L", "R"]


@dataclass(frozen=True, slots=True)
class Step:
    """The events that delimit one step.

    Attributes
    ----------
    t_ic_s : float, s
        Initial contact of the step's foot, on the samples' time axis.
    side : "L" or "R"
        The foot that makes the initial contact.
    t_to_s : float, s
        Toe-off of the same foot (NaN when the detector could not find it).
    t_next_ic_s : float, s
        Initial contact of the other foot, which ends the step.
    is_running : bool
        True when the step has a flight phase (toe-off before the next contact).
    """

    t_ic_s: float
    side: Side
    t_to_s: float
    t_next_ic_s: float
    is_running: bool

    def __post_init__(self) -> None:
        if self.side not in ("L", "R"):
            raise ValueError(f"side must be 'L' or 'R', got {self.side!r}")
        if not self.t_next_ic_s > self.t_ic_s:
            raise ValueError(f"a step must end after it starts: IC {self.t_ic_s}, next IC {self.t_next_ic_s}")
        if not math.isnan(self.t_to_s) and self.t_to_s < self.t_ic_s:
            raise ValueError(f"toe-off {self.t_to_s} precedes initial contact {self.t_ic_s}")


@dataclass(frozen=True, slots=True)
class StepMetrics:
    """Everything measured for one step. Angles are NaN for accelerometer-only input.

    Attributes
    ----------
    t_ic_s, side, t_to_s
        As in `Step`.
    step_time_s : float, s
        Next IC of the other foot minus this IC.
    contact_time_s : float, s
        Toe-off minus IC.
    flight_time_s : float, s
        Step time minus contact time, 0 when the feet overlap (walking).
    cadence_spm : float, steps/min
        60 / step_time_s.
    pelvic_tilt_deg : float, deg
        Mean tilt over the step; positive = anterior.
    pelvic_drop_deg : float, deg
        Largest drop of the swing side below its standing level during this step's stance phase.
    pelvic_rotation_deg : float, deg
        Max minus min of the pelvic rotation relative to the direction of travel over the step.
    vertical_oscillation_m : float, m
        Peak-to-peak vertical displacement of the sacrum (where the sensor sits, not the centre of mass)
        over the step.
    braking_peak_mps2 : float, m/s^2
        Largest forward deceleration of the sacrum during contact, relative to the step's mean forward
        acceleration (positive number).
    braking_dv_mps : float, m/s
        Forward speed lost during the braking part of contact (positive number), same signal.
    impact_peak_g : float, g
        Peak vertical loading: the sacrum's largest vertical specific force during contact, in units of
        standard gravity.
    is_running : bool
        True when the step has a flight phase.
    """

    t_ic_s: float
    side: Side
    t_to_s: float
    step_time_s: float
    contact_time_s: float
    flight_time_s: float
    cadence_spm: float
    pelvic_tilt_deg: float
    pelvic_drop_deg: float
    pelvic_rotation_deg: float
    vertical_oscillation_m: float
    braking_peak_mps2: float
    braking_dv_mps: float
    impact_peak_g: float
    is_running: bool

    def __post_init__(self) -> None:
        if self.side not in ("L", "R"):
            raise ValueError(f"side must be 'L' or 'R', got {self.side!r}")
        if not self.step_time_s > 0:
            raise ValueError(f"step_time_s must be positive, got {self.step_time_s}")


# The column order of steps.csv and of every per-step table: the fields of StepMetrics, one home.
STEP_METRIC_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(StepMetrics))

#: The unit of every numeric per-step metric, as a results file states it (the names end with it too).
METRIC_UNITS: dict[str, str] = {
    "step_time_s": "s",
    "contact_time_s": "s",
    "flight_time_s": "s",
    "cadence_spm": "steps/min",
    "pelvic_tilt_deg": "deg",
    "pelvic_drop_deg": "deg",
    "pelvic_rotation_deg": "deg",
    "vertical_oscillation_m": "m",
    "braking_peak_mps2": "m/s^2",
    "braking_dv_mps": "m/s",
    "impact_peak_g": "g",
}
