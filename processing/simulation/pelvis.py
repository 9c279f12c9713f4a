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

import numpy as np
from scipy import signal

from processing import STANDARD_GRAVITY_MPS2
from processing.simulation.body import gait_envelope, gait_phase
from processing.simulation.forces import IMPACT_DURATION_S
from processing.simulation.gait import Contacts
from processing.simulation.rotations import FloatArray
from processing.simulation.scenario import Scenario
from processing.simulation.sensor import leg_transmission

#: Walking amplitudes relative to running (walking pelvis motion is smaller: tilt ~3 deg, obliquity ~+-4 deg,
#: rotation ~8-10 deg; Perry & Burnfield 2010, Schache et al. 1999).
WALK_TILT_MEAN_SCALE = 0.25
WALK_TILT_RANGE_SCALE = 0.45
WALK_DROP_SCALE = 0.65
WALK_ROTATION_SCALE = 0.7
#: Peak of the obliquity hump as a fraction of stance (running) and of the step (walking).
RUN_DROP_PEAK_OF_STANCE = 0.45
#: Running style differs between people: per scenario (drawn from the seed) the drop peak falls anywhere in
#: this share of stance around `RUN_DROP_PEAK_OF_STANCE`, the tilt peak is offset from toe-off by up to this
#: fraction of a step, and the rotation extremes lag or lead the contacts by up to this fraction of a step.
STYLE_DROP_PEAK_SPREAD = 0.1
STYLE_TILT_PEAK_SPREAD = 0.1
STYLE_ROTATION_LAG_SPREAD = 0.12
WALK_DROP_PEAK_OF_STEP = 0.3
#: Heel-strike jolt of the pelvis: natural frequency and decay time of its damped wobble (see
#: `impact_jolt_deg`), and how long each contact's wobble is computed for (below 1e-5 of its peak by then).
JOLT_FREQUENCY_HZ = 9.0
JOLT_DECAY_S = 0.04
JOLT_SPAN_S = 0.5
#: Step-to-step standard deviation of the timing of the tilt and obliquity peaks, fraction of a step.
PEAK_TIMING_JITTER = 0.025
#: Per-step rotation ranges come from a smooth swing between alternating extremes plus a wide raised-cosine
#: bump per step (centred past mid-step, spilling into both neighbours), whose amplitude is calibrated so that
#: every step spans its planted range; wide bumps keep the angular acceleration (and with it the lever-arm
#: acceleration the sensor reads) physiological.
ROTATION_BUMP_CENTRE = 0.6
ROTATION_BUMP_HALF_WIDTH = 0.7
ROTATION_CALIBRATION_ROUNDS = 4
ROTATION_SWING_SHARE = 0.85
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


def _rotation_bumps(t_s: FloatArray, contacts: Contacts, amplitude_deg: FloatArray) -> FloatArray:
    """Sum of smooth (cos^4) bumps, one per step, centred at `ROTATION_BUMP_CENTRE` of the step, half-width
    `ROTATION_BUMP_HALF_WIDTH` steps, signed towards the side the step swings to (+ for left steps)."""
    out = np.zeros_like(t_s)
    centre = contacts.t_ic_s + ROTATION_BUMP_CENTRE * contacts.step_time_s
    half = ROTATION_BUMP_HALF_WIDTH * contacts.step_time_s
    lo = np.searchsorted(t_s, centre - half)
    hi = np.searchsorted(t_s, centre + half)
    for k in np.flatnonzero(amplitude_deg != 0.0):
        x = (t_s[lo[k] : hi[k]] - centre[k]) / half[k]
        # cos^4: value, slope and curvature vanish at the edges, so the angular acceleration stays continuous.
        out[lo[k] : hi[k]] += contacts.side_sign[k] * amplitude_deg[k] * np.cos(0.5 * np.pi * x) ** 4
    return out


def _step_ranges(t_s: FloatArray, angle_deg: FloatArray, contacts: Contacts) -> FloatArray:
    """max - min of an angle over each [IC, next IC] window (NaN where the window is empty)."""
    a = np.searchsorted(t_s, contacts.t_ic_s)
    e = np.searchsorted(t_s, contacts.t_ic_s + contacts.step_time_s, side="right")
    out = np.full(len(contacts), np.nan)
    for k in range(len(contacts)):
        if e[k] - a[k] > 1:
            window = angle_deg[a[k] : e[k]]
            out[k] = window.max() - window.min()
    return out


