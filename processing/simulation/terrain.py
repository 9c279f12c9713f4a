"""Hills: the grade of the ground along the run and how runners change their gait on it.

The ground rises at `grade` (rise over run, as a fraction; 0.10 is a 10 % hill, 5.7 deg) along the direction
of travel. A runner at constant speed along it moves the centre of mass along the incline, so over a step the
ground reaction force still averages body weight straight up (gravity), but the force each foot puts down is
normal and parallel to the ground: the mean normal force is g cos(theta) and the mean parallel force is
g sin(theta) (propulsion uphill, braking downhill), `forces.ground_reaction_forces` balances each contact that
way and turns it into the level heading frame (`surface_to_level`). The body pitches against gravity by the
runner's forward lean, which is a real pelvic tilt and part of the truth (`hill_tilt_deg`).

How gait changes with the grade (linear in it, clipped; uphill and downhill sides differ):
- step frequency rises uphill and falls a little downhill, the aerial phase shrinks uphill and grows downhill,
  duty factor (contact) grows uphill (Vernillo et al. 2017, Sports Med 47:615, review; Padulo et al. 2012,
  J Strength Cond Res 26:1331, +2 to +7 %: higher step frequency, shorter flight): cadence +3 % and contact
  +8 % at +10 %; cadence -2 % and contact -3 % at -10 %;
- the normal impact peak shrinks uphill (absent at +9 deg, about +16 %) and grows downhill (+54 % at -9 deg);
  the parallel braking peak grows downhill (+73 % at -9 deg) and falls uphill (Gottschall & Kram 2005,
  J Biomech 38:445, 3 m/s on a force treadmill at 0, 3, 6 and 9 deg);
- the trunk and pelvis lean forward uphill (more anterior tilt) and a little back downhill: 3 deg more
  anterior tilt at +10 %, 1.5 deg less at -10 % (a stylised size: published trunk and pelvis angles on
  slopes vary by protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from processing.simulation.rotations import FloatArray

if TYPE_CHECKING:
    from processing.simulation.scenario import Scenario

#: Relative change per unit grade (fraction) of cadence and contact time, uphill and downhill (see above).
CADENCE_PER_GRADE_UP = 0.3
CADENCE_PER_GRADE_DOWN = 0.2
CONTACT_PER_GRADE_UP = 0.8
CONTACT_PER_GRADE_DOWN = 0.3
#: Uphill grade at which the heel-strike impact transient is gone (+9 deg), and its growth per unit of
#: downhill grade (+54 % at -9 deg, i.e. -15.8 %).
IMPACT_GONE_GRADE_UP = 0.158
IMPACT_PER_GRADE_DOWN = 3.4
#: Braking peak: growth per unit of downhill grade (+73 % at -9 deg), fall per unit of uphill grade, and
#: the smallest share of the level braking peak kept uphill.
BRAKING_PER_GRADE_DOWN = 4.6
BRAKING_PER_GRADE_UP = 3.0
BRAKING_MIN_SHARE_UP = 0.3
#: Extra anterior pelvic tilt per unit grade, deg (forward lean uphill, a little back downhill).
TILT_PER_GRADE_UP_DEG = 30.0
TILT_PER_GRADE_DOWN_DEG = 15.0
#: The run reaches the hill (or the treadmill its incline) over this long from the start of running, s.
GRADE_RAMP_S = 4.0
#: Rolling hills: the grade follows the clipped sine `clip(ROLLING_SHARPNESS * sin(.), -1, 1)`, so it holds
#: its full value up and down for most of each half period and turns over smoothly in between.
ROLLING_SHARPNESS = 3.0


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return np.asarray(x * x * (3.0 - 2.0 * x), dtype=float)


def grade(scenario: Scenario, t_s: FloatArray | float) -> FloatArray:
    """Grade of the ground under the runner (fraction, positive uphill) at each time.

    Zero while standing and walking before the run; `Scenario.slope_pct` from the start of the running
    segment on (ramped in over `GRADE_RAMP_S`; from the first sample when the recording opens running), or,
    with `Scenario.slope_period_s` > 0, rolling hills: up, then down, with that period.
    """
    t = np.asarray(t_s, dtype=float)
    if scenario.slope_pct == 0.0:
        return np.zeros_like(t)
    start = scenario.run_start_s
    reach = _smoothstep((t - start) / GRADE_RAMP_S) if start > 0.0 else np.ones_like(t)
    shape = np.ones_like(t)
    if scenario.slope_period_s > 0.0:
        phase = 2.0 * np.pi * (t - start) / scenario.slope_period_s
        shape = np.clip(ROLLING_SHARPNESS * np.sin(phase), -1.0, 1.0)
    return np.asarray(scenario.slope_pct / 100.0 * reach * shape, dtype=float)


def grade_range(scenario: Scenario) -> tuple[float, float]:
    """Lowest and highest grade of the scenario (fractions)."""
    g = scenario.slope_pct / 100.0
    if scenario.slope_period_s > 0.0:
        return -abs(g), abs(g)
    return min(g, 0.0), max(g, 0.0)


def cadence_factor(g: FloatArray | float) -> FloatArray:
    """Cadence on grade `g` relative to the level: higher uphill, a little lower downhill."""
    g = np.asarray(g, dtype=float)
    return np.asarray(1.0 + np.where(g > 0, CADENCE_PER_GRADE_UP, CADENCE_PER_GRADE_DOWN) * g, dtype=float)


def contact_factor(g: FloatArray | float) -> FloatArray:
    """Contact time on grade `g` relative to the level: longer uphill (less flight), shorter downhill."""
    g = np.asarray(g, dtype=float)
    return np.asarray(1.0 + np.where(g > 0, CONTACT_PER_GRADE_UP, CONTACT_PER_GRADE_DOWN) * g, dtype=float)


def impact_factor(g: FloatArray | float) -> FloatArray:
    """Size of the heel-strike impact transient relative to the level: fading uphill, growing downhill."""
    g = np.asarray(g, dtype=float)
    up = np.clip(1.0 - g / IMPACT_GONE_GRADE_UP, 0.0, 1.0)
    return np.asarray(np.where(g > 0, up, 1.0 - IMPACT_PER_GRADE_DOWN * g), dtype=float)


def braking_factor(g: FloatArray | float) -> FloatArray:
    """Parallel braking peak relative to the level: larger downhill, smaller uphill."""
    g = np.asarray(g, dtype=float)
    up = np.maximum(BRAKING_MIN_SHARE_UP, 1.0 - BRAKING_PER_GRADE_UP * g)
    return np.asarray(np.where(g > 0, up, 1.0 - BRAKING_PER_GRADE_DOWN * g), dtype=float)


def hill_tilt_deg(g: FloatArray | float) -> FloatArray:
    """Extra anterior pelvic tilt on grade `g`, deg: the forward lean uphill, a slight lean back downhill."""
    g = np.asarray(g, dtype=float)
    return np.asarray(np.where(g > 0, TILT_PER_GRADE_UP_DEG, TILT_PER_GRADE_DOWN_DEG) * g, dtype=float)


def surface_to_level(force_surface: FloatArray, g: float) -> FloatArray:
    """Turn (n, 3) forces from the ground's frame (x along the slope in the direction of travel, y left, z
    normal to the ground) into the level heading frame (x horizontal forward, z up): a pitch by the slope
    angle, so that x = P cos(theta) - N sin(theta) and z = P sin(theta) + N cos(theta)."""
    theta = float(np.arctan(g))
    c, s = np.cos(theta), np.sin(theta)
    out = np.array(force_surface, dtype=float, copy=True)
    out[..., 0] = c * force_surface[..., 0] - s * force_surface[..., 2]
    out[..., 2] = s * force_surface[..., 0] + c * force_surface[..., 2]
    return out
