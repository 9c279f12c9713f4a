"""`posture demo` as a new user runs it: the whole chain on embedded defaults, finishing by itself.

The demo is a process of its own (`python -m posture demo`), as the README's first command starts it; it
starts its own Mosquitto, InfluxDB and ingest in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def demo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTURE_")}
    env.update(POSTURE_CONFIG_DIR=str(home / "config"), POSTURE_DATA_DIR=str(home / "data"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "posture", "demo", *args],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_the_demo_runs_the_whole_chain_and_ends_with_the_report(tmp_path: Path) -> None:
    done = demo(tmp_path)  # the defaults, as the README runs it
    assert done.returncode == 0, done.stderr
    text = re.sub(r"\s+", " ", done.stdout)
    for stage in ("1. servers", "2. scan", "3. paired", "4. run", "5. after the run", "6. report"):
        assert stage in text
    written = re.search(r"InfluxDB holds (\d+) of (\d+) steps", text)
    assert written is not None, text
    assert written.group(1) == written.group(2)
    assert int(written.group(2)) > 80

    folder = Path(re.search(r"in (\S+/sessions/demo/demo-\S+)", text).group(1))  # type: ignore[union-attr]
    summary = json.loads((folder / "summary.json").read_text())
    drop = summary["metrics"]["pelvic_drop_deg"]
    assert drop["left_mean"] > drop["right_mean"] + 1.0  # the planted right hip drop in left stance
    events = json.loads((folder / "events.json").read_text())
    cues = [e for e in events if e["metric"] == "pelvic_drop_deg"]
    assert cues, events
    assert all(e["side"] == "L" and e["advice"] for e in cues)
    report = folder / "report.html"
    assert str(report) in text
    assert report.stat().st_size > 100_000  # the plotting library is inside the page
    assert "Traceback" not in done.stderr


def test_an_unknown_scenario_lists_the_known_ones(tmp_path: Path) -> None:
    done = demo(tmp_path, "--scenario", "bogus")
    assert done.returncode == 2
    assert "clean_run" in done.stderr
    assert "progressive_right_hip_drop" in done.stderr


@pytest.mark.slow
def test_without_servers_the_demo_says_so_and_does_the_rest(tmp_path: Path) -> None:
    done = demo(tmp_path, "--run-s", "20", "--no-servers")
    assert done.returncode == 0, done.stderr
    assert "skipped (--no-servers)" in done.stdout
    assert "report.html" in done.stdout
