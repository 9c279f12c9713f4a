"""Polar Sensor Logger (Android app for Polar H10, OH1 and Verity Sense): `_ACC.txt` and `_GYRO.txt`.

Layout (docs/formats.md): `;`-separated text, header `Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];
Z [mg]` for the accelerometer and `...;X [dps];Y [dps];Z [dps]` for the gyroscope (Verity Sense; the H10
has none). `Phone timestamp` is the phone's local clock as text; `sensor timestamp [ns]` the sensor's clock,
nanoseconds since 2000-01-01, which is what we read (int64: it exceeds float64's exact integers). Files are
named `Polar_<model>_<id>_<date>_<time>_ACC.txt`, the gyroscope's the same with `_GYRO`.
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
from processing.samples import STANDARD_GRAVITY_MPS2, FloatArray

__all__ = ["NAME", "looks_like", "read"]

NAME = "polar-sensor-logger"
DELIMITER = ";"
TIME_COLUMN = "sensor timestamp [ns]"
ACC_AXES = ("X [mg]", "Y [mg]", "Z [mg]")
GYR_AXES = ("X [dps]", "Y [dps]", "Z [dps]")
NS_PER_S = 1_000_000_000
MG_TO_MPS2 = STANDARD_GRAVITY_MPS2 / 1000.0
#: The stream word that ends Polar Sensor Logger's file names.
STREAM_SUFFIX = re.compile(r"_(ACC|GYRO)(\.txt|\.csv)?(\.gz)?$", re.IGNORECASE)

logger = logging.getLogger(__name__)


def looks_like(first_line: str) -> bool:
    return _kind(first_line) is not None


def _kind(first_line: str) -> str | None:
    if not first_line.startswith("Phone timestamp;") or TIME_COLUMN not in first_line:
        return None
    return "acc" if "[mg]" in first_line else "gyr" if "[dps]" in first_line else None


def read(bundle: Bundle) -> SampleTable:
    files = {m: _kind(bundle.first_line(m)) for m in bundle.members if STREAM_SUFFIX.search(m)}
    if bundle.primary is not None:
        files[bundle.primary] = _kind(bundle.first_line(bundle.primary))
    acc_name = _pick(bundle, files, "acc")
    if acc_name is None:
        raise InvalidSamplesError(
            f"{bundle.name}: no Polar Sensor Logger ACC file (header 'Phone timestamp;sensor timestamp [ns];"
            "X [mg];...') next to it: keep the _ACC.txt file in the same folder",
            reason="column",
        )
    acc_rows = split_rows(bundle.open(acc_name), DELIMITER)
    ns = acc_rows.integers(_column(acc_rows, TIME_COLUMN))
    t0_ns = int(ns[0])
    acc_data, duplicates = _dedup(acc_rows, ACC_AXES, t0_ns)
    acc = Stream(acc_data[:, 0], acc_data[:, 1:] * MG_TO_MPS2)
    truncated = acc_rows.truncated_rows_dropped
    gyr_name = _pick(bundle, files, "gyr")
    gyr: FloatArray | None = None
    if gyr_name is None:
        logger.info("%s: no _GYRO file next to it: accelerometer only", acc_name)
    else:
        gyr_rows = split_rows(bundle.open(gyr_name), DELIMITER)
        gyr_data, gyr_dup = _dedup(gyr_rows, GYR_AXES, t0_ns)
        acc, gyr = onto_stamps(acc, Stream(gyr_data[:, 0], gyr_data[:, 1:]), name=bundle.name)
        truncated += gyr_rows.truncated_rows_dropped
        duplicates += gyr_dup
    return SampleTable(acc.t_s, acc.values, gyr, NAME, truncated, duplicates)


def _column(rows: Rows, name: str) -> int:
    if name not in rows.header:
        raise InvalidSamplesError(
            f"{rows.name} has no column '{name}': not a Polar Sensor Logger file", reason="column"
        )
    return rows.column(name)


def _dedup(rows: Rows, axes: tuple[str, ...], t0_ns: int) -> tuple[FloatArray, int]:
    ns = rows.integers(_column(rows, TIME_COLUMN))
    values = rows.floats([_column(rows, a) for a in axes])
    data = np.column_stack([(ns - t0_ns) / NS_PER_S, values])
    return without_duplicate_rows(data, rows.name)


def _pick(bundle: Bundle, files: dict[str, str | None], kind: str) -> str | None:
    """The file of `kind` of the same recording as the one given (the same name up to `_ACC`/`_GYRO`)."""
    if bundle.primary is not None and files.get(bundle.primary) == kind:
        return bundle.primary
    found = [m for m, k in files.items() if k == kind]
    if bundle.primary is not None:
        stem = STREAM_SUFFIX.sub("", bundle.primary)
        same = [m for m in found if STREAM_SUFFIX.sub("", m) == stem]
        found = same or (found if len(found) == 1 else [])
    if len(found) > 1:
        raise InvalidSamplesError(
            f"{bundle.name}: {len(found)} Polar files could be its partner: give one recording's files",
            reason="format",
        )
    return found[0] if found else None
