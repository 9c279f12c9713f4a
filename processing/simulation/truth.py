"""Ground truth of a simulated run: every step's events and metrics, and the continuous pelvis angles.

Per-step metrics follow docs/design.md exactly and are computed on the 1 kHz simulation grid, not on the
output samples, so they are the true values a perfect pipeline would approach at any sampling rate.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from processing import STANDARD_GRAVITY_MPS2
from processing.simulation.rotations import FloatArray

StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class StepTruth:
    """One entry per step (IC to the other foot's next IC); every array has the same length.

    Attributes
    ----------
    t_ic_s : array, s
        Initial contact: the instant this foot's ground reaction force starts.
    side : array of "L"/"R"
        The foot of the IC.
    t_to_s : array, s
        Toe-off of the same foot: the instant its force ends (in walking, after the next IC).
    step_time_s, contact_time_s : array, s
        Next IC - IC, and TO - IC. The last contact before a pause has no next IC: NaN step time, flight
        time, tilt, rotation, vertical oscillation and speed (its IC, TO, contact time and drop are real).
    flight_time_s : array, s
        Time with no foot on the ground in this step, max(0, step - contact) (0 in walking).
    pelvic_tilt_deg : array, deg
        Mean tilt over [IC, next IC); positive anterior.
    pelvic_drop_deg : array, deg
        Largest drop of the swing side during stance [IC, TO]: max obliquity (left steps), max -obliquity
        (right steps).
    pelvic_rotation_deg : array, deg
        Max - min of the rotation angle over [IC, next IC].
    vertical_oscillation_m : array, m
        Range of the height of the sacrum point the sensor sits on (pelvis centre plus the sacrum's motion
        against the centre of mass plus the sensor offset turned by the pelvis angles; not the strap or the
        clip, which are measurement error) over the step, after removing the straight line between its values
        at the two ICs (level running: the sacrum returns to the same height each step; the line removes the
        unobservable constant vertical velocity of integration). What a sacral sensor measures and the
        product's `vertical_oscillation_m`.
    com_vertical_oscillation_m : array, m
        The same for the centre of mass: smaller than the sacrum's, mostly because anterior tilt lifts a
        sacrum that sits behind the hip axis. For comparison only; no sacral sensor measures it directly.
    is_running : bool array
        True for running steps, False for walking.
    speed_mps : array, m/s
        Mean forward speed over the step.
    peak_vertical_force_bw, impact_force_bw, peak_braking_force_bw, peak_propulsion_force_bw : array, BW
        This foot's vertical peak, heel-strike transient size (0 if none), braking and propulsive peaks.
    braking_peak_mps2, braking_dv_mps : array, m/s^2 and m/s
        The sacrum's forward acceleration minus its mean over the step [IC, next IC), during contact
        [IC, TO]: the largest deceleration (positive, 0 if none) and the integral of the deceleration (speed
        lost while braking). NaN without a next IC. The product's columns of the same names.
    impact_peak_g : array, g
        The sacrum's peak vertical specific force during contact [IC, TO] (peak vertical loading, including
        any heel-strike transient as it arrives through the leg), in standard gravities. The product's column.
    """

    t_ic_s: FloatArray
    side: StrArray
    t_to_s: FloatArray
    step_time_s: FloatArray
    contact_time_s: FloatArray
    flight_time_s: FloatArray
    pelvic_tilt_deg: FloatArray
    pelvic_drop_deg: FloatArray
    pelvic_rotation_deg: FloatArray
    vertical_oscillation_m: FloatArray
    com_vertical_oscillation_m: FloatArray
    is_running: BoolArray
    speed_mps: FloatArray
    peak_vertical_force_bw: FloatArray
    impact_force_bw: FloatArray
    peak_braking_force_bw: FloatArray
    peak_propulsion_force_bw: FloatArray
    braking_peak_mps2: FloatArray
    braking_dv_mps: FloatArray
    impact_peak_g: FloatArray

    def __post_init__(self) -> None:
        n = self.t_ic_s.shape[0]
        for f in fields(self):
            value = getattr(self, f.name)
            if value.shape != (n,):
                raise ValueError(f"StepTruth.{f.name} must have shape ({n},), got {value.shape}")

    def __len__(self) -> int:
        return int(self.t_ic_s.shape[0])

    def select(self, mask: BoolArray) -> StepTruth:
        """The steps where `mask` is True (e.g. `truth.steps.select(truth.steps.is_running)`)."""
        return StepTruth(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


@dataclass(frozen=True, slots=True, eq=False)
class GaitTruth:
    """Everything the simulator knows about a run.

    Attributes
    ----------
    steps : StepTruth
        Per-step events and metrics.
    t_true_s : (n,) array, s
        The true instant of each output sample (the reported `t_s` may carry jitter).
    tilt_deg, obliquity_deg, rotation_deg : (n,) arrays, deg
        Pelvis angles at each sample, relative to neutral standing; rotation relative to the direction of
        travel.
    heading_deg : (n,) array, deg
        Direction of travel, positive to the left, 0 at the start.
    activity : (n,) array of "stand"/"walk"/"run"
        What the runner is doing at each sample (by the step that contains it).
    left_contact, right_contact : (n,) bool arrays
        Whether that foot is on the ground at each sample (its force is non-zero: IC <= t < TO); both are
        False while standing still (the feet carry weight but take no step) and in flight.
    speed_mps : (n,) array, m/s
        Step-averaged forward speed.
    mounting_rotation : (3, 3) array
        Maps sensor-frame vectors into the body frame at standing: v_body = R @ v_sensor.
    mount_error_deg : (n,) array, deg
        How far the clip has turned against the pelvis at each sample (rocking plus slip): the part of any
        orientation error that no processing of this sensor can remove.
    standing_s : float, s
        Length of the standing period at the start.
    """

    steps: StepTruth
    t_true_s: FloatArray
    tilt_deg: FloatArray
    obliquity_deg: FloatArray
    rotation_deg: FloatArray
    heading_deg: FloatArray
    activity: StrArray
    left_contact: BoolArray
    right_contact: BoolArray
    speed_mps: FloatArray
    mounting_rotation: FloatArray
    mount_error_deg: FloatArray
    standing_s: float


def step_metrics(
    t_s: FloatArray,
    tilt_deg: FloatArray,
    obliquity_deg: FloatArray,
    rotation_deg: FloatArray,
    t_ic_s: FloatArray,
    t_next_ic_s: FloatArray,
    t_to_s: FloatArray,
    side: StrArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pelvic tilt, drop and rotation per step by the definitions of docs/design.md.

    Works on any uniform grid `t_s`; windows are [IC, next IC) for tilt, [IC, next IC] for rotation and
    [IC, TO] for the drop. Returns (pelvic_tilt_deg, pelvic_drop_deg, pelvic_rotation_deg).
    """
    a = np.searchsorted(t_s, t_ic_s, side="left")
    e = np.searchsorted(t_s, t_next_ic_s, side="left")
    e_incl = np.searchsorted(t_s, t_next_ic_s, side="right")
    o = np.searchsorted(t_s, t_to_s, side="right")
    k = t_ic_s.shape[0]
    tilt = np.full(k, np.nan)
    drop = np.full(k, np.nan)
    rot = np.full(k, np.nan)
    sign = np.where(side == "L", 1.0, -1.0)
    for i in range(k):
        if e[i] > a[i]:
            tilt[i] = tilt_deg[a[i] : e[i]].mean()
        if o[i] > a[i]:
            drop[i] = (sign[i] * obliquity_deg[a[i] : o[i]]).max()
        if e_incl[i] > a[i]:
            window = rotation_deg[a[i] : e_incl[i]]
            rot[i] = window.max() - window.min()
    return tilt, drop, rot


