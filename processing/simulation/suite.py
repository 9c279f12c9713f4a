"""The named scenarios the processing pipeline is validated against (issue 3, item 1).

They span running speeds 2.5 to 6 m/s, cadences 150 to 200 steps/min, output rates 52/104/208/416 Hz plus
odd rates, mountings from aligned to upside down, sideways and arbitrary 3-D rotations, IMUs good to poor,
asymmetry on either side, walking warm-up and cool-down, turns, and the planted faults: a clean run, the right
hip dropping more and more during left stance, step-time asymmetry, overstriding with high braking, excessive
rotation and fatigue drift; a stop at a traffic light; and a clip worn off the midline, whose left/right
artefact no single sensor can remove (`Scenario.mount_off_centre_share` > 0). Recordings as people have them
(issue 11): biaxial loggers without a medio-lateral axis or a gyroscope (`Scenario.absent_acc_axis`), and
samples stamped by a phone app on arrival, with jitter, lost packets and a clock 0.5 % off
(`Scenario.host_stamps`). Each has 60 to 120 s of running, so the whole suite simulates in a few seconds.

Hills and short clips (issue 11): up and down 10 to 15 % grades and rolling hills (`Scenario.slope_pct`,
`processing.simulation.terrain`), and short lab clips, 4 to 8 s of running with no standing start, the only
scenarios under 60 s.
"""

from __future__ import annotations

from typing import TypedDict

from processing.simulation.errors import UnknownScenarioError
from processing.simulation.host_stamps import HostStamps
from processing.simulation.scenario import Pause, Scenario, Turn


class _ImuErrors(TypedDict, total=False):
    """Scenario keyword arguments describing an IMU's quality (typed so that `**` unpacking is checked)."""

    acc_noise_mps2: float
    gyr_noise_dps: float
    acc_bias_mps2: tuple[float, float, float]
    gyr_bias_dps: tuple[float, float, float]
    gyr_bias_walk_dps_per_sqrt_s: float
    acc_scale_error: tuple[float, float, float]


#: A good consumer IMU (LSM6DSO-class, 104 Hz bandwidth): ~1.4 mg and ~0.07 deg/s RMS noise, small biases.
_GOOD_IMU: _ImuErrors = {"acc_noise_mps2": 0.015, "gyr_noise_dps": 0.07}
#: A mid-range IMU: more noise, visible biases.
_MID_IMU: _ImuErrors = {
    "acc_noise_mps2": 0.05,
    "gyr_noise_dps": 0.25,
    "acc_bias_mps2": (0.08, -0.05, 0.1),
    "gyr_bias_dps": (0.6, -0.4, 0.8),
    "gyr_bias_walk_dps_per_sqrt_s": 0.005,
    "acc_scale_error": (0.005, -0.004, 0.006),
}
#: A poor IMU (cheap breakout board): large noise and bias, bias drift, jittery timestamps.
_POOR_IMU: _ImuErrors = {
    "acc_scale_error": (0.02, -0.015, 0.01),
    "acc_noise_mps2": 0.15,
    "gyr_noise_dps": 0.8,
    "acc_bias_mps2": (0.35, -0.25, 0.4),
    "gyr_bias_dps": (2.5, -1.8, 3.0),
    "gyr_bias_walk_dps_per_sqrt_s": 0.03,
}
#: Sensor clipped flat on the waistband: sensor x points up, sensor z points backwards out of the body.
VERTICAL_CLIP_ZYX_DEG = (0.0, -90.0, 0.0)
#: The same clip turned a quarter turn in its plane: sensor y points up, x to the right, z backwards.
SIDEWAYS_CLIP_ZYX_DEG = (-90.0, 0.0, 90.0)

