"""Sensor-to-body mounting: "up" from gravity at rest, "forward" from the direction of travel.

The runner clips the sensor anywhere on the back of the waistband in any orientation. Two facts fix the body
frame (x forward, y left, z up; docs/design.md "Body frame and definitions"):

- Up: standing still, the accelerometer reads gravity only, so the mean specific force over the standing
  period is the body's up axis in sensor coordinates (and defines the neutral posture: tilt = obliquity = 0).
  Without a standing period, the mean specific force over the motion (whole strides) is used instead: the
  angles are then relative to the mean running posture, which `Mounting.calibration` reports.
- Forward: the sacrum's horizontal acceleration is braking right after each initial contact while the vertical
  force rises, and propulsive while it falls (the ground reaction force of every stance, walking or running).
  So the horizontal acceleration correlates negatively with the time derivative of the vertical acceleration
  along the direction of travel, with the sign included; the medio-lateral part alternates with the stance
  side and cancels over strides. forward = -E[a_h * d a_v / dt] (normalised) needs no PCA and no sign
  heuristic.
- Forward axis in running: the runner's left/right mirror symmetry. Fore-aft acceleration repeats every
  step; lateral acceleration flips sign every step. So the horizontal direction whose acceleration repeats
  from one step to the next is the forward axis (`_mirror_axis_in_plane`); the correlation above signs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import signal

from processing.errors import CalibrationError
from processing.orientation import quat_to_matrix
from processing.samples import STANDARD_GRAVITY_MPS2, FloatArray

__all__ = [
    "MIN_STANDING_S",
    "STANDING_START_NEEDED_S",
    "STANDING_TRIM_S",
    "STILL_WINDOW_S",
    "Mounting",
    "MountingEstimator",
    "find_still_periods",
    "moving_std",
]

Calibration = Literal["standing", "running_mean"]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

# Free fall reads 0 g; the sacrum in a running flight phase reads well below this, walking never does.
FLIGHT_LEVEL_G = 0.35
# The stride-band angular rate must be this many times stronger along its principal axis than across it.
GYRO_AXIS_MIN_RATIO = 5.0
# ... and agree with the acceleration axis within this angle, deg.
GYRO_AXIS_MAX_DISAGREEMENT_DEG = 10.0
# Step periods searched for the mirror split, s: 270 down to 80 steps/min (brisk running to slow walking).
STEP_PERIOD_RANGE_S = (0.22, 0.75)
# Phase points per step for the step-aligned mirror contrast (`_step_aligned_contrast`): the accelerations
# are low-passed at `MountingEstimator.smoothing_hz` (8 Hz), which a step of up to 0.75 s holds 6 cycles of.
_MIRROR_PHASE_POINTS = 64
# Without a gyroscope the mirror axis reads the horizontal acceleration above this multiple of the step
# frequency (`_mirror_axis_in_plane`): halfway between the fundamental and its second harmonic.
MIRROR_HIGHPASS_STEP_MULTIPLE = 1.5

#: Window of the moving standard deviation that tells still from moving, s. Centred, so a detected still
#: period ends half a window before the first movement.
STILL_WINDOW_S = 1.0
#: Left out at both ends of a still period before it defines "up": the settling after stepping in and the
#: weight shift before setting off, s. On the standing starts of the real recordings in tests/data the
#: last 0.25 s of a detected still period lean up to 0.34 deg (Test11) off the rest; with the trim the
#: mean over the next 0.5 s stays within 0.73 deg (Test5 Trial1), 0.14 (Trial2), 0.05 (Test11).
STANDING_TRIM_S = 0.25
#: Shortest still span (after the trims) accepted as the standing calibration, s. The mean of N samples
#: of gravity with white noise sigma points up within about sigma / (g sqrt(N)) rad: 0.5 s at 52 Hz with a
#: poor IMU's 0.25 m/s^2 gives 0.3 deg, and the still detector (under 0.35 m/s^2 of variation per window)
#: admits a degree or two of postural sway at most. Measured (`benchmarks/bench_standing_calibration.py`:
#: standing starts of 0.8 to 3 s at 52 to 416 Hz, 3 seeds, 4 mountings): with a clean IMU the up error is
#: 0.01 to 0.04 deg for every span from 0.5 s on; with a poor one (noise 0.25 m/s^2, bias 0.2 m/s^2) 1.1 to
#: 1.2 deg median for every span from 0.5 s to 2 s (the bias's own 1.2 deg), worst 1.8 deg; a 1 s standing
#: start leaves a 0.03 s span, whose noise reaches 3.5 deg, and is refused.
MIN_STANDING_S = 0.5
#: How long to stand still at the start for the standing calibration to be taken, s: the span plus both
#: trims plus the half window the still detector loses before the first movement (rounded up to whole
#: seconds: what the runner is told).
STANDING_START_NEEDED_S = float(math.ceil(MIN_STANDING_S + 2.0 * STANDING_TRIM_S + 0.5 * STILL_WINDOW_S))


@dataclass(frozen=True, slots=True, eq=False)
class Mounting:
    """How the sensor sits on the body.

    Attributes
    ----------
    rotation : (3, 3) array
        v_body = rotation @ v_sensor; rows are the body's forward, left and up axes in sensor coordinates.
    calibration : "standing" or "running_mean"
        Where "up" and the neutral posture came from.
    standing_s : tuple of float or None, s
        Start and end of the standing period used (times from the first sample), if any.
    forward_strength : float, in [0, 1]
        How consistently the braking/propulsion pattern gave the same forward sign, second by second (1: every
        second agreed); values below ~0.3 mean the sign of the forward axis is uncertain.
    gyr_bias_dps : (3,) array, deg/s, or None
        Mean angular rate over the standing period (the gyroscope's zero-rate offset), if there was one.
    forward_from : "running" or "walking"
        The motion the forward axis came from (walking only when there was too little running to decide).
    """

    rotation: FloatArray
    calibration: Calibration
    standing_s: tuple[float, float] | None
    forward_strength: float
    gyr_bias_dps: FloatArray | None = None
    forward_from: Literal["running", "walking"] = "running"

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, dtype=np.float64)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise ValueError("rotation must be a proper 3x3 rotation matrix")

    @property
    def up_sensor(self) -> FloatArray:
        """The body's up axis in sensor coordinates."""
        return np.asarray(self.rotation[2])


def moving_std(x: FloatArray, window: int) -> FloatArray:
    """Centred moving standard deviation of each column of x (n, k) over `window` samples (edges shrink)."""
    n = x.shape[0]
    half = window // 2
    c1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    c2 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) - half + window, 0, n)
    cnt = (hi - lo)[:, None].astype(np.float64)
    mean = (c1[hi] - c1[lo]) / cnt
    var = (c2[hi] - c2[lo]) / cnt - mean * mean
    return np.sqrt(np.maximum(var, 0.0))


