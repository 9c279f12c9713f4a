"""How the sacrum moves relative to the centre of mass, and how the sensor moves relative to the pelvis.

A sacral sensor is not at the centre of mass and not bolted to the bone:
- The legs and arms swing, so the whole-body centre of mass and the pelvis move against each other by a few
  millimetres to a centimetre each step (sacral markers overestimate vertical oscillation for that reason).
  We add a smooth, gait-locked relative displacement (vertical and fore-aft at the step frequency,
  sideways at the stride frequency, phases drawn per scenario) and differentiate it twice: in flight the
  sacrum does not read a perfect free fall, and the stride means stay unchanged (the displacement is
  periodic).
- The clip rocks on the waistband and slowly slips over the run (`mount_rotvec_rad`). The truth is the
  pelvis; the sensor measures pelvis plus clip, which is what limits any real device.

Left/right mirror symmetry. A runner without planted asymmetry is mirror-symmetric: a right step is the mirror
image of the left step before it (y -> -y). Under that mirror a vector quantity along x or z (fore-aft and
vertical displacement) keeps its sign and one along y (sideways) flips; a rotation (an axial vector) keeps
its component about y (pitch) and flips those about x (roll) and z (yaw). So every gait-driven motion here
repeats either every step (fore-aft, vertical, pitch) or every stride with a sign flip from one step to the
next (sideways, roll, yaw): anything else would plant a left/right asymmetry that the runner does not have.
The truth pelvis (`pelvis.py`: obliquity and rotation signed by side, tilt per step), the forces
(`forces.py`: lateral force and the lateral share of the heel strike signed by side), the heel-strike jolt
(tilt forwards, obliquity towards the swing side), the strap resonance (the same linear filter on every axis)
and turns (lean and centripetal force follow the sign of the turn) obey the same rule.
The gait phase is a C2 spline through the initial contacts, so nothing here has a kink at a contact that a
detector could latch on to.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from processing.simulation.gait import Contacts
from processing.simulation.rotations import FloatArray
from processing.simulation.scenario import Scenario

#: Running: amplitudes of the sacrum's displacement relative to the centre of mass, m. Vertical at the step
#: frequency: the pelvis sits lowest against the centre of mass at mid-stance, when the swing thigh is high
#: and its knee folded (so the sacrum reads a little more than the centre of mass in stance and a little
#: less, i.e. below zero, in flight); a smaller second harmonic; fore-aft at the step frequency and sideways
#: at the stride frequency with phases drawn per scenario. Accelerations scale with cadence squared: at
#: 170 steps/min 3 mm at the step frequency is about 0.95 m/s^2.
REL_VERTICAL_M = 0.003
REL_VERTICAL_2ND_M = 0.0008
REL_FORE_AFT_M = 0.003
REL_SIDEWAYS_M = 0.004
#: Spread (cycles) of the vertical phase around mid-stance from scenario to scenario.
REL_VERTICAL_PHASE_SPREAD = 0.08
#: Walking uses this share of the running amplitudes.
REL_WALK_SCALE = 0.5
#: The clip's rock about the body's forward (x), left (y) and up (z) axes as shares of
#: `Scenario.mount_wobble_deg`: mostly about the left-right axis, as the clip pivots on the waistband.
MOUNT_ROCK_AXIS_SHARE = (0.5, 1.0, 0.5)
#: Everything gait-driven fades in over this long after the first contact, s.
FADE_IN_S = 1.0
#: ... and out over this long from the last contact before a pause, s.
FADE_OUT_S = 0.8


def gait_phase(t_s: FloatArray, contacts: Contacts) -> FloatArray:
    """Smooth step phase: k at the k-th IC, a C2 cubic spline through the contacts (held flat outside)."""
    k = len(contacts)
    if k < 2:
        return np.zeros_like(t_s)
    ic = contacts.t_ic_s
    spline = CubicSpline(ic, np.arange(k, dtype=float), bc_type="natural")
    inside = np.clip(t_s, ic[0], ic[-1])
    phase = np.asarray(spline(inside), dtype=float)
    # Continue linearly beyond the last IC at the spline's own end rate (natural spline: zero curvature
    # there), so the phase stays C2 and the motion does not freeze.
    after = t_s > ic[-1]
    phase[after] = (k - 1) + (t_s[after] - ic[-1]) * float(spline(ic[-1], 1))
    return phase


def gait_envelope(scenario: Scenario, contacts: Contacts, t_s: FloatArray) -> FloatArray:
    """How much gait-driven motion there is: 0 while standing, 1 while moving, smooth in between.

    A smoothstep to 1 over `FADE_IN_S` after the first contact (1 from the start if the recording opens
    mid-run); into each pause a smoothstep to 0 over `FADE_OUT_S` from the last contact, and back in over
    `FADE_IN_S` from the first contact after it.
    """
    if len(contacts) == 0:
        return np.zeros_like(t_s)
    envelope = np.ones_like(t_s)
    if scenario.standing_s > 0:
        envelope *= _smoothstep((t_s - contacts.t_ic_s[0]) / FADE_IN_S)
    for j in np.flatnonzero(contacts.ends_bout):
        stop = contacts.t_ic_s[j]
        restart = contacts.t_ic_s[j + 1] if j + 1 < len(contacts) else np.inf
        fade_out = 1.0 - _smoothstep((t_s - stop) / FADE_OUT_S)
        envelope *= np.where(t_s < restart, fade_out, _smoothstep((t_s - restart) / FADE_IN_S))
    return envelope


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return np.asarray(x * x * (3.0 - 2.0 * x), dtype=float)


def sacrum_relative_acceleration_mps2(
    scenario: Scenario,
    t_s: FloatArray,
    phase: FloatArray,
    envelope: FloatArray,
    speed_mps: FloatArray,
    mid_stance_phase: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Acceleration of the sacrum relative to the centre of mass, heading frame, (n, 3), m/s^2.

    `mid_stance_phase` is the fraction of a running step at mid-stance (half the contact over the step).
    """
    span = max(scenario.speed_mps - scenario.walk_speed_mps, 0.1)
    run_share = np.clip((speed_mps - scenario.walk_speed_mps) / span, 0.0, 1.0)
    scale = envelope * (REL_WALK_SCALE + (1.0 - REL_WALK_SCALE) * run_share)
    p = rng.uniform(0.0, 2.0 * np.pi, 3)
    lowest = mid_stance_phase + rng.uniform(-REL_VERTICAL_PHASE_SPREAD, REL_VERTICAL_PHASE_SPREAD)
    two_pi_phase = 2.0 * np.pi * phase
    fore_aft = REL_FORE_AFT_M * np.sin(two_pi_phase + p[0])
    sideways = REL_SIDEWAYS_M * np.sin(0.5 * two_pi_phase + p[1])
    vertical = -REL_VERTICAL_M * np.cos(2.0 * np.pi * (phase - lowest))
    vertical = vertical + REL_VERTICAL_2ND_M * np.sin(2.0 * two_pi_phase + p[2])
    d = np.stack([fore_aft, sideways, vertical], axis=1) * scale[:, None]
    dt = float(t_s[1] - t_s[0])
    return np.asarray(np.gradient(np.gradient(d, dt, axis=0), dt, axis=0), dtype=float)


