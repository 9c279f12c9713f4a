"""One processor for live blocks and whole recordings: streaming equals batch by construction.

Design (VQF's shape: frozen parameters, explicit state, one code path behind `update()` and the batch call):

1. Orientation: from the calibration on, every sample goes through one causal VQF (`processing.orientation`),
   started at sample 0 with the gyroscope bias measured while standing. VQF runs `orientation_lookahead_s`
   behind the newest sample so that a centred filter of the yaw rate can tell turns (and the calibration the
   speeding up after standing) in time to hold the accelerometer correction there. Its state carries over
   between blocks, and the hold switches at fixed samples, so the quaternions do not depend on the split.
   What the windows read (levelled acc/gyr, tilt, obliquity, heading) is computed once per sample.
2. Calibration: the mounting is decided at fixed checkpoints of the absolute sample count (every
   `calibration_check_s`), from samples [0, checkpoint) only: as soon as they hold a standing period followed
   by `calibration_motion_s` of running, or at `max_calibration_s` without (then from walking, or from the
   mean running posture without a standing period: angles are then relative to that posture). A forward axis
   that had to come from walking is re-decided from running at the later checkpoints, from samples [c - 2
   `calibration_motion_s`, c) once they hold `calibration_motion_s` of running (up and the neutral stay);
   the windows whose core starts at or after that checkpoint use it (`_refine_forward`).
3. Windows: window k spans samples [k H - M, (k + 1) H + M) (hop H, margin M, absolute indices) and owns the
   steps whose initial contact lies in its core [k H, (k + 1) H). It runs once all its samples are in. The
   gait event detector, the pelvic angles and the per-step metrics see exactly the window's samples, whatever
   the blocks were. The margins keep the core away from filter edge effects and hold the next contact of the
   last core step.
4. Commit rule: a window emits a step only when the step's next contact also lies in its core. The last core
   step, whose next contact lies in the next window's core, waits for that window: its end is the next
   window's first contact (the next window sees that stretch centred, with more context; the margin of this
   one may have missed or misplaced contacts there, e.g. a gap fill in walking). So every emitted step ends on
   the next emitted contact (or ends its bout), and no emitted step spans another one's initial contact.
5. Sides across windows: inside a window the detector labels each parity group (a bout, split where a running
   contact was missed or added: `processing.laterality.parity_groups`; alternating, broken only where the
   side evidence demands it in walking: a missed or extra step, `processing.laterality`); across windows a
   group keeps that labelling, turned so that its first core contact alternates with the last labelled
   contact, unless the summed side evidence of the group so far plus the new window says the parity is wrong
   (then it flips: one broken alternation, not a wrong bout). Re-imposing strict alternation on the window's
   core would undo a break the detector found and mislabel every contact after it up to the next window. A
   new group takes the parity of its own evidence.

6. Gaps (`processing.pipeline.gaps`, the one policy for run, record + analyze and replay): `update()` reads
   them from the sample times, so a live block, a recorded CSV and a replayed session decide a gap alike and
   the decision depends only on the two samples around it (streaming still equals batch). No flag is passed:
   the link's `lost_samples_before` exists on the live path only (a CSV knows only its times), and the times
   say the same thing there (the link stamps samples from the sensor clock). A gap of at most
   `GapPolicy.max_bridge_s` is bridged (samples interpolated onto the grid; the stream goes on). A longer one
   splits the stream into segments: samples keep their absolute indices (gap samples get none), each segment
   has its own window grid from its first sample, and the segment before the gap is finished as a recording
   would be (its windows end at the gap, its last step, whose next contact fell into the gap, is dropped, and
   side stitching starts a new bout after it). The calibration is not redone: mounting, neutral and bias
   carry over (a calibration still pending sees the samples of all segments, as one recording). VQF restarts
   at the segment's first sample from the first `orientation_lookahead_s` of samples after the gap
   (`OrientationEstimator.resume`: VQF run backwards over them, bias kept); the turn detection's moving
   sums stop at segment ends as at the recording's ends. `gaps_` counts every decision.
7. Live angles: `live_angles()` gives the pelvic angles of the newest sample without waiting for a window: a
   copy of VQF, from where the look-ahead left it, runs over the newest `orientation_lookahead_s` of samples
   (holding the accelerometer correction as at its start) and the rotation is taken against a causal
   direction of travel (`processing.pipeline.live`). It reads the committed state and changes nothing; it
   costs about 0.3 ms of CPU a call (0.3 % of a core at 10 Hz).

Delay: a step is emitted when its window completes and VQF has reached the window's end, at most
H + M + look-ahead after its last sample (9 s by default), plus the block that completes it (steps of the
calibration period come out together when it is decided). A step ends at a uniformly random place of a core,
so the delay lies between M + L and H + M + L: median 7.0 s, p99 9.0 s at the defaults
(`benchmarks/bench_commit_delay.py`). A shorter hop alone does not halve it (M + L = 5 s stays); the margin
must hold a step's next contact (`max_step_time_s`) and the look-ahead the turn detection's centred filter:
H 2, M 2, L 1.5 gives 4.5 s at the same accuracy except in turns (track_turns: tilt 0.8 -> 1.3 deg), and
H 1.5, M 2, L 1 (3.7 s, halved) shortens the turn filter below a stride and doubles the drop error across the
suite.

Memory: one window plus the look-ahead (plus the calibration period at the start, and 2 `calibration_motion_s`
while a forward axis from walking waits for running).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from processing.alignment import Mounting, MountingEstimator
from processing.errors import CalibrationError, InvalidSamplesError
from processing.gait_events.events import GaitEvents
from processing.laterality import parity_groups
from processing.orientation import OrientationEstimator, OrientationParams
from processing.pelvis import (
    angle_at_sample_instants,
    body_signals,
    levelled_body_frame,
    rotation_relative_to_travel,
)
from processing.pipeline.detectors import WindowEventDetector
from processing.pipeline.gaps import GapCounts, GapPolicy, resolve_gaps
from processing.pipeline.live import DEFAULT_STRIDE_S, LiveAngles, causal_travel_heading_deg, travel_history_s
from processing.pipeline.step_metrics import compute_step_metrics
from processing.samples import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ, FloatArray, ImuSamples
from processing.steps import Side, Step, StepMetrics

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

__all__ = ["PipelineParams", "StreamingProcessor"]

#: Context kept around a window's steps for the per-step metrics: more than half the longest stride, s.
SPAN_PAD_S = 1.5
#: After a long gap the live angles resume once this much has come in (VQF resumes from it), s.
LIVE_MIN_RESUME_S = 0.5
#: Long stretches of samples (a recording given at once) go through the orientation and `body_signals` this
#: many samples at a time: the element-wise temporaries then stay in the CPU cache (40 % faster over an
#: hour). The same numbers: a chunk is what a block of a live stream would be.
_CHUNK_SAMPLES = 8192


@dataclass(frozen=True, slots=True)
class PipelineParams:
    """Parameters of the streaming processor (seconds, not samples).

    Attributes
    ----------
    window_hop_s : float, s
        Core length of a window; the emission cadence.
    window_margin_s : float, s
        Context on each side of the core (longer than a step plus the detector's filter settling).
    calibration_check_s : float, s
        Spacing of the calibration checkpoints.
    calibration_motion_s : float, s
        Motion needed after the standing period before the mounting is fixed.
    max_calibration_s : float, s
        Without a standing period, the mounting is fixed from the mean running posture at this point.
    max_step_time_s : float, s
        Longest step (next IC - IC) accepted; longer gaps end a bout.
    max_running_flight_s, max_running_step_s : float, s
        Longest flight (next IC - toe-off) and step of a running step. A longer one hides a missed contact,
        and is not emitted, so a detector that missed every other contact cannot report half the cadence:
        its "flight" would span the missed contact and two flights, at least 0.35 s at any speed, while
        running flights last 0.05 to 0.2 s (0.25 s of flight is already a 7.7 cm rise of the body). The step
        limit (86 steps/min) applies where the toe-off is unknown.
    orientation : OrientationParams
    orientation_lookahead_s : float, s
        How far VQF runs behind the newest sample (half the length of the turn-detection filter).
    turn_rate_dps : float, deg/s
        Yaw rate (stride-averaged) above which the runner is turning: the accelerometer correction is held.
        A 400 m track bend at 2.5 m/s turns at 4 deg/s.
    start_hold_s : float, s
        After the standing calibration, the accelerometer correction is held this long while the runner
        speeds up.
    orientation_settle_s : float, s
        Without a standing period, steps in the first this many seconds get no angles. 0: VQF then starts
        levelled backwards from the first `orientation_lookahead_s` of samples (`_starts_moving`), and the
        angles of the first seconds are as good as the later ones (relative to the mean running posture),
        which a short lab clip needs: it may hold no other seconds.
    gaps : GapPolicy
        Which holes in the sample times are bridged and which split the stream (`processing.pipeline.gaps`).
    """

    window_hop_s: float = 4.0
    window_margin_s: float = 3.0
    calibration_check_s: float = 5.0
    calibration_motion_s: float = 10.0
    max_calibration_s: float = 60.0
    max_step_time_s: float = 2.0
    max_running_flight_s: float = 0.25
    max_running_step_s: float = 0.7
    orientation: OrientationParams = field(default_factory=OrientationParams)
    orientation_lookahead_s: float = 2.0
    turn_rate_dps: float = 3.0
    start_hold_s: float = 8.0
    orientation_settle_s: float = 0.0
    gaps: GapPolicy = field(default_factory=GapPolicy)

    def __post_init__(self) -> None:
        for name in (
            "window_hop_s",
            "window_margin_s",
            "calibration_check_s",
            "max_step_time_s",
            "max_running_step_s",
            "max_running_flight_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.window_margin_s > self.orientation_lookahead_s > 0.5:
            raise ValueError("orientation_lookahead_s must lie between 0.5 s and window_margin_s")
        if self.window_margin_s < self.max_step_time_s:
            raise ValueError("window_margin_s must be at least max_step_time_s (the next contact must fit)")
        if self.max_calibration_s < self.calibration_check_s:
            raise ValueError("max_calibration_s must be at least calibration_check_s")


@dataclass(slots=True)
class _Buffer:
    """Samples from absolute index `start` on (pending blocks joined lazily), and their quaternions.

    `quat` covers [start, start + len(quat)): VQF runs behind the newest sample. `body` holds, for the same
    samples, what the windows read (`processing.pelvis.body_signals`), computed once per sample.
    """

    start: int = 0
    t_s: FloatArray = field(default_factory=lambda: np.empty(0))
    acc_mps2: FloatArray = field(default_factory=lambda: np.empty((0, 3)))
    gyr_dps: FloatArray | None = None
    quat: FloatArray = field(default_factory=lambda: np.empty((0, 4)))
    body: FloatArray = field(default_factory=lambda: np.empty((0, 9)))
    pending: list[tuple[FloatArray, FloatArray, FloatArray | None]] = field(default_factory=list)
    #: The one pending block may be kept as it is (not copied) when nothing is buffered yet.
    adopt: bool = False

    def consolidate(self) -> None:
        if not self.pending:
            return
        if self.adopt and len(self.pending) == 1 and self.t_s.shape[0] == 0:
            t, acc, gyr = self.pending.pop()
            self.t_s, self.acc_mps2 = t, acc
            if self.gyr_dps is not None and gyr is not None:
                self.gyr_dps = gyr
            return
        # copies: the buffer owns its samples (a caller may reuse its block arrays)
        self.t_s = np.concatenate([self.t_s, *(p[0] for p in self.pending)])
        self.acc_mps2 = np.concatenate([self.acc_mps2, *(p[1] for p in self.pending)])
        if self.gyr_dps is not None:
            self.gyr_dps = np.concatenate([self.gyr_dps, *(p[2] for p in self.pending if p[2] is not None)])
        self.pending.clear()

    def drop_before(self, index: int) -> None:
        self.consolidate()
        k = index - self.start
        if k <= 0:
            return
        self.t_s = self.t_s[k:]
        self.acc_mps2 = self.acc_mps2[k:]
        if self.gyr_dps is not None:
            self.gyr_dps = self.gyr_dps[k:]
            self.quat = self.quat[k:]
            self.body = self.body[k:]
        self.start += k


def _body_signals_chunked(
    quat: FloatArray, mounting_rotation: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
) -> FloatArray:
    """`processing.pelvis.body_signals`, computed `_CHUNK_SAMPLES` at a time (the same numbers: it works
    sample by sample)."""
    n = quat.shape[0]
    if n <= _CHUNK_SAMPLES:
        return body_signals(quat, mounting_rotation, acc_mps2, gyr_dps)
    out = np.empty((n, 9))
    for a in range(0, n, _CHUNK_SAMPLES):
        b = a + _CHUNK_SAMPLES
        out[a:b] = body_signals(quat[a:b], mounting_rotation, acc_mps2[a:b], gyr_dps[a:b])
    return out


def _checked_toe_off(ic_s: float, to_s: float) -> float:
    """A step's toe-off, or NaN where it cannot be one (unknown, or before its contact).

    One rule for every step, whichever window commits it (in its core, or as the open step the next window
    ends), so a step's contact time does not depend on the window grid. A toe-off after the next contact is
    kept: walking has double support (the walking detector's toe-off ends it, after the other foot lands).
    The open step used to lose such a toe-off and the in-core step kept it, so with a 5 s hop (the first
    contact after the simulator's 5 s standing start then ends the first core) the suite's contact-time
    MAE looked 1.3 ms better: one contact out of standing per run, timed 0.3 s long, dropped out.
    """
    if not (math.isfinite(to_s) and ic_s <= to_s):
        return float("nan")
    return to_s


def _appended(old: FloatArray, new: list[FloatArray]) -> FloatArray:
    """`np.concatenate([old, *new])`, without a copy for one piece after nothing (the pieces are ours)."""
    if old.shape[0] == 0 and len(new) == 1:
        return new[0]
    return np.concatenate([old, *new])


def _unwrap_deg(angle_deg: FloatArray) -> FloatArray:
    """`np.unwrap(angle_deg, period=360.0)` of a 1-D array, to the bit, with the modulo only at the jumps.

    numpy takes the modulo of every step, then zeroes the correction of steps under half a period; a heading
    sampled at 50 Hz or more jumps only where it wraps, so the same corrections are computed for those steps
    alone (0 elsewhere, as numpy sets them) and summed as numpy does.
    """
    dd = angle_deg[1:] - angle_deg[:-1]
    correction = np.zeros(dd.shape[0])
    jumps = (~(np.abs(dd) < 180.0)).nonzero()[0]  # where numpy keeps its correction (NaN steps too)
    if jumps.size:
        d = dd[jumps]
        ddmod = np.mod(d + 180.0, 360.0) - 180.0
        ddmod[(ddmod == -180.0) & (d > 0)] = 180.0
        correction[jumps] = ddmod - d
    out = np.array(angle_deg, dtype=np.float64, copy=True)
    out[1:] = angle_deg[1:] + correction.cumsum()
    return out


def _window_sums(cumulative: IntArray, centres: IntArray, half: int) -> IntArray:
    """Sums over [i - half, i + half] (clipped to the array) for each centre i, from the cumulative sums
    (with a leading 0) of the values: exact integer sums."""
    n = cumulative.shape[0] - 1
    return cumulative[np.minimum(centres + half + 1, n)] - cumulative[np.maximum(centres - half, 0)]


def _cumulative(values: IntArray) -> IntArray:
    out = np.zeros(values.shape[0] + 1, dtype=np.int64)
    values.cumsum(out=out[1:])
    return out


class StreamingProcessor:
    """Turn sample blocks into per-step metrics, with bounded delay and memory.

    Parameters
    ----------
    sampling_rate_hz : float
        The constant sampling rate, 50 to 500 Hz.
    has_gyroscope : bool
        Whether blocks carry angular rates. Without, the pelvic angles are NaN.
    event_detector : WindowEventDetector
        Gait events of a window of levelled samples (an `EventDetectorAdapter` around a detector).
    params : PipelineParams
    mounting : Mounting or None
        A known mounting (skips the calibration), e.g. from an earlier session with the same clip.

    Notes
    -----
    `update(block)` returns the steps completed by the block; `finish()` flushes the rest at the end of a
    recording. `mounting_` is None until the calibration is decided. Gaps in the sample times are bridged or
    split the stream by `params.gaps` (module docstring, item 6); `gaps_` counts the decisions.
    `live_angles()` reads the newest pelvic angles at any time after the calibration.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        *,
        has_gyroscope: bool,
        event_detector: WindowEventDetector,
        params: PipelineParams | None = None,
        mounting: Mounting | None = None,
    ) -> None:
        if not MIN_SAMPLING_RATE_HZ <= sampling_rate_hz <= MAX_SAMPLING_RATE_HZ:
            raise InvalidSamplesError(
                f"sampling rate {sampling_rate_hz:g} Hz is outside {MIN_SAMPLING_RATE_HZ:g} to "
                f"{MAX_SAMPLING_RATE_HZ:g} Hz: resample the recording or change the sensor setting",
                reason="rate",
            )
        self.params = params or PipelineParams()
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.has_gyroscope = has_gyroscope
        self.event_detector = event_detector
        self.mounting_: Mounting | None = None
        fs = self.sampling_rate_hz
        self._hop = max(1, round(self.params.window_hop_s * fs))
        self._margin = max(1, round(self.params.window_margin_s * fs))
        self._check = max(1, round(self.params.calibration_check_s * fs))
        self._max_cal = round(self.params.max_calibration_s * fs)
        self._lookahead = max(1, round(self.params.orientation_lookahead_s * fs))
        # Turn detection: a centred cascade of two moving averages (2 s, then 1.5 s), which removes the
        # stride-periodic pelvic rotation (about 1.2 to 1.7 Hz) from the yaw rate; it fits in the look-ahead.
        self._turn_h1 = min(round(1.0 * fs), self._lookahead // 2)
        self._turn_h2 = min(round(0.75 * fs), self._lookahead - self._turn_h1)
        self._turn_half = self._turn_h1 + self._turn_h2
        self._orientation: OrientationEstimator | None = None
        self._vqf_done = 0  # absolute index of the first sample VQF has not seen
        self._hold_until = 0  # accelerometer correction held on [.., _hold_until) after standing
        self._hold_from = 0
        self._buf = _Buffer(gyr_dps=np.empty((0, 3)) if has_gyroscope else None)
        self._n_total = 0
        self._last_t_s = -np.inf
        self._t0_s = 0.0
        # Segments (split by long gaps): absolute index of each segment's first sample; segment i ends where
        # segment i + 1 starts, the last one is open. Windows run through them in order.
        self._seg_starts: list[int] = [0]
        self._win_seg = 0  # the segment whose windows run next ...
        self._next_window = 0  # ... and the next window in it
        self._gaps = GapCounts()
        # The last sample fed (time, acc row, gyr row): a gap may open before the next block.
        self._last_sample: tuple[float, FloatArray, FloatArray | None] | None = None
        # Stride length for the live direction of travel, from the committed steps (s).
        self._stride_s: float | None = None
        self._live: tuple[int, LiveAngles | None] | None = None  # (samples seen, angles) of the last call
        self._next_check = self._check
        # A forward axis from walking is re-decided from running at these checkpoints (absolute samples).
        self._refine_at: int | None = None
        self._refine_span = round(2.0 * self.params.calibration_motion_s * self.sampling_rate_hz)
        self._finished = False
        # Side stitching state: the last labelled contact and the side evidence of its bout.
        self._last_ic: tuple[float, Side] | None = None
        self._bout_evidence = 0.0
        # The last core step of the previous window (IC, side, toe-off, running): its end is this window's.
        self._open_step: tuple[float, Side, float, bool] | None = None
        if mounting is not None:
            self._set_mounting(mounting)

    @property
    def samples_seen(self) -> int:
        """How many samples have been fed (and interpolated into bridged gaps)."""
        return self._n_total

    @property
    def gaps_(self) -> GapCounts:
        """Every gap decision so far: bridged and split gaps, their missing time, samples interpolated."""
        return self._gaps

    @property
    def segments(self) -> int:
        """How many segments long gaps have split the stream into (1 without a long gap)."""
        return len(self._seg_starts)

    @property
    def buffered_samples(self) -> int:
        """How many samples are held (memory use)."""
        return int(self._buf.t_s.shape[0]) + sum(p[0].shape[0] for p in self._buf.pending)

    def update(self, block: ImuSamples, *, copy: bool = True) -> list[StepMetrics]:
        """Feed the next block of samples; returns the steps it completed, in time order.

        Gaps need no flag: they are read from the sample times (a jump before the block or inside it, as after
        a link drop: `SampleBlock.lost_samples_before` > 0), bridged or split by `params.gaps`, and counted in
        `gaps_`. A split finishes the segment before it: its steps come out with this call.

        With `copy` False the processor may keep the block's arrays instead of copying them (C-contiguous
        float64 arrays given while nothing is buffered, e.g. a whole recording at once): the caller must not
        modify them until the processor is finished. The results are the same.
        """
        if self._finished:
            raise InvalidSamplesError(
                "the processor is finished: start a new one for a new recording", reason="order"
            )
        self._validate(block)
        n = len(block)
        if n == 0:
            return []
        t = np.asarray(block.t_s, dtype=np.float64)
        acc = np.asarray(block.acc_mps2, dtype=np.float64)
        gyr = None if block.gyr_dps is None else np.asarray(block.gyr_dps, dtype=np.float64)
        pieces, counts = resolve_gaps(
            t,
            acc,
            gyr,
            previous=self._last_sample,
            sampling_rate_hz=self.sampling_rate_hz,
            policy=self.params.gaps,
        )
        if self._n_total == 0:
            self._t0_s = float(t[0])
        adopt = not copy
        for piece in pieces:
            if piece.split_before:
                self._seg_starts.append(self._n_total)
            self._buf.pending.append((piece.t_s, piece.acc_mps2, piece.gyr_dps))
            self._n_total += piece.t_s.shape[0]
            arrays = (piece.t_s, piece.acc_mps2, piece.gyr_dps)
            adopt = adopt and all(x.flags.c_contiguous for x in arrays if x is not None)
        # the same memory layout as a copy, so every later computation reads the same numbers the same way
        self._buf.adopt = adopt
        self._gaps = self._gaps + counts
        self._last_t_s = float(t[-1])
        self._last_sample = (self._last_t_s, acc[-1].copy(), None if gyr is None else gyr[-1].copy())
        return self._advance(final=False)

    def finish(self) -> list[StepMetrics]:
        """Flush at the end of a recording: decide a pending calibration and run the remaining windows."""
        if self._finished:
            return []
        out = self._advance(final=True)
        self._finished = True
        return out

    def live_angles(self) -> LiveAngles | None:
        """The pelvic angles of the newest sample, without waiting for a step (module docstring, item 7).

        None before the calibration, without a gyroscope, and in the first `LIVE_MIN_RESUME_S` after a long
        gap. Costs one pass of VQF over the newest `orientation_lookahead_s` of samples (computed once per
        block fed, however often it is asked); changes nothing the committed steps read.
        """
        if self._live is None or self._live[0] != self._n_total:
            self._live = (self._n_total, self._newest_angles())
        return self._live[1]

    def _newest_angles(self) -> LiveAngles | None:
        mounting, estimator, buf = self.mounting_, self._orientation, self._buf
        if mounting is None or estimator is None or buf.gyr_dps is None or self._n_total == 0:
            return None
        buf.consolidate()
        seg_start, n = self._seg_starts[-1], self._n_total
        lo = max(self._vqf_done, seg_start)  # VQF completes closed segments: lo > seg_start once resumed
        head = estimator.clone()
        if self._vqf_done <= seg_start and seg_start > 0:
            # a long gap just split the stream and VQF waits for the look-ahead before it resumes: resume the
            # copy from what is there
            if n - seg_start < round(LIVE_MIN_RESUME_S * self.sampling_rate_hz):
                return None
            head.resume(buf.gyr_dps[seg_start - buf.start :], buf.acc_mps2[seg_start - buf.start :])
        new = slice(lo - buf.start, n - buf.start)
        acc, gyr = buf.acc_mps2[new], buf.gyr_dps[new]
        quat = head.update(gyr, acc, hold=np.full(n - lo, head.holding))
        ahead = body_signals(quat, mounting.rotation, acc, gyr)
        # the heading over the travel estimate's history: what VQF has computed in this segment before the
        # newest samples, then theirs
        stride_s = self._stride_s or DEFAULT_STRIDE_S
        first = max(seg_start, buf.start, n - round(travel_history_s(stride_s) * self.sampling_rate_hz) - 2)
        behind = buf.body[min(first, lo) - buf.start : lo - buf.start]
        heading = _unwrap_deg(np.concatenate([behind[:, 8], ahead[:, 8]]))[first - n :]
        t = buf.t_s[first - buf.start : n - buf.start]
        travel = causal_travel_heading_deg(t, heading, stride_s=stride_s)
        # the newest sample's angles, moved back by the half sample the filter leads (as the steps' angles:
        # `angle_at_sample_instants`)
        last_two = np.concatenate([behind[-2:, 6:8], ahead[:, 6:8]])[-2:]
        tilt, obliquity = (float(x) for x in last_two.mean(axis=0))
        heading_now = float(np.mean(heading[-2:]))
        rotation = heading_now - travel
        if mounting.standing_s is None and float(t[-1]) < self._t0_s + self.params.orientation_settle_s:
            tilt = obliquity = rotation = float("nan")
        return LiveAngles(float(t[-1]), tilt, obliquity, rotation)

    # -- internals ------------------------------------------------------------------------------------------

    def _validate(self, block: ImuSamples) -> None:
        if block.has_gyroscope != self.has_gyroscope:
            expected = "with" if self.has_gyroscope else "without"
            raise InvalidSamplesError(
                f"the stream started {expected} gyroscope data and a block does not: keep the sensor mode",
                reason="shape",
            )
        if len(block) == 0:
            return
        t = block.t_s
        if not np.all(np.isfinite(block.acc_mps2)) or (
            block.gyr_dps is not None and not np.all(np.isfinite(block.gyr_dps))
        ):
            raise InvalidSamplesError(
                "samples contain NaN or infinite values: drop or repair them", reason="nan"
            )
        if t[0] <= self._last_t_s or (t.shape[0] > 1 and np.any((t[1:] - t[:-1]) <= 0)):
            raise InvalidSamplesError("sample times must increase strictly across blocks", reason="order")

    def _advance(self, *, final: bool) -> list[StepMetrics]:
        out: list[StepMetrics] = []
        if self.mounting_ is None:
            self._try_calibration(final=final)
            if self.mounting_ is None:
                return out
        if self.has_gyroscope:
            self._run_orientation(final=final)
        ready = self._vqf_done if self.has_gyroscope else self._n_total
        starts = self._seg_starts
        while True:
            seg_start = starts[self._win_seg]
            closed = self._win_seg + 1 < len(starts)  # a long gap follows: the segment is complete
            seg_end = starts[self._win_seg + 1] if closed else self._n_total
            core_start = seg_start + self._next_window * self._hop
            if core_start >= seg_end:
                if not closed:
                    break
                # The segment ends as a recording would: its last step waited for a contact in the gap.
                self._win_seg += 1
                self._next_window = 0
                self._open_step = None
                self._last_ic = None
                self._bout_evidence = 0.0
                continue
            end = core_start + self._hop + self._margin
            if (min(end, seg_end) if closed or final else end) > ready:
                break
            self._refine_forward(core_start)
            out.extend(self._process_window(core_start, seg_start, seg_end))
            self._next_window += 1
            keep = min(max(seg_start, core_start + self._hop - self._margin), seg_end)
            if self.has_gyroscope:
                keep = min(keep, self._vqf_done - self._turn_half)
            if self._refine_at is not None:
                keep = min(keep, self._refine_at - self._refine_span)
            self._buf.drop_before(keep)
        if out:  # the stride for the live direction of travel: two steps
            self._stride_s = 2.0 * float(np.median([s.step_time_s for s in out[-8:]]))
        return out

    def _set_mounting(self, mounting: Mounting) -> None:
        self.mounting_ = mounting
        if mounting.standing_s is not None:
            self._hold_from = round(mounting.standing_s[1] * self.sampling_rate_hz)
            self._hold_until = self._hold_from + round(self.params.start_hold_s * self.sampling_rate_hz)
        if self.has_gyroscope:
            orientation = OrientationEstimator(self.sampling_rate_hz, self.params.orientation)
            if mounting.gyr_bias_dps is not None:
                orientation.set_bias(mounting.gyr_bias_dps)
            self._orientation = orientation

    def _starts_moving(self) -> bool:
        """Whether the recording opens in motion (no standing period): VQF then starts as after a gap.

        Started forwards from its first sample, VQF takes that sample's specific force (mid-stride: anything
        from free fall to 3 g, tilted by the braking) for gravity and levels the first half second or so
        wrongly, which makes contacts there late or lost; a short clip has few others. Levelled backwards
        from the first `orientation_lookahead_s` of samples (`OrientationEstimator.resume`) it starts from
        their average instead.
        """
        return self.mounting_ is not None and self.mounting_.standing_s is None

    def _hold_mask(self, lo: int, hi: int, seg_start: int, seg_end: int) -> BoolArray:
        """Samples [lo, hi) (absolute, inside the segment [seg_start, seg_end)) where the accelerometer
        correction is held: turning, or speeding up."""
        mounting, buf = self.mounting_, self._buf
        if mounting is None or buf.gyr_dps is None:
            return np.zeros(hi - lo, dtype=bool)
        half, h1, h2 = self._turn_half, self._turn_h1, self._turn_h2
        a, b = max(buf.start, lo - half, seg_start), min(seg_end, hi + half)
        bias = mounting.gyr_bias_dps if mounting.gyr_bias_dps is not None else np.zeros(3)
        g, up = buf.gyr_dps[a - buf.start : b - buf.start] - bias, mounting.up_sensor
        yaw_rate = g[:, 0] * up[0] + g[:, 1] * up[1] + g[:, 2] * up[2]  # element-wise: same bits in any chunk
        # Integer arithmetic (milli-deg/s) makes the moving sums exact, so the decision cannot depend on where
        # the stream was split; sums are normalised by their sample counts (short only at the segment ends).
        q = (yaw_rate * 1000.0).round().astype(np.int64)
        n = q.shape[0]
        everywhere = np.arange(n)
        sum1 = _window_sums(_cumulative(q), everywhere, h1)
        cnt1 = np.minimum(everywhere + h1 + 1, n) - np.maximum(everywhere - h1, 0)  # samples in each sum
        asked = np.arange(lo - a, hi - a)  # the second average only where the mask is asked for
        sum2 = _window_sums(_cumulative(sum1), asked, h2)
        cnt2 = _window_sums(_cumulative(cnt1), asked, h2)
        turning = np.abs(sum2) > self.params.turn_rate_dps * 1000.0 * cnt2
        idx = np.arange(lo, hi)
        starting = (idx >= self._hold_from) & (idx < self._hold_until)
        return np.asarray(turning | starting)

    def _run_orientation(self, *, final: bool, body: bool = True) -> None:
        """Advance VQF to `lookahead` samples behind the newest (to the end when final), and through every
        segment that a long gap has closed.

        At a segment's first sample after a gap VQF resumes from the segment's first `lookahead` samples
        (`OrientationEstimator.resume`): they are in whenever VQF gets there, so this adds no delay. With
        `body` False the body signals of the new samples are left for the caller (the calibration computes
        them once, with its final mounting).
        """
        if self._orientation is None:
            return
        buf = self._buf
        buf.consolidate()
        starts = self._seg_starts
        target = self._n_total if final else max(self._n_total - self._lookahead, starts[-1])
        lo = self._vqf_done
        if target <= lo or buf.gyr_dps is None:
            return
        with_body = self.mounting_ is not None and body
        # written chunk by chunk while in the cache, not concatenated afterwards
        quats = np.empty((target - lo, 4))
        bodies = np.empty((target - lo, 9)) if with_body else None
        seg = bisect.bisect_right(starts, lo) - 1
        while self._vqf_done < target:
            seg_start = starts[seg]
            seg_end = starts[seg + 1] if seg + 1 < len(starts) else self._n_total
            if self._vqf_done == seg_start and (seg > 0 or self._starts_moving()):
                first = slice(seg_start - buf.start, min(seg_start + self._lookahead, seg_end) - buf.start)
                self._orientation.resume(buf.gyr_dps[first], buf.acc_mps2[first])
            stop = min(target, seg_end)
            for a in range(self._vqf_done, stop, _CHUNK_SAMPLES):  # as a live stream's blocks would come
                b = min(a + _CHUNK_SAMPLES, stop)
                hold = self._hold_mask(a, b, seg_start, seg_end)
                gyr = buf.gyr_dps[a - buf.start : b - buf.start]
                acc = buf.acc_mps2[a - buf.start : b - buf.start]
                quat = quats[a - lo : b - lo]
                quat[:] = self._orientation.update(gyr, acc, hold=hold)
                if bodies is not None and self.mounting_ is not None:
                    bodies[a - lo : b - lo] = body_signals(quat, self.mounting_.rotation, acc, gyr)
            self._vqf_done = stop
            seg += 1
        buf.quat = _appended(buf.quat, [quats])
        if bodies is not None:
            buf.body = _appended(buf.body, [bodies])

    def _try_calibration(self, *, final: bool) -> None:
        buf = self._buf
        while self._next_check <= self._n_total or final:
            checkpoint = min(self._next_check, self._n_total)
            fallback = final or checkpoint >= self._max_cal
            buf.consolidate()
            acc = buf.acc_mps2[:checkpoint]  # the buffer starts at sample 0 until the calibration
            gyr = None if buf.gyr_dps is None else buf.gyr_dps[:checkpoint]
            min_motion_s = self.params.calibration_motion_s if not fallback else 4.0
            estimator = MountingEstimator(
                require_standing=not fallback, require_running=not fallback, min_motion_s=min_motion_s
            )
            try:
                first = estimator.estimate(acc, gyr, sampling_rate_hz=self.sampling_rate_hz).mounting_
            except CalibrationError:
                if final:
                    return
                self._next_check += self._check
                continue
            if gyr is None:
                self._set_mounting(first)
                return
            # Second pass with the orientation (VQF from sample 0 with the standing bias): gravity is then
            # removed sample by sample for the forward axis. The orientation continues from there.
            self._set_mounting(first)
            self._run_orientation(final=final, body=False)
            # VQF has run at least to checkpoint - lookahead, whatever the blocks were: use exactly that much
            # (at the end of the recording, all of it: a short clip may hold no more than the first pass used,
            # and its mean posture should come from VQF, as a longer recording's does).
            n = checkpoint if final else max(0, checkpoint - self._lookahead)
            quat = buf.quat[:n]
            # The look-ahead left out must not fail the running check the first pass has just passed.
            lookahead_s = self._lookahead / self.sampling_rate_hz
            levelled = MountingEstimator(
                require_standing=not fallback,
                require_running=not fallback,
                min_motion_s=max(4.0, min_motion_s - lookahead_s),
            )
            try:
                second = levelled.estimate(
                    acc[:n], gyr[:n], sampling_rate_hz=self.sampling_rate_hz, quat=quat
                ).mounting_
            except CalibrationError:
                second = first
            # Same up axis and standing period; refined forward axis. The orientation filter is sensor-frame
            # and does not depend on the mounting, so it carries on unchanged; the body signals of the
            # samples VQF has seen are computed with the final mounting.
            self.mounting_ = second
            k = buf.quat.shape[0]
            if buf.gyr_dps is not None:
                buf.body = _body_signals_chunked(buf.quat, second.rotation, buf.acc_mps2[:k], buf.gyr_dps[:k])
            if second.forward_from == "walking":
                self._refine_at = checkpoint + self._check
            return

    def _refine_forward(self, limit: int) -> None:
        """Re-decide a forward axis that came from walking, at the checkpoints up to `limit` (absolute).

        At each checkpoint c (every `calibration_check_s` after the calibration) the samples [c - 2
        `calibration_motion_s`, c) decide, once they hold `calibration_motion_s` of running
        (`MountingEstimator.refine_forward`: up, neutral and gyroscope bias stay). The steps of the windows
        whose core starts at or after c get the new axis. Every checkpoint up to a window's core start is
        decided before the window runs, from samples that VQF has seen by then however the stream was split
        (the window needs later ones), so streaming still equals batch.
        """
        buf, mounting = self._buf, self.mounting_
        while self._refine_at is not None and self._refine_at <= limit and mounting is not None:
            c = self._refine_at
            if buf.gyr_dps is None:  # pragma: no cover - only set with a gyroscope
                self._refine_at = None
                return
            buf.consolidate()
            lo, hi = max(c - self._refine_span, buf.start) - buf.start, c - buf.start
            try:
                refined = (
                    MountingEstimator(min_motion_s=self.params.calibration_motion_s)
                    .refine_forward(
                        buf.acc_mps2[lo:hi],
                        buf.gyr_dps[lo:hi],
                        sampling_rate_hz=self.sampling_rate_hz,
                        quat=buf.quat[lo:hi],
                        known=mounting,
                    )
                    .mounting_
                )
            except CalibrationError:
                self._refine_at = c + self._check
                continue
            self.mounting_ = refined
            self._refine_at = None
            k = buf.quat.shape[0]
            buf.body = _body_signals_chunked(buf.quat, refined.rotation, buf.acc_mps2[:k], buf.gyr_dps[:k])

    def _process_window(self, core_start: int, seg_start: int, seg_end: int) -> list[StepMetrics]:
        """The steps of the window whose core starts at `core_start`, in the segment [seg_start, seg_end)."""
        mounting = self.mounting_
        if mounting is None:  # pragma: no cover - guarded by _advance
            return []
        self._buf.consolidate()
        buf = self._buf
        a = max(seg_start, core_start - self._margin)
        b = min(core_start + self._hop + self._margin, seg_end)
        lo, hi = a - buf.start, b - buf.start
        t = buf.t_s[lo:hi]
        acc = buf.acc_mps2[lo:hi]
        gyr = None if buf.gyr_dps is None else buf.gyr_dps[lo:hi]
        fs = self.sampling_rate_hz
        gyr_lev: FloatArray | None
        if self.has_gyroscope:
            body = buf.body[lo:hi]
            acc_lev, gyr_lev = body[:, 0:3], body[:, 3:6]
        else:
            acc_lev, gyr_lev = levelled_body_frame(None, mounting.rotation, acc, gyr)
        events = self.event_detector.detect_window(t, acc_lev, gyr_lev, sampling_rate_hz=fs)

        core_t0 = float(t[core_start - a])
        core_end = core_start + self._hop
        core_t1 = float(t[core_end - a]) if core_end < b else np.inf
        in_core = ((events.ic_s >= core_t0) & (events.ic_s < core_t1)).nonzero()[0]
        open_step, self._open_step = self._open_step, None
        if in_core.shape[0] == 0:
            return []  # the open step's end was not confirmed: no contact follows it
        sides = self._stitch_sides(events, in_core)
        steps: list[Step] = []
        if open_step is not None:
            ic, side, to, running = open_step
            nxt = float(events.ic_s[in_core[0]])
            if self._step_time_ok(nxt - ic, running, nxt - to):
                steps.append(Step(ic, side, _checked_toe_off(ic, to), nxt, running))
        # Python lists: per-element reads of numpy arrays cost more than the checks themselves.
        ic_s: list[float] = events.ic_s.tolist()
        to_s: list[float] = events.to_s.tolist()
        bout_id: list[int] = events.bout_id.tolist()
        activity: list[str] = events.activity.tolist()
        for j, i in enumerate(in_core.tolist()):
            if i + 1 >= len(ic_s) or bout_id[i + 1] != bout_id[i]:
                continue
            ic, nxt = ic_s[i], ic_s[i + 1]
            to = _checked_toe_off(ic, to_s[i])
            if not self._step_time_ok(nxt - ic, activity[i] == "running", nxt - to):
                continue
            if nxt >= core_t1:  # its end belongs to the next window's core: that window decides it
                self._open_step = (ic, sides[j], to, activity[i] == "running")
                continue
            steps.append(Step(ic, sides[j], to, nxt, activity[i] == "running"))

        if not steps:
            return []
        # Only the span of the steps (plus a stride for the travel direction) is needed: a fixed span of
        # the window, so batch and streaming still compute the same thing.
        span = slice(
            int(t.searchsorted(steps[0].t_ic_s - SPAN_PAD_S)),
            int(t.searchsorted(steps[-1].t_next_ic_s + SPAN_PAD_S)),
        )
        t, acc_lev = t[span], acc_lev[span]
        if self.has_gyroscope:
            part = body[span]
            tilt, obliquity = part[:, 6], part[:, 7]
            heading = _unwrap_deg(part[:, 8])
            rotation = angle_at_sample_instants(rotation_relative_to_travel(t, heading, events.ic_s))
            if mounting.standing_s is None:
                # No standing period: VQF starts from no prior; its first seconds are not angles to report.
                settling = t < self._t0_s + self.params.orientation_settle_s
                tilt, obliquity, rotation = (
                    np.where(settling, np.nan, x) for x in (tilt, obliquity, rotation)
                )
        else:
            tilt = obliquity = rotation = np.full(t.shape[0], np.nan)
        return compute_step_metrics(
            steps,
            t_s=t,
            acc_levelled_mps2=acc_lev,
            tilt_deg=tilt,
            obliquity_deg=obliquity,
            rotation_deg=rotation,
            sampling_rate_hz=fs,
        )

    def _step_time_ok(self, step_s: float, running: bool, flight_s: float) -> bool:
        """Whether a step of this length is a step: positive, at most `max_step_time_s`, and for a running
        step at most `max_running_step_s` with a flight (NaN: toe-off unknown) of `max_running_flight_s`."""
        if not running:
            return 0 < step_s <= self.params.max_step_time_s
        return (
            0 < step_s <= self.params.max_running_step_s and not flight_s > self.params.max_running_flight_s
        )

    def _stitch_sides(self, events: GaitEvents, in_core: np.ndarray) -> list[Side]:
        """Sides of the core events, consistent with the contacts labelled by earlier windows."""
        labels: list[Side] = []
        # the core is a run of consecutive events (their times increase), and so is each parity group in it
        # (a bout, split where a running contact was missed or added, and without a gyroscope where walking
        # turns to running or back: `parity_groups`, as the detector decides them): slices
        first_core = int(in_core[0])
        # the detector's own groups when it gives them: computed there on sample indices, here they would be
        # computed again on seconds (the same ratios of steps)
        groups = events.parity_group
        if groups is None:
            groups = parity_groups(
                events.ic_s,
                events.bout_id,
                events.activity == "running",
                split_at_activity_change=not self.has_gyroscope,
            )
        bouts: list[int] = groups[first_core : first_core + in_core.shape[0]].tolist()
        # the parity of the contact before the core carries over only within its group
        carries = first_core == 0 or groups[first_core - 1] == groups[first_core]
        j = 0
        while j < len(bouts):
            k = j + 1
            while k < len(bouts) and bouts[k] == bouts[j]:
                k += 1
            group = slice(first_core + j, first_core + k)
            j = k
            scores = events.side_score[group]
            if not np.isfinite(scores).all():
                scores = np.nan_to_num(scores)
            own: list[Side] = ["L" if s == "L" else "R" for s in events.side[group].tolist()]
            last = self._last_ic
            if (
                last is not None
                and carries
                and group.start == first_core
                and 0 < float(events.ic_s[group.start]) - last[0] <= self.params.max_step_time_s
            ):
                # the window's own labelling (with the breaks its evidence supports), alternating at the seam
                cont: list[Side] = own if own[0] != last[1] else ["R" if s == "L" else "L" for s in own]
                sign = np.array([1.0 if s == "L" else -1.0 for s in cont])
                evidence = self._bout_evidence + float(np.sum(scores * sign))
                if evidence >= 0:
                    chosen = cont
                    self._bout_evidence = evidence
                else:
                    chosen = ["R" if s == "L" else "L" for s in cont]
                    self._bout_evidence = -evidence
            else:
                # a new bout: the parity its core contacts' own evidence gives (the detector's alternation
                # over the whole window also reads margin contacts that the next window may not confirm)
                sign = np.array([1.0 if s == "L" else -1.0 for s in own])
                evidence = float(np.sum(scores * sign))
                chosen = own if evidence >= 0 else ["R" if s == "L" else "L" for s in own]
                self._bout_evidence = abs(evidence)
            labels.extend(chosen)
            self._last_ic = (float(events.ic_s[group.stop - 1]), chosen[-1])
        return labels
