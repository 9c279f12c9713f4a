"""`posture report SESSION_FILE`: a session file is replayed into a run folder first, then reported."""

from __future__ import annotations

from pathlib import Path

from posture.report import load_run
from posture.session import replay_to_dir
from posture.session.recording import record_device
from sensorlink.link import HostClock
from sensorlink.simsensor import SimulatedSensorOptions
from tests.report.test_run_folder import report_cli
from tests.sensorlink.conftest import loop_clock_ns
from tests.sensorlink.test_link import VIRTUAL_TIME, simulated

RUN_S = 40.0


@VIRTUAL_TIME
async def test_a_session_file_is_replayed_and_reported(tmp_path: Path) -> None:
    clock: HostClock = loop_clock_ns
    async with simulated(tmp_path, SimulatedSensorOptions()) as (_, sensor, factory):
        recorded = await record_device(
            sensor.options.address,
            tmp_path / "run.csv",
            client_factory=factory,
            duration_s=RUN_S,
            host_clock_ns=clock,
            athlete="ana",
            session_id="sim-run",
        )
    assert recorded.session_path is not None
    html = tmp_path / "report.html"

    code, output = report_cli(str(recorded.session_path), "--out", str(html))

    assert code == 0, output
    page = html.read_text(encoding="utf-8")
    replay_to_dir(recorded.session_path, tmp_path / "replayed")
    replayed = load_run(tmp_path / "replayed")
    assert f"{replayed.summary.steps_total} steps" in page
    assert "What went well" in page
    assert "What to work on" in page
