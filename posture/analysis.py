"""A recording through the processing into a run folder: what `posture analyze` does, for every caller.

Shared by `posture analyze`, the tests and the evaluation tools (nothing imports from `posture.commands`). The
files are the offline analysis contract (docs/design.md): steps.csv, asymmetry.csv, events.json and
summary.json (`posture.summary`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

# The processing core (scipy) is imported inside the functions that run it: `posture --help` and `posture
# scan` should not wait a second or two for scipy.signal.
if TYPE_CHECKING:
    from posture.recording_io import Recording
    from posture.summary import InputChecks, RunSummary
    from processing.events import FormEvent, Rule
    from processing.pipeline import AnalysisResult
    from processing.samples import ImuSamples

__all__ = [
    "BLOCK_S",
    "PROGRESS_MIN_S",
    "analyze_recording",
    "analyze_to_dir",
    "commit_run_folder",
    "run_analysis",
    "wants_progress",
    "write_results",
]

logger = logging.getLogger(__name__)
console = Console(stderr=True)

#: Blocks fed to the pipeline (the progress bar advances per block), s.
BLOCK_S = 30.0
#: Recordings at least this long show a progress bar on a terminal, s (never in a pipe or a log file: rich
#: would leave a blank line or, in a CI log, a bar per refresh).
PROGRESS_MIN_S = 120.0


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


def wants_progress(duration_s: float, target: Console) -> bool:
    """A progress bar for recordings of at least `PROGRESS_MIN_S`, and only on an interactive terminal."""
    return duration_s >= PROGRESS_MIN_S and target.is_terminal and not target.is_dumb_terminal


def write_results(
    out: Path,
    result: AnalysisResult,
    events: Sequence[FormEvent],
    *,
    input_name: str,
    duration_s: float,
    duplicate_rows_dropped: int = 0,
    input_checks: InputChecks | None = None,
) -> RunSummary:
    """Write steps.csv, asymmetry.csv, events.json and summary.json of a run into `out`; returns the summary.

    One writer for every run folder: a recording (`posture analyze`, through `commit_run_folder`), a live
    run and a replay.
    """
    from posture.recording_io import write_asymmetry_csv, write_steps_csv
    from posture.summary import ASYMMETRY_FILE, summarize_run
    from processing.asymmetry import ASYMMETRY_METRICS, asymmetry_timeline

    out.mkdir(parents=True, exist_ok=True)
    write_steps_csv(out / "steps.csv", result.steps)
    n_rows = write_asymmetry_csv(out / ASYMMETRY_FILE, asymmetry_timeline(result.steps))
    documents = [event.to_json_dict() for event in events]
    (out / "events.json").write_text(json.dumps(documents, indent=2) + "\n", encoding="utf-8")
    summary = summarize_run(
        result,
        input_name=input_name,
        sampling_rate_hz=result.sampling_rate_hz,
        duration_s=duration_s,
        duplicate_rows_dropped=duplicate_rows_dropped,
        asymmetry_windows=n_rows // len(ASYMMETRY_METRICS),
        input_checks=input_checks,
    )
    (out / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
    return summary


def unsided_rules() -> tuple[Rule, ...]:
    """The default event rules without those that name a side (asymmetry, per-side levels): for a recording
    whose sides cannot be told (`AnalysisResult.sides_observable`), where they would name a foot at random."""
    from processing.advice import load_catalog
    from processing.events import load_rules

    return tuple(r for r in load_rules(load_catalog()) if not r.is_sided)


def analyze_recording(
    input_csv: Path, out: Path, fmt: str | None = None
) -> tuple[RunSummary, tuple[FormEvent, ...]]:
    """Read a recording, run the pipeline and the form events (the default rules; times on the recording's
    axis; a clean run holds only the summary event), write the run folder into `out`.

    All or nothing: a recording that cannot be analysed (`InvalidSamplesError`, also for one without any
    step: there is nothing to report) leaves `out` as it was, and the files are written into a temporary
    folder beside it and moved into place only once all four are complete (`commit_run_folder`).
    """
    from posture.recording_io import read_recording
    from posture.summary import InputChecks, no_steps_reason
    from processing.errors import InvalidSamplesError
    from processing.events import detect_events

    recording = read_recording(input_csv, fmt)
    duration_s = float(recording.samples.t_s[-1] - recording.samples.t_s[0])
    result = run_analysis(recording, show_progress=wants_progress(duration_s, console))
    if not result.steps:
        raise InvalidSamplesError(
            f"{recording.path.name}: no steps found: {no_steps_reason(result)}; nothing was written (record "
            "some walking or running)",
            reason="no_steps",
        )
    events = detect_events(result.steps, None if result.sides_observable else unsided_rules())
    checks = InputChecks(
        source_format=recording.source_format,
        truncated_rows_dropped=recording.truncated_rows_dropped,
        impossible_samples_dropped=recording.impossible_samples_dropped,
        timebase=recording.timebase,
    )
    with commit_run_folder(out) as staging:
        summary = write_results(
            staging,
            result,
            events,
            input_name=recording.path.name,
            duration_s=duration_s,
            duplicate_rows_dropped=recording.duplicate_rows_dropped,
            input_checks=checks,
        )
    logger.info("analysed %s: %d steps", input_csv, summary.steps.total)
    return summary, tuple(events)


@contextmanager
def commit_run_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` to write a run into; on success its files replace those of the same
    name in `out` (created if need be), on an error `out` is left untouched. Each file is moved with
    `os.replace` (atomic on one file system), so a reader never sees a half-written file; files of `out`
    that the run does not write (a report, the runner's notes) stay."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield staging
        out.mkdir(exist_ok=True)
        for item in sorted(staging.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def analyze_to_dir(input_csv: Path, out: Path) -> tuple[int, dict[str, object]]:
    """`analyze_recording`, returning the number of steps and the summary.json document as written (for tools
    and tests that read the files' contract)."""
    summary, _ = analyze_recording(input_csv, out)
    return summary.steps.total, summary.to_json()
