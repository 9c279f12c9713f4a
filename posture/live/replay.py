"""A session file through the live run again: the run's own results, optionally republished.

The blocks are the live link's, bit for bit (`posture.session.replay_blocks`), up to where the live run
stopped taking them, and they go through the same `LiveRun`: a replay writes the run folder `posture run`
wrote, byte for byte, and republishes the same messages with the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from posture.history import RunHistory
from posture.live.engine import event_engine
from posture.live.mqtt_sink import MqttRunSink
from posture.live.outputs import RunFolder, finish_run
from posture.live.run import LiveRun, RunOutputs
from posture.session import SessionContents, read_session
from posture.session.errors import SessionFileError
from posture.session.replay import blocks_of
from sensorlink.blocks import SampleBlock

__all__ = ["ReplayResult", "replay_session", "session_facts"]


@dataclass(frozen=True, slots=True, eq=False)
class ReplayResult:
    """The replayed run, its folder, and what reading the file found (`SessionContents.notes`)."""

    outputs: RunOutputs
    folder: RunFolder
    notes: tuple[str, ...]


def replay_session(
    session: Path | SessionContents,
    out_dir: Path,
    *,
    thresholds: Mapping[str, float] | None = None,
    history: RunHistory | None = None,
    mqtt: MqttRunSink | None = None,
    on_block: Callable[[SampleBlock], None] | None = None,
) -> ReplayResult:
    """Replay a session file (a path, or the file already read) into `out_dir` (and to `mqtt`, when given;
    every block also to `on_block`).

    Raises
    ------
    SessionFileError
        Not a readable session file, or one without samples.
    """
    contents = read_session(session) if isinstance(session, Path) else session
    session_file = contents.path
    header = contents.header
    engine = event_engine(
        thresholds or {}, athlete=header.athlete, started_ns=header.start_host_ns, history=history
    )
    run: LiveRun | None = None
    for block in blocks_of(contents, as_consumed=True):
        if run is None:
            run = LiveRun(
                block.sampling_rate_hz,
                has_gyroscope=block.samples.has_gyroscope,
                engine=engine,
                sinks=() if mqtt is None else (mqtt,),
                t0_ns=header.start_host_ns,
            )
        run.feed(block)
        if on_block is not None:
            on_block(block)
    if run is None:
        raise SessionFileError(session_file, "it holds no samples", "record a run first")
    outputs = run.finish()
    ended = contents.end.reason if contents.end is not None else "cut off (no end record)"
    folder = finish_run(
        out_dir,
        outputs,
        athlete=header.athlete,
        session=header.session_id,
        session_file=session_file,
        ended_by=ended,
        history=history,
        mqtt=mqtt,
        facts=session_facts(contents),
    )
    return ReplayResult(outputs, folder, tuple(contents.notes()))


def session_facts(contents: SessionContents) -> dict[str, object]:
    """What session.json says about the session file: the sensor, and what reading the file found."""
    header = contents.header
    return {
        "sensor_address": header.sensor_address,
        "profile": header.profile,
        "firmware_revision": contents.firmware_revision,
        "time_scale": header.time_scale,
        "packets": contents.packets,
        "ended_cleanly": contents.end is not None,
        "end_reason": None if contents.end is None else contents.end.reason,
        "torn_tail_bytes": contents.torn_tail_bytes,
        "damaged_records": contents.damaged_records,
        "notes": contents.notes(),
    }
