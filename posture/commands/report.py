"""`posture report RUN_DIR_OR_SESSION --out FILE.html`: the post-run report, one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["register", "report_command"]

console = Console(stderr=True)


def report_command(
    source: Annotated[
        Path,
        typer.Argument(
            exists=True,
            metavar="RUN_DIR_OR_SESSION",
            help="The folder `posture analyze` or `posture replay` wrote, or a session file.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", dir_okay=False, metavar="FILE.html", help="The HTML file to write."),
    ],
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            dir_okay=False,
            metavar="PATH",
            help="Run history to compare with (default: yours, when there is one).",
        ),
    ] = None,
    athlete: Annotated[
        str | None,
        typer.Option(
            "--athlete",
            help="Whose recent runs to compare with (default: the session's athlete, else your settings').",
        ),
    ] = None,
) -> None:
    """Write the post-run report: what went well, what to work on, left and right, how your form changed
    over the run, and every alert with its advice. One HTML file that opens offline in any browser."""
    # plotly takes a second to import: only `posture report` pays for it (posture/cli.py imports a command's
    # module for `posture --help` too).
    from posture.report import ReportError
    from posture.report.build import write_report
    from posture.settings import load_settings

    settings = load_settings()
    if history is None and settings.history_file.is_file():
        history = settings.history_file
    try:
        path = write_report(
            source, out, history_file=history, athlete=athlete, default_athlete=settings.athlete
        )
    except ReportError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from exc
    typer.echo(f"report written to {path}: open {path.resolve().as_uri()} in a browser")


def register(app: typer.Typer) -> None:
    """Add `posture report` to the CLI."""
    app.command("report")(report_command)
