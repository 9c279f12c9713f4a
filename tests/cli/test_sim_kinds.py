"""`--adapter sim:KIND`: a simulated device of a profile kind on the in-process virtual link.

`sim` stays what it was, our own sensor (`sim:posture`); a kind without a simulated device is refused in one
line that lists the kinds there are. Runs `posture.cli.main` in this process (as tests/cli/test_link_cli.py
does), each test in its own config directory.
"""

from __future__ import annotations

import csv
import json

import pytest

from posture.settings import SettingsError, load_settings
from sensorlink.simsensor.kinds import simulated_kind_names
from tests.cli.test_link_cli import Cli, one_line, run_in_process


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return capsys, monkeypatch


def test_an_unknown_kind_is_one_line_listing_the_kinds(cli: Cli) -> None:
    code, out, err = run_in_process(*cli, "--adapter", "sim:unknown", "scan", "--timeout", "1")
    assert code == 2
    assert "Traceback" not in err
    assert out == ""
    message = one_line(err)
    assert message.startswith("error: --adapter sim:unknown: no simulated sensor of kind 'unknown'")
    assert message.endswith(f"KIND one of {', '.join(simulated_kind_names())}")
    assert "posture" in simulated_kind_names()


def test_an_unknown_kind_in_the_environment_is_refused_at_start_up_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    with pytest.raises(SettingsError, match="no simulated sensor of kind 'garmin'"):
        load_settings({"POSTURE_ADAPTER": "sim:garmin", "POSTURE_CONFIG_DIR": "/nonexistent-posture"})


def test_sim_posture_scans_pairs_and_records_as_sim_did(cli: Cli) -> None:
    code, out, err = run_in_process(*cli, "--adapter", "sim:posture", "scan", "--timeout", "1")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "PostureSensor-0001" in line)
    assert row.split()[1] == "posture"  # the kind column
    code, out, err = run_in_process(*cli, "--adapter", "sim:posture", "pair", "--timeout", "1")
    assert code == 0, err
    assert "paired with PostureSensor-0001" in one_line(out)
    bonds = json.loads(load_settings().bonds_file.read_text())["bonds"]
    assert [(b["adapter"], b["profile"]) for b in bonds] == [("sim:posture", "posture")]
    csv_path = load_settings().data_dir / "run.csv"
    code, out, err = run_in_process(
        *cli,
        "--adapter",
        "sim:posture",
        "record",
        "--duration",
        "1",
        "--time-scale",
        "5",
        "--out",
        str(csv_path),
    )
    assert code == 0, err
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    assert len(rows) - 1 >= 208
    assert "lost 0 samples" in one_line(out)
    code, out, err = run_in_process(*cli, "--adapter", "sim:posture", "doctor")
    assert code == 0, out
    text = one_line(out)
    assert "on adapter sim:posture, kind posture" in text
    assert "timing: device clock, loss counted exactly" in text