SCENARIO_SUITE: tuple[Scenario, ...] = (
    Scenario(name="clean_run", seed=1, **_GOOD_IMU),
    Scenario(name="clean_vertical_clip", seed=2, mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG, **_GOOD_IMU),
    Scenario(
        name="upside_down_clip",
        seed=3,
        mounting_zyx_deg=(0.0, 90.0, 0.0),
        sampling_rate_hz=208.0,
        speed_mps=4.0,
        cadence_spm=176.0,
        **_MID_IMU,
    ),
    Scenario(
        name="upside_down_flat", seed=4, mounting_zyx_deg=(0.0, 0.0, 180.0), speed_mps=3.2, cadence_spm=166.0
    ),
    Scenario(
        name="sideways_clip",
        seed=5,
        mounting_zyx_deg=SIDEWAYS_CLIP_ZYX_DEG,
        sampling_rate_hz=52.0,
        speed_mps=3.0,
        cadence_spm=164.0,
    ),
    Scenario(
        name="sideways_flat",
        seed=6,
        mounting_zyx_deg=(90.0, 0.0, 0.0),
        sampling_rate_hz=416.0,
        duration_s=70.0,
    ),
    Scenario(
        name="arbitrary_mount_a",
        seed=7,
        mounting_zyx_deg=(37.0, -62.0, 121.0),
        speed_mps=4.5,
        cadence_spm=182.0,
        **_MID_IMU,
    ),
    Scenario(
        name="arbitrary_mount_b",
        seed=8,
        mounting_zyx_deg=(-140.0, 25.0, -75.0),
        sampling_rate_hz=208.0,
        speed_mps=2.8,
        cadence_spm=160.0,
    ),
    Scenario(
        name="slow_jog_52hz",
        seed=9,
        sampling_rate_hz=52.0,
        speed_mps=2.5,
        cadence_spm=154.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        duration_s=90.0,
    ),
    Scenario(
        name="fast_6mps_416hz",
        seed=10,
        sampling_rate_hz=416.0,
        speed_mps=6.0,
        cadence_spm=196.0,
        tilt_mean_deg=6.0,
        tilt_range_left_deg=9.0,
        tilt_range_right_deg=9.0,
        rotation_range_left_deg=16.0,
        rotation_range_right_deg=16.0,
        impact_peak_bw=0.3,
        mounting_zyx_deg=(5.0, -80.0, 3.0),
    ),
    Scenario(name="cadence_150", seed=11, speed_mps=3.0, cadence_spm=150.0, sampling_rate_hz=208.0),
    Scenario(name="cadence_200", seed=12, speed_mps=5.0, cadence_spm=200.0, sampling_rate_hz=104.0),
    Scenario(name="odd_rate_100hz", seed=13, sampling_rate_hz=100.0, mounting_zyx_deg=(0.0, -75.0, 10.0)),
    Scenario(
        name="odd_rate_60hz", seed=14, sampling_rate_hz=60.0, speed_mps=3.8, cadence_spm=174.0, **_MID_IMU
    ),
    Scenario(
        name="poor_imu",
        seed=15,
        mounting_zyx_deg=(12.0, -95.0, -8.0),
        timestamp_jitter_s=0.002,
        **_POOR_IMU,
    ),
    Scenario(
        name="saturating_imu",
        seed=16,
        acc_range_g=2.0,  # a logger left at its +-2 g default: every stance peak clips
        gyr_range_dps=250.0,
        impact_peak_bw=1.3,
        speed_mps=4.2,
        cadence_spm=176.0,
        sampling_rate_hz=208.0,
    ),
    Scenario(name="drop_asymmetry_left_stance", seed=17, drop_left_deg=9.0, drop_right_deg=5.0),
    Scenario(
        name="drop_asymmetry_right_stance",
        seed=18,
        drop_left_deg=4.5,
        drop_right_deg=8.5,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        sampling_rate_hz=52.0,
    ),
    Scenario(
        name="progressive_right_hip_drop",
        seed=19,
        duration_s=120.0,
        drop_left_deg=5.0,
        drop_right_deg=5.0,
        fatigue_drop_left_deg=6.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        **_GOOD_IMU,
    ),
    Scenario(name="step_time_asymmetry_right_longer", seed=20, step_time_asymmetry_pct=8.0, **_GOOD_IMU),
    Scenario(
        name="step_time_asymmetry_left_longer",
        seed=21,
        step_time_asymmetry_pct=-6.0,
        contact_time_asymmetry_pct=-5.0,
        sampling_rate_hz=208.0,
        mounting_zyx_deg=(0.0, 90.0, 0.0),
    ),
    Scenario(
        name="contact_time_asymmetry_right",
        seed=22,
        contact_time_asymmetry_pct=10.0,
        speed_mps=3.3,
        cadence_spm=168.0,
    ),
    Scenario(
        name="overstriding_high_braking",
        seed=23,
        speed_mps=3.3,
        cadence_spm=152.0,
        braking_peak_bw=0.75,
        impact_peak_bw=1.1,
        contact_time_s=0.29,
        tilt_mean_deg=2.0,
    ),
    Scenario(
        name="excessive_rotation",
        seed=24,
        rotation_range_left_deg=24.0,
        rotation_range_right_deg=26.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
    ),
    Scenario(
        name="fatigue_drift",
        seed=25,
        duration_s=120.0,
        fatigue_tilt_mean_deg=4.0,
        fatigue_drop_left_deg=2.0,
        fatigue_drop_right_deg=2.5,
        fatigue_rotation_range_deg=4.0,
        fatigue_cadence_spm=-6.0,
        fatigue_contact_time_s=0.02,
        mounting_zyx_deg=(3.0, -88.0, -4.0),
    ),
    Scenario(
        name="walk_warmup_cooldown",
        seed=26,
        warmup_walk_s=20.0,
        cooldown_walk_s=15.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        sampling_rate_hz=52.0,
    ),
    Scenario(
        name="track_turns",
        seed=27,
        duration_s=100.0,
        speed_mps=4.0,
        cadence_spm=176.0,
        turns=(Turn(15.0, 180.0, 22.0), Turn(62.0, 180.0, 22.0), Turn(90.0, -90.0, 4.0)),
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
    ),
    Scenario(
        name="no_standing",
        seed=28,
        standing_s=0.0,
        mounting_zyx_deg=(0.0, -90.0, 0.0),
        sampling_rate_hz=104.0,
    ),
    Scenario(
        name="no_standing_walk_start",
        seed=29,
        standing_s=0.0,
        warmup_walk_s=10.0,
        mounting_zyx_deg=(20.0, -70.0, 15.0),
        sampling_rate_hz=208.0,
    ),
    Scenario(
        name="high_anterior_tilt",
        seed=30,
        tilt_mean_deg=11.0,
        tilt_range_left_deg=9.0,
        tilt_range_right_deg=10.0,
    ),
    Scenario(
        name="small_amplitudes",
        seed=31,
        tilt_range_left_deg=4.0,
        tilt_range_right_deg=4.0,
        drop_left_deg=3.0,
        drop_right_deg=3.0,
        rotation_range_left_deg=7.0,
        rotation_range_right_deg=7.0,
        **_MID_IMU,
    ),
    Scenario(
        name="emerging_asymmetry",
        seed=34,
        duration_s=120.0,
        sampling_rate_hz=208.0,
        tilt_mean_asymmetry_deg=2.5,
        fatigue_step_time_asymmetry_pct=7.0,
        fatigue_tilt_range_deg=3.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        **_MID_IMU,
    ),
    Scenario(
        name="traffic_light_pause",
        seed=35,
        duration_s=110.0,
        pauses=(Pause(45.0, 25.0),),
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        sampling_rate_hz=104.0,
        speed_mps=3.4,
        cadence_spm=168.0,
    ),
    Scenario(
        name="heel_strike_jolt",
        seed=36,
        impact_peak_bw=0.9,
        impact_jolt_deg_per_bw=0.8,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        sampling_rate_hz=104.0,
        speed_mps=3.3,
        cadence_spm=164.0,
    ),
    Scenario(
        name="loose_clip",
        seed=33,
        mount_wobble_deg=1.5,
        mount_slip_deg=2.0,
        mount_resonance_hz=14.0,
        mount_damping_ratio=0.2,
        mounting_zyx_deg=(8.0, -100.0, 5.0),
        speed_mps=3.6,
        cadence_spm=172.0,
    ),
    # A physical limit, not a pipeline target: a clip worn off the sacrum's midline rocks and slips with
    # roll and yaw that repeat every step, which reads as a left/right difference of drop and rotation that
    # the pelvis does not have; one sensor cannot tell the two apart (clip it on the midline).
    Scenario(
        name="off_centre_clip",
        seed=37,
        mount_off_centre_share=0.5,
        mount_wobble_deg=1.0,
        mount_slip_deg=1.0,
        speed_mps=3.6,
        cadence_spm=170.0,
        **_GOOD_IMU,
    ),
    Scenario(
        name="forefoot_striker_right_first",
        seed=32,
        impact_peak_bw=0.0,
        first_side="R",
        speed_mps=4.5,
        cadence_spm=184.0,
        tilt_range_left_deg=6.0,
        tilt_range_right_deg=9.0,
    ),
    # Hills (issue 11; `processing.simulation.terrain`): up a 10 % treadmill incline the flight shrinks and
    # cadence rises, downhill braking and impacts grow; rolling hills alternate +-12 % every 20 s.
    Scenario(
        name="uphill_10pct",
        seed=60,
        slope_pct=10.0,
        speed_mps=3.0,
        cadence_spm=166.0,
        heading_wander_deg=0.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        **_GOOD_IMU,
    ),
    Scenario(
        name="downhill_10pct",
        seed=61,
        slope_pct=-10.0,
        speed_mps=3.8,
        cadence_spm=172.0,
        sampling_rate_hz=208.0,
        mounting_zyx_deg=(30.0, -70.0, 10.0),
    ),
    Scenario(
        name="steep_downhill_15pct_52hz",
        seed=62,
        slope_pct=-15.0,
        speed_mps=3.5,
        sampling_rate_hz=52.0,
        impact_peak_bw=0.9,
        **_MID_IMU,
    ),
    Scenario(
        name="rolling_hills",
        seed=63,
        duration_s=120.0,
        slope_pct=12.0,
        slope_period_s=40.0,
        speed_mps=3.4,
        cadence_spm=168.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
    ),
    # Short lab clips (issue 11): 4 to 8 s of steady running with no standing start, opening mid-stride
    # (angles then relative to the mean running posture).
    Scenario(
        name="short_clip_4s",
        seed=64,
        standing_s=0.0,
        duration_s=4.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
    ),
    Scenario(
        name="short_clip_4s_52hz",
        seed=65,
        standing_s=0.0,
        duration_s=4.0,
        sampling_rate_hz=52.0,
        speed_mps=3.0,
        cadence_spm=162.0,
    ),
    Scenario(
        name="short_clip_6s_416hz",
        seed=66,
        standing_s=0.0,
        duration_s=6.0,
        sampling_rate_hz=416.0,
        speed_mps=4.5,
        cadence_spm=182.0,
        mounting_zyx_deg=(0.0, 90.0, 0.0),
    ),
    Scenario(
        name="lab_treadmill_trial_8s",
        seed=67,
        standing_s=0.0,
        duration_s=8.0,
        sampling_rate_hz=208.0,
        speed_mps=4.0,
        cadence_spm=176.0,
        pace_variability_pct=0.3,
        heading_wander_deg=0.0,
        mounting_zyx_deg=(-140.0, 25.0, -75.0),
        **_MID_IMU,
    ),
    Scenario(
        name="treadmill_incline_clip_6s",
        seed=68,
        standing_s=0.0,
        duration_s=6.0,
        slope_pct=10.0,
        speed_mps=3.2,
        cadence_spm=168.0,
        heading_wander_deg=0.0,
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
    ),
    # A biaxial logger (vertical and fore-aft axes, no medio-lateral axis, no gyroscope), mounted a few
    # degrees off: events, contact times and cadence must hold; left and right cannot be told.
    Scenario(
        name="biaxial_logger_100hz",
        seed=50,
        absent_acc_axis=1,
        mounting_zyx_deg=(4.0, -86.0, 3.0),
        sampling_rate_hz=100.0,
        **_GOOD_IMU,
    ),
    Scenario(
        name="biaxial_no_standing_200hz",
        seed=51,
        absent_acc_axis=0,
        standing_s=0.0,
        mounting_zyx_deg=(-87.0, 4.0, 93.0),
        sampling_rate_hz=200.0,
        speed_mps=3.8,
        cadence_spm=174.0,
        **_MID_IMU,
    ),
    # Stamped by a phone app on arrival: packets of a few samples, arrival jitter, lost packets, a sensor
    # clock 0.5 % off its nominal rate (`processing.simulation.host_stamps`); repaired by the time base.
    Scenario(
        name="phone_stamped_jitter_4ms",
        seed=52,
        sampling_rate_hz=104.0,
        sample_rate_error_ppm=5000.0,
        host_stamps=HostStamps(jitter_s=0.004, lost_packet_share=0.01, packet_samples=4, style="batched"),
        mounting_zyx_deg=VERTICAL_CLIP_ZYX_DEG,
        **_GOOD_IMU,
    ),
    Scenario(
        name="phone_stamped_jitter_8ms_lossy",
        seed=53,
        sampling_rate_hz=100.0,
        sample_rate_error_ppm=-5000.0,
        host_stamps=HostStamps(jitter_s=0.008, lost_packet_share=0.02, packet_samples=5, style="batched"),
        mounting_zyx_deg=(10.0, -80.0, -6.0),
        speed_mps=3.2,
        cadence_spm=166.0,
        **_MID_IMU,
    ),
    Scenario(
        name="phone_stamped_jitter_2ms_per_sample",
        seed=54,
        sampling_rate_hz=208.0,
        sample_rate_error_ppm=5000.0,
        host_stamps=HostStamps(jitter_s=0.002, lost_packet_share=0.015, packet_samples=6, style="per_sample"),
        speed_mps=4.2,
        cadence_spm=178.0,
    ),
)


def scenario_by_name(name: str) -> Scenario:
    """The suite scenario called `name`; an unknown name raises `UnknownScenarioError` (a KeyError)."""
    for scenario in SCENARIO_SUITE:
        if scenario.name == name:
            return scenario
    raise UnknownScenarioError(name, tuple(s.name for s in SCENARIO_SUITE))
