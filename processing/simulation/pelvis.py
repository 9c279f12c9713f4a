"""Pelvic tilt, obliquity and rotation over the gait cycle, relative to neutral standing, on the fine grid.

Patterns (running; walking uses smaller amplitudes scaled from the running ones, so asymmetries persist):
- tilt oscillates twice per stride around the mean anterior tilt, peaking near each toe-off (anterior tilt is
  greatest at push-off and least in mid-stance; Schache et al. 1999, Clin Biomech 14:1-8);
- obliquity: during each stance the swing side drops to a peak at about 45 % of stance (running) and swings
  smoothly to the other side's peak in the next step (half-cosine blends between alternating signed peaks,
  so the rate stays continuous through each contact and the stance maximum is the planted drop);
- rotation swings once per stride: at left IC the left hip is forward (pelvis turned right, negative), during
  left stance it turns left; a per-side overshoot late in the step carries per-side range differences.
Amplitudes vary step to step, drift with fatigue, and fade in over the first second after standing so the
angles leave the neutral posture smoothly. The heading (turns) is separate: it rotates the whole body frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from processing import STANDARD_GRAVITY_MPS2
from processing.simulation.body import gait_envelope, gait_phase
from processing.simulation.gait import Contacts
from processing.simulation.rotations import FloatArray
from processing.simulation.scenario import Scenario

#: Walking amplitudes relative to running (walking pelvis motion is smaller: tilt ~3 deg, obliquity ~+-4 deg,
#: rotation ~8-10 deg; Perry & Burnfield 2010, Schache et al. 1999).
WALK_TILT_MEAN_SCALE = 0.25
WALK_TILT_RANGE_SCALE = 0.45
WALK_DROP_SCALE = 0.65
WALK_ROTATION_SCALE = 0.7
#: Peak of the obliquity hump as a fraction of stance (running) and of the step (walking).
RUN_DROP_PEAK_OF_STANCE = 0.45
WALK_DROP_PEAK_OF_STEP = 0.3
#: Step-to-step standard deviation of the timing of the tilt and obliquity peaks, fraction of a step.
PEAK_TIMING_JITTER = 0.025
#: Where in the step the rotation overshoot peaks, as a fraction of the step.
ROTATION_OVERSHOOT_PEAK = 0.85
#: Step-to-step standard deviation of the mean tilt, deg.
TILT_MEAN_JITTER_DEG = 0.3


@dataclass(frozen=True, slots=True, eq=False)
class PelvisAngles:
    """Pelvis angles relative to neutral standing and to the direction of travel, deg, shape (n,)."""

    tilt_deg: FloatArray
    obliquity_deg: FloatArray
    rotation_deg: FloatArray


#: Heading wander: sum of this many random sinusoids with periods between these bounds, s.
HEADING_WANDER_COMPONENTS = 6
HEADING_WANDER_PERIODS_S = (8.0, 40.0)


def heading_deg(
    scenario: Scenario, t_s: FloatArray, speed_mps: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Direction of travel (deg, positive to the left): slow wander plus the turns (sin^2 rate profiles).

    The wander is a function of the distance covered (wavelengths of `HEADING_WANDER_PERIODS_S` times the
    running speed), so it stands still whenever the runner does and the runner sets off in the direction
    they stood facing.
    """
    psi = np.zeros_like(t_s)
    if scenario.heading_wander_deg > 0:
        wavelengths = rng.uniform(*HEADING_WANDER_PERIODS_S, HEADING_WANDER_COMPONENTS) * scenario.speed_mps
        phases = rng.uniform(0.0, 2.0 * np.pi, HEADING_WANDER_COMPONENTS)
        # Equal-power components whose sum has the requested standard deviation.
        amp = scenario.heading_wander_deg * np.sqrt(2.0 / HEADING_WANDER_COMPONENTS)
        distance = np.concatenate([[0.0], np.cumsum(0.5 * (speed_mps[1:] + speed_mps[:-1]) * np.diff(t_s))])
        distance -= np.interp(max(scenario.standing_s, float(t_s[0])), t_s, distance)
        for wavelength, phase in zip(wavelengths, phases, strict=True):
            psi += amp * (np.sin(2.0 * np.pi * distance / wavelength + phase) - np.sin(phase))
    for turn in scenario.turns:
        x = np.clip((t_s - turn.t_start_s) / turn.duration_s, 0.0, 1.0)
        psi = psi + turn.angle_deg * (x - np.sin(2.0 * np.pi * x) / (2.0 * np.pi))
    return psi


