"""`simulate(scenario)`: a recording from a sacrum-mounted IMU together with its exact ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from processing import STANDARD_GRAVITY_MPS2, ImuSamples
from processing.simulation import terrain
from processing.simulation.body import (
    gait_envelope,
    gait_phase,
    mount_motion,
    mount_rotvec_rad,
    sacrum_relative_acceleration_mps2,
)
from processing.simulation.forces import ForceResult, ground_reaction_forces
from processing.simulation.gait import PRE_ROLL_S, Contacts, generate_contacts, speed_mps
from processing.simulation.host_stamps import host_stamped
from processing.simulation.pelvis import (
    PelvisAngles,
    heading_deg,
    impact_jolt_deg,
    pelvis_angles,
    turn_lean_deg,
)
from processing.simulation.rotations import FloatArray, body_angular_velocity_rps, pelvis_orientation
from processing.simulation.scenario import Scenario
from processing.simulation.sensor import (
    acc_full_scale_mps2,
    corrupt,
    decimate,
    leg_transmission,
    pelvis_specific_force_mps2,
    soft_mount_response,
    to_sensor_frame,
)
from processing.simulation.truth import (
    BoolArray,
    GaitTruth,
    StepTruth,
    StrArray,
    sacral_loading,
    step_metrics,
    vertical_oscillation_m,
)

#: Internal simulation rate, Hz: well above every output rate and the ~50 Hz content of impacts.
FINE_RATE_HZ = 1000.0
#: The internal grid runs past the end so the last contacts are complete before the output is cut, s.
TAIL_MARGIN_S = 1.5
#: Rotation stacks are built this many fine samples at a time (60 s), so memory stays bounded on long runs.
BLOCK_SAMPLES = 60_000


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedRun:
    """A simulated recording and its truth.

    Attributes
    ----------
    scenario : Scenario
        What was simulated.
    samples : ImuSamples
        Sensor-frame accelerometer (specific force incl. gravity, m/s^2) and gyroscope (deg/s) with the
        reported (possibly jittered) timestamps `t_s`. With `Scenario.host_stamps`, the samples the host
        kept and its stamps (not on a constant grid, some packets lost); with `Scenario.absent_acc_axis`, an
        all-NaN accelerometer column and no gyroscope.
    sampling_rate_hz : float
        Nominal output rate.
    truth : GaitTruth
        Steps, continuous angles on the sample grid, mounting.
    """

    scenario: Scenario
    samples: ImuSamples
    sampling_rate_hz: float
    truth: GaitTruth


def simulate(scenario: Scenario) -> SimulatedRun:
    """Simulate `scenario`; deterministic for its seed (all randomness from one seeded Generator)."""
    s = scenario
    rng = np.random.default_rng(s.seed)
    pre_s = 0.0 if s.standing_s > 0 else PRE_ROLL_S
    n_fine = int(np.ceil((pre_s + s.total_s + TAIL_MARGIN_S) * FINE_RATE_HZ))
    t = np.arange(n_fine) / FINE_RATE_HZ - pre_s

    contacts = generate_contacts(s, rng)
    speed = speed_mps(s, t, rng)
    forces = ground_reaction_forces(s, contacts, t, speed, rng)
    angles = pelvis_angles(s, contacts, t, rng)
    if s.impact_jolt_deg_per_bw > 0:
        jolt_tilt, jolt_obliquity = impact_jolt_deg(
            contacts, forces.impact_mps2[:, 2], t, s.impact_jolt_deg_per_bw
        )
        angles = PelvisAngles(
            angles.tilt_deg + jolt_tilt, angles.obliquity_deg + jolt_obliquity, angles.rotation_deg
        )
    heading = heading_deg(s, t, speed, rng)
    if s.lean_into_turns:
        # Leaning into turns is a real pelvic roll, so the truth obliquity carries it.
        lean = turn_lean_deg(speed, heading, FINE_RATE_HZ)
        angles = PelvisAngles(angles.tilt_deg, angles.obliquity_deg + lean, angles.rotation_deg)

    if s.slope_pct != 0.0:
        # The forward lean on a hill is a real pelvic tilt (against gravity), so the truth tilt carries it.
        lean_deg = terrain.hill_tilt_deg(terrain.grade(s, t))
        angles = PelvisAngles(angles.tilt_deg + lean_deg, angles.obliquity_deg, angles.rotation_deg)

    acc_fine, gyr_fine, mount_error_deg, sacrum_f = _sensor_signals(
        s, t, contacts, forces, angles, heading, speed, rng
    )
    # The sensor's own oscillator sets the true sample interval; `sampling_rate_hz` stays the nominal rate.
    actual_rate_hz = s.sampling_rate_hz * (1.0 + 1e-6 * s.sample_rate_error_ppm)
    t_true = np.arange(int(np.floor(s.total_s * actual_rate_hz - 1e-9)) + 1) / actual_rate_hz
    samples = _imu_output(s, t, acc_fine, gyr_fine, t_true, rng)
    truth = GaitTruth(
        steps=_step_truth(s, t, contacts, forces, angles, speed, sacrum_f, t_true),
        t_true_s=t_true,
        tilt_deg=np.interp(t_true, t, angles.tilt_deg),
        obliquity_deg=np.interp(t_true, t, angles.obliquity_deg),
        rotation_deg=np.interp(t_true, t, angles.rotation_deg),
        heading_deg=np.interp(t_true, t, heading),
        activity=_activity(contacts, t_true),
        left_contact=_on_ground(contacts, "L", t_true),
        right_contact=_on_ground(contacts, "R", t_true),
        speed_mps=np.interp(t_true, t, speed),
        mounting_rotation=s.mounting_rotation,
        mount_error_deg=np.interp(t_true, t, mount_error_deg),
        standing_s=s.standing_s,
    )
    return SimulatedRun(scenario=s, samples=samples, sampling_rate_hz=s.sampling_rate_hz, truth=truth)


def _sensor_signals(
    s: Scenario,
    t: FloatArray,
    contacts: Contacts,
    forces: ForceResult,
    angles: PelvisAngles,
    heading: FloatArray,
    speed: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Ideal sensor-frame specific force (m/s^2) and angular rate (deg/s) on the fine grid, the clip's
    rotation against the pelvis (deg), and the specific force of the sacrum point the sensor sits on, heading
    frame (m/s^2; before the strap and the clip: the truth of the sacral metrics)."""
    phase = gait_phase(t, contacts)
    envelope = gait_envelope(s, contacts, t)
    # Specific force of the sacrum, heading frame: GRF/m with the heel-strike transient passed through the
    # leg, the centripetal term of turns (v * dpsi/dt), and the sacrum's motion relative to the body's COM.
    f_heading = forces.grf_mps2 - forces.impact_mps2 + leg_transmission(forces.impact_mps2, FINE_RATE_HZ)
    f_heading[:, 1] += speed * np.gradient(np.deg2rad(heading), 1.0 / FINE_RATE_HZ)
    mid_stance = 0.5 * s.run_contact_time_s * s.cadence_spm / 60.0
    f_heading += sacrum_relative_acceleration_mps2(s, t, phase, envelope, speed, mid_stance, rng)
    omega = body_angular_velocity_rps(
        angles.tilt_deg, angles.obliquity_deg, angles.rotation_deg + heading, FINE_RATE_HZ
    )
    offset = np.asarray(s.sensor_offset_m, dtype=float)

    def pelvis_frame(block: slice) -> tuple[FloatArray, ...]:
        r_pelvis = pelvis_orientation(
            angles.tilt_deg[block], angles.obliquity_deg[block], angles.rotation_deg[block]
        )
        f = pelvis_specific_force_mps2(f_heading[block], r_pelvis, omega[block], FINE_RATE_HZ, offset)
        return f, np.einsum("nij,nj->ni", r_pelvis, f)  # and back to the heading frame: R f

    f_pelvis, f_sacrum_heading = _in_blocks(t.shape[0], pelvis_frame)
    f_pelvis = soft_mount_response(f_pelvis, FINE_RATE_HZ, s.mount_resonance_hz, s.mount_damping_ratio)
    # The clip rocks and slips on the waistband: sensor-to-body is w(t) @ M, so the sensor reads
    # (w M)^T f and (w M)^T omega + M^T omega_w.
    mounting = s.mounting_rotation
    rotvec = mount_rotvec_rad(s, t, phase, envelope, rng)

    def sensor_frame(block: slice) -> tuple[FloatArray, ...]:
        w, omega_w = mount_motion(rotvec[block], FINE_RATE_HZ)
        sensor_to_body = w @ mounting
        acc = np.einsum("nji,nj->ni", sensor_to_body, f_pelvis[block])
        gyr = np.einsum("nji,nj->ni", sensor_to_body, omega[block]) + to_sensor_frame(omega_w, mounting)
        return acc, np.rad2deg(gyr)

    acc, gyr = _in_blocks(t.shape[0], sensor_frame)
    mount_error_deg = np.rad2deg(np.linalg.norm(rotvec, axis=1))
    return acc, gyr, mount_error_deg, f_sacrum_heading


