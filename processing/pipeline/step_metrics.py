"""All per-step numbers of one window: timing, pelvic angles, vertical oscillation, braking, impact.

Inputs are the window's samples in the levelled body frame (x forward, y left, z up along gravity) and the
continuous pelvic angles; outputs are `StepMetrics`. Every reduction is vectorised over the steps.

Definitions beyond docs/design.md (ours, documented here). All three are the sacrum's, the point the sensor
sits on, as a waist-worn pod reports them (Garmin's and Stryd's vertical oscillation is the torso's bounce at
the waist, not the centre of mass's); the simulator's truth (`processing.simulation.truth.StepTruth`) uses the
same definitions.
- `vertical_oscillation_m`: the vertical excursion of the sacrum over the step, peak to peak: the vertical
  acceleration minus its step mean is integrated twice over the step, with the mean velocity removed in
  between (the sacrum's vertical motion is step-periodic at steady running). The sacrum sits behind the hip
  axis, so anterior tilt lifts it: it bounces 1 to 2 cm more than the centre of mass.
- `braking_peak_mps2` / `braking_dv_mps`: the forward acceleration minus its step mean (which also removes the
  gravity leak of a mean tilt in accelerometer-only data) during contact [IC, TO]; the largest deceleration
  and the integral of the deceleration (speed lost while braking). The sensor reads the sacrum through its
  clip, which rings after every heel strike: the estimate low-passes the forward acceleration below that
  ringing first, at a cutoff that follows the braking pulse's duration (`_without_mount_ringing`).
- `impact_peak_g`: the peak vertical loading, the largest vertical specific force during contact [IC, TO]
  (the heel-strike transient as it arrives at the pelvis, or the active peak, whichever is higher), in g.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from processing.gait_events.signals import lowpass, median
from processing.pelvis import sample_ranges, step_pelvic_angles
from processing.samples import STANDARD_GRAVITY_MPS2, FloatArray
from processing.steps import Step, StepMetrics

IntArray = npt.NDArray[np.intp]

#: Share of the contact over which the body brakes: the fore-aft ground reaction force is braking from initial
#: contact to about mid-stance, 40 to 50 % of the contact in running (Cavanagh & Lafortune 1980).
BRAKING_SHARE_OF_CONTACT = 0.45
#: Cutoff of the braking low-pass times the braking pulse's duration. A half-sine pulse of duration T through
#: `BRAKING_LOWPASS_ORDER` run forward and backward at fc = 1.2 / T keeps 94 % of its peak, at every T (so at
#: every speed and sampling rate); 1.0 keeps 89 %, 1.4 keeps 97 % but lets more of the strap's ringing in.
BRAKING_CUTOFF_TIMES_PULSE = 1.2
#: Butterworth order of the braking low-pass (applied forward and backward: twice that, zero phase).
BRAKING_LOWPASS_ORDER = 2
#: The cutoff is rounded to this step, Hz (a 0.25 Hz change moves the braking peak by well under 1 %).
BRAKING_CUTOFF_STEP_HZ = 0.5

__all__ = ["compute_step_metrics"]


def _restart_cumsum(values: FloatArray, starts: IntArray, lengths: IntArray) -> FloatArray:
    """Cumulative sum that restarts at every segment start of a gathered array."""
    c = values.cumsum()
    offset = np.concatenate([[0.0], c[starts[1:] - 1]]) if starts.shape[0] else np.empty(0)
    return c - offset.repeat(lengths)


def _segments(i0: IntArray, i1: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Indices of the samples of the segments [i0[k], i1[k]) end to end, where each starts among them (for
    `ufunc.reduceat`) and their lengths: one gather serves every reduction over the same segments."""
    lengths = i1 - i0
    ends = lengths.cumsum()
    starts = ends - lengths
    idx = (i0 - starts).repeat(lengths) + np.arange(int(ends[-1]) if ends.size else 0)
    return idx, starts, lengths


def _vertical_oscillation_m(
    acc_up: FloatArray, idx: IntArray, starts: IntArray, lengths: IntArray, dt_s: float
) -> FloatArray:
    a = acc_up[idx]
    a = a - (np.add.reduceat(a, starts) / lengths).repeat(lengths)
    v = _restart_cumsum(a, starts, lengths) * dt_s
    v = v - (np.add.reduceat(v, starts) / lengths).repeat(lengths)
    d = _restart_cumsum(v, starts, lengths) * dt_s
    return np.asarray(np.maximum.reduceat(d, starts) - np.minimum.reduceat(d, starts))