def find_still_periods(
    acc_mps2: FloatArray,
    gyr_dps: FloatArray | None,
    *,
    sampling_rate_hz: float,
    min_duration_s: float,
    window_s: float = STILL_WINDOW_S,
    max_acc_std_mps2: float = 0.35,
    max_gyr_dps: float = 15.0,
) -> list[tuple[int, int]]:
    """Sample ranges [start, stop) where the sensor is still for at least `min_duration_s`.

    Still means: every accelerometer axis varies by less than `max_acc_std_mps2` over `window_s`, the specific
    force is close to 1 g, and (with a gyroscope) the angular rate stays below `max_gyr_dps`. The thresholds
    admit the postural sway of quiet standing and reject walking.
    """
    n = acc_mps2.shape[0]
    window = max(3, round(window_s * sampling_rate_hz))
    if n < window:
        return []
    still = moving_std(acc_mps2, window).max(axis=1) < max_acc_std_mps2
    norm = np.linalg.norm(acc_mps2, axis=1)
    still &= np.abs(norm - STANDARD_GRAVITY_MPS2) < 0.15 * STANDARD_GRAVITY_MPS2
    if gyr_dps is not None:
        still &= np.linalg.norm(gyr_dps, axis=1) < max_gyr_dps
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    min_len = round(min_duration_s * sampling_rate_hz)
    return [(a, b) for a, b in runs if b - a >= min_len]