def _imu_output(
    s: Scenario,
    t: FloatArray,
    acc_fine: FloatArray,
    gyr_fine: FloatArray,
    t_true: FloatArray,
    rng: np.random.Generator,
) -> ImuSamples:
    """What the IMU reports: filtered, sampled at the true instants, corrupted, with jittered timestamps;
    a biaxial logger's absent axis as NaN without a gyroscope; host stamps with lost packets if asked."""
    acc = decimate(acc_fine, t, FINE_RATE_HZ, s.sampling_rate_hz, t_true)
    gyr = decimate(gyr_fine, t, FINE_RATE_HZ, s.sampling_rate_hz, t_true)
    acc = corrupt(
        acc * (1.0 + np.asarray(s.acc_scale_error, dtype=float)),
        sampling_rate_hz=s.sampling_rate_hz,
        noise_std=s.acc_noise_mps2,
        bias=np.asarray(s.acc_bias_mps2, dtype=float),
        bias_walk_per_sqrt_s=0.0,
        full_scale=acc_full_scale_mps2(s.acc_range_g),
        rng=rng,
    )
    gyr = corrupt(
        gyr,
        sampling_rate_hz=s.sampling_rate_hz,
        noise_std=s.gyr_noise_dps,
        bias=np.asarray(s.gyr_bias_dps, dtype=float),
        bias_walk_per_sqrt_s=s.gyr_bias_walk_dps_per_sqrt_s,
        full_scale=s.gyr_range_dps,
        rng=rng,
    )
    t_reported = t_true.copy()
    if s.timestamp_jitter_s > 0:
        limit = 2.0 * s.timestamp_jitter_s  # clipped so that reported times stay increasing
        t_reported = t_true + np.clip(rng.normal(0.0, s.timestamp_jitter_s, t_true.shape[0]), -limit, limit)
    if s.absent_acc_axis is not None:
        # a biaxial logger: the absent axis is an all-NaN column (the shared convention), and no gyroscope
        acc[:, s.absent_acc_axis] = np.nan
    gyr_out = None if s.absent_acc_axis is not None else gyr
    if s.host_stamps is not None:
        kept, t_host = host_stamped(t_true, s.host_stamps, s.sampling_rate_hz, rng)
        return ImuSamples(t_host, acc[kept], None if gyr_out is None else gyr_out[kept])
    return ImuSamples(t_reported, acc, gyr_out)


