"""A finished run as files: the run folder that `posture analyze` writes, from a live run or a replay.

`posture run` and `posture replay` write the same folder as `posture analyze` (steps.csv, asymmetry.csv,
events.json, summary.json), on the run's time axis (seconds from the session's start), plus
``session.json``: who ran, when (`start_ns`: epoch ns of t = 0 s), from which session file, and how the run
ended. The report and the evaluation tools read these files alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posture.live.run import RunOutputs

__all__ = ["RUN_SESSION_JSON", "RunFolder", "write_run_folder"]

#: Who ran, when, and from which session file (next to the analysis files).
RUN_SESSION_JSON = "session.json"


@dataclass(frozen=True, slots=True)
class RunFolder:
    """Where a run's files went, and the summary document as written."""

    path: Path
    steps: int
    summary: dict[str, object]


def write_run_folder(
    out_dir: Path,
    outputs: RunOutputs,
    *,
    athlete: str,
    session: str,
    session_file: Path,
    ended_by: str,
) -> RunFolder:
    """Write steps.csv, asymmetry.csv, events.json, summary.json and session.json into `out_dir`."""
    from posture.commands.analysis import build_summary
    from posture.recording_io import Recording, write_asymmetry_csv, write_steps_csv
    from processing.asymmetry import ASYMMETRY_METRICS, asymmetry_timeline
    from processing.pipeline import AnalysisResult
    from processing.samples import ImuSamples

    out_dir.mkdir(parents=True, exist_ok=True)
    n = write_steps_csv(out_dir / "steps.csv", outputs.steps)
    n_rows = write_asymmetry_csv(out_dir / "asymmetry.csv", asymmetry_timeline(outputs.steps))
    events = [event.to_json_dict() for event in outputs.events]
    (out_dir / "events.json").write_text(json.dumps(events, indent=2) + "\n", encoding="utf-8")
    result = AnalysisResult(outputs.steps, outputs.mounting, outputs.sampling_rate_hz, outputs.has_gyroscope)
    # The summary's span and input name (the summary reads them from a recording).
    span = ImuSamples(np.array([0.0, max(outputs.duration_s, 1e-9)]), np.zeros((2, 3)), None)
    recording = Recording(span, outputs.sampling_rate_hz, session_file)
    summary = build_summary(recording, result, n_windows=n_rows // len(ASYMMETRY_METRICS))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    session_doc = {
        "athlete": athlete,
        "session": session,
        "start_ns": outputs.t0_ns,
        "time_axis": "seconds after start_ns",
        "session_file": str(session_file),
        "ended_by": ended_by,
        "samples": outputs.samples,
        "samples_lost": outputs.samples_lost,
    }
    (out_dir / RUN_SESSION_JSON).write_text(json.dumps(session_doc, indent=2) + "\n", encoding="utf-8")
    return RunFolder(out_dir, n, summary)