def _orthonormal_basis(up: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two unit vectors spanning the plane perpendicular to `up`."""
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    h1 = np.cross(up, helper)
    h1 /= np.linalg.norm(h1)
    h2 = np.cross(up, h1)
    return h1, h2


def _running_samples(acc_mps2: FloatArray, fs: float, *, chunk_s: float = 1.0) -> BoolArray:
    """Samples in 1 s chunks with a flight phase (specific force below FLIGHT_LEVEL_G): running."""
    n = acc_mps2.shape[0]
    norm = np.linalg.norm(acc_mps2, axis=1)
    sos = signal.butter(2, min(15.0, 0.4 * fs), fs=fs, output="sos")
    if n > 15:
        norm = signal.sosfiltfilt(sos, norm)
    chunk = max(1, round(chunk_s * fs))
    m = -(-n // chunk)
    padded = np.concatenate([norm, np.full(m * chunk - n, np.inf)])
    flight = padded.reshape(m, chunk).min(axis=1) < FLIGHT_LEVEL_G * STANDARD_GRAVITY_MPS2
    return np.repeat(flight, chunk)[:n]


def _forward_in_plane(
    a_v: FloatArray,
    a_h: FloatArray,
    fs: float,
    *,
    running: bool,
    axis: FloatArray | None = None,
    gyro_axis: FloatArray | None = None,
    sign_from: BoolArray | None = None,
) -> tuple[FloatArray, float]:
    """Unit forward direction in the horizontal plane (2 components) and the consistency of its sign.

    Axis: the dominant direction of the cross-covariances E[a_h(t) a_v(t + lag)] over lags within half a
    step. Everything step-periodic in a_h (braking and propulsion) correlates with a_v at some lag; the
    medio-lateral sway alternates with the stance side and cancels. Sign: forward = -E[a_h d(a_v)/dt] in
    running, where a braking contact loads the spring (vertical force rising while the body decelerates); in
    walking the inverted pendulum reverses the relation (the centre of mass slows while it rises), so
    forward = +E[a_h d(a_v)/dt]. Checked on the simulator and on the real walking recordings in tests/data.
    A given `axis` (the mirror axis in running, `_mirror_axis_in_plane`) is only signed; a `gyro_axis`
    (`_gyro_axis_in_plane`) is preferred to the acceleration axis where the two agree. With `sign_from`,
    only those samples sign the axis (all of them find it).
    """
    n = a_v.shape[0]
    a_v = a_v - a_v.mean()
    a_h = a_h - a_h.mean(axis=0)
    if axis is None:
        axis = _acc_axis_in_plane(a_v, a_h, fs)
        # The gyroscope axis refines the acceleration axis only where both agree: on real walking recordings
        # (tests/data) trunk motion can put the stride-band rotation far off the forward axis.
        agree = math.cos(math.radians(GYRO_AXIS_MAX_DISAGREEMENT_DEG))
        if gyro_axis is not None and abs(float(gyro_axis @ axis)) >= agree:
            axis = gyro_axis
    da_v = np.gradient(a_v) * fs
    proj = (a_h @ axis) * da_v * (-1.0 if running else 1.0)
    if sign_from is not None:
        proj = np.where(sign_from, proj, 0.0)
    sign = 1.0 if proj.sum() >= 0 else -1.0
    chunk = max(1, round(fs))
    m = n // chunk
    strength = 0.0
    if m > 0:
        per = np.sign(proj[: m * chunk].reshape(m, chunk).sum(axis=1))
        strength = float(abs(per.mean()))
    return sign * axis, strength


def _acc_axis_in_plane(a_v: FloatArray, a_h: FloatArray, fs: float) -> FloatArray:
    """The forward/backward axis from the lagged cross-covariances of horizontal and vertical acceleration."""
    n = a_v.shape[0]
    max_lag = min(round(0.4 * fs), n // 4)
    lag_step = max(1, round(0.01 * fs))
    cov = np.zeros((2, 2))
    for k in range(-max_lag, max_lag + 1, lag_step):
        lead, lag = (a_h[: n - k], a_v[k:]) if k >= 0 else (a_h[-k:], a_v[: n + k])
        c = lead.T @ lag / lag.shape[0]
        cov += np.outer(c, c)
    eigval, eigvec = np.linalg.eigh(cov)
    axis = eigvec[:, -1]
    if not eigval[-1] > 0:
        raise CalibrationError("the motion shows no braking/propulsion pattern: record some running")
    return np.asarray(axis)


def _gyro_axis_in_plane(
    gyr_h_dps: FloatArray, a_v: FloatArray, use: BoolArray, fs: float
) -> FloatArray | None:
    """The forward axis from the pelvic obliquity: the horizontal angular rate at the stride frequency.

    Pelvic obliquity (about the forward axis) completes one cycle per stride, pelvic tilt (about the left
    axis) two; so the principal axis of the horizontal angular rate, band-passed around the stride frequency
    (half the step frequency, read from the vertical acceleration's spectrum), is the forward axis, up to its
    sign. Unlike the acceleration pattern, it does not lean when left and right steps differ. None when the
    band holds no clear principal axis (too little motion).
    """
    a = a_v[use] - a_v[use].mean()
    if a.shape[0] < round(4 * fs):
        return None
    freq, power = signal.welch(a, fs=fs, nperseg=min(a.shape[0], round(8 * fs)))
    band = (freq > 1.5) & (freq < 4.5)  # step frequency of running and brisk walking: 90 to 270 steps/min
    if not band.any():
        return None
    stride_hz = 0.5 * float(freq[band][np.argmax(power[band])])
    sos = signal.butter(2, [0.6 * stride_hz, 1.4 * stride_hz], btype="band", fs=fs, output="sos")
    g = signal.sosfiltfilt(sos, gyr_h_dps, axis=0)[use]
    eigval, eigvec = np.linalg.eigh(g.T @ g)
    if not eigval[-1] > GYRO_AXIS_MIN_RATIO * max(eigval[0], 1e-12):
        return None
    return np.asarray(eigvec[:, -1])


def _step_lag(a_v: FloatArray, use: BoolArray, fs: float) -> int | None:
    """The step period in samples: the lag of the strongest autocorrelation of the vertical acceleration.

    The vertical acceleration repeats every step. When the stride lag (two steps, uneven sides) also falls in
    the searched range and beats the step lag, the step lag still holds at least half its correlation, and
    is taken. Only pairs of samples that are both in `use` count. None without a positive correlation.
    """
    a = np.where(use, a_v - a_v[use].mean(), 0.0)
    n = a.shape[0]
    u = use.astype(np.float64)
    lo = max(1, round(STEP_PERIOD_RANGE_S[0] * fs))
    hi = min(round(STEP_PERIOD_RANGE_S[1] * fs), n // 3)
    if hi <= lo + 2:
        return None
    r = np.zeros(hi - lo + 1)
    for i, k in enumerate(range(lo, hi + 1)):
        pairs = float(u[: n - k] @ u[k:])
        r[i] = float(a[: n - k] @ a[k:]) / pairs if pairs > 0 else 0.0
    best = int(np.argmax(r))
    lag = lo + best
    half = round(lag / 2)
    if half >= lo and r[half - lo] > 0.5 * r[best]:
        lag = half
    return lag if r[lag - lo] > 0.0 else None


def _whole_strides(acc_mps2: FloatArray, use: BoolArray, fs: float) -> BoolArray:
    """`use` cut to whole strides (each contiguous stretch to a whole number of strides from its start), so
    that a mean posture taken over it holds as many left as right steps.

    The pelvis rolls to each side once per stride (about +-6 deg of obliquity): a mean over a part stride
    more leans to one side, which then reads as a left/right difference of drop in every step: over a 4 s
    clip (five and a half strides), about 0.7 deg on each side. `use` as it is when no step period is found.
    """
    up = acc_mps2[use].mean(axis=0)
    norm = float(np.linalg.norm(up))
    if not norm > 0:
        return use
    lag = _step_lag(acc_mps2 @ (up / norm), use, fs)
    if lag is None:
        return use
    stride = 2 * lag
    out = np.zeros_like(use)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], use.astype(np.int8), [0]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        out[a : a + (b - a) // stride * stride] = True
    return out if out.any() else use


def _mirror_contrast(x: FloatArray, use: BoolArray, lag: int) -> FloatArray:
    """Even-minus-odd power of x (n, 2) under a one-step shift, over the total power: a 2x2 matrix.

    Even part (x(t) + x(t + step)) / 2: what repeats every step; odd part (x(t) - x(t + step)) / 2: what
    flips. Eigenvalues lie in [-1, 1]: +1 along a direction that only repeats, -1 along one that only flips.
    """
    both = use[:-lag] & use[lag:]
    contrast = _even_odd_contrast(0.5 * (x[:-lag] + x[lag:])[both], 0.5 * (x[:-lag] - x[lag:])[both])
    return np.zeros((2, 2)) if contrast is None else contrast


def _even_odd_contrast(even: FloatArray, odd: FloatArray) -> FloatArray | None:
    """Power of the (mean-removed) even part minus that of the odd part, over the total: (m, m) from (k, m)
    rows; None without power."""
    e = even - even.mean(axis=0) if even.shape[0] else even
    ce, co = e.T @ e, odd.T @ odd
    total = float(np.trace(ce + co))
    if not total > 0.0:
        return None
    return np.asarray((ce - co) / total)


def _loaded_periods(a_v: FloatArray, use: BoolArray, lag: int) -> tuple[IntArray, IntArray]:
    """Start and end (sample indices) of each step's loaded period: the vertical force above body weight.

    In running the vertical specific force exceeds 1 g once per step, through the middle of the contact, and
    falls below it for the rest of the contact and the flight. The free vertical acceleration `a_v` rising
    through a third of its standard deviation above its mean marks a step, falling through as much below
    the end of its loading: the band between the two levels (hysteresis) keeps noise from chattering, and a
    rise closer than half a step (`lag`) to the previous one is ignored. Rate-independent: sample indices
    are only compared with the step period in samples. Returns (starts, ends): ends[k] is the first end
    after starts[k] (-1 if none).
    """
    a = a_v - a_v[use].mean()
    level = a[use].std() / 3.0
    n = a.shape[0]
    state = np.zeros(n, dtype=np.int8)
    state[a > level] = 1
    state[a < -level] = -1
    # hysteresis: every sample takes the last state decided (beyond the band) at or before it
    last = np.where(state != 0, np.arange(n), 0)
    np.maximum.accumulate(last, out=last)
    held = state[last]
    change = np.flatnonzero(held[1:] != held[:-1]) + 1
    ups = change[(held[change] == 1) & (held[change - 1] == -1)]
    downs = change[(held[change] == -1) & (held[change - 1] == 1)]
    keep: list[int] = []
    for u in ups.tolist():
        if not keep or u - keep[-1] >= lag // 2:
            keep.append(u)
    starts = np.asarray(keep, dtype=np.intp)
    k = downs.searchsorted(starts, side="right")
    ends = np.full(starts.shape[0], -1, dtype=np.intp)
    found = k < downs.shape[0]
    ends[found] = downs[k[found]]
    return starts, ends.astype(np.intp)


def _step_aligned_contrast(x: FloatArray, use: BoolArray, a_v: FloatArray, lag: int) -> FloatArray | None:
    """`_mirror_contrast` with each step compared with the next at the same phase of its own loading.

    A one-step shift compares the samples one mean step apart; when the two feet's steps or contacts differ
    in length (step- and contact-time asymmetry), that pairs the braking of one step with a different phase
    of the next, and the forward/lateral mixing of the mismatch bends the axis (8 % step-time asymmetry:
    1.7 deg; 10 % contact-time asymmetry: 1.8 deg, on the simulator at 10 deg of mean tilt). Here every step
    is cut at its loaded period (`_loaded_periods`) and resampled onto a phase grid with the loaded part and
    the rest each stretched to their median share, so consecutive steps are compared phase for phase. Steps
    outside 0.6 to 1.6 times the step period, or not wholly in `use`, are left out. None when fewer than 8
    pairs of consecutive steps remain.
    """
    starts, ends = _loaded_periods(a_v, use, lag)
    if starts.shape[0] < 3:
        return None
    nxt = starts[1:]
    st, en = starts[:-1], ends[:-1]
    length = nxt - st
    cu = np.concatenate([[0], np.cumsum(~use)])
    ok = (length >= 0.6 * lag) & (length <= 1.6 * lag) & (en > st) & (en < nxt) & (cu[nxt] - cu[st] == 0)
    if np.count_nonzero(ok) < 8:
        return None
    share = float(np.median((en[ok] - st[ok]) / length[ok]))
    grid = np.linspace(0.0, 1.0, _MIRROR_PHASE_POINTS, endpoint=False)
    loaded = grid < share
    # sample positions of every step's phase grid (rows: steps), the loaded part and the rest stretched apart
    t = np.where(
        loaded[None, :],
        st[:, None] + (grid / share)[None, :] * (en - st)[:, None],
        en[:, None] + ((grid - share) / (1.0 - share))[None, :] * (nxt - en)[:, None],
    )
    t = np.where(ok[:, None], t, 0.0)
    samples = np.arange(x.shape[0], dtype=np.float64)
    steps = np.stack([np.interp(t, samples, x[:, j]) for j in range(x.shape[1])], axis=-1)
    pair = ok[:-1] & ok[1:]  # consecutive steps (each step ends where the next starts)
    if np.count_nonzero(pair) < 8:
        return None
    first, second = steps[:-1][pair], steps[1:][pair]
    return _even_odd_contrast(
        (0.5 * (first + second)).reshape(-1, x.shape[1]), (0.5 * (first - second)).reshape(-1, x.shape[1])
    )


def _mirror_axis_in_plane(
    a_v: FloatArray, a_h: FloatArray, use: BoolArray, fs: float, *, above_step_frequency: bool = False
) -> FloatArray | None:
    """The forward axis of running from the left/right mirror symmetry of the steps, up to its sign.

    Under the mirror that swaps the left and right steps, the fore-aft acceleration (braking, propulsion)
    repeats every step while the lateral acceleration (sway, the sensor's lever-arm swing) flips sign. The
    forward axis is thus the principal axis of the horizontal acceleration's even-minus-odd contrast
    (`_mirror_contrast`), each step compared with the next at the same phase of its loading
    (`_step_aligned_contrast`; a fixed one-step shift where too few steps are found). Uneven sides
    (rotation, tilt, drop, step time) bend this only in proportion to the unevenness; they bent the
    braking/vertical correlation more (robustness sweep draws with a standing start and a gyroscope,
    `processing.evaluation.sweep`, seeds 7 and 2026: forward-axis error median 3.6 and 4.3 -> 2.0 and 1.8
    deg, worst 25 and 18 -> 4.8 and 5.5 deg; `a_h` levelled with VQF, see `MountingEstimator.estimate`).
    The gyroscope's mirror contrast (roll rate flips, pitch rate repeats) is left out: an uneven mean tilt
    makes the pitch rate flip too, and turned it 5 deg in the suite's `emerging_asymmetry` (the
    acceleration's: 0.1 deg). Without a gyroscope the lever-arm swing (`_without_lever_arm_swing`) and the
    obliquity's leak stay in the acceleration and bend the axis with uneven sides (17 to 20 deg at 10 vs 22
    deg of rotation and 4 vs 8 deg of drop per step; the correlation: 24 to 32). Both are smooth: the pelvic
    rotation and obliquity are rounded curves, so what uneven sides add to them each step (their even part)
    lies mostly at the step frequency itself, while braking and propulsion switch within every contact and
    carry their power in the harmonics above it. So without a gyroscope (`above_step_frequency`) the
    horizontal acceleration is high-passed at `MIRROR_HIGHPASS_STEP_MULTIPLE` times the step frequency
    (halfway to its second harmonic) first: 2 to 4 deg off in the case above.

    What no acceleration shows: the axis found is the direction of travel as the pelvis sees it. A runner
    whose pelvis turns further to one side than the other runs with the pelvis turned on average by some
    angle against the direction of travel (3.3 deg at 10 vs 20 deg of rotation range per step on the
    simulator), and the forward axis of the standing posture (the body frame's) is then that far from the
    axis found here; at a mean anterior tilt theta, the obliquity reads theta times that angle (rad) too
    far to one side, a right-minus-left drop error of about twice that.
    None when the step period cannot be found.
    """
    lag = _step_lag(a_v, use, fs)
    if lag is None or np.count_nonzero(use[:-lag] & use[lag:]) < 2 * lag:
        return None
    if above_step_frequency:
        cutoff_hz = min(MIRROR_HIGHPASS_STEP_MULTIPLE * fs / lag, 0.4 * fs)
        sos = signal.butter(2, cutoff_hz, btype="high", fs=fs, output="sos")
        a_h = signal.sosfiltfilt(sos, a_h, axis=0)
    contrast = _step_aligned_contrast(a_h, use, a_v, lag)
    if contrast is None:
        contrast = _mirror_contrast(a_h, use, lag)
    eigval, eigvec = np.linalg.eigh(contrast)
    if not eigval[-1] > eigval[0]:
        return None
    return np.asarray(eigvec[:, -1])


def _without_lever_arm_swing(
    a_h: FloatArray, yaw_rate_dps: FloatArray, use: BoolArray, sos: FloatArray, fs: float
) -> FloatArray:
    """The horizontal acceleration minus its part proportional to the pelvis's yaw acceleration.

    A sacral sensor sits a distance d behind the pelvis's vertical axis, so the pelvic rotation swings it
    sideways: alpha x r = -d alpha_z (up x forward), along the left axis, proportional to the yaw angular
    acceleration alpha_z (1 to 2 m/s^2 at 15 to 25 deg of rotation per step). When one side rotates further
    than the other, part of that swing repeats every step and correlates with the vertical force like
    braking does, which turned the forward axis 20 to 45 deg off in a robustness sweep
    (`processing.evaluation.sweep`; 2 deg with the sensor on the axis). Neither d nor the direction need be
    known: the least-squares fit of a_h on alpha_z over the samples used removes exactly the swing (and
    nothing of the braking/propulsion, which is uncorrelated with the stride-periodic yaw acceleration).
    Running only: in daily-life walking the yaw acceleration is mostly turning, and removing what correlates
    with it cost side accuracy on the real recording in tests/data (INDIP 0.97 -> 0.92).
    """
    alpha = np.gradient(signal.sosfiltfilt(sos, np.radians(yaw_rate_dps))) * fs
    a = alpha[use]
    power = float(a @ a)
    if not power > 0.0:
        return a_h
    beta = (a @ a_h[use]) / power
    return np.asarray(a_h - alpha[:, None] * beta[None, :])


class MountingEstimator:
    """Estimate the sensor-to-body rotation from the start of a recording.

    Parameters
    ----------
    min_standing_s : float, s
        Shortest still span accepted as the standing calibration, after the trims (`MIN_STANDING_S`).
    trim_s : float, s
        Left out at both ends of the standing period (settling after stepping in / before setting off).
        A standing start of `min_standing_s + 2 trim_s` plus half the still detector's window
        (`STANDING_START_NEEDED_S` with the defaults) is taken; a shorter one falls back to the mean
        running posture, which `Mounting.calibration` reports.
    smoothing_hz : float, Hz
        Low-pass applied to the accelerations before the forward correlation; keeps impact transients and
        noise from dominating the derivative.
    min_motion_s : float, s
        Least amount of motion (walking or running) needed to find the forward direction.
    require_standing : bool
        Fail rather than fall back to the mean running posture when there is no standing period (a streaming
        caller waits for more data first).
    require_running : bool
        Fail rather than take the direction of travel from walking (less reliable) when there is less than
        `min_motion_s` of running.
    """

    def __init__(
        self,
        *,
        min_standing_s: float = MIN_STANDING_S,
        trim_s: float = STANDING_TRIM_S,
        smoothing_hz: float = 8.0,
        min_motion_s: float = 4.0,
        require_standing: bool = False,
        require_running: bool = False,
    ) -> None:
        self.require_standing = require_standing
        self.require_running = require_running
        self.min_standing_s = min_standing_s
        self.trim_s = trim_s
        self.smoothing_hz = smoothing_hz
        self.min_motion_s = min_motion_s

    def estimate(
        self,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray | None,
        *,
        sampling_rate_hz: float,
        quat: FloatArray | None = None,
    ) -> MountingEstimator:
        """Find the mounting from the first part of a recording; result in `mounting_`.

        Parameters
        ----------
        acc_mps2 : (n, 3) array, m/s^2, sensor frame, gravity included
        gyr_dps : (n, 3) array, deg/s, or None
        sampling_rate_hz : float
        quat : (n, 4) array or None
            Sensor-to-earth orientation (VQF) of the same samples; when given, gravity is removed exactly
            sample by sample before the forward correlation, otherwise the mean specific force is removed.

        Raises
        ------
        CalibrationError
            No usable motion, or a specific force too small to define "up".
        """
        fs = sampling_rate_hz
        stills, moving = self._stills_and_moving(acc_mps2, gyr_dps, fs)
        trim = round(self.trim_s * fs)
        standing: tuple[int, int] | None = None
        if stills:
            a, b = stills[0]
            standing = (a + trim, b - trim)
        if standing is None and self.require_standing:
            raise CalibrationError(
                f"no standing period yet: stand still for {STANDING_START_NEEDED_S:g} s before running"
            )
        if standing is not None:
            moving[: standing[1]] = False  # forward comes from the motion after the calibration
        running = moving & _running_samples(acc_mps2, fs)
        # Durations as whole samples: a rate read from rounded stamps (104.004 Hz for 104) must not ask a
        # 4 s clip for a 417th sample.
        use_running = np.count_nonzero(running) >= round(self.min_motion_s * fs)
        if self.require_running and not use_running:
            raise CalibrationError(
                f"not enough running yet to find the direction of travel: run for {self.min_motion_s:g} s"
            )
        use = running if use_running else moving
        if not use_running and np.count_nonzero(moving & ~running) >= round(self.min_motion_s * fs):
            # Walking decides, so only walking may: a few seconds of running at the end of a walk (too few
            # to decide from) carry several times the acceleration power of the walking and the opposite
            # sign relation (`_forward_in_plane`), and reversed the forward axis in a robustness sweep
            # (`processing.evaluation.sweep`: no standing start, 55 s of walking, then running).
            use = moving & ~running
        if np.count_nonzero(use) < round(self.min_motion_s * fs):
            raise CalibrationError(
                "not enough walking or running to find the direction of travel: record at least "
                f"{self.min_motion_s:g} s of motion after the standing start"
            )

        if standing is not None:
            up = acc_mps2[standing[0] : standing[1]].mean(axis=0)
            calibration: Calibration = "standing"
        elif quat is not None:
            # The mean direction of gravity as VQF sees it: unlike the mean specific force, it is not pulled
            # by the runner speeding up at the start.
            strides = _whole_strides(acc_mps2, use, fs)
            up = quat_to_matrix(quat[strides])[:, 2, :].mean(axis=0) * STANDARD_GRAVITY_MPS2
            calibration = "running_mean"
        else:
            up = acc_mps2[_whole_strides(acc_mps2, use, fs)].mean(axis=0)
            calibration = "running_mean"
        up_norm = float(np.linalg.norm(up))
        if up_norm < 0.5 * STANDARD_GRAVITY_MPS2:
            raise CalibrationError(
                f"mean specific force is {up_norm:.2f} m/s^2, far below gravity: check the accelerometer "
                "unit (the file must be in m/s^2)"
            )
        up = up / up_norm

        bias = None
        if standing is not None and gyr_dps is not None:
            bias = gyr_dps[standing[0] : standing[1]].mean(axis=0)
        sign_from = None
        if not use_running and np.any(use & running) and np.any(use & ~running):
            # Too little of either gait: a transition, e.g. a runner setting off after a pause with a few
            # seconds of running so far. Its steps without a flight phase (speeding up from standing still,
            # slowing down) follow neither the walking relation nor steady running's; the running samples'
            # do (a flight phase: the spring-mass loading), so they alone sign the axis. The walking
            # relation over all of them turned the forward axis round (robustness-sweep draw
            # `processing.evaluation.sweep` sweep2026_050: 173 deg off, from 3 s of running and the 2 s of
            # setting off before it).
            sign_from = running
        forward, strength = self._forward_axis(
            acc_mps2,
            gyr_dps,
            quat,
            up,
            bias,
            use=use,
            moving=moving,
            use_running=bool(use_running) or sign_from is not None,
            fs=fs,
            sign_from=sign_from,
        )
        rotation = np.stack([forward, np.cross(up, forward), up])
        standing_s = None if standing is None else (standing[0] / fs, standing[1] / fs)
        forward_from: Literal["running", "walking"] = "running" if use_running else "walking"
        self.mounting_ = Mounting(rotation, calibration, standing_s, strength, bias, forward_from)
        return self

    def refine_forward(
        self,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        *,
        sampling_rate_hz: float,
        quat: FloatArray,
        known: Mounting,
    ) -> MountingEstimator:
        """The forward axis again, from running in a later stretch; up, neutral and bias stay `known`'s.

        When the runner walked past the last calibration checkpoint (a long warm-up after standing), the
        forward axis had to come from walking, where uneven sides bend it further than running's mirror
        symmetry does (a robustness-sweep draw, `processing.evaluation.sweep`: 7.1 deg from its 52 s
        warm-up walk, 1.0 deg from its running). Once `min_motion_s` of running is in the stretch, running
        decides the forward axis; the standing calibration (up, neutral, gyroscope bias) is kept.

        Parameters
        ----------
        acc_mps2, gyr_dps : (n, 3) arrays, sensor frame
        sampling_rate_hz : float
        quat : (n, 4) array
            VQF's sensor-to-earth orientation of the same samples.
        known : Mounting
            The calibration to refine.

        Raises
        ------
        CalibrationError
            Less than `min_motion_s` of running in the stretch.
        """
        fs = sampling_rate_hz
        _, moving = self._stills_and_moving(acc_mps2, gyr_dps, fs)
        running = moving & _running_samples(acc_mps2, fs)
        if np.count_nonzero(running) < round(self.min_motion_s * fs):
            raise CalibrationError(
                f"not enough running yet to find the direction of travel: run for {self.min_motion_s:g} s"
            )
        up = known.up_sensor
        forward, strength = self._forward_axis(
            acc_mps2,
            gyr_dps,
            quat,
            up,
            known.gyr_bias_dps,
            use=running,
            moving=moving,
            use_running=True,
            fs=fs,
        )
        rotation = np.stack([forward, np.cross(up, forward), up])
        self.mounting_ = Mounting(
            rotation, known.calibration, known.standing_s, strength, known.gyr_bias_dps, "running"
        )
        return self

    def _stills_and_moving(
        self, acc_mps2: FloatArray, gyr_dps: FloatArray | None, fs: float
    ) -> tuple[list[tuple[int, int]], BoolArray]:
        """The still periods long enough to hold a standing calibration after both trims, and the samples
        outside them."""
        stills = find_still_periods(
            acc_mps2, gyr_dps, sampling_rate_hz=fs, min_duration_s=self.min_standing_s + 2.0 * self.trim_s
        )
        moving = np.ones(acc_mps2.shape[0], dtype=bool)
        for a, b in stills:
            moving[a:b] = False
        return stills, moving

    def _forward_axis(
        self,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray | None,
        quat: FloatArray | None,
        up: FloatArray,
        bias: FloatArray | None,
        *,
        use: BoolArray,
        moving: BoolArray,
        use_running: bool,
        fs: float,
        sign_from: BoolArray | None = None,
    ) -> tuple[FloatArray, float]:
        """The forward axis (unit, sensor frame, perpendicular to the unit `up`) from the samples `use`, and
        the consistency of its sign (`Mounting.forward_strength`); `use_running` says they are running (or,
        with `sign_from`, that those of them that sign the axis are)."""
        if quat is not None:
            gravity_s = np.einsum(
                "nji,j->ni", quat_to_matrix(quat), np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
            )
            free = acc_mps2 - gravity_s
        else:
            free = acc_mps2 - acc_mps2[moving].mean(axis=0)
        sos = signal.butter(2, min(self.smoothing_hz, 0.4 * fs), fs=fs, output="sos")
        free = signal.sosfiltfilt(sos, free, axis=0)
        h1, h2 = _orthonormal_basis(up)
        a_v = free @ up
        a_h = np.stack([free @ h1, free @ h2], axis=1)
        gyro_axis = None
        yaw_rate_dps = None
        if gyr_dps is not None:
            gyr = gyr_dps - (np.zeros(3) if bias is None else bias)
            gyro_axis = _gyro_axis_in_plane(np.stack([gyr @ h1, gyr @ h2], axis=1), a_v, use, fs)
            yaw_rate_dps = gyr @ up
            if use_running:
                a_h = _without_lever_arm_swing(a_h, yaw_rate_dps, use, sos, fs)
        mirror_axis = None
        if use_running:
            a_h_mirror = a_h
            if quat is not None and yaw_rate_dps is not None:
                # Horizontal as VQF sees it, sample by sample: the sensor's fixed "horizontal" axes tilt
                # with the pelvis and pick up the vertical force times the obliquity, which repeats every
                # step when one side drops further (4 vs 8 deg of drop turned the axis 2 to 4 deg).
                z_s = quat_to_matrix(quat)[:, 2, :]
                level = free - np.sum(free * z_s, axis=1)[:, None] * z_s
                a_h_mirror = np.stack([level @ h1, level @ h2], axis=1)
                a_h_mirror = _without_lever_arm_swing(a_h_mirror, yaw_rate_dps, use, sos, fs)
            mirror_axis = _mirror_axis_in_plane(
                a_v, a_h_mirror, use, fs, above_step_frequency=gyr_dps is None
            )
        fwd2, strength = _forward_in_plane(
            a_v[use],
            a_h[use],
            fs,
            running=bool(use_running),
            axis=mirror_axis,
            gyro_axis=gyro_axis,
            sign_from=None if sign_from is None else sign_from[use],
        )
        return fwd2[0] * h1 + fwd2[1] * h2, strength
