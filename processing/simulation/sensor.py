"""What an IMU on the sacrum measures: specific force and angular rate, filtered, sampled and corrupted.

Chain (each step a pure function):
1. `pelvis_specific_force_mps2`: centre-of-mass specific force (ground reaction force / mass, plus the
   centripetal term of turns) rotated into the pelvis frame, plus the lever-arm terms
   alpha x r + w x (w x r) of a sensor sitting `r` away from the pelvis centre.
2. `soft_mount_response`: the sensor sits on a strap over soft tissue, a damped spring between the pelvis and
   the sensor. Base excitation through that spring is a resonant second-order filter with unit gain at 0 Hz
   (stride means and gravity are untouched) that rings after each heel strike, as sacral accelerometers do.
3. Into the sensor frame through the mounting rotation M (v_body = M v_sensor, so v_sensor = M^T v_body).
4. `decimate`: the IMU's digital low-pass and output data rate. A Kaiser-windowed FIR with its -6 dB point at
   0.4 x ODR (MEMS IMUs such as the LSM6DS family filter at ODR/2 to ODR/4), applied with its linear-phase
   group delay compensated (a centred kernel), then read at the true sample instants by cubic convolution
   of the 1 kHz filtered signal. So samples are band-limited and time-true: the truth stays on the
   reported axis.
5. `corrupt`: constant bias, gyroscope bias random walk, white noise, saturation at full scale and 16-bit
   quantisation over the range, applied in that order, as in the sensor.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from processing import STANDARD_GRAVITY_MPS2
from processing.simulation.rotations import FloatArray

#: Anti-alias -6 dB frequency as a fraction of the output data rate.
ANTI_ALIAS_CUTOFF_OF_ODR = 0.4
#: FIR length in output sample periods (sets the transition width) and the Kaiser window beta (~80 dB stop).
ANTI_ALIAS_LENGTH_PERIODS = 8
ANTI_ALIAS_KAISER_BETA = 8.0
#: Corner of the leg's low-pass for the heel-strike transient on its way to the pelvis, Hz.
LEG_TRANSMISSION_HZ = 20.0
#: Output words are 16-bit signed over +-full scale.
ADC_BITS = 16


def pelvis_specific_force_mps2(
    force_heading_mps2: FloatArray,
    pelvis_rotation: FloatArray,
    omega_rps: FloatArray,
    sampling_rate_hz: float,
    sensor_offset_m: FloatArray,
) -> FloatArray:
    """Specific force at the sensor point in the pelvis frame, (n, 3), m/s^2.

    Parameters
    ----------
    force_heading_mps2 : (n, 3) array
        Specific force of the centre of mass in the heading frame (gravity-aligned, x along travel): ground
        reaction force over mass plus the centripetal term; reads (0, 0, g) when standing.
    pelvis_rotation : (n, 3, 3) array
        Pelvis-to-heading rotation Rz(rotation) Rx(obliquity) Ry(tilt).
    omega_rps : (n, 3) array, rad/s
        Pelvis angular velocity in the pelvis frame (including the heading rate).
    sampling_rate_hz : float
        Grid rate, used to differentiate omega into the angular acceleration.
    sensor_offset_m : (3,) array
        Sensor position relative to the pelvis centre, pelvis frame.
    """
    f = np.einsum("nji,nj->ni", pelvis_rotation, force_heading_mps2)  # R^T f
    alpha = np.gradient(omega_rps, 1.0 / sampling_rate_hz, axis=0)
    r = np.broadcast_to(np.asarray(sensor_offset_m, dtype=float), f.shape)
    return f + np.cross(alpha, r) + np.cross(omega_rps, np.cross(omega_rps, r))


def leg_transmission(impact_mps2: FloatArray, sampling_rate_hz: float) -> FloatArray:
    """The heel-strike transient as it arrives at the pelvis: attenuated and delayed by the leg.

    The impact peak of the ground reaction force is mostly the foot and shank being stopped; the joints and
    soft tissue between them and the pelvis pass it on low-passed (shock attenuation of 50 to 80 % from tibia
    to sacrum is typical). We pass it through a critically damped second-order low-pass at
    `LEG_TRANSMISSION_HZ` (causal: a few ms of delay, unit gain at 0 Hz so every step's impulse, and with it
    the stride balance, is kept).
    """
    w = 2.0 * np.pi * LEG_TRANSMISSION_HZ
    num, den = signal.bilinear([w * w], [1.0, 2.0 * w, w * w], sampling_rate_hz)
    return np.asarray(signal.lfilter(num, den, impact_mps2, axis=0), dtype=float)


def soft_mount_response(
    f_mps2: FloatArray, sampling_rate_hz: float, resonance_hz: float, damping_ratio: float
) -> FloatArray:
    """Acceleration of a sensor coupled to the pelvis through a damped spring, (n, 3) along axis 0.

    The relative displacement x obeys x'' + 2 z w x' + w^2 x = -a_base, so the sensor's acceleration is
    H(s) a_base with H = (2 z w s + w^2) / (s^2 + 2 z w s + w^2): unit gain at 0 Hz, a resonance peak of about
    1 / (2 z) near `resonance_hz`, roll-off above. Discretised with the bilinear transform (warping is
    negligible at a 1 kHz grid); the state starts at rest on the first sample, so a constant input passes
    unchanged.
    """
    w = 2.0 * np.pi * resonance_hz
    num, den = signal.bilinear(
        [2.0 * damping_ratio * w, w * w], [1.0, 2.0 * damping_ratio * w, w * w], sampling_rate_hz
    )
    zi = signal.lfilter_zi(num, den)[:, None] * f_mps2[0][None, :]
    y, _ = signal.lfilter(num, den, f_mps2, axis=0, zi=zi)
    return np.asarray(y, dtype=float)


def to_sensor_frame(v_body: FloatArray, mounting_rotation: FloatArray) -> FloatArray:
    """Rotate (n, 3) body-frame vectors into the sensor frame: v_sensor = M^T v_body (row form v @ M)."""
    return np.asarray(v_body @ mounting_rotation, dtype=float)


def anti_alias_kernel(fine_rate_hz: float, output_rate_hz: float) -> FloatArray:
    """Odd-length, linear-phase low-pass FIR taps for decimating `fine_rate_hz` to `output_rate_hz`."""
    n = int(ANTI_ALIAS_LENGTH_PERIODS * fine_rate_hz / output_rate_hz) | 1
    return np.asarray(
        signal.firwin(
            n,
            ANTI_ALIAS_CUTOFF_OF_ODR * output_rate_hz,
            window=("kaiser", ANTI_ALIAS_KAISER_BETA),
            fs=fine_rate_hz,
        ),
        dtype=float,
    )


def decimate(
    x: FloatArray, t_fine_s: FloatArray, fine_rate_hz: float, output_rate_hz: float, t_out_s: FloatArray
) -> FloatArray:
    """Low-pass (n, c) samples on the uniform grid `t_fine_s`, read them at `t_out_s`; delay compensated."""
    h = anti_alias_kernel(fine_rate_hz, output_rate_hz)
    half = h.shape[0] // 2
    padded = np.pad(x, ((half, half), (0, 0)), mode="edge")  # edge values: no artificial ramp at either end
    y = signal.fftconvolve(padded, h[:, None], mode="valid", axes=0)
    return cubic_resample(y, t_fine_s, t_out_s)


def cubic_resample(y: FloatArray, t_fine_s: FloatArray, t_out_s: FloatArray) -> FloatArray:
    """Read (n, c) samples on a uniform grid at arbitrary instants with Keys' cubic convolution (a = -0.5).

    Local (four neighbours), exact for quadratics, third-order accurate; for the band-limited output of the
    anti-alias filter its error is far below the sensor noise. Instants outside the grid are clamped.
    """
    dt = float(t_fine_s[1] - t_fine_s[0])
    x = np.clip((np.asarray(t_out_s, dtype=float) - t_fine_s[0]) / dt, 0.0, y.shape[0] - 1.0)
    i = np.floor(x).astype(np.int64)
    f = (x - i)[:, None]
    last = y.shape[0] - 1
    p0 = y[np.clip(i - 1, 0, last)]
    p1 = y[i]
    p2 = y[np.clip(i + 1, 0, last)]
    p3 = y[np.clip(i + 2, 0, last)]
    return np.asarray(
        p1
        + 0.5 * f * (p2 - p0 + f * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + f * (3.0 * (p1 - p2) + p3 - p0))),
        dtype=float,
    )


def corrupt(
    x: FloatArray,
    *,
    sampling_rate_hz: float,
    noise_std: float,
    bias: FloatArray,
    bias_walk_per_sqrt_s: float,
    full_scale: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Add bias, bias random walk and white noise, then saturate at +-full_scale and quantise to 16 bits."""
    n = x.shape[0]
    y = x + np.asarray(bias, dtype=float)
    if bias_walk_per_sqrt_s > 0:
        steps = rng.normal(0.0, bias_walk_per_sqrt_s / np.sqrt(sampling_rate_hz), size=(n, 3))
        y = y + np.cumsum(steps, axis=0)
    if noise_std > 0:
        y = y + rng.normal(0.0, noise_std, size=(n, 3))
    lsb = 2.0 * full_scale / 2**ADC_BITS
    y = np.clip(y, -full_scale, full_scale - lsb)
    return np.round(y / lsb) * lsb


def acc_full_scale_mps2(range_g: float) -> float:
    """Accelerometer full scale in m/s^2 for a range in g."""
    return range_g * STANDARD_GRAVITY_MPS2
