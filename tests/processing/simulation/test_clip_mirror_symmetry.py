"""The clip on the waistband obeys the runner's left/right mirror symmetry (processing.simulation.body).

A mirror-symmetric runner loads a clip on the sacrum's midline with mirror-image forces on left and right
steps, so whatever the clip adds to what the sensor reads must leave the right-minus-left difference of every
per-step pelvic angle as the pelvis has it. A clip off the midline is the exception: its step-periodic roll
and yaw read as an asymmetry the pelvis does not have (a physical limit of one sensor, not a pipeline error).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from processing.simulation import Scenario, pelvis_orientation, step_metrics
from processing.simulation.body import gait_envelope, gait_phase, mount_rotvec_rad
from processing.simulation.gait import generate_contacts
from processing.simulation.pelvis import pelvis_angles
from processing.simulation.simulate import FINE_RATE_HZ

#: A symmetric runner (equal per-side settings, the suite's step-to-step variability) whose clip rocks and
#: slips three times as much as the default, so that any planted asymmetry would show.
SYMMETRIC_RUNNER = Scenario(duration_s=60.0, mount_wobble_deg=1.5, mount_slip_deg=1.5, seed=5)
ANGLES = ("tilt", "drop", "rotation")


def _right_minus_left(values: np.ndarray, side: np.ndarray) -> float:
    return float(np.mean(values[side == "R"]) - np.mean(values[side == "L"]))


def _pelvis_and_clip_rl(scenario: Scenario) -> tuple[dict[str, float], dict[str, float]]:
    """Right-minus-left of each per-step angle over the running steps (true contacts), of the pelvis (the
    truth) and of the pelvis turned by the clip (what the sensor's orientation reads)."""
    rng = np.random.default_rng(scenario.seed)
    t = np.arange(int(scenario.total_s * FINE_RATE_HZ)) / FINE_RATE_HZ
    contacts = generate_contacts(scenario, rng)
    angles = pelvis_angles(scenario, contacts, t, rng)
    rotvec = mount_rotvec_rad(scenario, t, gait_phase(t, contacts), gait_envelope(scenario, contacts, t), rng)
    pelvis = pelvis_orientation(angles.tilt_deg, angles.obliquity_deg, angles.rotation_deg)
    read = Rotation.from_matrix(pelvis @ Rotation.from_rotvec(rotvec).as_matrix())
    rotation, obliquity, tilt = read.as_euler("ZXY", degrees=True).T  # R = Rz(rotation) Rx(obl) Ry(tilt)
    nxt = contacts.t_ic_s + contacts.step_time_s
    keep = contacts.is_running & (contacts.t_ic_s > 0) & (nxt < t[-1]) & ~contacts.ends_bout
    ic, to, side = contacts.t_ic_s[keep], contacts.t_to_s[keep], contacts.side[keep]
    true_angles = step_metrics(
        t, angles.tilt_deg, angles.obliquity_deg, angles.rotation_deg, ic, nxt[keep], to, side
    )
    read_angles = step_metrics(t, tilt, obliquity, rotation, ic, nxt[keep], to, side)
    return (
        {a: _right_minus_left(v, side) for a, v in zip(ANGLES, true_angles, strict=True)},
        {a: _right_minus_left(v, side) for a, v in zip(ANGLES, read_angles, strict=True)},
    )


def test_a_symmetric_runner_has_no_right_minus_left_difference() -> None:
    truth, _ = _pelvis_and_clip_rl(SYMMETRIC_RUNNER)
    for angle in ANGLES:  # only the step-to-step variability (6 % of a few degrees, ~100 steps a side)
        assert abs(truth[angle]) < 0.1, angle


def test_a_midline_clip_leaves_every_right_minus_left_difference_as_the_pelvis_has_it() -> None:
    truth, read = _pelvis_and_clip_rl(SYMMETRIC_RUNNER)
    for angle in ANGLES:
        assert read[angle] == pytest.approx(truth[angle], abs=0.05), angle


@pytest.mark.parametrize("share", [0.5, 1.0])
def test_a_clip_off_the_midline_reads_an_asymmetry_the_pelvis_does_not_have(share: float) -> None:
    # Step-periodic roll and yaw of amplitude 0.75 deg (half the 1.5 deg rock) times the share: it adds the
    # same offset to every step, which the drop (max of +obliquity on left steps, of -obliquity on right
    # ones) and the rotation range turn into a left/right difference of up to twice that.
    truth, read = _pelvis_and_clip_rl(dataclasses.replace(SYMMETRIC_RUNNER, mount_off_centre_share=share))
    assert abs(read["drop"] - truth["drop"]) > 0.3 * share
    assert abs(read["rotation"] - truth["rotation"]) > 0.3 * share


def test_a_midline_clip_rocks_pitch_every_step_and_roll_and_yaw_every_stride() -> None:
    scenario = dataclasses.replace(SYMMETRIC_RUNNER, mount_slip_deg=0.0)
    t = np.linspace(0.0, 40.0, 40_001)
    phase = t / 0.35  # one step every 0.35 s
    rotvec = mount_rotvec_rad(scenario, t, phase, np.ones_like(t), np.random.default_rng(0))
    one_step = round(0.35 / (t[1] - t[0]))
    np.testing.assert_allclose(rotvec[one_step:, 1], rotvec[:-one_step, 1], atol=1e-9)  # pitch repeats
    np.testing.assert_allclose(rotvec[one_step:, 0::2], -rotvec[:-one_step, 0::2], atol=1e-9)  # flips
    assert np.abs(rotvec).max(axis=0) == pytest.approx(np.deg2rad(1.5) * np.array([0.5, 1.0, 0.5]), rel=1e-3)


def test_a_midline_clip_slips_only_about_the_waistband() -> None:
    scenario = dataclasses.replace(SYMMETRIC_RUNNER, mount_wobble_deg=0.0)
    t = np.linspace(0.0, scenario.total_s, 10_001)
    for seed in range(5):
        rotvec = mount_rotvec_rad(scenario, t, t / 0.35, np.ones_like(t), np.random.default_rng(seed))
        assert np.abs(rotvec[:, 0::2]).max() == 0.0
        assert np.rad2deg(np.abs(rotvec[-1, 1])) == pytest.approx(1.5)
