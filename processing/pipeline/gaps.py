"""What a hole in the sample times means: one policy for the live run, a recording, and a replay.

After a Bluetooth link drop the stream resumes with a gap: the sensor keeps sampling and discards what it
could not send (firmware spec, section 8, "Streaming sessions and the link-drop rule"), so the samples after
the drop carry their true times and the time axis jumps. The same jump is in the CSV that `posture record`
writes through the drop and in a replayed session file. `StreamingProcessor` reads gaps from the sample times
alone, with this policy, so every path decides the same gap the same way, and a decision depends only on the
two samples around the gap: streaming still equals batch.

Detection. An interval longer than `min_gap_periods` nominal sample periods is a gap. 2.5 periods: the time
stamps of a recording may jitter by up to half a period either way (intervals of up to 2 periods; the
simulator's jitter is clipped there), so two lost samples (3 periods) is the shortest gap that the times show
without doubt. A single lost sample stays a long interval, like jitter: the orientation filter then misses
one sample's rotation (a fraction of a degree at 208 Hz, pulled back by the accelerometer within `tau_acc_s`)
and the events keep their times (`GaitEvents.on_sample_times`). Our own sensor loses whole packets, 8 samples
at its default 208 Hz.

Short gaps are bridged: the missing samples are interpolated (a straight line between the two real samples
around the gap) onto the sample grid, and the stream goes on as if nothing had been lost. `max_bridge_s` is
the longest missing time bridged: 0.085 s, one lost packet of the loggers people use (5 to 8 samples at
100 Hz: 50 to 80 ms, with room for a clock a few per cent slow or stamps half a period off; our sensor's
8 samples at 208 Hz: 38 ms). What each decision costs (`benchmarks/bench_gaps.py`, docs/recordings.md):
- a split always costs the step whose next contact falls into the gap (about one contact per gap), never
  invents one, and the orientation resumes after it (tilt and drop a little off for a few steps);
- a bridge keeps the stream, but a contact inside the gap is found at its edge (the detector sees the
  straight line, not the impact), up to the gap's length off, so past the 50 ms the evaluation matches with
  it becomes one missed and one invented; and the orientation integrates the straight line instead of the
  pelvis's swing, an error growing with the cube of the gap's length.
Up to 0.085 s a bridge costs a fifth of the contacts a split costs or less, and about the same angles (tilt
up to 0.1 deg worse, drop better); beyond, its tilt error grows well past the split's, so longer gaps split.

Long gaps split the recording: the current segment is closed as if the recording ended there (every step
before the gap is committed; the step whose next contact fell into the gap has no end and is not emitted), and
the next segment starts after the gap on the same time axis, with the same calibration (mounting, standing
neutral, gyroscope bias). Steps never span a split, and side labels start afresh (a new bout). The orientation
after a split is re-estimated from the samples after it (`OrientationEstimator.resume`): the pelvis turned by
an unknown amount while nothing was received. Over the 6 s after a 3 s drop (the same benchmark, 12 runs) the
steps read tilt and drop with a per-step RMSE of 0.5 and 0.3 deg; carried on from the stale orientation, 3.4
and 4.2 deg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processing.samples import FloatArray

__all__ = ["GapCounts", "GapPiece", "GapPolicy", "resolve_gaps"]

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """When a hole in the sample times is bridged and when it splits the stream.

    Attributes
    ----------
    max_bridge_s : float, s
        Longest missing time (interval minus one sample period) that is bridged by interpolation; longer gaps
        split the stream into segments.
    min_gap_periods : float, sample periods
        An interval longer than this many nominal sample periods is a gap (shorter ones are timestamp jitter,
        or a single lost sample that the times cannot tell from jitter).
    """

    max_bridge_s: float = 0.085
    min_gap_periods: float = 2.5

    def __post_init__(self) -> None:
        if not self.max_bridge_s >= 0:
            raise ValueError(f"max_bridge_s must be >= 0, got {self.max_bridge_s}")
        if not self.min_gap_periods >= 1.5:
            raise ValueError(
                f"min_gap_periods must be at least 1.5 (timestamp jitter), got {self.min_gap_periods}"
            )


@dataclass(frozen=True, slots=True)
class GapCounts:
    """Every gap decision of a stream, cumulative.

    Attributes
    ----------
    bridged, split : int
        Gaps bridged by interpolation, and gaps that split the stream into segments.
    bridged_s, split_s : float, s
        Missing time (interval minus one sample period) of the bridged and of the split gaps.
    samples_interpolated : int
        Samples the bridges inserted.
    """

    bridged: int = 0
    split: int = 0
    bridged_s: float = 0.0
    split_s: float = 0.0
    samples_interpolated: int = 0

    @property
    def total(self) -> int:
        """All gaps, bridged or split."""
        return self.bridged + self.split

    @property
    def total_s(self) -> float:
        """Missing time of all gaps, s."""
        return self.bridged_s + self.split_s

    def __add__(self, other: GapCounts) -> GapCounts:
        return GapCounts(
            self.bridged + other.bridged,
            self.split + other.split,
            self.bridged_s + other.bridged_s,
            self.split_s + other.split_s,
            self.samples_interpolated + other.samples_interpolated,
        )


@dataclass(frozen=True, slots=True, eq=False)
class GapPiece:
    """Consecutive samples without a gap (bridges filled in), and whether a split gap comes before them.

    Attributes
    ----------
    t_s : (n,) array, s
    acc_mps2 : (n, 3) array
    gyr_dps : (n, 3) array or None
    split_before : bool
        A long gap lies between the previous sample and this piece's first: a new segment starts here.
    """

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray | None
    split_before: bool


def _bridge(x0: FloatArray, x1: FloatArray, n: int) -> FloatArray:
    """`n` rows evenly spaced strictly between the rows x0 and x1, on a straight line."""
    f = np.arange(1, n + 1, dtype=np.float64) / (n + 1)
    return x0[None, :] + f[:, None] * (x1 - x0)[None, :]


def resolve_gaps(
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray | None,
    *,
    previous: tuple[float, FloatArray, FloatArray | None] | None,
    sampling_rate_hz: float,
    policy: GapPolicy,
) -> tuple[list[GapPiece], GapCounts]:
    """Apply the policy to one block: bridge its short gaps, cut it at its long ones.

    Parameters
    ----------
    t_s, acc_mps2, gyr_dps : the block's samples (strictly increasing times)
    previous : (t, acc row, gyr row) or None
        The last sample before the block (None at the start of a stream): a gap may open before the block.
    sampling_rate_hz : float
        The nominal rate; the gap threshold and the number of missing samples follow from it.
    policy : GapPolicy

    Returns
    -------
    pieces : list of GapPiece
        The block's samples in order, bridges included; a block without gaps comes back as one piece holding
        the given arrays themselves (no copy).
    counts : GapCounts
        The decisions taken in this block.
    """
    period_s = 1.0 / sampling_rate_hz
    threshold_s = policy.min_gap_periods * period_s
    n = t_s.shape[0]
    if n == 0:
        return [], GapCounts()
    before = previous is not None and float(t_s[0]) - previous[0] > threshold_s
    inner: IntArray = np.flatnonzero(t_s[1:] - t_s[:-1] > threshold_s) + 1  # gap before sample i
    if not before and inner.shape[0] == 0:
        return [GapPiece(t_s, acc_mps2, gyr_dps, False)], GapCounts()
    # (index in the block of the first sample after the gap, the sample before it)
    gaps: list[tuple[int, tuple[float, FloatArray, FloatArray | None]]] = []
    if before and previous is not None:
        gaps.append((0, previous))
    for i in inner.tolist():
        gaps.append((i, (float(t_s[i - 1]), acc_mps2[i - 1], None if gyr_dps is None else gyr_dps[i - 1])))
    pieces: list[GapPiece] = []
    counts = GapCounts()
    # parts of the current piece: (t, acc, gyr) arrays, joined when a split or the block's end closes it
    parts: list[tuple[FloatArray, FloatArray, FloatArray | None]] = []
    split_before = False
    start = 0

    def close() -> None:
        nonlocal split_before
        if not parts:
            return
        if len(parts) == 1:
            t, acc, gyr = parts[0]
        else:
            t = np.concatenate([p[0] for p in parts])
            acc = np.concatenate([p[1] for p in parts])
            gyr = None if gyr_dps is None else np.concatenate([p[2] for p in parts if p[2] is not None])
        pieces.append(GapPiece(t, acc, gyr, split_before))
        parts.clear()
        split_before = False

    for i, (t0, acc0, gyr0) in gaps:
        if i > start:
            parts.append((t_s[start:i], acc_mps2[start:i], None if gyr_dps is None else gyr_dps[start:i]))
        t1 = float(t_s[i])
        missing_s = t1 - t0 - period_s
        if missing_s <= policy.max_bridge_s:
            k = max(1, round((t1 - t0) * sampling_rate_hz) - 1)
            t_fill = _bridge(np.array([t0]), t_s[i : i + 1], k)[:, 0]
            acc_fill = _bridge(np.asarray(acc0, dtype=np.float64), acc_mps2[i], k)
            gyr_fill = None
            if gyr_dps is not None and gyr0 is not None:
                gyr_fill = _bridge(np.asarray(gyr0, dtype=np.float64), gyr_dps[i], k)
            parts.append((t_fill, acc_fill, gyr_fill))
            counts = counts + GapCounts(bridged=1, bridged_s=missing_s, samples_interpolated=k)
        else:
            close()
            split_before = True
            counts = counts + GapCounts(split=1, split_s=missing_s)
        start = i
    parts.append((t_s[start:], acc_mps2[start:], None if gyr_dps is None else gyr_dps[start:]))
    close()
    return pieces, counts
