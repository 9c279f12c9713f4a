"""Running kinematics with exact ground truth: what a sacrum-mounted IMU measures, and what really happened.

`simulate(Scenario(...))` returns the sensor-frame samples of a recording (standing, optional walking,
running) and its `GaitTruth`: every initial contact and toe-off with its side and the per-step pelvic
metrics by the definitions of shared/DESIGN.md. `SCENARIO_SUITE` holds the named scenarios the pipeline is
validated against, including a clean run and planted faults.
"""

from processing.simulation.errors import InvalidScenarioError, SimulationError, UnknownScenarioError
from processing.simulation.rotations import pelvis_orientation
from processing.simulation.scenario import Scenario, Turn, mounting_rotation
from processing.simulation.simulate import SimulatedRun, simulate
from processing.simulation.suite import SCENARIO_SUITE, scenario_by_name
from processing.simulation.truth import GaitTruth, StepTruth, step_metrics

__all__ = [
    "SCENARIO_SUITE",
    "GaitTruth",
    "InvalidScenarioError",
    "Scenario",
    "SimulatedRun",
    "SimulationError",
    "StepTruth",
    "Turn",
    "UnknownScenarioError",
    "mounting_rotation",
    "pelvis_orientation",
    "scenario_by_name",
    "simulate",
    "step_metrics",
]