def _without_mount_ringing(
    fwd_mps2: FloatArray, running_contact_s: FloatArray, contact_s: FloatArray, sampling_rate_hz: float
) -> FloatArray:
    """The forward acceleration low-passed below the clip's ringing, keeping the body's braking pulse.

    The clip sits on a strap over soft tissue, a damped spring that rings after every heel strike (10 to 30
    Hz; `processing.simulation.sensor.soft_mount_response`) and added about 20 % to the braking peak (suite
    median 0.79 m/s^2 of about 4). The body's braking pulse lasts `BRAKING_SHARE_OF_CONTACT` of the contact
    (80 to 150 ms), so the cutoff follows it: `BRAKING_CUTOFF_TIMES_PULSE` over the pulse duration of the
    window's median running contact (of all its contacts in walking), 8 to 15 Hz in running, capped at 0.4
    times the sampling rate. Zero phase, so the peak stays on its instant. Measured (`posture evaluate
    --suite sim`): braking peak RMSE median 0.79 -> 0.16 m/s^2, worst 1.72 -> 0.61; over 14 random draws
    (`processing.evaluation.sweep`, seed 7: strap 15 to 29 Hz, damping 0.2 to 0.5) the mean bias +3 to +35 %
    -> -12 to +18 %. With 1.0 and 1.4 instead of 1.2 (12 suite scenarios) the median RMSE was 0.26 and 0.27
    against 0.19. Known limits: a clip ringing at 14 Hz (`loose_clip`) keeps about half its overshoot, and
    the heel-strike spike that the truth includes is cut with the ringing.
    """
    contacts = running_contact_s if running_contact_s.shape[0] else contact_s
    if contacts.shape[0] == 0:
        return fwd_mps2
    pulse_s = BRAKING_SHARE_OF_CONTACT * median(contacts)  # `float(np.median(...))` for less per call
    cutoff_hz = BRAKING_CUTOFF_TIMES_PULSE / pulse_s  # `lowpass` caps it at 0.4 times the rate
    # rounded to `BRAKING_CUTOFF_STEP_HZ`: `lowpass` designs the filter once per cutoff, not per window
    cutoff_hz = BRAKING_CUTOFF_STEP_HZ * round(cutoff_hz / BRAKING_CUTOFF_STEP_HZ)
    return lowpass(fwd_mps2, cutoff_hz, sampling_rate_hz, order=BRAKING_LOWPASS_ORDER)


def compute_step_metrics(
    steps: list[Step],
    *,
    t_s: FloatArray,
    acc_levelled_mps2: FloatArray,
    tilt_deg: FloatArray,
    obliquity_deg: FloatArray,
    rotation_deg: FloatArray,
    sampling_rate_hz: float,
) -> list[StepMetrics]:
    """Metrics of `steps` from one window of samples that contains them entirely.

    Parameters
    ----------
    steps : list of Step
    t_s : (n,) array, s
    acc_levelled_mps2 : (n, 3) array, m/s^2, levelled body frame, gravity included
    tilt_deg, obliquity_deg, rotation_deg : (n,) arrays, deg (NaN for accelerometer-only input)
    sampling_rate_hz : float
    """
    if not steps:
        return []
    dt = 1.0 / sampling_rate_hz
    ic = np.array([s.t_ic_s for s in steps])
    to = np.array([s.t_to_s for s in steps])
    nxt = np.array([s.t_next_ic_s for s in steps])
    is_left = np.array([s.side == "L" for s in steps])
    is_running = np.array([s.is_running for s in steps])
    has_to = np.isfinite(to)

    step_time = nxt - ic
    contact = to - ic
    flight = np.maximum(step_time - contact, 0.0)
    angles = step_pelvic_angles(
        t_s,
        tilt_deg,
        obliquity_deg,
        rotation_deg,
        t_ic_s=ic,
        t_to_s=to,
        t_next_ic_s=nxt,
        is_left=is_left,
    )

    # `sample_ranges` of the step, the contact and the contact with its TO sample: one start for all three
    s0, s1 = sample_ranges(t_s, ic, nxt)
    to_or_ic = np.where(has_to, to, ic)
    c1 = np.maximum(t_s.searchsorted(to_or_ic, side="left"), s0 + 1)
    h1 = np.maximum(t_s.searchsorted(to_or_ic + 1e-9, side="left"), s0 + 1)  # [IC, TO], TO included
    step_idx, step_starts, step_lengths = _segments(s0, s1)
    vo = _vertical_oscillation_m(acc_levelled_mps2[:, 2], step_idx, step_starts, step_lengths, dt)

    fwd = acc_levelled_mps2[:, 0]
    fwd = _without_mount_ringing(fwd, contact[has_to & is_running], contact[has_to], sampling_rate_hz)
    fwd_mean = np.add.reduceat(fwd[step_idx], step_starts) / step_lengths  # `segment_mean`
    idx, starts, lengths = _segments(s0, c1)
    g = fwd[idx] - fwd_mean.repeat(lengths)  # step mean removed
    braking_peak = -np.minimum.reduceat(g, starts)
    braking_dv = -np.add.reduceat(np.minimum(g, 0.0), starts) * dt
    braking_peak = np.where(has_to, np.maximum(braking_peak, 0.0), np.nan)
    braking_dv = np.where(has_to, braking_dv, np.nan)

    idx, starts, _ = _segments(s0, h1)
    impact = np.maximum.reduceat(acc_levelled_mps2[:, 2][idx], starts) / STANDARD_GRAVITY_MPS2
    impact = np.where(has_to, impact, np.nan)

    # Python floats once per column: indexing numpy arrays element by element costs more than the rest.
    columns = zip(
        ic.tolist(),
        to.tolist(),
        step_time.tolist(),
        contact.tolist(),
        flight.tolist(),
        (60.0 / step_time).tolist(),
        angles.tilt_deg.tolist(),
        angles.drop_deg.tolist(),
        angles.rotation_deg.tolist(),
        vo.tolist(),
        braking_peak.tolist(),
        braking_dv.tolist(),
        impact.tolist(),
        strict=True,
    )
    return [
        StepMetrics(
            t_ic_s=c[0],
            side=step.side,
            t_to_s=c[1],
            step_time_s=c[2],
            contact_time_s=c[3],
            flight_time_s=c[4],
            cadence_spm=c[5],
            pelvic_tilt_deg=c[6],
            pelvic_drop_deg=c[7],
            pelvic_rotation_deg=c[8],
            vertical_oscillation_m=c[9],
            braking_peak_mps2=c[10],
            braking_dv_mps=c[11],
            impact_peak_g=c[12],
            is_running=step.is_running,
        )
        for step, c in zip(steps, columns, strict=True)
    ]
