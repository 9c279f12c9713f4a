"""A finished run as files: the run folder that `posture analyze` writes, from a live run or a replay.

`posture run` and `posture replay` write the same folder as `posture analyze` (steps.csv, asymmetry.csv,
events.json, summary.json), on the run's time axis (seconds from the session's start), plus
``session.json``: who ran, when (`start_ns`: epoch ns of t = 0 s), from which session file, and how the run
ended. The report and the evaluation tools read these files alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from posture.history import RunHistory, run_record
from posture.live.mqtt_sink import MqttRunSink
from posture.live.run import RunOutputs
from posture.summary import RunSummary

__all__ = ["RUN_SESSION_JSON", "RunFolder", "finish_run", "write_run_folder"]

#: Who ran, when, and from which session file (next to the analysis files).
RUN_SESSION_JSON = "session.json"


@dataclass(frozen=True, slots=True, eq=False)
class RunFolder:
    """Where a run's files went, and the run's summary as written."""

    path: Path
    summary: RunSummary

    @property
    def steps(self) -> int:
        return self.summary.steps.total


def write_run_folder(
    out_dir: Path,
    outputs: RunOutputs,
    *,
    athlete: str,
    session: str,
    session_file: Path,
    ended_by: str,
    facts: Mapping[str, object] | None = None,
) -> RunFolder:
    """Write steps.csv, asymmetry.csv, events.json, summary.json and session.json into `out_dir`.

    `facts` go into session.json too (the sensor, the firmware, what reading the session file found).
    """
    from posture.analysis import write_results
    from processing.pipeline import AnalysisResult

    result = AnalysisResult(
        outputs.steps, outputs.mounting, outputs.sampling_rate_hz, outputs.has_gyroscope, outputs.gaps
    )
    summary = write_results(
        out_dir, result, outputs.events, input_name=session_file.name, duration_s=outputs.duration_s
    )
    session_doc = {
        "athlete": athlete,
        "session_id": session,
        "start_host_ns": outputs.t0_ns,
        "time_axis": "t_s is seconds after start_host_ns: epoch_ns = start_host_ns + t_s * 1e9",
        "session_file": str(session_file),
        "ended_by": ended_by,
        "samples": outputs.samples,
        "lost_samples": outputs.samples_lost,
        **(facts or {}),
    }
    (out_dir / RUN_SESSION_JSON).write_text(json.dumps(session_doc, indent=2) + "\n", encoding="utf-8")
    return RunFolder(out_dir, summary)


def finish_run(
    out_dir: Path,
    outputs: RunOutputs,
    *,
    athlete: str,
    session: str,
    session_file: Path,
    ended_by: str,
    history: RunHistory | None = None,
    mqtt: MqttRunSink | None = None,
    facts: Mapping[str, object] | None = None,
) -> RunFolder:
    """Everything after the last block: the run folder, the run history's row, the summary message.

    `posture run`, `posture replay` and `posture demo` end a run alike; a replay replaces the history's row
    of its session, so the history never counts a run twice.
    """
    folder = write_run_folder(
        out_dir,
        outputs,
        athlete=athlete,
        session=session,
        session_file=session_file,
        ended_by=ended_by,
        facts=facts,
    )
    if history is not None and outputs.steps:
        history.record_run(run_record(athlete, session, outputs.t0_ns, outputs.steps, outputs.events))
    if mqtt is not None:
        publish_summary(mqtt, folder, outputs)
    return folder


def publish_summary(sink: MqttRunSink, folder: RunFolder, outputs: RunOutputs) -> None:
    """The retained `summary` message of a finished run (made at the run's last sample, so a replay sends
    the same message)."""
    from posture.live.summary_words import metric_summaries
    from posture.messages import summary_message
    from processing.events import estimate_distance_m

    summary = folder.summary
    events: dict[str, int] = {}
    for event in outputs.events:
        events[event.type] = events.get(event.type, 0) + 1
    end_ns = outputs.t0_ns + round(outputs.duration_s * 1e9)
    sink.publish(
        "summary",
        summary_message(
            sink.athlete,
            sink.session,
            t_ns=end_ns,
            started_ns=outputs.t0_ns,
            duration_s=outputs.duration_s,
            steps_total=summary.steps.total,
            steps_left=summary.steps.left,
            steps_right=summary.steps.right,
            steps_running=summary.steps.running,
            cadence_spm=summary.cadence_spm,
            distance_m=estimate_distance_m(outputs.steps) if outputs.steps else None,
            events=events,
            metrics=metric_summaries(summary),
        ),
    )
