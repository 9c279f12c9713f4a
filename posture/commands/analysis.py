"""`posture analyze INPUT.csv --out DIR`: a recording in, steps.csv + events.json + summary.json out.

The contract (DESIGN.md "Offline analysis contract") is relied on by evaluation tools outside the package:
column names and file names here do not change without a new `SUMMARY_SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

# The processing core (scipy) is imported inside the functions that run it: every `posture` invocation
# registers this command, and `posture scan` should not wait a second or two for scipy.signal.
if TYPE_CHECKING:
    from posture.recording_io import Recording
    from processing.pipeline import AnalysisResult
    from processing.samples import ImuSamples
    from processing.steps import StepMetrics

__all__ = [
    "ASYMMETRY_FILE",
    "SUMMARY_SCHEMA_VERSION",
    "analyze_to_dir",
    "build_summary",
    "calibration_summary",
    "calibration_warning",
    "outcome_notes",
    "register",
    "run_analysis",
    "wants_progress",
]

logger = logging.getLogger(__name__)
console = Console(stderr=True)

SUMMARY_SCHEMA_VERSION = 1
#: Blocks fed to the pipeline (the progress bar advances per block), s.
BLOCK_S = 30.0
#: Recordings at least this long show a progress bar on a terminal, s (never in a pipe or a log file: rich
#: would leave a blank line or, in a CI log, a bar per refresh).
PROGRESS_MIN_S = 120.0
#: Rolling-window asymmetry and drift (one row per window and metric), named in summary.json.
ASYMMETRY_FILE = "asymmetry.csv"


def _blocks(samples: ImuSamples, block: int) -> Iterator[ImuSamples]:
    for a in range(0, len(samples), block):
        yield samples.slice(a, min(a + block, len(samples)))


def run_analysis(
    recording: Recording, *, show_progress: bool = False, progress_console: Console | None = None
) -> AnalysisResult:
    """Feed a recording through the pipeline block by block, with a progress bar if asked.

    A recording through a link drop has gaps in its times (`posture.recording_io` reads it as it is): the
    pipeline's gap policy (`processing.pipeline.gaps`, the same in `posture run` and `replay`) bridges the
    short ones and analyses the stretches between the long ones apart; `AnalysisResult.gaps` counts them.
    The bar only reports (it advances after each block is handed over): the result is the same with and
    without it. `progress_console` is where it is drawn (default: this module's stderr console).
    """
    from processing.pipeline import analyze

    fs = recording.sampling_rate_hz
    block = max(1, round(BLOCK_S * fs))
    blocks = _blocks(recording.samples, block)
    if not show_progress:
        return analyze(blocks, sampling_rate_hz=fs)
    total = len(recording.samples)
    with Progress(
        TextColumn("analysing"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=progress_console or console,
        transient=True,
    ) as progress:
        task = progress.add_task("analyse", total=total)

        def tracked() -> Iterator[ImuSamples]:
            for b in blocks:
                yield b
                progress.advance(task, len(b))

        return analyze(tracked(), sampling_rate_hz=fs)


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 6)


def _mean(steps: list[StepMetrics], name: str) -> float:
    vals = np.array([getattr(s, name) for s in steps], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


def calibration_warning(result: AnalysisResult) -> str | None:
    """What the runner should know about the calibration, in plain words; None when the angles are relative
    to a standing start as they should be (or there are no angles)."""
    from processing.alignment import STANDING_START_NEEDED_S

    m = result.mounting
    if m is None or m.calibration == "standing" or not result.has_gyroscope:
        return None
    return (
        "no standing start found: pelvic tilt and drop are relative to your mean running posture, "
        "not to your standing posture (a runner who tilts forward 5 deg reads 0 deg). Stand still for "
        f"{STANDING_START_NEEDED_S:g} s before you start."
    )


def calibration_summary(result: AnalysisResult) -> dict[str, object]:
    """The summary.json "calibration" block: what defined "up", over which span, and a warning if any."""
    from processing.alignment import STANDING_START_NEEDED_S

    m = result.mounting
    calibration: dict[str, object]
    if m is None:
        calibration = {
            "kind": "none",
            "standing_s": None,
            "note": "too little motion to find the sensor mounting: no steps were analysed",
        }
    else:
        calibration = {
            "kind": m.calibration,
            "standing_s": None if m.standing_s is None else [_num(m.standing_s[0]), _num(m.standing_s[1])],
            "forward_strength": _num(m.forward_strength),
            "mounting_rotation": [[_num(v) for v in row] for row in m.rotation.tolist()],
            "note": (
                "angles relative to the standing posture at the start"
                if m.calibration == "standing"
                else "no standing period found: angles relative to the mean posture while moving"
            ),
        }
    calibration["standing_needed_s"] = STANDING_START_NEEDED_S
    calibration["warning"] = calibration_warning(result)
    return calibration


def build_summary(recording: Recording, result: AnalysisResult, *, n_windows: int = 0) -> dict[str, object]:
    """The summary.json document (plain JSON types; NaN becomes null); `n_windows` rows of asymmetry.csv
    per metric. Its "gaps" block counts every gap decision (`processing.pipeline.gaps`): gaps bridged and
    split, their missing time, and the segments analysed apart."""
    from processing.asymmetry import (
        BASELINE_S,
        HOP_STRIDES,
        WINDOW_STRIDES,
        drift_against_baseline,
        summarize_asymmetry,
    )
    from processing.pipeline import PipelineParams
    from processing.steps import METRIC_UNITS

    steps = list(result.steps)
    running = [s for s in steps if s.is_running]
    basis = running or steps
    calibration = calibration_summary(result)
    if not result.has_gyroscope:
        calibration["angles"] = "accelerometer-only input: pelvic angles left empty"
    asym = {a.metric: a for a in summarize_asymmetry(basis)}
    drift = drift_against_baseline(steps)
    last_drift = {d.metric: d for d in drift}  # the last window of each metric wins
    metrics: dict[str, object] = {}
    for name, unit in METRIC_UNITS.items():
        entry: dict[str, object] = {"unit": unit, "mean": _num(_mean(basis, name))}
        if name in asym:
            a = asym[name]
            entry.update(
                left_mean=_num(a.left_mean),
                right_mean=_num(a.right_mean),
                n_left=a.n_left,
                n_right=a.n_right,
                si_pct=_num(a.si_pct),
                right_minus_left=_num(a.right_minus_left),
                worse_side=a.worse_side,
            )
        if name in last_drift:
            d = last_drift[name]
            entry["drift"] = {
                "baseline": _num(d.baseline),
                "last_window": _num(d.value),
                "change": _num(d.change),
                "change_pct": _num(d.change_pct),
            }
        metrics[name] = entry
    mean_step = _mean(basis, "step_time_s")
    gaps = result.gaps
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "input": recording.path.name,
        "duplicate_rows_dropped": recording.duplicate_rows_dropped,
        "sampling_rate_hz": _num(recording.sampling_rate_hz),
        "duration_s": _num(float(recording.samples.t_s[-1] - recording.samples.t_s[0])),
        "has_gyroscope": result.has_gyroscope,
        # Link drops: short gaps bridged by interpolation, long ones split the recording into segments
        # analysed apart (same calibration, same time axis; no step spans a split).
        "gaps": {
            "bridged": gaps.bridged,
            "split": gaps.split,
            "total": gaps.total,
            "bridged_s": _num(gaps.bridged_s),
            "split_s": _num(gaps.split_s),
            "total_s": _num(gaps.total_s),
            "samples_interpolated": gaps.samples_interpolated,
            "segments": gaps.split + 1,
            "max_bridge_s": PipelineParams().gaps.max_bridge_s,
        },
        "calibration": calibration,
        "steps": {
            "total": len(steps),
            "left": sum(s.side == "L" for s in steps),
            "right": sum(s.side == "R" for s in steps),
            "running": len(running),
            "walking": len(steps) - len(running),
            "metrics_over": "running steps" if running else "all steps",
        },
        "cadence_spm": _num(60.0 / mean_step) if math.isfinite(mean_step) and mean_step > 0 else None,
        "metrics": metrics,
        # When asymmetry emerged: every metric over rolling windows, with its drift, in asymmetry.csv.
        "asymmetry_windows": {
            "file": ASYMMETRY_FILE,
            "windows": n_windows,
            "window_strides": WINDOW_STRIDES,
            "hop_strides": HOP_STRIDES,
            "steps_over": "running steps" if running else "all steps",
            "baseline_s": BASELINE_S,
        },
    }


def outcome_notes(summary: dict[str, object]) -> list[str]:
    """What the runner should read besides the step count, one line each: no steps (and why), no running,
    rows dropped from the input, the calibration warning."""
    calibration = cast("dict[str, object]", summary["calibration"])  # as `build_summary` makes them
    steps = cast("dict[str, object]", summary["steps"])
    notes: list[str] = []
    if steps["total"] == 0:
        why = (
            calibration["note"]
            if calibration["kind"] == "none"
            else "the recording holds no walking or running that the detector recognised"
        )
        notes.append(f"no steps found: {why}; steps.csv is empty (record some walking or running)")
    elif steps["running"] == 0:
        notes.append("no running found: the metrics are over walking steps")
    dropped = summary.get("duplicate_rows_dropped", 0)
    if dropped:
        notes.append(f"note: {dropped} rows that repeated the row before exactly were left out")
    if calibration.get("warning"):
        notes.append(f"warning: {calibration['warning']}")
    return notes


def wants_progress(duration_s: float, target: Console) -> bool:
    """A progress bar for recordings of at least `PROGRESS_MIN_S`, and only on an interactive terminal."""
    return duration_s >= PROGRESS_MIN_S and target.is_terminal and not target.is_dumb_terminal


def analyze_to_dir(input_csv: Path, out: Path) -> tuple[int, dict[str, object]]:
    """Read a recording, run the pipeline, write steps.csv, asymmetry.csv, events.json and summary.json into
    `out`.

    Returns the number of steps and the summary document (as written). Shared by `analyze` and `demo`.
    """
    from posture.recording_io import read_recording, write_asymmetry_csv, write_steps_csv
    from processing.asymmetry import ASYMMETRY_METRICS, asymmetry_timeline

    recording = read_recording(input_csv)
    duration_s = float(recording.samples.t_s[-1] - recording.samples.t_s[0])
    result = run_analysis(recording, show_progress=wants_progress(duration_s, console))
    out.mkdir(parents=True, exist_ok=True)
    n = write_steps_csv(out / "steps.csv", result.steps)
    n_rows = write_asymmetry_csv(out / ASYMMETRY_FILE, asymmetry_timeline(result.steps))
    # Form events (processing.events, default rules), times on the recording's axis; a clean run holds only
    # the summary event.
    from processing.events import detect_events

    events = [event.to_json_dict() for event in detect_events(result.steps)]
    (out / "events.json").write_text(json.dumps(events, indent=2) + "\n", encoding="utf-8")
    summary = build_summary(recording, result, n_windows=n_rows // len(ASYMMETRY_METRICS))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    logger.info("analysed %s: %d steps", input_csv, n)
    return n, summary


def analyze_command(
    input_csv: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="INPUT.csv", help="Recording to analyse."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Folder for the results.")],
) -> None:
    """Analyse a recording: steps.csv (one row per step), asymmetry.csv (rolling windows), events.json and
    summary.json in --out."""
    n, summary = analyze_to_dir(input_csv, out)
    calibration = summary["calibration"]
    kind = calibration["kind"]  # type: ignore[index]
    cadence = summary["cadence_spm"]
    console.print(
        f"{n} steps, cadence {cadence if cadence is not None else '-'} steps/min, calibration {kind}: "
        f"results in {out}",
        soft_wrap=True,
    )
    for line in outcome_notes(summary):
        console.print(line, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add `posture analyze` to the CLI."""
    app.command("analyze")(analyze_command)