def cosine_interpolate(t_s: FloatArray, t_knots_s: FloatArray, values: FloatArray) -> FloatArray:
    """Interpolate between knots with half-cosine blends: C1, zero slope at every knot, monotone between.

    Used for angles that swing between alternating extremes (obliquity between the left- and right-stance
    peaks): the curve passes exactly through each extreme and never overshoots it, so the per-step maximum
    equals the planted value, while the rate (what the gyroscope sees) stays continuous across contacts.
    Before the first and after the last knot the value is held.
    """
    if t_knots_s.shape[0] < 2:
        return np.full(t_s.shape, float(values[0]) if values.shape[0] else 0.0)
    i = np.clip(np.searchsorted(t_knots_s, t_s, side="right") - 1, 0, t_knots_s.shape[0] - 2)
    span = t_knots_s[i + 1] - t_knots_s[i]
    x = np.clip((t_s - t_knots_s[i]) / span, 0.0, 1.0)
    blend = 0.5 * (1.0 - np.cos(np.pi * x))
    return np.asarray(values[i] + (values[i + 1] - values[i]) * blend, dtype=float)


def turn_lean_deg(speed_mps: FloatArray, heading_deg: FloatArray, sampling_rate_hz: float) -> FloatArray:
    """Lean into a turn, as obliquity (deg): the body tilts towards the centre until the specific force
    (gravity plus the centripetal acceleration v * dpsi/dt) lies along it. A left turn (dpsi/dt > 0) lowers
    the left side, i.e. negative obliquity.
    """
    centripetal = speed_mps * np.gradient(np.deg2rad(heading_deg), 1.0 / sampling_rate_hz)
    return np.asarray(-np.rad2deg(np.arctan2(centripetal, STANDARD_GRAVITY_MPS2)), dtype=float)


def _hump(u: FloatArray, peak: FloatArray) -> FloatArray:
    """sin^2(pi u^a) on [0, 1], peaking (=1) at u = peak, zero value and zero slope at both ends."""
    a = np.log(0.5) / np.log(np.clip(peak, 0.05, 0.95))
    return np.sin(np.pi * np.clip(u, 0.0, 1.0) ** a) ** 2


@cache
def _overshoot_table() -> tuple[FloatArray, FloatArray]:
    """(extra range / base half range, overshoot amplitude / base half range), increasing, for inversion.

    A step from -A to +A with ease h(u) plus an overshoot bump B * hump(u) spans A * (2 + G(B / A)) with
    G(beta) = max_u [2 h(u) + beta hump(u)] - 2; G is flat near 0 (small bumps stay below the end value), so
    the table keeps only its strictly increasing part.
    """
    u = np.linspace(0.0, 1.0, 4001)
    ease = 0.5 * (1.0 - np.cos(np.pi * u))
    hump = _hump(u, np.full(u.shape, ROTATION_OVERSHOOT_PEAK))
    beta = np.linspace(0.0, 6.0, 601)
    extra = (2.0 * ease[None, :] + beta[:, None] * hump[None, :]).max(axis=1) - 2.0
    keep = np.concatenate([[True], np.diff(extra) > 1e-12])  # (0, 0) first: no extra range, no overshoot
    return extra[keep], beta[keep]


def rotation_overshoot(half_range_deg: FloatArray, extra_range_deg: FloatArray) -> FloatArray:
    """Overshoot bump amplitude that widens a step's rotation range from 2 * half by `extra_range_deg`."""
    extra, beta = _overshoot_table()
    half = np.maximum(half_range_deg, 1e-6)
    ratio = np.clip(extra_range_deg / half, 0.0, extra[-1])
    return np.where(extra_range_deg > 0, np.interp(ratio, extra, beta) * half, 0.0)