def vertical_oscillation_m(
    t_s: FloatArray, vertical_acc_mps2: FloatArray, t_ic_s: FloatArray, t_next_ic_s: FloatArray
) -> FloatArray:
    """Per-step range of the height whose vertical acceleration is given, after removing the line through
    its values at the ICs (`StepTruth.vertical_oscillation_m`)."""
    dt = float(t_s[1] - t_s[0])
    v = np.cumsum(vertical_acc_mps2) * dt
    z = np.cumsum(v) * dt
    a = np.searchsorted(t_s, t_ic_s)
    e = np.minimum(np.searchsorted(t_s, t_next_ic_s), t_s.shape[0] - 1)
    out = np.full(t_ic_s.shape[0], np.nan)
    for i in range(t_ic_s.shape[0]):
        if e[i] - a[i] < 2:
            continue
        seg = z[a[i] : e[i] + 1]
        line = np.linspace(seg[0], seg[-1], seg.shape[0])
        d = seg - line
        out[i] = d.max() - d.min()
    return out


def sacral_loading(
    t_s: FloatArray,
    sacrum_f_mps2: FloatArray,
    t_ic_s: FloatArray,
    t_next_ic_s: FloatArray,
    t_to_s: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Braking peak (m/s^2), braking speed loss (m/s) and impact peak (g) per step, by the definitions of
    `StepTruth`, from the sacrum's specific force in the heading frame (n, 3) on the uniform grid `t_s`."""
    dt = float(t_s[1] - t_s[0])
    a = np.searchsorted(t_s, t_ic_s, side="left")
    e = np.searchsorted(t_s, t_next_ic_s, side="left")
    o = np.searchsorted(t_s, t_to_s, side="right")
    k = t_ic_s.shape[0]
    peak = np.full(k, np.nan)
    dv = np.full(k, np.nan)
    impact = np.full(k, np.nan)
    fwd, up = sacrum_f_mps2[:, 0], sacrum_f_mps2[:, 2]
    for i in range(k):
        if o[i] <= a[i]:
            continue
        impact[i] = up[a[i] : o[i]].max() / STANDARD_GRAVITY_MPS2
        if e[i] > a[i]:
            g = fwd[a[i] : o[i]] - fwd[a[i] : e[i]].mean()
            peak[i] = max(-float(g.min()), 0.0)
            dv[i] = -float(np.minimum(g, 0.0).sum()) * dt
    return peak, dv, impact
