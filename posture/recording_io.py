"""Recordings and results as files: the `posture analyze` contract (docs/design.md, "Offline analysis
contract").

Input: our contract CSV or an app export (`posture.formats`); every check fails with one line that says what
is wrong, where, and what to do (`InvalidSamplesError`, a `ProcessingError`, so the CLI shows it without a
traceback). What can be repaired is repaired and counted (`Recording`, summary.json "input_checks"), never
refused:

- Time stamps as a phone or host writes them (jitter, shared batch stamps, a rate off the nominal one, lost
  packets, silences) are put on a constant grid by `processing.timebase.regularize`; a recording already on
  one (our own CSVs, possibly with holes where packets were lost) passes through unchanged. Holes and
  silences are left to the pipeline's one gap policy (`processing.pipeline.gaps`, used by the live run and
  replay too), which bridges the short ones and analyses the stretches between the long ones apart. Only
  what no constant rate explains is refused (time running back by more than half a second, a rate that
  changes midway, a rate outside 50 to 500 Hz).
- A reading beyond any IMU's range (`ACC_LIMIT_MPS2`, `GYR_LIMIT_DPS`, infinity included: a corrupted
  field, a logger's fill value) drops its sample as lost, so one absurd value does not wipe the analysis;
  more than `MAX_IMPOSSIBLE_SHARE` of them is refused.
- An accelerometer axis the logger does not have (a biaxial logger) is an all-NaN column and stays one; a
  NaN or empty value elsewhere is refused (the row is damaged, not lost).

Output: steps.csv with one row per step in `STEP_METRIC_COLUMNS` order, and asymmetry.csv with one row per
rolling window and metric in `ASYMMETRY_COLUMNS` order (NaN written as an empty field, booleans as 1/0).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from processing.asymmetry import WindowMetric
from processing.errors import InvalidSamplesError
from processing.samples import (
    MAX_SAMPLING_RATE_HZ,
    MIN_SAMPLING_RATE_HZ,
    STANDARD_GRAVITY_MPS2,
    FloatArray,
    ImuSamples,
)
from processing.steps import METRIC_UNITS, STEP_METRIC_COLUMNS, StepMetrics
from processing.timebase import TimebaseReport, regularize

__all__ = [
    "ACC_COLUMNS",
    "ACC_LIMIT_MPS2",
    "ASYMMETRY_COLUMNS",
    "GYR_COLUMNS",
    "GYR_LIMIT_DPS",
    "MIN_RECORDING_S",
    "TIME_COLUMN",
    "Recording",
    "ValidatedSamples",
    "read_recording",
    "validate_samples",
    "write_asymmetry_csv",
    "write_recording",
    "write_steps_csv",
]

from posture.csv_contract import ACC_COLUMNS, GYR_COLUMNS, TIME_COLUMN
from posture.formats import read_table

logger = logging.getLogger(__name__)

#: Shortest recording worth analysing, s: a few strides of steady running (lab treadmill clips of 4 to 8 s
#: with no standing start are common; the angles are then relative to the mean posture).
MIN_RECORDING_S = 4.0
#: Readings beyond these are no measurement: the largest accelerometer ranges of IMUs are +-200 to +-400 g
#: (ADXL375, H3LIS331DL), of MEMS gyroscopes +-4000 deg/s; the limits leave a wide margin (and stay above a
#: running file in milli-g, which the unit check names instead), m/s^2 and deg/s.
ACC_LIMIT_MPS2 = 1000.0 * STANDARD_GRAVITY_MPS2
GYR_LIMIT_DPS = 1.0e5
#: At most this share of the samples may hold such readings (dropped as lost); more is a damaged file.
MAX_IMPOSSIBLE_SHARE = 0.01
#: A recording's measured rate may lie this fraction outside the supported range (a sensor clock running a
#: little fast or slow, rounded timestamps) and is then handed on as the nearest supported rate.
CLOCK_RATE_TOLERANCE = 0.02
#: Readings stuck at a channel's extreme value this many samples in a row count as one clipping event ...
CLIP_RUN_SAMPLES = 3
#: ... and this many such events make the recording unusable (impacts and angles would be cut off).
MAX_CLIP_EVENTS = 5
#: Only extremes at least this large can be a full-scale limit (smallest common ranges: 2 g, 125 deg/s).
MIN_FULL_SCALE = {"acc": 1.95 * STANDARD_GRAVITY_MPS2, "gyr": 120.0}
#: The median magnitude of the accelerometer must lie in this range, m/s^2: gravity dominates it whether the
#: wearer stands, walks or runs (a run's median is 8 to 12 m/s^2). A file in g reads about 1, in mg about
#: 1000.
PLAUSIBLE_MEDIAN_ACC_MPS2 = (0.5 * STANDARD_GRAVITY_MPS2, 2.0 * STANDARD_GRAVITY_MPS2)
#: The accelerometer shows walking or running when its magnitude strays this far from its median (99th
#: percentile), m/s^2: heel strikes of walking reach 3 to 5 m/s^2, running 10 to 20 ...
MOVING_ACC_DEVIATION_MPS2 = 2.0
#: ... and then the pelvis turns faster than this at some point, deg/s (walking: 30 to 60 deg/s of yaw and
#: roll rate, running 100 to 300). A gyroscope that never does is in rad/s: 10 deg/s is 0.17 rad/s, while
#: walking reaches 0.5 to 1 rad/s and running 2 to 5.
MIN_MOVING_GYR_DPS = 10.0


@dataclass(frozen=True, slots=True, eq=False)
class Recording:
    """A validated recording.

    Attributes
    ----------
    samples : ImuSamples
        On a constant grid (holes of lost samples allowed, `processing.timebase`).
    sampling_rate_hz : float
        The grid's rate (the nearest supported one if just outside 50 to 500 Hz).
    path : Path
    duplicate_rows_dropped : int
        Rows left out because they repeated the row before exactly (same time, same readings).
    source_format : str
        The `posture.formats.FORMATS` name the file was read as.
    truncated_rows_dropped : int
        Incomplete last rows left out (a logger killed mid-write).
    timebase : TimebaseReport or None
        How the time axis was read (None: not checked, a recording built by hand).
    impossible_samples_dropped : int
        Samples left out for a reading beyond any IMU's range (`ACC_LIMIT_MPS2`, `GYR_LIMIT_DPS`).
    """

    samples: ImuSamples
    sampling_rate_hz: float
    path: Path
    duplicate_rows_dropped: int = 0
    source_format: str = "csv"
    truncated_rows_dropped: int = 0
    timebase: TimebaseReport | None = None
    impossible_samples_dropped: int = 0


def read_recording(path: Path, fmt: str | None = None) -> Recording:
    """Read and validate a recording: our CSV or an app export (`posture.formats`, recognised from the
    content unless `fmt` names the format), then the checks and repairs of `validate_samples`.

    Raises
    ------
    InvalidSamplesError
        Not a recording (binary, unknown format, header only), missing column, non-numeric value, NaN, a time
        axis that no constant rate explains, unsupported rate, too short, impossible or clipped readings.
    """
    table = read_table(path, fmt)
    checked = validate_samples(table.t_s, table.acc_mps2, table.gyr_dps, name=path.name)
    return Recording(
        checked.samples,
        checked.sampling_rate_hz,
        path,
        duplicate_rows_dropped=table.duplicate_rows_dropped,
        source_format=table.source_format,
        truncated_rows_dropped=table.truncated_rows_dropped,
        timebase=checked.timebase,
        impossible_samples_dropped=checked.impossible_samples_dropped,
    )


@dataclass(frozen=True, slots=True, eq=False)
class ValidatedSamples:
    """What `validate_samples` hands on: the samples on a constant grid, their rate, what it decided."""

    samples: ImuSamples
    sampling_rate_hz: float
    timebase: TimebaseReport
    impossible_samples_dropped: int


def validate_samples(
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray | None,
    *,
    name: str,
    nominal_rate_hz: float | None = None,
) -> ValidatedSamples:
    """Check a recording's arrays and repair what can be repaired (module docstring), in this order: NaN,
    units (robust to a few absurd values), readings beyond any IMU's range, the time axis
    (`processing.timebase.regularize`), the rate, the duration, clipping."""
    n = t_s.shape[0]
    if n < 2:
        raise InvalidSamplesError(
            f"{name} holds {n} samples: record at least {MIN_RECORDING_S:g} s", reason="short"
        )
    present = ~np.all(np.isnan(acc_mps2), axis=0)  # an absent axis (biaxial logger) is an all-NaN column
    if not present.any():
        raise InvalidSamplesError(f"{name}: every accelerometer column is empty", reason="nan")
    columns = [TIME_COLUMN, *ACC_COLUMNS, *([] if gyr_dps is None else GYR_COLUMNS)]
    kept_columns = np.concatenate([[True], present, np.ones(0 if gyr_dps is None else 3, dtype=bool)])
    values = np.column_stack([t_s, acc_mps2] + ([] if gyr_dps is None else [gyr_dps]))
    bad = np.isnan(values) & kept_columns[None, :]
    bad[:, 0] |= ~np.isfinite(t_s)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InvalidSamplesError(
            f"{name}: {columns[col]} is NaN or empty in data row {row + 1} ({int(bad.any(axis=1).sum())} "
            "rows affected): drop or interpolate those rows",
            reason="nan",
        )
    possible = np.all(np.abs(acc_mps2[:, present]) <= ACC_LIMIT_MPS2, axis=1)
    if gyr_dps is not None:
        possible &= np.all(np.abs(gyr_dps) <= GYR_LIMIT_DPS, axis=1)
    impossible = int(n - np.count_nonzero(possible))
    if impossible <= 0.5 * n:  # a file in the wrong unit is named as such, not as out of range
        _check_units(acc_mps2[possible][:, present], None if gyr_dps is None else gyr_dps[possible], name)
    if impossible > MAX_IMPOSSIBLE_SHARE * n:
        row = int(np.argmin(possible)) + 1
        raise InvalidSamplesError(
            f"{name}: {impossible} of {n} samples hold readings beyond any IMU's range (|acc| above "
            f"{ACC_LIMIT_MPS2 / STANDARD_GRAVITY_MPS2:g} g or |gyr| above {GYR_LIMIT_DPS:g} deg/s), the "
            f"first in data row {row}: the file is damaged; export it again",
            reason="range",
        )
    if impossible:
        logger.info("%s: dropped %d samples with readings beyond any IMU's range", name, impossible)
        t_s, acc_mps2 = t_s[possible], acc_mps2[possible]
        gyr_dps = None if gyr_dps is None else gyr_dps[possible]
    try:
        grid = regularize(t_s, acc_mps2, gyr_dps, nominal_rate_hz=nominal_rate_hz)
    except InvalidSamplesError as exc:
        raise InvalidSamplesError(f"{name}: {exc}", reason=exc.reason) from exc
    fs = grid.sampling_rate_hz
    if (
        not MIN_SAMPLING_RATE_HZ * (1.0 - CLOCK_RATE_TOLERANCE)
        <= fs
        <= MAX_SAMPLING_RATE_HZ * (1.0 + CLOCK_RATE_TOLERANCE)
    ):
        raise InvalidSamplesError(
            f"{name}: sampling rate {fs:.1f} Hz is outside {MIN_SAMPLING_RATE_HZ:g} to "
            f"{MAX_SAMPLING_RATE_HZ:g} Hz (is t_s in seconds?): resample the recording",
            reason="rate",
        )
    # The time with samples, each standing for one period (416 samples at 104 Hz are 4 s): holes and gaps
    # do not count.
    t = grid.samples.t_s
    duration_s = len(t) / fs
    # Half a sample of slack: the rate comes from rounded time stamps (6 decimals: 40 ppm at 104 Hz).
    if duration_s < MIN_RECORDING_S - 0.5 / fs:
        raise InvalidSamplesError(
            f"{name} holds {duration_s:.1f} s of samples: record at least {MIN_RECORDING_S:g} s of walking "
            "or running",
            reason="short",
        )
    acc = np.ascontiguousarray(grid.samples.acc_mps2)
    gyr = None if grid.samples.gyr_dps is None else np.ascontiguousarray(grid.samples.gyr_dps)
    _check_clipping(acc, "acc", ACC_COLUMNS, name)
    if gyr is not None:
        _check_clipping(gyr, "gyr", GYR_COLUMNS, name)
    # A sensor set to 500 Hz whose clock runs a little fast (or whose timestamps are rounded) measures just
    # above 500 Hz, one set to 50 Hz just below: accepted above (`CLOCK_RATE_TOLERANCE`), so the pipeline gets
    # the nearest supported rate; its events follow the timestamps themselves, so the clock error costs
    # nothing (`GaitEvents.on_sample_times`).
    return ValidatedSamples(
        ImuSamples(t, acc, gyr),
        min(max(fs, MIN_SAMPLING_RATE_HZ), MAX_SAMPLING_RATE_HZ),
        grid.report,
        impossible,
    )


def _check_units(acc_mps2: FloatArray, gyr_dps: FloatArray | None, name: str) -> None:
    """Refuse magnitudes that only a wrong unit explains: an accelerometer in g or mg, a gyroscope in
    rad/s."""
    norm = np.linalg.norm(acc_mps2, axis=1)
    median = float(np.median(norm))
    low, high = PLAUSIBLE_MEDIAN_ACC_MPS2
    if not low <= median <= high:
        if 0.5 <= median <= 2.0:
            unit = f"g: multiply acc_* by {STANDARD_GRAVITY_MPS2:g} to get m/s^2"
        elif 500.0 <= median <= 2000.0:
            unit = f"milli-g: multiply acc_* by {STANDARD_GRAVITY_MPS2 / 1000.0:g} to get m/s^2"
        else:
            unit = "an unknown unit: the acc_* columns must be in m/s^2, gravity included"
        raise InvalidSamplesError(
            f"{name}: the accelerometer's median magnitude is {median:.3g} where gravity alone gives "
            f"{STANDARD_GRAVITY_MPS2:g} m/s^2; it looks like {unit}",
            reason="unit",
        )
    if gyr_dps is None:
        return
    moving = float(np.percentile(np.abs(norm - median), 99)) > MOVING_ACC_DEVIATION_MPS2
    largest = float(np.linalg.norm(gyr_dps, axis=1).max())
    if moving and largest < MIN_MOVING_GYR_DPS:
        raise InvalidSamplesError(
            f"{name}: the gyroscope never exceeds {largest:.3g} while the accelerometer shows walking or "
            "running, which turns the pelvis at 30 to 300 deg/s; it looks like rad/s: multiply gyr_* by "
            f"{180.0 / np.pi:.4f} to get deg/s",
            reason="unit",
        )


def _check_clipping(x: FloatArray, kind: str, columns: tuple[str, ...], name: str) -> None:
    for j, col in enumerate(columns):
        v = x[:, j]
        if np.all(np.isnan(v)):  # an axis the logger does not have
            continue
        for extreme in (float(v.max()), float(v.min())):
            if abs(extreme) < MIN_FULL_SCALE[kind]:
                continue
            at = np.concatenate([[False], v == extreme, [False]])
            edges = np.flatnonzero(np.diff(at.astype(np.int8)))
            runs = edges[1::2] - edges[::2]
            events = int(np.count_nonzero(runs >= CLIP_RUN_SAMPLES))
            if events >= MAX_CLIP_EVENTS:
                unit = "m/s^2" if kind == "acc" else "deg/s"
                raise InvalidSamplesError(
                    f"{name}: {col} is clipped at {extreme:+.2f} {unit} ({events} times the sensor sat at "
                    "its "
                    "limit): set a larger range on the sensor (accelerometer 16 g, gyroscope 2000 deg/s) "
                    "and record again",
                    reason="clipped",
                )


def write_recording(path: Path, samples: ImuSamples) -> None:
    """Write samples as a contract CSV (the gyroscope columns only when present)."""
    columns = [TIME_COLUMN, *ACC_COLUMNS, *(GYR_COLUMNS if samples.gyr_dps is not None else ())]
    parts = [samples.t_s[:, None], samples.acc_mps2]
    if samples.gyr_dps is not None:
        parts.append(samples.gyr_dps)
    data = np.hstack(parts)
    fmt = ["%.6f"] + ["%.6f"] * (data.shape[1] - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, data, delimiter=",", header=",".join(columns), comments="", fmt=fmt)


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6f}"
    return str(value)


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[Iterable[object]]) -> int:
    """Write a header and one formatted line per row (`_format`); returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(columns) + "\n")
        for values in rows:
            f.write(",".join(_format(v) for v in values) + "\n")
            n += 1
    return n