def _step_truth(
    s: Scenario,
    t: FloatArray,
    contacts: Contacts,
    forces: ForceResult,
    angles: PelvisAngles,
    speed: FloatArray,
    sacrum_f_mps2: FloatArray,
    t_true_s: FloatArray,
) -> StepTruth:
    """Every complete step inside the sampled recording: IC at or after 0, TO and the next IC (which ends
    the step) at or before the last sample (not the nominal end: an IC between the two has no sample).

    The last contact before a pause is a real contact (its IC and TO are events a detector must find) but no
    step: the runner stands before the other foot takes over. It is listed with its IC, TO, contact time and
    drop, and NaN for everything measured to the next IC (step and flight time, tilt, rotation, vertical
    oscillation, speed).

    Vertical oscillation, braking and impact are the sacrum's (`sacrum_f_mps2`, the specific force of the
    point the sensor sits on, heading frame), as the sensor measures them; `com_vertical_oscillation_m` keeps
    the centre of mass's for comparison.
    """
    t_next = contacts.t_ic_s + contacts.step_time_s
    t_last = float(t_true_s[-1]) if t_true_s.shape[0] else 0.0
    inside = (contacts.t_ic_s >= 0.0) & (contacts.t_to_s <= t_last)
    idx = np.flatnonzero(inside & ((t_next <= t_last) | contacts.ends_bout))
    stops = contacts.ends_bout[idx]
    ic, to, side = contacts.t_ic_s[idx], contacts.t_to_s[idx], contacts.side[idx]
    nxt = np.where(
        stops, np.maximum(to, ic + 1e-3), t_next[idx]
    )  # windows up to TO where there is no next IC
    tilt, drop, rot = step_metrics(
        t, angles.tilt_deg, angles.obliquity_deg, angles.rotation_deg, ic, nxt, to, side
    )
    a = np.searchsorted(t, ic)
    e = np.searchsorted(t, nxt)
    step_time = np.where(stops, np.nan, nxt - ic)
    contact_time = to - ic

    braking_peak, braking_dv, impact_g = sacral_loading(t, sacrum_f_mps2, ic, nxt, to)

    def no_step(values: FloatArray) -> FloatArray:
        return np.where(stops, np.nan, values)

    return StepTruth(
        t_ic_s=ic,
        side=side,
        t_to_s=to,
        step_time_s=step_time,
        contact_time_s=contact_time,
        flight_time_s=no_step(np.maximum(step_time - contact_time, 0.0)),
        pelvic_tilt_deg=no_step(tilt),
        pelvic_drop_deg=drop,
        pelvic_rotation_deg=no_step(rot),
        vertical_oscillation_m=no_step(
            vertical_oscillation_m(t, sacrum_f_mps2[:, 2] - STANDARD_GRAVITY_MPS2, ic, nxt)
        ),
        com_vertical_oscillation_m=no_step(
            vertical_oscillation_m(t, forces.grf_mps2[:, 2] - STANDARD_GRAVITY_MPS2, ic, nxt)
        ),
        is_running=contacts.is_running[idx],
        speed_mps=no_step(np.array([speed[i:j].mean() for i, j in zip(a, e, strict=True)])),
        peak_vertical_force_bw=forces.peak_vertical_bw[idx],
        impact_force_bw=forces.impact_bw[idx],
        peak_braking_force_bw=forces.peak_braking_bw[idx],
        peak_propulsion_force_bw=forces.peak_propulsion_bw[idx],
        braking_peak_mps2=no_step(braking_peak),
        braking_dv_mps=no_step(braking_dv),
        impact_peak_g=impact_g,
    )