def pelvis_angles(
    scenario: Scenario, contacts: Contacts, t_s: FloatArray, rng: np.random.Generator
) -> PelvisAngles:
    """Tilt, obliquity and rotation on the grid `t_s` for the given contacts."""
    s = scenario
    k = len(contacts)
    if k == 0:
        zero = np.zeros_like(t_s)
        return PelvisAngles(zero, zero.copy(), zero.copy())
    cv = s.angle_variability_pct / 100.0
    run = contacts.is_running
    left = contacts.side == "L"
    frac = contacts.fatigue_fraction

    def per_side(left_value: float, right_value: float) -> FloatArray:
        return np.where(left, left_value, right_value)

    def vary(values: FloatArray) -> FloatArray:
        return values * np.clip(1.0 + rng.normal(0.0, cv, k), 0.5, 1.5)

    def walk_or_run(walk_scale: float) -> FloatArray:
        return np.where(run, 1.0, walk_scale)

    tilt_mean = s.tilt_mean_deg + frac * s.fatigue_tilt_mean_deg
    # The C1 blend between step centres averages an alternating +-a to 2a/pi over a step: scale by pi/2 so
    # the per-step means differ by the asked-for amount.
    tilt_mean = tilt_mean + per_side(-0.5, 0.5) * s.tilt_mean_asymmetry_deg * (0.5 * np.pi)
    tilt_mean = tilt_mean * walk_or_run(WALK_TILT_MEAN_SCALE)
    tilt_mean = tilt_mean + rng.normal(0.0, TILT_MEAN_JITTER_DEG, k)
    tilt_range = per_side(s.tilt_range_left_deg, s.tilt_range_right_deg) + frac * s.fatigue_tilt_range_deg
    tilt_half = vary(0.5 * np.maximum(tilt_range, 0.0)) * walk_or_run(WALK_TILT_RANGE_SCALE)
    drop = per_side(s.drop_left_deg, s.drop_right_deg) + frac * per_side(
        s.fatigue_drop_left_deg, s.fatigue_drop_right_deg
    )
    drop = vary(np.maximum(drop, 0.0)) * walk_or_run(WALK_DROP_SCALE)
    rot_l = np.maximum(s.rotation_range_left_deg + frac * s.fatigue_rotation_range_deg, 0.0)
    rot_r = np.maximum(s.rotation_range_right_deg + frac * s.fatigue_rotation_range_deg, 0.0)
    rot_scale = walk_or_run(WALK_ROTATION_SCALE)
    rot_half = vary(0.5 * np.minimum(rot_l, rot_r)) * rot_scale
    rot_over = np.maximum(np.where(left, rot_l, rot_r) - np.minimum(rot_l, rot_r), 0.0) * rot_scale

    step = contacts.step_time_s
    contact_fraction = (contacts.t_to_s - contacts.t_ic_s) / step
    # Step index and phase of every grid sample; before the first IC the runner stands (angles 0).
    idx = np.searchsorted(contacts.t_ic_s, t_s, side="right") - 1
    standing = idx < 0
    j = np.clip(idx, 0, k - 1)
    u = np.clip((t_s - contacts.t_ic_s[j]) / step[j], 0.0, 1.0)
    sign = contacts.side_sign

    # Tilt: per-step mean, half range and peak phase blended (C1) between step centres, on the smooth gait
    # phase, so the tilt rate has no step at any contact.
    centres = contacts.t_ic_s + 0.5 * step
    # Peak timing varies a little from step to step too, so no detector can read angles at a fixed phase.
    peak = np.where(run, np.clip(contact_fraction, 0.3, 0.95), 0.5) + rng.normal(0.0, PEAK_TIMING_JITTER, k)
    smooth_phase = gait_phase(t_s, contacts)
    tilt = cosine_interpolate(t_s, centres, tilt_mean) + cosine_interpolate(t_s, centres, tilt_half) * np.cos(
        2.0 * np.pi * (smooth_phase - cosine_interpolate(t_s, centres, peak))
    )

    # Obliquity: one hump per step, signed by side; peak inside stance so max over [IC, TO] is the drop.
    drop_peak = np.where(run, RUN_DROP_PEAK_OF_STANCE * contact_fraction, WALK_DROP_PEAK_OF_STEP)
    drop_peak = np.clip(drop_peak + rng.normal(0.0, PEAK_TIMING_JITTER, k), 0.05, 0.9 * contact_fraction)
    obliquity = cosine_interpolate(t_s, contacts.t_ic_s + drop_peak * step, sign * drop)

    # Rotation: from -sign*half at this IC to the next IC's value, plus an overshoot towards the next extreme.
    extreme = -sign * rot_half
    nxt = np.minimum(j + 1, k - 1)
    ease = 0.5 * (1.0 - np.cos(np.pi * u))
    rotation = extreme[j] + (extreme[nxt] - extreme[j]) * ease
    # Overshoot sized from the mean of the two extremes this step spans (see `_overshoot_table`).
    bump = rotation_overshoot(
        0.5 * (np.abs(extreme) + np.abs(extreme[np.minimum(np.arange(k) + 1, k - 1)])), rot_over
    )
    rotation = rotation + sign[j] * bump[j] * _hump(u, np.full(u.shape, ROTATION_OVERSHOOT_PEAK))

    fade = gait_envelope(s, contacts, t_s)
    fade[standing] = 0.0
    return PelvisAngles(tilt * fade, obliquity * fade, rotation * fade)
