"""Input that is not a recording, or not all of one: one clear line, the right exit code, nothing written.

Through `read_table` (the error and its reason) and through the real `posture analyze` (one line on stderr,
no traceback, a non-zero exit, no results in the output folder). A logger killed mid-write leaves an
incomplete last row: every complete row before it is kept and the dropped one is counted.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture.formats import SampleTable, read_table
from posture.recording_io import read_recording
from processing.errors import InvalidSamplesError

CONTRACT = Path(__file__).parents[1] / "data" / "formats" / "contract.csv"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def contract() -> SampleTable:
    return read_table(CONTRACT)


def posture_analyze(path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "60"}  # a narrow terminal must not split the line
    return subprocess.run(
        [sys.executable, "-m", "posture", "analyze", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input with the words its one line must hold."""
    rng = np.random.default_rng(7)
    png = tmp_path / "photo.csv"
    png.write_bytes(PNG_SIGNATURE + rng.bytes(2000))
    noise = tmp_path / "noise.csv"
    noise.write_bytes(rng.bytes(3000))
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(CONTRACT.read_text().splitlines()[0] + "\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    unknown = tmp_path / "garmin.csv"
    unknown.write_text("timestamp,heart_rate,speed\n0,120,3.1\n1,121,3.2\n")
    return {
        "png": (png, "not a text recording but a PNG image"),
        "random_bytes": (noise, "not a text recording but binary data"),
        "header_only": (header_only, "holds a header but no data rows"),
        "empty": (empty, "is empty"),
        "unknown_format": (unknown, "not a known recording format: posture reads csv"),
    }


@pytest.mark.parametrize("case", ["png", "random_bytes", "header_only", "empty", "unknown_format"])
def test_input_that_is_not_a_recording_raises_one_clear_error(tmp_path: Path, case: str) -> None:
    path, words = bad_files(tmp_path)[case]
    with pytest.raises(InvalidSamplesError, match=words) as err:
        read_table(path)
    assert err.value.reason in ("format", "short")
    assert "\n" not in str(err.value)


def test_the_unknown_format_line_lists_every_known_format(tmp_path: Path) -> None:
    path, _ = bad_files(tmp_path)["unknown_format"]
    with pytest.raises(InvalidSamplesError) as err:
        read_table(path)
    for name in ("csv", "metabase", "polar-sensor-logger", "phyphox", "sensor-logger", "--format"):
        assert name in str(err.value)


# one binary and the longest line (every format listed); the CLI prints every reader error the same way
@pytest.mark.parametrize("case", ["png", "unknown_format"])
def test_posture_analyze_gives_one_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    path, words = bad_files(tmp_path)[case]
    out = tmp_path / "out"
    done = posture_analyze(path, out)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert words.split(":")[0] in lines[0]
    assert not out.exists() or not any(out.iterdir())


def cut(text: str, at_char: int) -> str:
    """`text` as a logger killed at character `at_char` leaves it: the last line without its end."""
    assert text[at_char - 1] != "\n"
    return text[:at_char]


def test_a_truncated_last_row_is_dropped_and_every_row_before_it_kept(tmp_path: Path) -> None:
    text = CONTRACT.read_text()
    at = text.index("\n", len(text) // 2) + 25  # 25 characters into a row: a cut value, fields missing
    path = tmp_path / "killed.csv"
    path.write_text(cut(text, at))
    table = read_table(path)
    complete = text[:at].count("\n") - 1  # data rows whose line end was written
    assert len(table) == complete
    assert table.truncated_rows_dropped == 1
    np.testing.assert_array_equal(table.acc_mps2, contract().acc_mps2[:complete])
    np.testing.assert_array_equal(table.gyr_dps, contract().gyr_dps[:complete])  # type: ignore[index]


def test_posture_analyze_keeps_the_complete_rows_and_says_one_was_left_out(tmp_path: Path) -> None:
    text = CONTRACT.read_text()
    path = tmp_path / "killed.csv"
    path.write_text(cut(text, len(text) - 20))
    done = posture_analyze(path, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "killed.csv: left out 1 incomplete last row" in done.stderr
    assert (tmp_path / "out" / "steps.csv").exists()


def test_a_last_row_cut_after_a_separator_is_dropped_too(tmp_path: Path) -> None:
    # all fields present, the last one empty: not a number, no line end
    lines = CONTRACT.read_text().splitlines()
    path = tmp_path / "killed.csv"
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1].rsplit(",", 1)[0] + ",")
    table = read_table(path)
    assert len(table) == len(contract()) - 1
    assert table.truncated_rows_dropped == 1


def test_a_complete_last_row_without_a_line_end_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "no_final_newline.csv"
    path.write_text(CONTRACT.read_text().rstrip("\n"))
    table = read_table(path)
    assert len(table) == len(contract())
    assert table.truncated_rows_dropped == 0


def test_a_bad_row_in_the_middle_is_an_error_that_names_it(tmp_path: Path) -> None:
    lines = CONTRACT.read_text().splitlines()
    lines[101] = lines[101][:20]  # fields missing in data row 101, not the last row
    path = tmp_path / "damaged.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidSamplesError, match="data row 101"):
        read_table(path)


def test_a_gzip_stream_cut_mid_write_keeps_what_it_holds(tmp_path: Path) -> None:
    packed = gzip.compress(CONTRACT.read_bytes())
    path = tmp_path / "killed.csv.gz"
    path.write_bytes(packed[: int(len(packed) * 0.6)])
    table = read_table(path)
    assert 0 < len(table) < len(contract())
    assert table.truncated_rows_dropped == 1
    n = len(table)
    np.testing.assert_array_equal(table.t_s, contract().t_s[:n])
    np.testing.assert_array_equal(table.acc_mps2, contract().acc_mps2[:n])


def test_a_gzip_stream_cut_right_after_a_line_end_keeps_every_row(tmp_path: Path) -> None:
    text = CONTRACT.read_bytes()
    first_half = text[: text.index(b"\n", len(text) // 2) + 1]
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    flushed = packer.compress(first_half) + packer.flush(zlib.Z_FULL_FLUSH)  # decodes to first_half exactly
    path = tmp_path / "killed.csv.gz"
    path.write_bytes(flushed)
    table = read_table(path)
    assert table.truncated_rows_dropped == 0
    assert len(table) == first_half.count(b"\n") - 1


def test_a_damaged_gzip_file_is_one_clear_error(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(CONTRACT.read_bytes()))
    packed[40:60] = bytes(20)
    path = tmp_path / "damaged.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(InvalidSamplesError, match="gzip-compressed but damaged"):
        read_table(path)


@pytest.mark.parametrize("damage", ["flipped_bytes", "cut_short"])
def test_a_damaged_zip_export_is_one_clear_error(tmp_path: Path, damage: str) -> None:
    export = next((CONTRACT.parent / "sensor_logger").glob("*_android.zip")).read_bytes()
    if damage == "flipped_bytes":
        middle = len(export) // 2
        flipped = bytes(b ^ 0xFF for b in export[middle : middle + 16])
        damaged = export[:middle] + flipped + export[middle + 16 :]
    else:
        damaged = export[: len(export) // 2]
    path = tmp_path / "export.zip"
    path.write_bytes(damaged)
    with pytest.raises(InvalidSamplesError, match="zip") as err:
        read_table(path)
    assert err.value.reason == "format"


def test_the_recording_counts_the_truncated_row(tmp_path: Path) -> None:
    text = CONTRACT.read_text()
    path = tmp_path / "killed.csv"
    path.write_text(cut(text, len(text) - 10))
    recording = read_recording(path)
    assert recording.truncated_rows_dropped == 1
    assert len(recording.samples) == len(contract()) - 1


def test_a_biaxial_contract_csv_reads_its_absent_axis_as_nan(tmp_path: Path) -> None:
    lines = [line.split(",") for line in CONTRACT.read_text().splitlines()]
    path = tmp_path / "biaxial.csv"
    path.write_text("\n".join(",".join(f[:2] + f[3:]) for f in lines) + "\n")  # acc_y_mps2 left out
    table = read_table(path)
    assert table.missing_acc_axes == (1,)
    assert np.all(np.isnan(table.acc_mps2[:, 1]))
    np.testing.assert_array_equal(table.acc_mps2[:, [0, 2]], contract().acc_mps2[:, [0, 2]])
    np.testing.assert_array_equal(table.gyr_dps, contract().gyr_dps)


def test_two_absent_accelerometer_axes_are_refused(tmp_path: Path) -> None:
    lines = [line.split(",") for line in CONTRACT.read_text().splitlines()]
    path = tmp_path / "uniaxial.csv"
    path.write_text("\n".join(",".join(f[:2]) for f in lines) + "\n")
    with pytest.raises(InvalidSamplesError, match="has no column acc_y_mps2, acc_z_mps2"):
        read_table(path)


CONTRACT_HEAD = CONTRACT.read_bytes()[:1500]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        # a real header and rows, then damaged: cut anywhere, bytes flipped, garbage appended
        st.tuples(st.integers(0, len(CONTRACT_HEAD)), st.binary(max_size=40)).map(
            lambda cut_and_tail: CONTRACT_HEAD[: cut_and_tail[0]] + cut_and_tail[1]
        ),
    ),
    gzipped=st.booleans(),
)
def test_any_bytes_give_a_table_or_the_typed_error_never_a_crash(
    tmp_path: Path, data: bytes, gzipped: bool
) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(gzip.compress(data) if gzipped else data)
    try:
        table = read_table(path)
    except InvalidSamplesError as err:
        message = str(err)
    else:
        assert table.acc_mps2.shape == (len(table), 3)
        return
    assert message
    assert "\n" not in message
