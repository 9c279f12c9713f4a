"""Run folders for the report tests, made the way a runner's are: a simulated recording with a planted fault,
written in the analyze CSV format and run through `posture analyze`'s own code."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from posture.analysis import analyze_to_dir
from posture.recording_io import write_recording
from processing.simulation import scenario_by_name, simulate
from tests.report.browser import headless_chromium
from tests.sensorlink.conftest import pytest_asyncio_loop_factories  # the virtual clock for session runs

__all__ = ["pytest_asyncio_loop_factories"]

#: The planted fault: the right hip sags more and more while the runner stands on the left leg (left stance
#: drop 5 deg growing by 6 deg over the run, right stance 5 deg throughout). Five minutes, so the end of the
#: run lies after the 3-minute baseline of the drift.
FAULT_SCENARIO = "progressive_right_hip_drop"
FAULT_DURATION_S = 300.0


@pytest.fixture(scope="session")
def fault_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `posture analyze` writes for a 5-minute run with a growing left-stance pelvic drop."""
    scenario = dataclasses.replace(
        scenario_by_name(FAULT_SCENARIO), duration_s=FAULT_DURATION_S, sampling_rate_hz=104.0
    )
    root = tmp_path_factory.mktemp("fault-run")
    recording = root / "run.csv"
    write_recording(recording, simulate(scenario).samples)
    out = root / "analysed"
    analyze_to_dir(recording, out)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's chromium, headless, with a fresh profile, shared by one module's browser tests.

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while
    the browser is open, and asyncio refuses to start another one there (every async test after it would
    fail).
    """
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="session")
def accelerometer_only_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `posture analyze` writes for a clean 3.5-minute run logged without a gyroscope."""
    scenario = dataclasses.replace(scenario_by_name("clean_run"), duration_s=210.0, sampling_rate_hz=104.0)
    root = tmp_path_factory.mktemp("accelerometer-only-run")
    recording = root / "run.csv"
    write_recording(recording, dataclasses.replace(simulate(scenario).samples, gyr_dps=None))
    out = root / "analysed"
    analyze_to_dir(recording, out)
    return out
