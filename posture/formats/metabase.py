"""MbientLab MetaBase app CSV export: one file per sensor, acceleration in g, rotation in deg/s.

Layout (MetaBase's CSV writer, docs/formats.md): a header `epoch (ms),time (<UTC offset>),elapsed (s),`
then `x-axis (g),y-axis (g),z-axis (g)` for the accelerometer or `x-axis (deg/s),...` for the gyroscope;
rows `<epoch ms>,<local ISO time>,<elapsed s, 3 decimals>,<x>,<y>,<z>` with 3 decimals. Files are named
`<device>_<start time>_<MAC>_Accelerometer_<rate>Hz_<firmware>.csv` and `..._Gyroscope_...`, side by side:
given either, the other is found in the same folder (same name up to the sensor word).
"""

from __future__ import annotations

import logging
import re

import numpy as np

from posture.formats.rows import Rows, split_rows, without_duplicate_rows
from posture.formats.source import Bundle
from posture.formats.streams import Stream, onto_stamps
from posture.formats.table import SampleTable
from processing.errors import InvalidSamplesError
from processing.samples import STANDARD_GRAVITY_MPS2

__all__ = ["NAME", "looks_like", "read"]

NAME = "metabase"
ACC_AXES = ("x-axis (g)", "y-axis (g)", "z-axis (g)")
GYR_AXES = ("x-axis (deg/s)", "y-axis (deg/s)", "z-axis (deg/s)")
EPOCH_COLUMN = "epoch (ms)"
#: The sensor word in MetaBase's file names; the rest of the name pairs the two files.
SENSOR_WORD = re.compile(r"(Accelerometer|Gyroscope)", re.IGNORECASE)

logger = logging.getLogger(__name__)


def looks_like(first_line: str) -> bool:
    return first_line.startswith(EPOCH_COLUMN) and ("(g)" in first_line or "(deg/s)" in first_line)


def _kind(first_line: str) -> str | None:
    if not looks_like(first_line):
        return None
    return "acc" if ACC_AXES[0] in first_line else "gyr" if GYR_AXES[0] in first_line else None


def read(bundle: Bundle) -> SampleTable:
    files = {m: _kind(bundle.first_line(m)) for m in _candidates(bundle)}
    acc_name = _pick(bundle, files, "acc")
    if acc_name is None:
        raise InvalidSamplesError(
            f"{bundle.name}: no MetaBase accelerometer file (header 'epoch (ms),...,x-axis (g),...') found "
            "next to it: export the accelerometer too and keep both files in one folder",
            reason="column",
        )
    gyr_name = _pick(bundle, files, "gyr")
    acc_rows = split_rows(bundle.open(acc_name), ",")
    acc = _stream(acc_rows, ACC_AXES)
    t0_ms = int(acc_rows.integers(acc_rows.column(EPOCH_COLUMN))[0])
    acc_data, duplicates = _dedup(acc, t0_ms, acc_rows.name)
    acc_stream = Stream(acc_data[:, 0], acc_data[:, 1:] * STANDARD_GRAVITY_MPS2)
    truncated = acc_rows.truncated_rows_dropped
    gyr = None
    if gyr_name is None:
        logger.info("%s: no MetaBase gyroscope file next to it: accelerometer only", acc_name)
    else:
        gyr_rows = split_rows(bundle.open(gyr_name), ",")
        gyr_data, gyr_dup = _dedup(_stream(gyr_rows, GYR_AXES), t0_ms, gyr_rows.name)
        acc_stream, gyr = onto_stamps(acc_stream, Stream(gyr_data[:, 0], gyr_data[:, 1:]), name=bundle.name)
        truncated += gyr_rows.truncated_rows_dropped
        duplicates += gyr_dup
    return SampleTable(acc_stream.t_s, acc_stream.values, gyr, NAME, truncated, duplicates)


def _stream(rows: Rows, axes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    missing = [a for a in axes if a not in rows.header]
    if missing:
        raise InvalidSamplesError(
            f"{rows.name} has no column {', '.join(missing)}: not a MetaBase export", reason="column"
        )
    epoch_ms = rows.integers(rows.column(EPOCH_COLUMN))
    return epoch_ms, rows.floats([rows.column(a) for a in axes])


def _dedup(stream: tuple[np.ndarray, np.ndarray], t0_ms: int, name: str) -> tuple[np.ndarray, int]:
    epoch_ms, values = stream
    data = np.column_stack([(epoch_ms - t0_ms) / 1000.0, values])
    return without_duplicate_rows(data, name)


def _candidates(bundle: Bundle) -> list[str]:
    return [m for m in bundle.members if m.lower().endswith((".csv", ".csv.gz"))]


def _pick(bundle: Bundle, files: dict[str, str | None], kind: str) -> str | None:
    """The file of `kind` that belongs with the one the user gave (the same name up to the sensor word)."""
    if bundle.primary is not None and files.get(bundle.primary) == kind:
        return bundle.primary
    found = [m for m, k in files.items() if k == kind]
    if bundle.primary is not None and len(found) > 1:
        key = SENSOR_WORD.split(bundle.primary)[0]
        found = [m for m in found if SENSOR_WORD.split(m)[0] == key]
    if len(found) > 1:
        raise InvalidSamplesError(
            f"{bundle.name}: {len(found)} MetaBase files could be its partner ({', '.join(found[:3])}): keep "
            "one recording's two files per folder",
            reason="format",
        )
    return found[0] if found else None