def _activity(contacts: Contacts, t_true: FloatArray) -> StrArray:
    """Per sample: "stand" before the first contact and in pauses (from the last toe-off to the next IC),
    else the gait mode of the step that contains the sample."""
    if len(contacts) == 0:
        return np.full(t_true.shape[0], "stand", dtype="<U5")
    step_of_sample = np.searchsorted(contacts.t_ic_s, t_true, side="right") - 1
    mode = np.where(contacts.is_running, "run", "walk")
    activity = np.where(step_of_sample < 0, "stand", mode[np.clip(step_of_sample, 0, None)]).astype("<U5")
    for j in np.flatnonzero(contacts.ends_bout):
        last_off = contacts.t_to_s[max(j - 1, 0) : j + 1].max()
        restart = contacts.t_ic_s[j + 1] if j + 1 < len(contacts) else np.inf
        activity[(t_true >= last_off) & (t_true < restart)] = "stand"
    return np.asarray(activity)


def _on_ground(contacts: Contacts, side: str, t_true: FloatArray) -> BoolArray:
    """Whether the foot `side` is in a contact (IC <= t < TO) at each sample."""
    mine = contacts.side == side
    ic, to = contacts.t_ic_s[mine], contacts.t_to_s[mine]
    if ic.size == 0:
        return np.zeros(t_true.shape, dtype=bool)
    k = np.searchsorted(ic, t_true, side="right") - 1  # this foot's latest IC at or before t
    return np.asarray((k >= 0) & (t_true < to[np.clip(k, 0, None)]), dtype=bool)


def _in_blocks(n: int, compute: Callable[[slice], tuple[FloatArray, ...]]) -> tuple[FloatArray, ...]:
    """Run `compute` over consecutive blocks of the fine grid and join the results, to bound the memory of
    the (n, 3, 3) rotation stacks on long recordings. Blocks overlap by one sample on each side and are
    trimmed, so central differences inside `compute` equal those of a single pass."""
    parts: list[tuple[FloatArray, ...]] = []
    block_size = BLOCK_SAMPLES
    for start in range(0, n, block_size):
        lo, hi = max(start - 1, 0), min(start + block_size + 1, n)
        out = compute(slice(lo, hi))
        keep = slice(start - lo, start - lo + min(block_size, n - start))
        parts.append(tuple(x[keep] for x in out))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))