def write_steps_csv(path: Path, steps: Iterable[StepMetrics]) -> int:
    """Write steps.csv (one row per step, `STEP_METRIC_COLUMNS`); returns the number of rows."""
    rows = (tuple(getattr(step, c) for c in STEP_METRIC_COLUMNS) for step in steps)
    return _write_csv(path, STEP_METRIC_COLUMNS, rows)


#: asymmetry.csv, one row per window and metric ("long" form: filter by `metric` to plot one over time).
#: Values are in the row's `unit`; `si_pct` is empty for angles (their right-minus-left is the measure).
ASYMMETRY_COLUMNS = (
    "window",
    "t_start_s",
    "t_end_s",
    "n_steps",
    "metric",
    "unit",
    "n_left",
    "n_right",
    "left_mean",
    "right_mean",
    "right_minus_left",
    "si_pct",
    "worse_side",
    "window_mean",
    "baseline_mean",
    "change_from_baseline",
    "change_from_baseline_pct",
)


def write_asymmetry_csv(path: Path, rows: Iterable[WindowMetric]) -> int:
    """Write asymmetry.csv (`ASYMMETRY_COLUMNS`, from `processing.asymmetry.asymmetry_timeline`); returns the
    number of rows. No worse side is an empty field."""
    return _write_csv(path, ASYMMETRY_COLUMNS, (_asymmetry_values(r) for r in rows))


def _asymmetry_values(r: WindowMetric) -> tuple[object, ...]:
    """One asymmetry.csv row in `ASYMMETRY_COLUMNS` order."""
    a = r.asymmetry
    return (
        r.window,
        r.t_start_s,
        r.t_end_s,
        r.n_steps,
        a.metric,
        METRIC_UNITS[a.metric],
        a.n_left,
        a.n_right,
        a.left_mean,
        a.right_mean,
        a.right_minus_left,
        a.si_pct,
        a.worse_side or "",
        r.window_mean,
        r.baseline_mean,
        r.change_from_baseline,
        r.change_from_baseline_pct,
    )
