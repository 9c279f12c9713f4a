"""A run through a 3 s link drop: the live run and `record` + `analyze` both give the two halves' steps,
analysed apart (none lost, none invented, times right), on the simulated sensor over the virtual link."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from posture.analysis import analyze_to_dir
from posture.live.session import run_live_session
from posture.recording_io import write_recording
from posture.session import SessionHeader, replay_run
from processing.events import EventEngine
from sensorlink.link import LinkOptions
from sensorlink.simsensor import FaultPlan, LinkDrop, SimulatedSensorOptions
from tests.sensorlink.conftest import loop_clock_ns
from tests.sensorlink.test_link import VIRTUAL_TIME, simulated

DROP_AT_S, DROP_S = 25.0, 3.0
RUN_S = 60.0


def t_ic(path: Path) -> np.ndarray:
    with path.open(newline="") as f:
        return np.array([float(row["t_ic_s"]) for row in csv.DictReader(f)])


@VIRTUAL_TIME
async def test_a_run_through_a_3_s_link_drop_analyses_the_two_halves_apart(tmp_path: Path) -> None:
    options = SimulatedSensorOptions(
        faults=FaultPlan(link_drops=(LinkDrop(at_s=DROP_AT_S, duration_s=DROP_S),))
    )
    session_file = tmp_path / "session.posture"
    async with simulated(tmp_path, options) as (_, sensor, factory):
        header = SessionHeader(
            athlete="ann",
            session_id="drop",
            sensor_address=sensor.options.address,
            profile="posture-v1",
            start_host_ns=loop_clock_ns(),
        )
        result = await run_live_session(
            sensor.options.address,
            client_factory=factory,
            session_path=session_file,
            header=header,
            engine=EventEngine(),
            host_clock_ns=loop_clock_ns,
            duration_s=RUN_S,
            options=LinkOptions(reconnect_budget_s=10.0),
        )
    outputs = result.outputs
    assert result.reconnects == 1
    assert outputs.samples_lost >= DROP_S * outputs.sampling_rate_hz * 0.9
    assert outputs.gaps.split == 1

    # where the samples stop and start again, on the run's axis
    run = replay_run(session_file)
    t = run.samples.t_s
    k = int(np.argmax(np.diff(t)))
    gap = (float(t[k]), float(t[k + 1]))
    assert gap[1] - gap[0] > 0.9 * DROP_S

    live_ic = np.array([s.t_ic_s for s in outputs.steps])
    ends = np.array([s.t_ic_s + s.step_time_s for s in outputs.steps])
    inside = (live_ic > gap[0]) & (live_ic < gap[1])
    spans = (live_ic < gap[0]) & (ends > gap[0])
    assert not inside.any(), "no step invented in the gap"
    assert not spans.any(), "no step spans the gap"
    before, after = live_ic[live_ic < gap[0]], live_ic[live_ic > gap[1]]
    running = [s.step_time_s for s in outputs.steps if s.is_running]
    step_s = float(np.median(running))
    # none lost: the running before and after the gap is covered step by step up to a step or two of it
    assert gap[0] - before.max() < 3 * step_s
    assert after.min() - gap[1] < 3 * step_s
    assert np.all(np.diff(after) < 1.6 * step_s)

    # record + analyze: the same samples as a CSV give the same steps at the same times
    csv_path = tmp_path / "drop.csv"
    write_recording(csv_path, run.samples)
    analyze_to_dir(csv_path, tmp_path / "analyzed")
    analyzed = t_ic(tmp_path / "analyzed" / "steps.csv")
    assert len(analyzed) == len(live_ic)
    np.testing.assert_allclose(analyzed, live_ic, atol=1e-5)  # the CSV rounds times to 1e-6 s
