"""Running kinematics with exact ground truth: what a sacrum-mounted IMU measures, and what really happened.

`simulate(Scenario(...))` returns the sensor-frame samples of a recording (standing, optional walking,
running, optional walking) and its `GaitTruth`: every initial contact (IC) and toe-off (TO) with its side and
the per-step metrics by the definitions of docs/design.md. `SCENARIO_SUITE` holds the named scenarios the
pipeline is validated against, including a clean run and planted faults; `scenario_by_name` picks one.

The model, in the order it is computed (internal grid 1 kHz, one seeded `numpy.random.Generator`):

1. `gait`: the contact timeline; step and contact times per segment, per-side asymmetry, fatigue drift, AR(1)
   stride-to-stride variability, pauses (slow to a walk, stand, set off again); the step-averaged speed
   profile with a slow pace fluctuation.
2. `forces`: each foot's ground reaction force (vertical active peak and heel-strike transient, or the walking
   double hump; braking then propulsion; medio-lateral push), summed. Each contact's vertical impulse is body
   weight times its step time and the net fore-aft impulse is the speed change, exactly on the grid; on a
   hill (`terrain`) each contact is built normal and parallel to the ground and turned level.
3. `pelvis`: tilt, obliquity and rotation relative to neutral standing and the direction of travel, with
   per-side amplitudes, step-to-step variability of size and timing, a per-runner timing style, fatigue
   drift and the lean into turns; the heading (turns plus slow wander) turns the whole body. All angles are
   smooth through the contacts, so nothing but the forces marks an IC.
4. `body`: the sacrum's motion against the centre of mass and the clip's rocking and slipping on the
   waistband (the truth is the pelvis; the sensor carries both).
5. `sensor`: specific force at the sensor (rotated through pelvis and clip, with the lever arm and the soft
   mount's resonance; the heel-strike transient arrives through the leg) and the exact angular rate; then
   the IMU: anti-alias FIR at 0.4 x ODR with its delay compensated, sampling at the true instants, bias,
   bias random walk, scale error, noise, saturation, 16-bit quantisation, timestamp jitter.
6. `truth`: the per-step metrics from the 1 kHz angles, vertical oscillation of the centre of mass.

Simplifications a user of the truth should know:
- The pelvis patterns are stylised (smooth blends between per-step extremes with realistic ranges and
  timing), not fitted to motion capture; kinematics and kinetics are not coupled (overstriding raises the
  braking force, not the pelvis motion).
- Hills (`terrain`) change gait, forces and the forward lean by published trends, linear in the grade; the
  lean into turns is the only whole-body roll. A treadmill is the same ground moving: no belt-speed effects.
- Contact times, cadences and forces are generated, not derived from a musculoskeletal model; the sacrum's
  motion against the centre of mass is a small gait-locked oscillation, not a multi-segment body.
- The sensor clock is ideal apart from timestamp jitter (clock drift and packet loss belong to the link).
"""

from processing.simulation.errors import InvalidScenarioError, SimulationError, UnknownScenarioError
from processing.simulation.rotations import pelvis_orientation
from processing.simulation.scenario import (
    Pause,
    Scenario,
    Turn,
    mounting_rotation,
    mounting_zyx_deg_from_rotation,
)
from processing.simulation.simulate import SimulatedRun, simulate
from processing.simulation.suite import SCENARIO_SUITE, scenario_by_name
from processing.simulation.truth import GaitTruth, StepTruth, step_metrics

__all__ = [
    "SCENARIO_SUITE",
    "GaitTruth",
    "InvalidScenarioError",
    "Pause",
    "Scenario",
    "SimulatedRun",
    "SimulationError",
    "StepTruth",
    "Turn",
    "UnknownScenarioError",
    "mounting_rotation",
    "mounting_zyx_deg_from_rotation",
    "pelvis_orientation",
    "scenario_by_name",
    "simulate",
    "step_metrics",
]
