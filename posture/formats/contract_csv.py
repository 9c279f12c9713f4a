"""Our own recording CSV (DESIGN "Offline analysis contract"): `t_s,acc_x_mps2,...,gyr_z_dps`.

Extra columns are ignored and the order is free. The gyroscope columns come all three or none. One
accelerometer column may be absent (a biaxial logger: vertical and fore-aft only); that axis becomes an
all-NaN column, the convention the validation and the processing share.
"""

from __future__ import annotations

import logging

import numpy as np

from posture.csv_contract import ACC_COLUMNS, GYR_COLUMNS, TIME_COLUMN
from posture.formats.rows import split_rows, without_duplicate_rows
from posture.formats.source import Bundle, TextFile
from posture.formats.table import SampleTable
from processing.errors import InvalidSamplesError

__all__ = ["NAME", "looks_like", "read"]

NAME = "csv"
#: A biaxial logger may lack this many accelerometer axes; with fewer than two there is no gait signal.
MAX_MISSING_ACC_AXES = 1

logger = logging.getLogger(__name__)


def looks_like(first_line: str) -> bool:
    """A header naming our time column and an accelerometer column."""
    names = {c.strip().strip('"') for c in first_line.replace(";", ",").split(",")}
    return TIME_COLUMN in names and any(c in names for c in ACC_COLUMNS)


def read(bundle: Bundle) -> SampleTable:
    if bundle.primary is None:
        csvs = [m for m in bundle.members if m.lower().endswith((".csv", ".csv.gz"))]
        recordings = [m for m in csvs if looks_like(bundle.first_line(m))]
        if len(recordings) != 1:
            raise InvalidSamplesError(
                f"{bundle.name} holds {len(recordings)} recording CSVs among {len(csvs)} CSV files: give the "
                "recording CSV itself",
                reason="format",
            )
        return read_file(bundle.open(recordings[0]))
    return read_file(bundle.open(bundle.primary))


def read_file(file: TextFile) -> SampleTable:
    """Read one contract CSV (every check of `posture analyze`'s reader, with its messages)."""
    first = file.first_line
    if ";" in first and "," not in first:
        raise InvalidSamplesError(
            f"{file.name} separates its columns with ';' (a spreadsheet's regional setting): export it "
            "with ',' as the separator and '.' as the decimal point",
            reason="format",
        )
    rows = split_rows(file, ",")
    header = rows.header
    absent_acc = [c for c in ACC_COLUMNS if c not in header]
    missing = [c for c in (TIME_COLUMN,) if c not in header]
    if missing or len(absent_acc) > MAX_MISSING_ACC_AXES:
        missing += absent_acc
        raise InvalidSamplesError(
            f"{file.name} has no column {', '.join(missing)}: the header must name "
            f"{','.join((TIME_COLUMN, *ACC_COLUMNS, *GYR_COLUMNS))} (gyr_* optional; one acc_* column may be "
            "absent for a biaxial logger)",
            reason="column",
        )
    present_gyr = [c for c in GYR_COLUMNS if c in header]
    if present_gyr and len(present_gyr) != len(GYR_COLUMNS):
        absent = [c for c in GYR_COLUMNS if c not in header]
        raise InvalidSamplesError(
            f"{file.name} has only some gyroscope columns (missing {', '.join(absent)}): give all three or "
            "none",
            reason="column",
        )
    present_acc = [c for c in ACC_COLUMNS if c in header]
    names = [TIME_COLUMN, *present_acc, *present_gyr]
    loaded = rows.floats([header.index(c) for c in names])
    n = loaded.shape[0]
    # back into the contract's column order, an absent accelerometer axis as NaN
    data = np.full((n, 1 + len(ACC_COLUMNS) + len(present_gyr)), np.nan)
    data[:, 0] = loaded[:, 0]
    for j, c in enumerate(ACC_COLUMNS):
        if c in present_acc:
            data[:, 1 + j] = loaded[:, 1 + present_acc.index(c)]
    data[:, 4:] = loaded[:, 1 + len(present_acc) :]
    if absent_acc:
        logger.info("%s: no %s column: read as a biaxial accelerometer", file.name, absent_acc[0])
    logger.debug("read %s: %d rows, columns %s", file.name, n, names)
    data, duplicates = without_duplicate_rows(data, file.name)
    return SampleTable(
        t_s=np.ascontiguousarray(data[:, 0]),
        acc_mps2=np.ascontiguousarray(data[:, 1:4]),
        gyr_dps=np.ascontiguousarray(data[:, 4:7]) if present_gyr else None,
        source_format=NAME,
        truncated_rows_dropped=rows.truncated_rows_dropped,
        duplicate_rows_dropped=duplicates,
    )
