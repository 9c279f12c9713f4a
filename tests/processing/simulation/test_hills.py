"""Hills in the simulator (issue 11, item 4): physics that balances on a grade, gait that changes as
published, and a pipeline whose detection, sides and cadence hold there."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from processing import STANDARD_GRAVITY_MPS2
from processing.evaluation import evaluate_scenario
from processing.simulation import InvalidScenarioError, Scenario, scenario_by_name, simulate
from processing.simulation.forces import ground_reaction_forces
from processing.simulation.gait import generate_contacts, speed_mps
from processing.simulation.simulate import FINE_RATE_HZ
from processing.simulation.terrain import GRADE_RAMP_S, grade

#: A steady run (no pace fluctuation, no heading wander) on a grade, after the ramp onto the hill.
STEADY = Scenario(
    seed=7, duration_s=30.0, pace_variability_pct=0.0, heading_wander_deg=0.0, stride_variability_pct=0.5
)


def _on(slope_pct: float, **changes: object) -> Scenario:
    return dataclasses.replace(STEADY, slope_pct=slope_pct, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("slope_pct", [10.0, -10.0, 15.0])
def test_on_a_hill_the_feet_push_along_the_ground_and_the_body_still_weighs_straight_down(
    slope_pct: float,
) -> None:
    """Over whole strides at constant speed the contact forces average body weight straight up (the centre
    of mass moves along the incline at constant velocity), while each contact pushes along the ground by
    g sin(theta) on average (propulsion uphill, braking downhill) and into it by g cos(theta)."""
    s = _on(slope_pct)
    rng = np.random.default_rng(s.seed)
    t = np.arange(int(s.total_s * FINE_RATE_HZ)) / FINE_RATE_HZ
    contacts = generate_contacts(s, rng)
    forces = ground_reaction_forces(s, contacts, t, speed_mps(s, t, rng), rng)
    ic = contacts.t_ic_s[(contacts.t_ic_s > s.run_start_s + GRADE_RAMP_S + 1.0) & (contacts.t_ic_s < 30.0)]
    a, b = np.searchsorted(t, [ic[0], ic[-1 - (ic.size % 2 == 0)]])  # an even number of steps: strides
    mean = forces.grf_mps2[a:b].mean(axis=0)
    np.testing.assert_allclose(mean, [0.0, 0.0, STANDARD_GRAVITY_MPS2], atol=0.01 * STANDARD_GRAVITY_MPS2)
    theta = np.arctan(slope_pct / 100.0)
    along = mean[0] * np.cos(theta) + mean[2] * np.sin(theta)  # the force along the ground, uphill positive
    assert along == pytest.approx(STANDARD_GRAVITY_MPS2 * np.sin(theta), rel=0.05)


def test_gravity_in_the_sensor_frame_tilts_with_the_forward_lean_on_a_hill() -> None:
    """Averaged over strides the accelerometer reads gravity, leaning in the body frame with the pelvis: the
    forward lean on a hill is a real tilt against gravity, so the reading moves with the truth's tilt. (Not
    equal to it: within a step the tilt and the force swing together, which biases the mean reading by a
    constant of the gait, so readings are compared with the level run's.)"""
    reading, truth = {}, {}
    for slope in (0.0, 10.0, -10.0):
        s = _on(slope, mount_wobble_deg=0.0, mount_slip_deg=0.0)
        run = simulate(s)
        steady = run.truth.t_true_s > s.run_start_s + GRADE_RAMP_S + 1.0
        mean = (run.samples.acc_mps2[steady] @ s.mounting_rotation.T).mean(axis=0)
        # anterior tilt turns the forward axis down: up (the reading at rest) leans backwards in the body
        reading[slope] = float(np.degrees(np.arctan2(-mean[0], mean[2])))
        truth[slope] = float(run.truth.tilt_deg[steady].mean())
    for slope in (10.0, -10.0):
        assert reading[slope] - reading[0.0] == pytest.approx(truth[slope] - truth[0.0], abs=0.5), slope
    assert truth[10.0] > truth[0.0] + 2.0 > truth[-10.0] + 2.0


def test_gait_changes_with_the_grade_as_treadmill_studies_report() -> None:
    """Uphill: higher cadence, shorter flight, longer contact, smaller impacts, less braking, more
    propulsion, more anterior tilt. Downhill: lower cadence, longer flight, larger impacts and braking
    (Vernillo et al. 2017; Padulo et al. 2012; Gottschall & Kram 2005)."""
    figures = {}
    for slope in (-10.0, 0.0, 10.0):
        steps = simulate(_on(slope)).truth.steps
        k = steps.is_running & (steps.t_ic_s > STEADY.run_start_s + GRADE_RAMP_S + 1.0)
        figures[slope] = {
            "cadence": 60.0 / float(np.nanmean(steps.step_time_s[k])),
            "flight": float(np.nanmean(steps.flight_time_s[k])),
            "contact": float(steps.contact_time_s[k].mean()),
            "impact": float(steps.impact_force_bw[k].mean()),
            "braking": float(steps.peak_braking_force_bw[k].mean()),
            "propulsion": float(steps.peak_propulsion_force_bw[k].mean()),
            "tilt": float(np.nanmean(steps.pelvic_tilt_deg[k])),
        }
    down, level, up = figures[-10.0], figures[0.0], figures[10.0]
    assert 1.02 < up["cadence"] / level["cadence"] < 1.05
    assert 0.96 < down["cadence"] / level["cadence"] < 1.0
    assert up["flight"] < 0.8 * level["flight"] < 0.8 * down["flight"]
    assert up["contact"] > 1.05 * level["contact"] > 1.05 * down["contact"]
    assert up["impact"] < 0.5 * level["impact"] < 0.5 * down["impact"]
    assert down["braking"] > 1.3 * level["braking"] > 1.3 * up["braking"]
    assert up["propulsion"] > 1.4 * level["propulsion"]
    assert up["tilt"] > level["tilt"] > down["tilt"]


def test_rolling_hills_go_up_and_down_at_the_full_grade() -> None:
    s = scenario_by_name("rolling_hills")
    g = grade(s, np.linspace(s.run_start_s + GRADE_RAMP_S, s.run_end_s, 2000))
    assert g.max() == pytest.approx(s.slope_pct / 100.0)
    assert g.min() == pytest.approx(-s.slope_pct / 100.0)
    assert np.mean(np.abs(g) == s.slope_pct / 100.0) > 0.5  # held at full grade most of the time
    assert grade(s, 0.0) == 0.0  # standing is on the level


def test_a_grade_the_runner_cannot_run_is_refused() -> None:
    with pytest.raises(InvalidScenarioError, match="slope_pct"):
        Scenario(slope_pct=30.0)
    with pytest.raises(InvalidScenarioError, match="slope_period_s"):
        Scenario(slope_pct=10.0, slope_period_s=5.0)
    # uphill the contact lengthens and the step shortens: no flight phase left at this cadence and speed
    with pytest.raises(InvalidScenarioError, match="contact_time_s"):
        Scenario(slope_pct=20.0, speed_mps=3.0, cadence_spm=165.0)


@pytest.mark.parametrize("name", ["uphill_10pct", "downhill_10pct", "rolling_hills"])
def test_detection_sides_and_cadence_hold_on_hills(name: str) -> None:
    """The issue's targets on the suite's hill scenarios (the whole pipeline, as `posture evaluate`)."""
    events = evaluate_scenario(scenario_by_name(name)).events
    assert events.ic_f1 >= 0.99
    assert events.side_accuracy_running >= 0.99
    assert events.cadence_error_spm <= 1.0
    assert events.contact_time_mae_s <= 0.015