def impact_jolt_deg(
    contacts: Contacts, impact_vertical_mps2: FloatArray, t_s: FloatArray, deg_per_bw: float
) -> tuple[FloatArray, FloatArray]:
    """The pelvis jolted by each heel strike: a damped wobble of tilt (forwards) and obliquity (towards the
    swing side) after the IC, sized by the impact transient, (tilt, obliquity) in deg.

    The pelvis is a damped rotational oscillator (`JOLT_FREQUENCY_HZ`, decay `JOLT_DECAY_S`) driven by the
    heel-strike transient as it arrives through the leg (`sensor.leg_transmission`): its angular
    acceleration follows that force, so it starts smoothly after the IC, never before the force that
    causes it has reached the pelvis, and never as a jump. Each contact's wobble is scaled so that a
    1 body-weight transient of the standard running length (`forces.IMPACT_DURATION_S`) peaks at
    `deg_per_bw` times exp(-1 / (4 f tau)), the first peak of a free wobble sin(2 pi f t) exp(-t / tau).
    This is real pelvis motion, so it is in the truth.

    Parameters
    ----------
    contacts : Contacts
    impact_vertical_mps2 : (n,) array, m/s^2
        The vertical heel-strike transients on the grid `t_s` (`ForceResult.impact_mps2[:, 2]`): each
        contact's lies in its first tens of milliseconds.
    t_s : (n,) array, s
        Uniform grid.
    deg_per_bw : float
    """
    tilt = np.zeros_like(t_s)
    obliquity = np.zeros_like(t_s)
    n = t_s.shape[0]
    fs = 1.0 / float(t_s[1] - t_s[0])
    span = int(np.ceil(JOLT_SPAN_S * fs))
    w = 2.0 * np.pi * JOLT_FREQUENCY_HZ
    num, den = signal.bilinear([w * w], [1.0, 2.0 / JOLT_DECAY_S, w * w], fs)  # decay exp(-t / tau)

    def wobble(drive_mps2: FloatArray) -> FloatArray:
        return np.asarray(signal.lfilter(num, den, leg_transmission(drive_mps2, fs)), dtype=float)

    tau = np.arange(span) / fs
    standard = np.where(tau < IMPACT_DURATION_S, np.sin(np.pi * tau / IMPACT_DURATION_S) ** 2, 0.0)
    free_peak = np.exp(-1.0 / (4.0 * JOLT_FREQUENCY_HZ * JOLT_DECAY_S))
    scale = deg_per_bw * free_peak / float(np.max(wobble(STANDARD_GRAVITY_MPS2 * standard)))
    starts = np.searchsorted(t_s, contacts.t_ic_s)
    # A contact's own transient ends before its toe-off and before the next IC (walking overlaps contacts).
    ends = np.minimum(np.searchsorted(t_s, contacts.t_to_s), np.append(starts[1:], n))
    for k in range(len(contacts)):
        a, b = starts[k], min(starts[k] + span, n)
        drive = np.zeros(span)
        own = impact_vertical_mps2[a : min(ends[k], b)]
        if b <= a or not own.any():
            continue
        drive[: own.shape[0]] = own
        jolt = scale * wobble(drive)[: b - a]
        tilt[a:b] += jolt
        obliquity[a:b] += contacts.side_sign[k] * 0.7 * jolt
    return tilt, obliquity


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
    drop_peak_of_stance = RUN_DROP_PEAK_OF_STANCE + rng.uniform(
        -STYLE_DROP_PEAK_SPREAD, STYLE_DROP_PEAK_SPREAD
    )
    tilt_peak_offset = rng.uniform(-STYLE_TILT_PEAK_SPREAD, STYLE_TILT_PEAK_SPREAD)
    rotation_lag = rng.uniform(-STYLE_ROTATION_LAG_SPREAD, STYLE_ROTATION_LAG_SPREAD)
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
    # The swing alone spans a little less than the smaller side's range; the calibrated bumps add the rest.
    rot_half = vary(ROTATION_SWING_SHARE * 0.5 * np.minimum(rot_l, rot_r)) * rot_scale
    rot_target = vary(np.where(left, rot_l, rot_r)) * rot_scale

    step = contacts.step_time_s
    contact_fraction = (contacts.t_to_s - contacts.t_ic_s) / step
    # Step index and phase of every grid sample; before the first IC the runner stands (angles 0).
    standing = t_s < contacts.t_ic_s[0]
    sign = contacts.side_sign

    # Tilt: per-step mean, half range and peak phase blended (C1) between step centres, on the smooth gait
    # phase, so the tilt rate has no step at any contact.
    centres = contacts.t_ic_s + 0.5 * step
    # Peak timing varies a little from step to step too, so no detector can read angles at a fixed phase.
    peak = np.where(run, np.clip(contact_fraction + tilt_peak_offset, 0.3, 0.95), 0.5)
    peak = peak + rng.normal(0.0, PEAK_TIMING_JITTER, k)
    smooth_phase = gait_phase(t_s, contacts)
    tilt = cosine_interpolate(t_s, centres, tilt_mean) + cosine_interpolate(t_s, centres, tilt_half) * np.cos(
        2.0 * np.pi * (smooth_phase - cosine_interpolate(t_s, centres, peak))
    )

    # Obliquity: one hump per step, signed by side; peak inside stance so max over [IC, TO] is the drop.
    drop_peak = np.where(run, drop_peak_of_stance * contact_fraction, WALK_DROP_PEAK_OF_STEP)
    drop_peak = np.clip(drop_peak + rng.normal(0.0, PEAK_TIMING_JITTER, k), 0.05, 0.9 * contact_fraction)
    obliquity = cosine_interpolate(t_s, contacts.t_ic_s + drop_peak * step, sign * drop)

    # Rotation: a smooth swing between alternating extremes (-sign * half at each IC, shifted by this
    # runner's lag), then per-step bumps calibrated so each step's range is its planted one.
    lag_s = rotation_lag * float(np.median(step))
    rotation = cosine_interpolate(t_s, contacts.t_ic_s + lag_s, -sign * rot_half)
    bumps = np.zeros(k)
    base = rotation
    for _ in range(ROTATION_CALIBRATION_ROUNDS):
        rotation = base + _rotation_bumps(t_s, contacts, bumps)
        shortfall = rot_target - _step_ranges(t_s, rotation, contacts)
        bumps = np.maximum(bumps + np.nan_to_num(shortfall), 0.0)
    rotation = base + _rotation_bumps(t_s, contacts, bumps)

    fade = gait_envelope(s, contacts, t_s)
    fade[standing] = 0.0
    return PelvisAngles(tilt * fade, obliquity * fade, rotation * fade)
