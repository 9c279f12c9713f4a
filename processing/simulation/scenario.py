"""What to simulate: a frozen, validated description of one recording (gait, pelvis, sensor, mounting).

Every field has a default, so `Scenario()` is a clean, well-mounted 60 s run at 3.5 m/s preceded by 5 s of
standing. Per-side fields are named for the step (and so the stance foot) they act on: `drop_left_deg` is the
pelvic drop during left stance, i.e. how far the right (swing) side hangs below its standing level, and equals
the truth `pelvic_drop_deg` of left steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from processing.samples import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ
from processing.simulation import terrain
from processing.simulation.errors import InvalidScenarioError
from processing.simulation.host_stamps import HostStamps
from processing.simulation.rotations import FloatArray

Side = Literal["L", "R"]


@dataclass(frozen=True, slots=True)
class Turn:
    """A change of heading (direction of travel) with a smooth rate profile.

    Attributes
    ----------
    t_start_s : float, s
        Start of the turn on the recording's time axis (0 = first sample).
    angle_deg : float, deg
        Heading change; positive turns left (counter-clockwise seen from above).
    duration_s : float, s
        How long the turn takes; the rate follows a sin^2 profile, so it starts and ends smoothly.
    """

    t_start_s: float
    angle_deg: float
    duration_s: float = 4.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_start_s) and self.t_start_s >= 0.0):
            raise InvalidScenarioError("turns", f"t_start_s must be >= 0, got {self.t_start_s}")
        if not (math.isfinite(self.angle_deg) and abs(self.angle_deg) <= 360.0):
            raise InvalidScenarioError("turns", f"angle_deg must be within +-360, got {self.angle_deg}")
        if not (math.isfinite(self.duration_s) and 0.5 <= self.duration_s <= 60.0):
            raise InvalidScenarioError("turns", f"duration_s must be in [0.5, 60] s, got {self.duration_s}")


@dataclass(frozen=True, slots=True)
class Pause:
    """A stop during the run (a traffic light): slow down, stand still, set off again.

    Attributes
    ----------
    t_start_s : float, s
        When the runner stands still, on the recording's time axis; they slow down (and walk the last
        steps) over the seconds before.
    duration_s : float, s
        How long they stand.
    """

    t_start_s: float
    duration_s: float = 20.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_start_s) and self.t_start_s >= 0.0):
            raise InvalidScenarioError("pauses", f"t_start_s must be >= 0, got {self.t_start_s}")
        if not (math.isfinite(self.duration_s) and 2.0 <= self.duration_s <= 600.0):
            raise InvalidScenarioError("pauses", f"duration_s must be in [2, 600] s, got {self.duration_s}")

    @property
    def t_end_s(self) -> float:
        """When the runner sets off again, s."""
        return self.t_start_s + self.duration_s


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated recording: standing, optional walking warm-up, running, optional walking cool-down.

    Attributes
    ----------
    name : str
        Identifier used by `scenario_by_name` and in reports.
    seed : int
        Seeds the one `numpy.random.Generator` that drives every random choice, so runs are reproducible.
    sampling_rate_hz : float, Hz
        Output data rate, 50 to 500 (the sensor profile uses 52/104/208/416).
    duration_s : float, s
        Running time (0 allowed, for standing-only or walking-only recordings).
    standing_s : float, s
        Standing still at the start (the mounting calibration period); may be 0.
    warmup_walk_s, cooldown_walk_s : float, s
        Walking before and after the run.
    speed_mps, cadence_spm : float
        Running speed (m/s) and cadence (steps/min) at the start of the run.
    contact_time_s : float or None, s
        Mean running ground contact time; None derives it from speed (0.52 * speed^-0.6, which gives about
        0.30 s at 2.5 m/s and 0.18 s at 6 m/s, inside published ranges for recreational runners).
    walk_speed_mps, walk_cadence_spm : float
        Walking speed and cadence for the warm-up and cool-down.
    pace_variability_pct : float, %
        Standard deviation of the slow fluctuation of speed around its planned value.
    step_time_asymmetry_pct, contact_time_asymmetry_pct : float, %
        Symmetry index 100 * (R - L) / mean of step time and contact time; positive means right steps last
        longer. Step time belongs to the step's side (from its IC to the other foot's IC).
    stride_variability_pct : float, %
        Coefficient of variation of stride time and of contact time from stride to stride.
    tilt_mean_deg : float, deg
        Mean anterior pelvic tilt while running, relative to standing.
    tilt_mean_asymmetry_deg : float, deg
        Difference (right - left) of the mean tilt of right and left steps.
    tilt_range_left_deg, tilt_range_right_deg : float, deg
        Peak-to-peak tilt oscillation within left and right steps (about 5 to 10 deg in running).
    drop_left_deg, drop_right_deg : float, deg
        Pelvic drop during left and right stance (running: about 4 to 8 deg).
    rotation_range_left_deg, rotation_range_right_deg : float, deg
        Transverse-plane rotation range within left and right steps (running: about 8 to 20 deg).
    angle_variability_pct : float, %
        Step-to-step coefficient of variation of the pelvic angle amplitudes.
    fatigue_tilt_mean_deg, fatigue_tilt_range_deg : float, deg
        Linear change of the mean tilt and of the tilt range (both sides) from the start to the end of the
        run.
    fatigue_drop_left_deg, fatigue_drop_right_deg, fatigue_rotation_range_deg : float, deg
        Linear change of the drop per stance side and of the rotation range over the run.
    fatigue_step_time_asymmetry_pct : float, %
        Linear change of the step-time symmetry index over the run (asymmetry that appears with fatigue).
    fatigue_cadence_spm, fatigue_contact_time_s : float
        Linear change of cadence (steps/min) and contact time (s) from the start to the end of the run.
    braking_peak_bw : float, body weights
        Peak anterior-posterior braking force in running; overstriding raises it (0.3 typical, 0.6+ high).
    impact_peak_bw : float, body weights
        Size of the heel-strike impact transient added to the vertical force (0 for forefoot strikers).
    impact_jolt_deg_per_bw : float, deg per body weight
        How far each heel strike jolts the pelvis (a damped wobble of tilt and obliquity) per body weight of
        its impact transient; real pelvis motion, so it is part of the truth angles. Off by default because
        its size in running is not well documented (lower-back gyroscopes in walking suggest 0.5 to 2
        deg/BW); the `heel_strike_jolt` scenario plants it.
    lateral_peak_bw : float, body weights
        Peak medio-lateral force, pushing the centre of mass towards the other side.
    turns : tuple of Turn
        Heading changes; the whole pelvis turns in the world, the rotation angle stays relative to travel.
    pauses : tuple of Pause
        Stops inside the running segment (standing still, e.g. at a traffic light); the pause time counts as
        part of `duration_s`.
    slope_pct : float, %
        Grade of the ground during the run (rise over run, positive uphill), reached over the first seconds of
        running: gait, forces and forward lean follow it (`processing.simulation.terrain`). Standing and any
        walking before the run are on the level.
    slope_period_s : float, s
        0 for a constant grade; otherwise rolling hills: the grade alternates between +`slope_pct` and
        -`slope_pct` with this period (held for most of each half, turning over smoothly).
    lean_into_turns : bool
        Lean into turns (towards the centre, until gravity plus the centripetal acceleration lies along the
        body); the lean is a real pelvic roll and appears in the truth obliquity (a left turn lowers the left
        side). A 180 deg track bend at 4 m/s leans about 3 deg.
    mounting_zyx_deg : (3,) tuple, deg
        Sensor mounting as intrinsic z-y-x Euler angles: R = Rz(a) Ry(b) Rx(c) maps sensor-frame vectors into
        the body frame (v_body = R @ v_sensor). (0, 0, 180) is upside down; see `mounting_rotation`.
    sensor_offset_m : (3,) tuple, m
        Sensor position relative to the pelvis centre in the body frame; the default sits on the sacrum,
        10 cm behind it, so pelvic rotation adds tangential and centripetal acceleration as on a real runner.
    mount_resonance_hz, mount_damping_ratio : float
        The strap and soft tissue between pelvis and sensor act as a damped spring: the accelerometer rings
        at this frequency after each heel strike (sacral sensors: about 15 to 30 Hz, lightly damped).
    mount_wobble_deg : float, deg
        Amplitude of the clip rocking on the waistband (the sensor turns against the pelvis; the truth is the
        pelvis): about the left-right axis at the step frequency, half as much about the forward and up
        axes at the stride frequency, alternating from step to step (`mount_off_centre_share`).
    mount_slip_deg : float, deg
        How far the clip slips (rotates on the waistband) by the end of the recording, smoothly from the end
        of standing; the calibration at standing cannot know it. On the midline it slips about the
        left-right axis only (sign drawn from the seed); see `mount_off_centre_share`.
    mount_off_centre_share : float, 0 to 1
        How far off the sacrum's midline the clip sits, as the share of its roll and yaw rock that repeats
        every step (the rest alternates in sign from step to step, as the mirror symmetry of a runner loads
        a midline clip) and of roll and yaw in its slip. 0 is a clip on the midline. Off the midline the
        clip reads a left/right difference of drop and rotation that the pelvis does not have, and no single
        sensor can tell it from a real asymmetry (`processing.simulation.body.mount_rotvec_rad`).
    acc_noise_mps2, gyr_noise_dps : float
        White noise standard deviation per output sample.
    acc_bias_mps2, gyr_bias_dps : (3,) tuple
        Constant bias in the sensor frame.
    gyr_bias_walk_dps_per_sqrt_s : float
        Random walk of the gyroscope bias (bias instability).
    acc_range_g, gyr_range_dps : float
        Full-scale ranges; readings saturate there and are quantised to 16 bits over the range.
    sample_rate_error_ppm : float, ppm
        How far the sensor's true output rate is from `sampling_rate_hz` (MEMS oscillators: up to about
        +-1.5 %, i.e. 15000 ppm, unless trimmed). The samples fall on the true instants and `t_s` reports
        them (plus jitter), so a pipeline that trusts the nominal rate instead of the timestamps drifts.
    timestamp_jitter_s : float, s
        Standard deviation of the reported timestamps around the true sample instants (at most a quarter of
        the sample period, so the reported times stay increasing).
    first_side : {"L", "R"} or None
        Foot of the first initial contact; None draws it from the seed, so no pipeline can rely on it.
    heading_wander_deg : float, deg
        Standard deviation of the slow, smooth wandering of the direction of travel that real running has
        even on a straight (periods of 8 to 40 s); the turns come on top.
    acc_scale_error : (3,) tuple
        Relative scale-factor error of each accelerometer axis (0.01 = reads 1 % high).
    absent_acc_axis : {0, 1, 2} or None
        A biaxial logger: this sensor axis has no accelerometer (its column of `ImuSamples.acc_mps2` is all
        NaN, the shared convention for an absent axis) and there is no gyroscope. Mount it with the absent
        axis medio-lateral for a logger whose axes lie along vertical and fore-aft.
    host_stamps : HostStamps or None
        Stamp the samples as a phone app or host writes them (arrival jitter, lost packets, shared packet
        stamps: `processing.simulation.host_stamps`); the truth stays on the true time axis. Combine with
        `sample_rate_error_ppm` for a rate off the nominal one.
    """

    name: str = "custom"
    seed: int = 0
    sampling_rate_hz: float = 104.0
    duration_s: float = 60.0
    standing_s: float = 5.0
    warmup_walk_s: float = 0.0
    cooldown_walk_s: float = 0.0
    speed_mps: float = 3.5
    cadence_spm: float = 170.0
    contact_time_s: float | None = None
    walk_speed_mps: float = 1.4
    walk_cadence_spm: float = 112.0
    pace_variability_pct: float = 2.0
    step_time_asymmetry_pct: float = 0.0
    contact_time_asymmetry_pct: float = 0.0
    stride_variability_pct: float = 1.5
    tilt_mean_deg: float = 4.0
    tilt_mean_asymmetry_deg: float = 0.0
    tilt_range_left_deg: float = 7.0
    tilt_range_right_deg: float = 7.0
    drop_left_deg: float = 6.0
    drop_right_deg: float = 6.0
    rotation_range_left_deg: float = 12.0
    rotation_range_right_deg: float = 12.0
    angle_variability_pct: float = 6.0
    fatigue_tilt_mean_deg: float = 0.0
    fatigue_tilt_range_deg: float = 0.0
    fatigue_step_time_asymmetry_pct: float = 0.0
    fatigue_drop_left_deg: float = 0.0
    fatigue_drop_right_deg: float = 0.0
    fatigue_rotation_range_deg: float = 0.0
    fatigue_cadence_spm: float = 0.0
    fatigue_contact_time_s: float = 0.0
    braking_peak_bw: float = 0.35
    impact_peak_bw: float = 0.6
    lateral_peak_bw: float = 0.08
    impact_jolt_deg_per_bw: float = 0.0
    turns: tuple[Turn, ...] = ()
    lean_into_turns: bool = True
    pauses: tuple[Pause, ...] = ()
    slope_pct: float = 0.0
    slope_period_s: float = 0.0
    mounting_zyx_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sensor_offset_m: tuple[float, float, float] = (-0.10, 0.0, 0.0)
    mount_resonance_hz: float = 22.0
    mount_damping_ratio: float = 0.3
    mount_wobble_deg: float = 0.5
    mount_slip_deg: float = 0.5
    mount_off_centre_share: float = 0.0
    acc_noise_mps2: float = 0.02
    gyr_noise_dps: float = 0.1
    acc_bias_mps2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gyr_bias_dps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gyr_bias_walk_dps_per_sqrt_s: float = 0.0
    acc_range_g: float = 16.0
    gyr_range_dps: float = 2000.0
    sample_rate_error_ppm: float = 0.0
    timestamp_jitter_s: float = 0.0
    first_side: Side | None = None
    heading_wander_deg: float = 1.5
    acc_scale_error: tuple[float, float, float] = (0.0, 0.0, 0.0)
    absent_acc_axis: int | None = None
    host_stamps: HostStamps | None = None

    def __post_init__(self) -> None:
        _validate(self)

    # ---- derived quantities -------------------------------------------------------------------------------

    @property
    def total_s(self) -> float:
        """Length of the whole recording, s."""
        return self.standing_s + self.warmup_walk_s + self.duration_s + self.cooldown_walk_s

    @property
    def run_start_s(self) -> float:
        """Time the running segment starts, s."""
        return self.standing_s + self.warmup_walk_s

    @property
    def run_end_s(self) -> float:
        """Time the running segment ends, s."""
        return self.run_start_s + self.duration_s

    @property
    def run_contact_time_s(self) -> float:
        """Mean running contact time at the start of the run, s."""
        if self.contact_time_s is not None:
            return self.contact_time_s
        return running_contact_time_s(self.speed_mps)

    @property
    def mounting_rotation(self) -> FloatArray:
        """(3, 3) matrix mapping sensor-frame vectors into the body frame: v_body = R @ v_sensor."""
        return mounting_rotation(self.mounting_zyx_deg)


