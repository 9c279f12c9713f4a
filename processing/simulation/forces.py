"""Ground reaction forces of each foot, summed, per unit body mass (m/s^2), in the heading frame.

The heading frame is the body frame without the pelvis angles: x along the direction of travel, y left, z up.
Each contact contributes
- vertical: running, a smooth active peak (skewed half-sine peaking near 45 % of contact, with a soft toe-off
  tail) plus, for heel strikers, an impact transient of varying size at initial contact; walking, the double
  hump sin(pi u) + 0.35 sin(3 pi u) (humps about 1.5 times the mid-stance dip) and a small heel strike. Each
  contact's vertical impulse equals body weight times its step time (less any standing support inside the
  step), exactly on the simulation grid, so the mean vertical force over every step and stride balances
  body weight and flight time, contact time and vertical oscillation stay mutually consistent.
- anterior-posterior: braking (negative) then propulsion (positive); the propulsive impulse is set so that the
  net impulse equals the speed change over the step (zero at constant speed); overstriding raises the braking
  peak, lengthens the braking phase and adds a braking spike to the heel-strike transient.
- medio-lateral: a half-sine pushing the centre of mass towards the other side, with a constant impulse per
  contact so the body does not drift sideways when contact times differ between sides.
While standing (at the start and in pauses) both feet carry body weight without taking steps
(`standing_support_mps2`). A contact's force starts at its IC and ends at its TO, which is how the truth
defines those instants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing import STANDARD_GRAVITY_MPS2
from processing.simulation import terrain
from processing.simulation.gait import WALK_STANCE_FRACTION_OF_STRIDE, Contacts
from processing.simulation.rotations import FloatArray
from processing.simulation.scenario import Scenario

G = STANDARD_GRAVITY_MPS2
#: Running vertical force peaks at about 45 % of contact (Cavanagh & Lafortune 1980; Dorn et al. 2012).
RUN_VERTICAL_PEAK_FRACTION = 0.45
#: Step-to-step standard deviation of where the vertical peak falls, fraction of contact.
RUN_VERTICAL_PEAK_JITTER = 0.02
#: Exponent growth that softens the end of the running vertical force (see `_skewed_half_sine`).
RUN_TOE_OFF_TAIL = 0.5
#: The heel-strike impact transient lasts about 40-50 ms; we use 45 ms, shortened to 30 % of short contacts.
IMPACT_DURATION_S = 0.045
#: Step-to-step coefficient of variation of the impact transient (impacts vary far more than active peaks).
IMPACT_VARIABILITY = 0.2
#: Step-to-step coefficient of variation of the braking peak.
BRAKING_VARIABILITY = 0.1
#: Walking: braking peak and medio-lateral peak in body weights (Winter, Biomechanics of Human Movement).
WALK_BRAKING_PEAK_BW = 0.18
WALK_LATERAL_PEAK_BW = 0.08
#: Walking heel strike: a short transient (0.2 BW over 25 ms; shod heel strikes give 0.1-0.5 BW), which
#: lower-back sensors show as a sharp jolt in every axis.
WALK_IMPACT_BW = 0.2
WALK_IMPACT_DURATION_S = 0.025
#: Share of the heel-strike transient that also appears as a braking spike.
IMPACT_BRAKING_SHARE = 0.3
#: Share of the heel-strike transient that appears sideways: a brief lateral push (the heel lands outside
#: the centre of mass) before the medial force of stance.
IMPACT_LATERAL_SHARE = 0.15
#: After standing, the trailing foot unloads over this time while the first contact loads, s.
STANDING_UNLOAD_S = 0.25
#: Relative size of the third harmonic that carves the walking double hump.
WALK_HUMP_HARMONIC = 0.35


@dataclass(frozen=True, slots=True, eq=False)
class ForceResult:
    """Summed ground reaction force per unit mass and per-contact force features.

    Attributes
    ----------
    grf_mps2 : (n, 3) array, m/s^2
        Sum of all contacts' forces divided by body mass, heading frame, on the simulation grid.
    impact_mps2 : (n, 3) array, m/s^2
        The heel-strike transient part of `grf_mps2` (vertical spike and its braking share): mostly the foot
        and shank being stopped, so it reaches the pelvis only through the leg (`sensor.leg_transmission`).
    peak_vertical_bw, impact_bw, peak_braking_bw, peak_propulsion_bw : (k,) arrays, body weights
        Per contact: maximum of its own vertical force, the size of its impact transient (0 for none), and
        the peaks of its braking and propulsive force (both positive numbers).
    """

    grf_mps2: FloatArray
    impact_mps2: FloatArray
    peak_vertical_bw: FloatArray
    impact_bw: FloatArray
    peak_braking_bw: FloatArray
    peak_propulsion_bw: FloatArray


def _skewed_half_sine(u: FloatArray, peak: float) -> FloatArray:
    """sin(pi u^b)^(1 + k u^2) on [0, 1]: peak near `peak`, a steep rise and a soft toe-off tail.

    b puts the peak of the sine at `peak`; the growing exponent (k = `RUN_TOE_OFF_TAIL`) leaves the loading
    edge as it is but lets the force fade out over the last 10 to 20 ms as the toes roll off, as force-plate
    curves do (the last 10 ms carry less than 0.1 body weight), instead of ending on a sharp corner.
    """
    x = np.clip(u, 0.0, 1.0)
    b = np.log(0.5) / np.log(peak)
    return np.asarray(np.sin(np.pi * x**b) ** (1.0 + RUN_TOE_OFF_TAIL * x * x), dtype=float)


def standing_support_mps2(scenario: Scenario, contacts: Contacts, t_s: FloatArray) -> FloatArray:
    """Vertical force per unit mass of both feet while standing still (at the start and in pauses).

    At the start it is body weight until the first IC, then the trailing foot unloads (cos^2 over
    `STANDING_UNLOAD_S`). Into a pause the weight shifts onto the standing feet over the last contact
    (sin^2 from its IC to its TO) and stays until the runner sets off, then unloads the same way.
    """
    support = np.zeros_like(t_s)
    if len(contacts) == 0:
        return np.full_like(t_s, G)

    def unload_after(t0: float) -> FloatArray:
        x = np.clip((t_s - t0) / STANDING_UNLOAD_S, 0.0, 1.0)
        return np.asarray(G * np.cos(0.5 * np.pi * x) ** 2, dtype=float)

    if scenario.standing_s > 0:
        first_ic = contacts.t_ic_s[0]
        support += np.where(t_s < first_ic, G, unload_after(first_ic))
    for j in np.flatnonzero(contacts.ends_bout):
        ic, to = contacts.t_ic_s[j], contacts.t_to_s[j]
        restart = contacts.t_ic_s[j + 1] if j + 1 < len(contacts) else np.inf
        x = np.clip((t_s - ic) / (to - ic), 0.0, 1.0)
        load = G * np.sin(0.5 * np.pi * x) ** 2
        support += np.where(t_s < restart, load, unload_after(restart))
    return support


def ground_reaction_forces(
    scenario: Scenario,
    contacts: Contacts,
    t_s: FloatArray,
    speed_mps: FloatArray,
    rng: np.random.Generator,
) -> ForceResult:
    """Sum every contact's force on the simulation grid `t_s` (uniform), per unit mass, heading frame."""
    n = t_s.shape[0]
    dt = float(t_s[1] - t_s[0])
    grf = np.zeros((n, 3))
    impact_part = np.zeros((n, 3))
    k = len(contacts)
    peak_v = np.zeros(k)
    impact = np.zeros(k)
    peak_b = np.zeros(k)
    peak_p = np.zeros(k)
    if k == 0:
        grf[:, 2] = G
        return ForceResult(grf, impact_part, peak_v, impact, peak_b, peak_p)

    support = standing_support_mps2(scenario, contacts, t_s)
    grf[:, 2] += support
    support_cumulative = np.concatenate([[0.0], np.cumsum(support)])

    ic_idx = np.searchsorted(t_s, contacts.t_ic_s)
    to_idx = np.searchsorted(t_s, contacts.t_to_s)
    v_at_ic = np.interp(contacts.t_ic_s, t_s, speed_mps)
    v_next = np.append(v_at_ic[1:], v_at_ic[-1])
    run_contact = scenario.run_contact_time_s
    walk_contact = WALK_STANCE_FRACTION_OF_STRIDE * 2.0 * 60.0 / scenario.walk_cadence_spm
    side_sign = contacts.side_sign
    # On a hill each contact's force is built normal and parallel to the ground, then turned level
    # (`terrain.surface_to_level`).
    hill = terrain.grade(scenario, contacts.t_ic_s)
    for i in range(k):
        a, b = ic_idx[i], min(to_idx[i], n)
        if b - a < 3:
            continue
        tau = t_s[a:b] - contacts.t_ic_s[i]
        tc = contacts.t_to_s[i] - contacts.t_ic_s[i]
        u = tau / tc
        # Vertical impulse over the step: g times the number of grid samples from this IC to the next one.
        next_ic = contacts.t_ic_s[i] + contacts.step_time_s[i]
        n_step = int(np.searchsorted(t_s, next_ic) - a)
        # Standing support inside this step (the stance after a pause, or the trailing foot at the start)
        # carries part of the weight: the contact makes up only the rest, so the step still balances.
        supported = support_cumulative[min(a + n_step, n)] - support_cumulative[a]
        cos_slope, sin_slope = 1.0 / np.hypot(1.0, hill[i]), hill[i] / np.hypot(1.0, hill[i])
        target_z = max(G * cos_slope * n_step - supported, 0.0)
        if contacts.is_running[i]:
            peak_at = RUN_VERTICAL_PEAK_FRACTION + rng.normal(0.0, RUN_VERTICAL_PEAK_JITTER)
            active = _skewed_half_sine(u, float(np.clip(peak_at, 0.35, 0.55)))
            impact_i = max(0.0, scenario.impact_peak_bw * (1.0 + rng.normal(0.0, IMPACT_VARIABILITY)))
            impact_i *= float(terrain.impact_factor(hill[i]))
            t_imp = min(IMPACT_DURATION_S, 0.3 * tc)
            bump = np.where(tau < t_imp, np.sin(np.pi * np.clip(tau / t_imp, 0.0, 1.0)) ** 2, 0.0)
            amp = (target_z - G * impact_i * bump.sum()) / active.sum()
            fz = amp * active + G * impact_i * bump
            braking_bw = scenario.braking_peak_bw * (1.0 + rng.normal(0.0, BRAKING_VARIABILITY))
            braking_bw = max(0.02, braking_bw * float(terrain.braking_factor(hill[i])))
            brake_fraction = 0.42 + 0.1 * min(scenario.braking_peak_bw, 1.0)
            lateral_bw = scenario.lateral_peak_bw * run_contact / tc
            impact[i] = impact_i
        else:
            active = np.sin(np.pi * u) + WALK_HUMP_HARMONIC * np.sin(3.0 * np.pi * u)
            impact_i = max(0.0, WALK_IMPACT_BW * (1.0 + rng.normal(0.0, IMPACT_VARIABILITY)))
            bump = np.where(
                tau < WALK_IMPACT_DURATION_S,
                np.sin(np.pi * np.clip(tau / WALK_IMPACT_DURATION_S, 0.0, 1.0)) ** 2,
                0.0,
            )
            fz = (target_z - G * impact_i * bump.sum()) / active.sum() * active + G * impact_i * bump
            impact[i] = impact_i
            braking_bw = WALK_BRAKING_PEAK_BW * (1.0 + rng.normal(0.0, BRAKING_VARIABILITY))
            brake_fraction = 0.5
            lateral_bw = WALK_LATERAL_PEAK_BW * walk_contact / tc
        in_brake = u < brake_fraction
        brake = np.where(in_brake, np.sin(np.pi * np.clip(u / brake_fraction, 0.0, 1.0)), 0.0)
        prop = np.where(
            in_brake, 0.0, np.sin(np.pi * np.clip((u - brake_fraction) / (1.0 - brake_fraction), 0.0, 1.0))
        )
        fx_brake = -G * braking_bw * brake - IMPACT_BRAKING_SHARE * G * impact[i] * bump
        # Net AP impulse over the contact = speed change to the next IC (per unit mass, in samples).
        # plus, on a hill, the share of body weight along the ground (net propulsion uphill, braking downhill)
        target_x = (v_next[i] - v_at_ic[i]) / dt + G * sin_slope * n_step
        if hill[i] < 0.0 and target_x < fx_brake.sum() < 0.0:  # downhill: more braking than planted
            fx_brake = fx_brake * (target_x / fx_brake.sum())
        prop_amp = max(0.0, (target_x - fx_brake.sum()) / max(prop.sum(), 1e-9))
        fx = fx_brake + prop_amp * prop
        fy = -side_sign[i] * G * lateral_bw * np.sin(np.pi * u)
        fy = fy + side_sign[i] * IMPACT_LATERAL_SHARE * G * impact[i] * bump
        own = np.stack([fx, fy, fz], axis=1)
        own_impact = np.stack(
            [
                -(IMPACT_BRAKING_SHARE * G * impact[i] * bump),
                side_sign[i] * IMPACT_LATERAL_SHARE * G * impact[i] * bump,
                G * impact[i] * bump,
            ],
            axis=1,
        )
        if hill[i] != 0.0:
            own = terrain.surface_to_level(own, hill[i])
            own_impact = terrain.surface_to_level(own_impact, hill[i])
        grf[a:b] += own
        impact_part[a:b] += own_impact
        peak_v[i] = fz.max() / G
        peak_b[i] = -fx.min() / G
        peak_p[i] = fx.max() / G
    return ForceResult(grf, impact_part, peak_v, impact, peak_b, peak_p)
