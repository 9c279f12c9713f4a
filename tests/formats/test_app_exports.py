"""Every app export reads into the same samples as the contract CSV it was written from.

The examples in tests/data/formats/ follow each app's documented layout (docs/formats.md) and were written
by `generate_examples.py` from `contract.csv`: units converted, the apps' time stamps and number formats,
the gyroscope stamped a few milliseconds after the accelerometer. "The same" is within each format's
precision: MetaBase writes 3 decimals of g (0.005 m/s^2), Polar whole milli-g (0.005 m/s^2); the
gyroscope is interpolated onto the accelerometer's stamps (docs/formats.md), within 0.5 deg/s at 99 % of
the samples of a run.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from posture.formats import FORMATS, SampleTable, read_table
from posture.recording_io import read_recording
from processing.errors import InvalidSamplesError

DATA = Path(__file__).parents[1] / "data" / "formats"
CONTRACT = DATA / "contract.csv"
METABASE = DATA / "metabase"
POLAR = DATA / "polar"
PHYPHOX_ZIP = next((DATA / "phyphox").glob("*.zip"))
SENSOR_LOGGER_ANDROID = next((DATA / "sensor_logger").glob("*_android.zip"))
SENSOR_LOGGER_IOS = next((DATA / "sensor_logger").glob("*_ios.zip"))
MG_MPS2 = 9.80665e-3


def metabase(sensor: str) -> Path:
    return next(METABASE.glob(f"*_{sensor}_*.csv"))


def polar(kind: str) -> Path:
    return next(POLAR.glob(f"*_{kind}.txt"))


#: example file, format, accelerometer precision (m/s^2)
EXAMPLES = {
    "metabase": (metabase("Accelerometer"), "metabase", 0.5 * MG_MPS2 + 1e-9),
    "polar": (polar("ACC"), "polar-sensor-logger", 0.5 * MG_MPS2 + 1e-9),
    "phyphox": (PHYPHOX_ZIP, "phyphox", 1e-8),
    "sensor_logger_android": (SENSOR_LOGGER_ANDROID, "sensor-logger", 1e-9),
    "sensor_logger_ios": (SENSOR_LOGGER_IOS, "sensor-logger", 1e-9),
}


@cache
def contract() -> SampleTable:
    return read_table(CONTRACT)


def assert_same_samples(table: SampleTable, acc_tolerance_mps2: float) -> None:
    ref = contract()
    assert ref.gyr_dps is not None
    assert table.gyr_dps is not None
    np.testing.assert_allclose(table.t_s, ref.t_s, atol=1e-6)
    np.testing.assert_allclose(table.acc_mps2, ref.acc_mps2, rtol=0, atol=acc_tolerance_mps2)
    gyr_error = np.abs(table.gyr_dps - ref.gyr_dps)
    assert float(np.percentile(gyr_error, 99)) < 0.5
    assert float(np.sqrt(np.mean(gyr_error**2))) < 0.3


def test_the_contract_example_is_a_6_s_run_with_a_gyroscope() -> None:
    ref = contract()
    assert ref.source_format == "csv"
    assert len(ref) == 600
    assert ref.gyr_dps is not None
    assert float(np.ptp(ref.gyr_dps)) > 100.0  # running, not standing: the comparisons below mean something


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_app_export_is_recognised_and_reads_into_the_contract_samples(example: str) -> None:
    path, fmt, acc_tolerance = EXAMPLES[example]
    table = read_table(path)
    assert table.source_format == fmt
    assert table.truncated_rows_dropped == 0
    assert_same_samples(table, acc_tolerance)


@pytest.mark.parametrize(
    ("given", "partner"),
    [
        (metabase("Gyroscope"), metabase("Accelerometer")),
        (polar("GYRO"), polar("ACC")),
    ],
)
def test_either_file_of_a_pair_finds_its_partner_in_the_folder(given: Path, partner: Path) -> None:
    a, b = read_table(given), read_table(partner)
    np.testing.assert_array_equal(a.t_s, b.t_s)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    np.testing.assert_array_equal(a.gyr_dps, b.gyr_dps)


def test_an_accelerometer_file_alone_reads_without_a_gyroscope(tmp_path: Path) -> None:
    only = tmp_path / polar("ACC").name
    shutil.copy(polar("ACC"), only)
    table = read_table(only)
    assert table.gyr_dps is None
    np.testing.assert_allclose(table.acc_mps2, contract().acc_mps2, atol=0.5 * MG_MPS2 + 1e-9)


def test_a_gyroscope_file_without_its_accelerometer_says_what_is_missing(tmp_path: Path) -> None:
    only = tmp_path / metabase("Gyroscope").name
    shutil.copy(metabase("Gyroscope"), only)
    with pytest.raises(InvalidSamplesError, match="no MetaBase accelerometer file"):
        read_table(only)


def gzip_to(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def test_gzip_files_are_recognised_by_content_whatever_their_name(tmp_path: Path) -> None:
    # the contract CSV compressed, keeping its plain name; a MetaBase pair compressed as .csv.gz
    plain_name = gzip_to(CONTRACT, tmp_path / "run.csv")
    table = read_table(plain_name)
    np.testing.assert_array_equal(table.acc_mps2, contract().acc_mps2)
    pair = tmp_path / "metabase"
    pair.mkdir()
    for sensor in ("Accelerometer", "Gyroscope"):
        gzip_to(metabase(sensor), pair / (metabase(sensor).name + ".gz"))
    acc_file = next(pair.glob("*_Accelerometer_*"))
    assert_same_samples(read_table(acc_file), 0.5 * MG_MPS2 + 1e-9)


def test_format_override_skips_recognition_and_names_the_mismatch() -> None:
    assert read_table(CONTRACT, "csv").source_format == "csv"
    with pytest.raises(InvalidSamplesError, match="no MetaBase accelerometer file"):
        read_table(CONTRACT, "metabase")
    with pytest.raises(InvalidSamplesError, match=r"unknown format 'garmin'.*polar-sensor-logger"):
        read_table(CONTRACT, "garmin")


def test_the_formats_registry_names_every_reader() -> None:
    assert set(FORMATS) == {"csv", "metabase", "polar-sensor-logger", "phyphox", "sensor-logger"}


def test_phyphox_with_semicolons_and_decimal_commas_reads_the_same(tmp_path: Path) -> None:
    # phyphox's "CSV (Semicolon, decimal comma)" export, unpacked into a folder
    with zipfile.ZipFile(PHYPHOX_ZIP) as archive:
        for member in ("Accelerometer.csv", "Gyroscope.csv"):
            text = archive.read(member).decode()
            (tmp_path / member).write_text(text.replace(",", ";").replace(".", ","))
    assert_same_samples(read_table(tmp_path / "Accelerometer.csv"), 1e-8)


def test_read_recording_fills_the_source_format() -> None:
    recording = read_recording(polar("ACC"))
    assert recording.source_format == "polar-sensor-logger"
    assert recording.truncated_rows_dropped == 0
    assert recording.sampling_rate_hz == pytest.approx(100.0)


def posture(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "60"}
    return subprocess.run(
        [sys.executable, "-m", "posture", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_posture_analyze_recognises_an_app_export_and_checks_format_names(tmp_path: Path) -> None:
    done = posture("analyze", str(SENSOR_LOGGER_IOS), "--out", str(tmp_path / "auto"))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "auto" / "summary.json").read_text())
    assert summary["has_gyroscope"] is True
    unknown = posture("analyze", str(CONTRACT), "--format", "garmin", "--out", str(tmp_path / "unknown"))
    assert unknown.returncode == 2
    assert "sensor-logger" in unknown.stderr


def unpack(archive_path: Path, folder: Path, members: tuple[str, ...] | None = None) -> Path:
    folder.mkdir()
    with zipfile.ZipFile(archive_path) as archive:
        for member in members or tuple(archive.namelist()):
            target = folder / member
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    return folder


def test_an_unpacked_sensor_logger_export_reads_from_any_of_its_csvs(tmp_path: Path) -> None:
    folder = unpack(SENSOR_LOGGER_IOS, tmp_path / "ios")
    for member in ("Gyroscope.csv", "Gravity.csv", "Metadata.csv"):
        assert_same_samples(read_table(folder / member), 1e-9)


def test_sensor_logger_acceleration_without_gravity_alone_is_refused(tmp_path: Path) -> None:
    folder = unpack(SENSOR_LOGGER_IOS, tmp_path / "ios", ("Accelerometer.csv", "Gyroscope.csv"))
    with pytest.raises(InvalidSamplesError, match=r"Accelerometer\.csv alone is without gravity"):
        read_table(folder / "Accelerometer.csv")


def test_phyphox_linear_acceleration_is_refused_with_a_hint(tmp_path: Path) -> None:
    with zipfile.ZipFile(PHYPHOX_ZIP) as archive:
        text = archive.read("Accelerometer.csv").decode()
    linear = tmp_path / "Raw Data.csv"
    linear.write_text(text.replace('"Acceleration ', '"Linear Acceleration '))
    hint = r"Linear Acceleration \(gravity removed\).*'Acceleration with g'"
    with pytest.raises(InvalidSamplesError, match=hint):
        read_table(linear)


def test_a_zipped_contract_csv_reads_like_the_plain_one(tmp_path: Path) -> None:
    path = tmp_path / "run.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(CONTRACT, "run/contract.csv")
    table = read_table(path)
    assert table.source_format == "csv"
    np.testing.assert_array_equal(table.acc_mps2, contract().acc_mps2)
