"""`posture analyze INPUT.csv --out DIR`: a recording in, steps.csv + events.json + summary.json out.

The work is in `posture.analysis` (shared with the tests and the evaluation tools); this module prints what
the runner should read: the run in plain words, and what to know about the recording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from posture.formats import FORMATS

__all__ = ["analyze_command", "register"]

console = Console(stderr=True)


def _known_format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}")
    return value


def analyze_command(
    input_csv: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="INPUT.csv", help="Recording to analyse."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Folder for the results.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            callback=_known_format,
            help=f"Read INPUT as this format instead of recognising it: {', '.join(FORMATS)} "
            "(docs/formats.md).",
        ),
    ] = None,
) -> None:
    """Analyse a recording: steps.csv (one row per step), asymmetry.csv (rolling windows), events.json and
    summary.json in --out."""
    from posture.analysis import analyze_recording
    from posture.live.summary_words import summary_lines
    from posture.summary import outcome_notes

    summary, events = analyze_recording(input_csv, out, fmt)
    for line in summary_lines(summary, events):
        console.print(line, soft_wrap=True, markup=False)
    console.print(f"calibration {summary.calibration.kind}: results in {out}", soft_wrap=True, markup=False)
    for line in outcome_notes(summary):
        console.print(line, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add `posture analyze` to the CLI."""
    app.command("analyze")(analyze_command)
