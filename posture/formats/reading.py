"""Which reader a file needs, and reading it: `read_table(path, fmt=None)`.

Recognition looks at content, never at the extension alone: the first line of the file (decompressed when
it is gzip) or of the members of a zip export. Each format module says what its header looks like
(`looks_like`); the first that claims the file reads it. `--format` skips the recognition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from posture.formats import contract_csv, metabase, phyphox, polar_sensor_logger, sensor_logger
from posture.formats.source import Bundle, open_bundle
from posture.formats.table import SampleTable
from processing.errors import InvalidSamplesError

__all__ = ["FORMATS", "FORMAT_TITLES", "detect_format", "read_table"]

Reader = Callable[[Bundle], SampleTable]

#: Format name -> reader, in the order recognition tries them (vendor headers are specific; ours last).
FORMATS: Mapping[str, Reader] = MappingProxyType(
    {
        sensor_logger.NAME: sensor_logger.read,
        phyphox.NAME: phyphox.read,
        metabase.NAME: metabase.read,
        polar_sensor_logger.NAME: polar_sensor_logger.read,
        contract_csv.NAME: contract_csv.read,
    }
)
#: What each name stands for, for messages and `--help`.
FORMAT_TITLES: Mapping[str, str] = MappingProxyType(
    {
        contract_csv.NAME: "the recording CSV of `posture record` (t_s,acc_x_mps2,...)",
        metabase.NAME: "MbientLab MetaBase CSV export",
        polar_sensor_logger.NAME: "Polar Sensor Logger _ACC/_GYRO files",
        phyphox.NAME: "phyphox CSV export (zip or CSV)",
        sensor_logger.NAME: "Sensor Logger zip export (or its CSV files)",
    }
)
_LOOKS_LIKE: Mapping[str, Callable[[str], bool]] = MappingProxyType(
    {
        sensor_logger.NAME: sensor_logger.looks_like,
        phyphox.NAME: phyphox.looks_like,
        metabase.NAME: metabase.looks_like,
        polar_sensor_logger.NAME: polar_sensor_logger.looks_like,
        contract_csv.NAME: contract_csv.looks_like,
    }
)
#: Zip members that may hold a recording (Polar Sensor Logger writes .txt).
TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")
#: Shown for an unrecognised header, long enough to recognise it, short enough for one line.
HEADER_SHOWN_CHARS = 60

logger = logging.getLogger(__name__)


def read_table(path: Path, fmt: str | None = None) -> SampleTable:
    """Read a recording file (or an app's zip export) into a `SampleTable`.

    Parameters
    ----------
    path : Path
        A file: plain or gzip-compressed text, or a zip export. Partner files (a gyroscope next to an
        accelerometer) are looked for in the same folder or zip.
    fmt : str, optional
        A `FORMATS` name; None recognises the format from the content.

    Raises
    ------
    InvalidSamplesError
        Not a text file, an unknown format, a header without data, a column missing, a value that is not
        a number (reason "format", "short", "column" or "nan").
    """
    if fmt is not None and fmt not in FORMATS:
        raise InvalidSamplesError(f"unknown format {fmt!r}: {_known()}", reason="format")
    bundle = open_bundle(path)
    name = fmt or detect_format(bundle)
    table = FORMATS[name](bundle)
    logger.debug("read %s as %s: %d samples", path, name, len(table))
    return table


def detect_format(bundle: Bundle) -> str:
    """The `FORMATS` name whose header the bundle's file (or, for a zip, one of its members) carries."""
    if bundle.primary is not None:
        # refuses binary data with its own message before any header is judged
        first = bundle.open(bundle.primary).first_line
        if not first:
            raise InvalidSamplesError(
                f"{bundle.name} is empty: expected a CSV with a header row", reason="short"
            )
        lines = [first]
    else:
        lines = [bundle.first_line(m) for m in bundle.members if m.lower().endswith(TEXT_SUFFIXES)]
    for name, claims in _LOOKS_LIKE.items():
        if any(claims(line) for line in lines):
            return name
    if bundle.primary is None:
        what = f"a zip archive without a recording CSV ({len(bundle.members)} members)"
    else:
        what = f"a file whose first line is '{lines[0][:HEADER_SHOWN_CHARS]}'"
    raise InvalidSamplesError(
        f"{bundle.name} is {what}, not a known recording format: {_known()}", reason="format"
    )


def _known() -> str:
    listed = "; ".join(f"{name} ({FORMAT_TITLES[name]})" for name in FORMAT_TITLES)
    return f"posture reads {listed}; name one with --format"