def running_contact_time_s(speed_mps: float) -> float:
    """Typical running contact time for a speed, s (0.52 * v^-0.6: 0.30 s at 2.5 m/s, 0.18 s at 6 m/s)."""
    return float(0.52 * speed_mps**-0.6)


def mounting_rotation(mounting_zyx_deg: tuple[float, float, float]) -> FloatArray:
    """Sensor-to-body rotation from intrinsic z-y-x Euler angles in degrees (v_body = R @ v_sensor)."""
    return np.asarray(Rotation.from_euler("ZYX", mounting_zyx_deg, degrees=True).as_matrix(), dtype=float)


def mounting_zyx_deg_from_rotation(rotation: FloatArray) -> tuple[float, float, float]:
    """The `Scenario.mounting_zyx_deg` that gives a sensor-to-body rotation matrix (v_body = R @ v_sensor)."""
    m = np.asarray(rotation, dtype=float)
    if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6) or np.linalg.det(m) < 0:
        raise InvalidScenarioError("mounting_zyx_deg", "the mounting must be a proper 3x3 rotation matrix")
    a, b, c = Rotation.from_matrix(m).as_euler("ZYX", degrees=True)
    return (float(a), float(b), float(c))


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise InvalidScenarioError(name, message)


def _validate(s: Scenario) -> None:
    for f in fields(s):
        value = getattr(s, f.name)
        if isinstance(value, float | int) and not isinstance(value, bool):
            _check(math.isfinite(value), f.name, f"must be finite, got {value}")
        if isinstance(value, tuple) and f.name.endswith(("_m", "_deg", "_mps2", "_dps")):
            _check(len(value) == 3, f.name, f"needs three components, got {value!r}")
            _check(all(math.isfinite(float(v)) for v in value), f.name, f"must be finite, got {value!r}")
    _check(isinstance(s.name, str) and bool(s.name), "name", "give the scenario a non-empty name")
    _check(
        isinstance(s.seed, int | np.integer) and not isinstance(s.seed, bool) and s.seed >= 0,
        "seed",
        f"must be a non-negative int, got {s.seed!r}",
    )
    _check(
        MIN_SAMPLING_RATE_HZ <= s.sampling_rate_hz <= MAX_SAMPLING_RATE_HZ,
        "sampling_rate_hz",
        f"must be in [{MIN_SAMPLING_RATE_HZ:g}, {MAX_SAMPLING_RATE_HZ:g}] Hz, got {s.sampling_rate_hz}",
    )
    for name in ("duration_s", "standing_s", "warmup_walk_s", "cooldown_walk_s"):
        value = getattr(s, name)
        _check(0.0 <= value <= 3600.0, name, f"must be in [0, 3600] s, got {value}")
    _check(s.total_s >= 1.0, "duration_s", "the recording must last at least 1 s in total")
    _check(2.0 <= s.speed_mps <= 8.0, "speed_mps", f"running speed must be in [2, 8] m/s, got {s.speed_mps}")
    _check(130.0 <= s.cadence_spm <= 220.0, "cadence_spm", f"must be in [130, 220], got {s.cadence_spm}")
    _check(0.5 <= s.walk_speed_mps <= 2.2, "walk_speed_mps", f"must be in [0.5, 2.2], got {s.walk_speed_mps}")
    _check(
        80.0 <= s.walk_cadence_spm <= 135.0,
        "walk_cadence_spm",
        f"must be in [80, 135], got {s.walk_cadence_spm}",
    )
    _check(0.0 <= s.pace_variability_pct <= 10.0, "pace_variability_pct", "must be in [0, 10] %")
    _check(abs(s.step_time_asymmetry_pct) <= 20.0, "step_time_asymmetry_pct", "must be within +-20 %")
    _check(
        abs(s.step_time_asymmetry_pct + s.fatigue_step_time_asymmetry_pct) <= 20.0,
        "fatigue_step_time_asymmetry_pct",
        "the step-time asymmetry at the end of the run must stay within +-20 %",
    )
    _check(abs(s.tilt_mean_asymmetry_deg) <= 10.0, "tilt_mean_asymmetry_deg", "must be within +-10 deg")
    for name in ("fatigue_tilt_mean_deg", "fatigue_tilt_range_deg", "fatigue_rotation_range_deg"):
        _check(abs(getattr(s, name)) <= 20.0, name, "must be within +-20 deg")
    for name in ("fatigue_drop_left_deg", "fatigue_drop_right_deg"):
        _check(abs(getattr(s, name)) <= 15.0, name, "must be within +-15 deg")
    _check(abs(s.fatigue_cadence_spm) <= 40.0, "fatigue_cadence_spm", "must be within +-40 steps/min")
    _check(abs(s.fatigue_contact_time_s) <= 0.1, "fatigue_contact_time_s", "must be within +-0.1 s")
    _check(abs(s.contact_time_asymmetry_pct) <= 20.0, "contact_time_asymmetry_pct", "must be within +-20 %")
    _check(0.0 <= s.stride_variability_pct <= 6.0, "stride_variability_pct", "must be in [0, 6] %")
    _check(0.0 <= s.angle_variability_pct <= 25.0, "angle_variability_pct", "must be in [0, 25] %")
    _check(
        -10.0 <= s.tilt_mean_deg <= 25.0, "tilt_mean_deg", f"must be in [-10, 25] deg, got {s.tilt_mean_deg}"
    )
    for name in (
        "tilt_range_left_deg",
        "tilt_range_right_deg",
        "rotation_range_left_deg",
        "rotation_range_right_deg",
    ):
        _check(0.0 <= getattr(s, name) <= 40.0, name, f"must be in [0, 40] deg, got {getattr(s, name)}")
    for name in ("drop_left_deg", "drop_right_deg"):
        _check(0.0 <= getattr(s, name) <= 20.0, name, f"must be in [0, 20] deg, got {getattr(s, name)}")
    _check(0.0 <= s.braking_peak_bw <= 1.5, "braking_peak_bw", "must be in [0, 1.5] body weights")
    _check(0.0 <= s.impact_peak_bw <= 2.0, "impact_peak_bw", "must be in [0, 2] body weights")
    _check(0.0 <= s.impact_jolt_deg_per_bw <= 3.0, "impact_jolt_deg_per_bw", "must be in [0, 3] deg/BW")
    _check(0.0 <= s.lateral_peak_bw <= 0.5, "lateral_peak_bw", "must be in [0, 0.5] body weights")
    _check(all(isinstance(t, Turn) for t in s.turns), "turns", "must be a tuple of Turn")
    _check(isinstance(s.lean_into_turns, bool), "lean_into_turns", "must be True or False")
    _check(all(isinstance(p, Pause) for p in s.pauses), "pauses", "must be a tuple of Pause")
    _check(
        all(s.run_start_s + 8.0 <= p.t_start_s and p.t_end_s <= s.run_end_s - 8.0 for p in s.pauses),
        "pauses",
        "each pause must lie inside the running segment, at least 8 s from its start and end",
    )
    _check(
        all(
            q.t_start_s >= p.t_end_s + 10.0 or p.t_start_s >= q.t_end_s + 10.0
            for i, p in enumerate(s.pauses)
            for q in s.pauses[i + 1 :]
        ),
        "pauses",
        "pauses must be at least 10 s apart",
    )
    _check(
        all(t.t_start_s >= s.standing_s for t in s.turns),
        "turns",
        "turns must start after the standing period (the calibration needs stillness)",
    )
    _check(abs(s.slope_pct) <= 25.0, "slope_pct", f"must be within +-25 %, got {s.slope_pct}")
    _check(
        s.slope_period_s == 0.0 or 20.0 <= s.slope_period_s <= 3600.0,
        "slope_period_s",
        f"must be 0 (a constant grade) or in [20, 3600] s, got {s.slope_period_s}",
    )
    _check(all(abs(float(v)) <= 2.0 for v in s.sensor_offset_m), "sensor_offset_m", "must be within +-2 m")
    _check(8.0 <= s.mount_resonance_hz <= 100.0, "mount_resonance_hz", "must be in [8, 100] Hz")
    _check(0.05 <= s.mount_damping_ratio <= 2.0, "mount_damping_ratio", "must be in [0.05, 2]")
    _check(0.0 <= s.mount_wobble_deg <= 5.0, "mount_wobble_deg", "must be in [0, 5] deg")
    _check(0.0 <= s.mount_slip_deg <= 20.0, "mount_slip_deg", "must be in [0, 20] deg")
    _check(0.0 <= s.mount_off_centre_share <= 1.0, "mount_off_centre_share", "must be in [0, 1]")
    _check(s.acc_noise_mps2 >= 0.0 and s.gyr_noise_dps >= 0.0, "acc_noise_mps2", "noise must be >= 0")
    _check(s.gyr_bias_walk_dps_per_sqrt_s >= 0.0, "gyr_bias_walk_dps_per_sqrt_s", "must be >= 0")
    _check(2.0 <= s.acc_range_g <= 64.0, "acc_range_g", f"must be in [2, 64] g, got {s.acc_range_g}")
    _check(
        100.0 <= s.gyr_range_dps <= 5000.0, "gyr_range_dps", f"must be in [100, 5000], got {s.gyr_range_dps}"
    )
    _check(abs(s.sample_rate_error_ppm) <= 30000.0, "sample_rate_error_ppm", "must be within +-30000 ppm")
    _check(
        0.0 <= s.timestamp_jitter_s <= 0.25 / s.sampling_rate_hz,
        "timestamp_jitter_s",
        "must be in [0, a quarter of the sample period] so that reported times stay increasing",
    )
    _check(s.first_side in ("L", "R", None), "first_side", f"must be 'L', 'R' or None, got {s.first_side!r}")
    _check(0.0 <= s.heading_wander_deg <= 20.0, "heading_wander_deg", "must be in [0, 20] deg")
    _check(
        len(s.acc_scale_error) == 3 and all(abs(float(e)) <= 0.1 for e in s.acc_scale_error),
        "acc_scale_error",
        "needs three relative errors within +-0.1",
    )
    _check(
        s.absent_acc_axis in (None, 0, 1, 2) and not isinstance(s.absent_acc_axis, bool),
        "absent_acc_axis",
        f"must be 0, 1, 2 (the sensor axis a biaxial logger lacks) or None, got {s.absent_acc_axis!r}",
    )
    _check(
        s.host_stamps is None or isinstance(s.host_stamps, HostStamps),
        "host_stamps",
        "must be a processing.simulation.host_stamps.HostStamps or None",
    )
    # Running needs a flight phase: contact must end before the other foot lands, even on the longer side.
    # Uphill both lengthen contact and shorten the step (`terrain`): the steepest uphill grade is the worst.
    steepest = terrain.grade_range(s)[1]
    hill_cadence = float(terrain.cadence_factor(steepest))
    hill_contact = float(terrain.contact_factor(steepest))
    step_s = 60.0 / (s.cadence_spm * hill_cadence)
    end_step_s = 60.0 / (max(130.0, s.cadence_spm + s.fatigue_cadence_spm) * hill_cadence)
    worst_contact_s = (
        (s.run_contact_time_s + max(0.0, s.fatigue_contact_time_s))
        * (1.0 + abs(s.contact_time_asymmetry_pct) / 200.0)
        * hill_contact
    )
    worst_asymmetry = max(
        abs(s.step_time_asymmetry_pct), abs(s.step_time_asymmetry_pct + s.fatigue_step_time_asymmetry_pct)
    )
    shortest_step_s = min(step_s, end_step_s) * (1.0 - worst_asymmetry / 200.0)
    _check(
        s.run_contact_time_s >= 0.08 and worst_contact_s <= 0.85 * shortest_step_s,
        "contact_time_s",
        f"running contact ({worst_contact_s:.3f} s at worst) must stay below 85 % of the shortest step "
        f"({shortest_step_s:.3f} s) so that there is a flight phase; lower it or lower the cadence",
    )