def mount_rotvec_rad(
    scenario: Scenario,
    t_s: FloatArray,
    phase: FloatArray,
    envelope: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Rotation of the clip on the pelvis relative to its standing pose, as rotation vectors (n, 3), rad.

    Rock: the clip rocks on the waistband, mostly about the left-right axis (`MOUNT_ROCK_AXIS_SHARE`).
    On the midline of the sacrum, left and right steps load it with mirror-image forces, so its pitch rocks
    at the step frequency (sin(2 pi phase + p): the same on every step) while its roll and yaw flip sign from
    one step to the next, i.e. rock at the stride frequency (sin(pi phase + p), `phase` being the step
    count). A step-periodic roll or yaw would add the same offset to every step's obliquity or rotation,
    which for the drop (left step: max obliquity; right step: max of minus it) and the rotation range is a
    left/right asymmetry of up to twice the rock's amplitude: an asymmetry of the clip, not of the runner.

    A clip off the midline breaks that mirror (its two sides are loaded differently), and that share of
    the roll and yaw rock, `Scenario.mount_off_centre_share`, repeats every step instead. One sensor cannot
    tell it from a real pelvic asymmetry: the product's advice is to clip the sensor on the midline.

    Slip: a smooth rotation from the end of standing to the end of the recording. The slip is the
    ratchet of many steps' loads; on the midline their roll and yaw torques cancel stride by stride, so the
    clip slips only about the waistband (pitch, its sign drawn from the seed). Off the midline the same
    share of roll and yaw joins in: the direction is (share * a, b, share * c) normalised, with a, b, c drawn
    from the seed (a share of 1 is a slip in any direction).
    """
    p = rng.uniform(0.0, 2.0 * np.pi, 3)
    wobble_rad = np.deg2rad(scenario.mount_wobble_deg)
    off_centre = scenario.mount_off_centre_share
    two_pi_phase = 2.0 * np.pi * phase[:, None]
    step_periodic = np.sin(two_pi_phase + p[None, :])
    stride_periodic = np.sin(0.5 * two_pi_phase + p[None, :])
    # pitch (y) repeats every step; roll (x) and yaw (z) alternate, except for the off-centre share
    mirrored = np.array([1.0 - off_centre, 0.0, 1.0 - off_centre])
    repeated = 1.0 - mirrored
    shape = mirrored[None, :] * stride_periodic + repeated[None, :] * step_periodic
    share = np.asarray(MOUNT_ROCK_AXIS_SHARE, dtype=float)
    rotvec = wobble_rad * share[None, :] * shape * envelope[:, None]
    if scenario.mount_slip_deg > 0:
        drawn = rng.normal(size=3)
        direction = np.array([off_centre * drawn[0], drawn[1], off_centre * drawn[2]])
        direction /= np.linalg.norm(direction)
        start = scenario.standing_s
        x = np.clip((t_s - start) / max(scenario.total_s - start, 1.0), 0.0, 1.0)
        slip = np.deg2rad(scenario.mount_slip_deg) * x * x * (3.0 - 2.0 * x)
        rotvec = rotvec + slip[:, None] * direction[None, :]
    return np.asarray(rotvec, dtype=float)


def mount_motion(rotvec_rad: FloatArray, sampling_rate_hz: float) -> tuple[FloatArray, FloatArray]:
    """The clip's rotation matrices and angular rate from its rotation vectors (any contiguous block).

    Returns
    -------
    w : (n, 3, 3) array
        Body-frame rotation of the clip relative to its standing pose: the sensor-to-body rotation at time t
        is w(t) @ mounting_rotation.
    omega_w_rps : (n, 3) array, rad/s
        Angular velocity of w in its own frame (w^T dw/dt, central differences).
    """
    w = Rotation.from_rotvec(rotvec_rad).as_matrix()
    dw = np.gradient(w, 1.0 / sampling_rate_hz, axis=0)
    skew = np.einsum("nji,njk->nik", w, dw)
    omega = np.stack(
        [skew[:, 2, 1] - skew[:, 1, 2], skew[:, 0, 2] - skew[:, 2, 0], skew[:, 1, 0] - skew[:, 0, 1]], 1
    )
    return np.asarray(w, dtype=float), 0.5 * omega
