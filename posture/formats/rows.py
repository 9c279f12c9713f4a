"""Delimited text as numbers: a header row, data rows, the incomplete last row of an interrupted logger.

The rule for the last row: a logger killed mid-write leaves a line without its end. So the last line is
dropped (and counted) when it has fewer fields than the header, or when it lacks its line end and either
does not parse or comes from a gzip stream that ended early (its last value may be cut short). Any other
row that does not parse is an error that names its row: the values in the middle of a file are never
guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from posture.formats.source import TextFile
from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

__all__ = ["Rows", "split_rows", "without_duplicate_rows"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rows:
    """The data rows of one delimited file.

    Attributes
    ----------
    name : str
    header : tuple of str
        Column names, stripped of spaces and quotes.
    lines : list of str
        Non-blank data lines, the incomplete last one left out.
    delimiter : str
    truncated_rows_dropped : int
        0 or 1: the incomplete last line.
    """

    name: str
    header: tuple[str, ...]
    lines: list[str]
    delimiter: str
    truncated_rows_dropped: int

    def column(self, name: str) -> int:
        """The index of column `name`; `InvalidSamplesError` (reason "column") when the header lacks it."""
        if name not in self.header:
            raise InvalidSamplesError(
                f"{self.name} has no column '{name}': its header is damaged or it is another format; "
                "name the format with --format",
                reason="column",
            )
        return self.header.index(name)

    def floats(self, columns: Sequence[int], *, decimal_comma: bool = False) -> FloatArray:
        """The chosen columns as an (n, k) float array."""
        return self._load(columns, np.float64, decimal_comma).astype(np.float64, copy=False)

    def integers(self, column: int) -> npt.NDArray[np.int64]:
        """One column as int64 (nanosecond and millisecond epoch stamps exceed float64's 53 bits)."""
        return self._load([column], np.int64, False)[:, 0].astype(np.int64, copy=False)

    def _load(self, columns: Sequence[int], dtype: type, decimal_comma: bool) -> npt.NDArray[np.generic]:
        lines = [line.replace(",", ".") for line in self.lines] if decimal_comma else self.lines
        if not lines:
            return np.empty((0, len(columns)), dtype=dtype)
        try:
            return np.loadtxt(
                lines, delimiter=self.delimiter, usecols=list(columns), ndmin=2, dtype=dtype, quotechar='"'
            )
        except ValueError as exc:
            row = _first_bad_row(lines, self.delimiter, columns, dtype)
            where = f"data row {row}" if row is not None else "a data row"
            raise InvalidSamplesError(
                f"{self.name} holds a value that is not a number in {where} ({exc}): fix or remove that row",
                reason="nan",
            ) from exc


def split_rows(file: TextFile, delimiter: str) -> Rows:
    """Header and data lines of `file`; refuses an empty or header-only file (reason "short")."""
    lines = [line for line in file.text.splitlines() if line.strip()]
    if not lines:
        raise InvalidSamplesError(f"{file.name} is empty: expected a CSV with a header row", reason="short")
    header = tuple(c.strip().strip('"').strip() for c in lines[0].split(delimiter))
    data = lines[1:]
    dropped = 0
    if data and _is_cut(data[-1], delimiter, len(header), file):
        logger.warning(
            "%s: left out 1 incomplete last row (the logger stopped mid-write): %r", file.name, data[-1][:60]
        )
        data = data[:-1]
        dropped = 1
    if not data:
        raise InvalidSamplesError(
            f"{file.name} holds a header but no {'complete ' if dropped else ''}data rows: the recording "
            "stopped before its first sample was written; record again",
            reason="short",
        )
    return Rows(file.name, header, data, delimiter, dropped)


def _is_cut(last: str, delimiter: str, n_fields: int, file: TextFile) -> bool:
    fields = last.split(delimiter)
    if len(fields) < n_fields:
        return True
    if file.text.endswith(("\n", "\r")):
        return False  # its line end was written: the row is complete
    if file.interrupted:
        return True  # the compressed stream stopped inside this line: its last value may be cut
    # fields past the header's (a trailing separator) are no data; an empty one within it is a cut value
    return not all(_is_number(f) for f in fields[:n_fields])


def _is_number(field: str) -> bool:
    try:
        float(field.strip().strip('"').replace(",", "."))
    except ValueError:
        # Polar writes the phone's clock as text (2024-05-01T10:00:00.123): not a number, not a cut either
        return "T" in field or ":" in field
    return True


def _first_bad_row(lines: list[str], delimiter: str, columns: Sequence[int], dtype: type) -> int | None:
    convert = int if dtype is np.int64 else float
    for i, line in enumerate(lines):
        fields = line.split(delimiter)
        try:
            for c in columns:
                convert(fields[c].strip().strip('"'))
        except (ValueError, IndexError):
            return i + 1
    return None


def without_duplicate_rows(data: FloatArray, name: str) -> tuple[FloatArray, int]:
    """The rows without exact repeats of the row before (a logger that wrote a sample twice); the number
    dropped. A repeated time with different readings stays: host-stamped loggers give a packet's samples one
    stamp, and the time base (`processing.timebase`) places them. Column 0 is the time; NaN equals NaN here
    (the absent axis of a biaxial logger)."""
    if data.shape[0] < 2:
        return data, 0
    same_time = np.diff(data[:, 0]) == 0
    if not same_time.any():
        return data, 0
    a, b = data[1:], data[:-1]
    same_row = np.all((a == b) | (np.isnan(a) & np.isnan(b)), axis=1)
    repeat = np.concatenate([[False], same_time & same_row])
    dropped = int(repeat.sum())
    if dropped:
        logger.warning("%s: dropped %d rows that repeat the row before exactly", name, dropped)
    return data[~repeat], dropped
