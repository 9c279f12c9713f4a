"""Sensor Logger (Kelvin Choi's app, iOS and Android): the zip export or its unpacked folder.

Layout (awesome-sensor-logger's UNITS, COORDINATES and CROSSPLATFORM pages, docs/formats.md): one CSV per
sensor, each `time,seconds_elapsed,z,y,x`, `time` in nanoseconds since the Unix epoch, values in m/s^2 or
rad/s; `Metadata.csv` names the platform. The accelerometer with gravity is `TotalAcceleration.csv`
(Android). `Accelerometer.csv` is WITHOUT gravity; iOS writes only that and `Gravity.csv`, whose sum is the
accelerometer with gravity. iOS's accelerations (and gravity) carry the opposite sign to Android's on all
three axes unless "Standardise Units & Frames" is on; the reader turns them to Android's (a resting phone
reads +9.81 m/s^2 up), which is our contract's. The gyroscope is `Gyroscope.csv`, rad/s, the same sign on
both.
"""

from __future__ import annotations

import csv
import logging
from pathlib import PurePosixPath

import numpy as np

from posture.formats.rows import Rows, split_rows, without_duplicate_rows
from posture.formats.source import Bundle
from posture.formats.streams import Stream, onto_stamps
from posture.formats.table import SampleTable
from processing.errors import InvalidSamplesError
from processing.samples import FloatArray

__all__ = ["NAME", "looks_like", "read"]

NAME = "sensor-logger"
HEADER = ("time", "seconds_elapsed", "z", "y", "x")
AXES = ("x", "y", "z")
NS_PER_S = 1_000_000_000
TOTAL = "totalacceleration"
LINEAR = "accelerometer"
GRAVITY = "gravity"
GYROSCOPE = "gyroscope"
METADATA = "metadata"
#: The columns `Metadata.csv` starts with (awesome-sensor-logger README, "Accessing Recording Metadata").
METADATA_HEADER = ("version", "device name", "recording time")
#: `Metadata.csv` values of its `standardisation` column that mean "Standardise Units & Frames" was on.
TRUTHY = {"true", "1", "yes", "on"}

logger = logging.getLogger(__name__)


def looks_like(first_line: str) -> bool:
    """A sensor file's header, or Metadata.csv's (a user may point at any file of the export)."""
    names = {c.strip().strip('"') for c in first_line.split(",")}
    return set(HEADER) <= names or set(METADATA_HEADER) <= names


def _sensor(member: str) -> str:
    """`TotalAcceleration.csv.gz` -> `totalacceleration`."""
    return PurePosixPath(member).name.split(".", 1)[0].lower()


def read(bundle: Bundle) -> SampleTable:
    by_sensor: dict[str, str] = {}
    for m in bundle.members:
        if m.lower().endswith((".csv", ".csv.gz")):
            by_sensor.setdefault(_sensor(m), m)
    ios = _is_ios_frame(bundle, by_sensor)
    truncated = duplicates = 0
    if TOTAL in by_sensor:
        acc_rows = split_rows(bundle.open(by_sensor[TOTAL]), ",")
        t0_ns = int(acc_rows.integers(acc_rows.column("time"))[0])
        acc_data, duplicates = _load(acc_rows, t0_ns)
        acc = Stream(acc_data[:, 0], acc_data[:, 1:])
        truncated = acc_rows.truncated_rows_dropped
    elif LINEAR in by_sensor and GRAVITY in by_sensor:
        lin_rows = split_rows(bundle.open(by_sensor[LINEAR]), ",")
        grav_rows = split_rows(bundle.open(by_sensor[GRAVITY]), ",")
        t0_ns = int(lin_rows.integers(lin_rows.column("time"))[0])
        lin_data, duplicates = _load(lin_rows, t0_ns)
        grav_data, grav_dup = _load(grav_rows, t0_ns)
        lin = Stream(lin_data[:, 0], lin_data[:, 1:])
        linear, gravity = onto_stamps(lin, Stream(grav_data[:, 0], grav_data[:, 1:]), name=bundle.name)
        acc = Stream(linear.t_s, linear.values + gravity)
        truncated = lin_rows.truncated_rows_dropped + grav_rows.truncated_rows_dropped
        duplicates += grav_dup
    else:
        raise InvalidSamplesError(
            f"{bundle.name} has neither TotalAcceleration.csv nor Accelerometer.csv with Gravity.csv: "
            "Accelerometer.csv alone is without gravity; enable Gravity (iOS) or Total Acceleration "
            "(Android) in Sensor Logger and record again",
            reason="column",
        )
    if ios:
        acc = Stream(acc.t_s, -acc.values)
    gyr: FloatArray | None = None
    if GYROSCOPE in by_sensor:
        gyr_rows = split_rows(bundle.open(by_sensor[GYROSCOPE]), ",")
        gyr_data, gyr_dup = _load(gyr_rows, t0_ns)
        acc, gyr = onto_stamps(acc, Stream(gyr_data[:, 0], np.degrees(gyr_data[:, 1:])), name=bundle.name)
        truncated += gyr_rows.truncated_rows_dropped
        duplicates += gyr_dup
    else:
        logger.info("%s: no Gyroscope.csv: accelerometer only", bundle.name)
    return SampleTable(acc.t_s, acc.values, gyr, NAME, truncated, duplicates)


def _load(rows: Rows, t0_ns: int) -> tuple[FloatArray, int]:
    missing = [c for c in HEADER if c not in rows.header]
    if missing:
        raise InvalidSamplesError(
            f"{rows.name} has no column {', '.join(missing)}: not a Sensor Logger file", reason="column"
        )
    ns = rows.integers(rows.column("time"))
    values = rows.floats([rows.column(a) for a in AXES])
    data = np.column_stack([(ns - t0_ns) / NS_PER_S, values])
    return without_duplicate_rows(data, rows.name)


def _is_ios_frame(bundle: Bundle, by_sensor: dict[str, str]) -> bool:
    """Whether the accelerations carry iOS's sign: the platform in Metadata.csv, and no standardisation;
    without Metadata.csv, iOS is the platform that writes no TotalAcceleration.csv."""
    if METADATA not in by_sensor:
        return TOTAL not in by_sensor
    rows = split_rows(bundle.open(by_sensor[METADATA]), ",")
    first = next(csv.reader(rows.lines[:1]))
    values = dict(zip(rows.header, (v.strip() for v in first), strict=False))
    platform = values.get("platform", "").lower()
    standardised = values.get("standardisation", "").lower() in TRUTHY
    if platform not in ("ios", "android"):
        logger.warning("%s: Metadata.csv names no platform: assuming Android's signs", bundle.name)
    return platform == "ios" and not standardised
