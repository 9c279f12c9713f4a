"""phyphox CSV export: one CSV per export set, in a zip (or the unpacked folder), plus `meta/`.

Layout (phyphox's DataExport and its experiment definitions, docs/formats.md): each set is a file
`<set name>.csv`; the header names are quoted (`"Time (s)","Acceleration x (m/s^2)",...`), the numbers are
written `0.000000000E0` (10 significant digits). "Acceleration with g" (the accelerometer, gravity
included) writes `Acceleration x (m/s^2)`; "Gyroscope (rotation rate)" writes `Gyroscope x (rad/s)`. The
export dialog offers `,` with a decimal point, tab with a decimal point, and `;` with a decimal comma. An
experiment that records both sensors (the editor's or ours) exports both sets in one zip on one clock; two
separate experiments do not share a clock and are not combined. "Linear Acceleration" (gravity removed) is
refused: the pipeline finds the pelvis's orientation from gravity.
"""

from __future__ import annotations

import logging

import numpy as np

from posture.formats.rows import Rows, split_rows, without_duplicate_rows
from posture.formats.source import Bundle
from posture.formats.streams import Stream, onto_stamps
from posture.formats.table import SampleTable
from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

__all__ = ["NAME", "looks_like", "read"]

NAME = "phyphox"
TIME_COLUMN = "Time (s)"
ACC_AXES = ("Acceleration x (m/s^2)", "Acceleration y (m/s^2)", "Acceleration z (m/s^2)")
LINEAR_ACC_AXIS = "Linear Acceleration x (m/s^2)"
GYR_AXES = ("Gyroscope x (rad/s)", "Gyroscope y (rad/s)", "Gyroscope z (rad/s)")
DELIMITERS = (",", "\t", ";")

logger = logging.getLogger(__name__)


def looks_like(first_line: str) -> bool:
    return _kind(first_line) is not None


def _kind(first_line: str) -> str | None:
    if TIME_COLUMN not in first_line:
        return None
    if LINEAR_ACC_AXIS in first_line:  # first: it contains the accelerometer's column name
        return "linear"
    if ACC_AXES[0] in first_line:
        return "acc"
    if GYR_AXES[0] in first_line:
        return "gyr"
    return None


def read(bundle: Bundle) -> SampleTable:
    files = {m: _kind(bundle.first_line(m)) for m in bundle.members if m.lower().endswith((".csv", ".gz"))}
    acc_name = _pick(bundle, files, "acc")
    if acc_name is None:
        linear = _pick(bundle, files, "linear")
        without = "holds Linear Acceleration (gravity removed)" if linear else "holds no accelerometer set"
        raise InvalidSamplesError(
            f"{bundle.name} {without}: record with phyphox's 'Acceleration with g' (or an experiment that "
            "exports 'Acceleration x (m/s^2)') and export it as CSV",
            reason="column",
        )
    acc_file = bundle.open(acc_name)
    acc_rows = split_rows(acc_file, _delimiter(acc_file.first_line))
    acc_data, duplicates = _load(acc_rows, ACC_AXES)
    t0_s = float(acc_data[0, 0])
    acc = Stream(acc_data[:, 0] - t0_s, acc_data[:, 1:])
    truncated = acc_rows.truncated_rows_dropped
    gyr: FloatArray | None = None
    gyr_name = _pick(bundle, files, "gyr")
    if gyr_name is None:
        logger.info("%s: no phyphox gyroscope set next to %s: accelerometer only", bundle.name, acc_name)
    else:
        gyr_file = bundle.open(gyr_name)
        gyr_rows = split_rows(gyr_file, _delimiter(gyr_file.first_line))
        gyr_data, gyr_dup = _load(gyr_rows, GYR_AXES)
        gyr_stream = Stream(gyr_data[:, 0] - t0_s, np.degrees(gyr_data[:, 1:]))
        acc, gyr = onto_stamps(acc, gyr_stream, name=bundle.name)
        truncated += gyr_rows.truncated_rows_dropped
        duplicates += gyr_dup
    return SampleTable(acc.t_s, acc.values, gyr, NAME, truncated, duplicates)


def _delimiter(first_line: str) -> str:
    return max(DELIMITERS, key=first_line.count)


def _load(rows: Rows, axes: tuple[str, ...]) -> tuple[FloatArray, int]:
    missing = [c for c in (TIME_COLUMN, *axes) if c not in rows.header]
    if missing:
        raise InvalidSamplesError(
            f"{rows.name} has no column {', '.join(missing)}: not a phyphox accelerometer or gyroscope set",
            reason="column",
        )
    data = rows.floats([rows.column(c) for c in (TIME_COLUMN, *axes)], decimal_comma=rows.delimiter == ";")
    # phyphox pads the shorter columns of a set with NaN: a row without a time is no sample
    data = data[np.isfinite(data[:, 0])]
    if data.shape[0] == 0:
        raise InvalidSamplesError(f"{rows.name} holds no samples", reason="short")
    return without_duplicate_rows(data, rows.name)


def _pick(bundle: Bundle, files: dict[str, str | None], kind: str) -> str | None:
    if bundle.primary is not None and files.get(bundle.primary) == kind:
        return bundle.primary
    found = sorted(m for m, k in files.items() if k == kind)
    if len(found) > 1:
        raise InvalidSamplesError(
            f"{bundle.name}: {len(found)} phyphox {kind} sets ({', '.join(found[:3])}): give one "
            "experiment's export",
            reason="format",
        )
    return found[0] if found else None
