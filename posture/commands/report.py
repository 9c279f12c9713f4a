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
) -> None:
    """Write the post-run report: what went well, what to work on, left and right, how your form changed
    over the run, and every alert with its advice. One HTML file that opens offline in any browser."""
    # plotly takes a second to import: only `posture report` pays for it (posture/cli.py imports a command's
    # module for `posture --help` too).
    from posture.report import ReportError
    from posture.report.build import write_report

    try:
        path = write_report(source, out)
    except ReportError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from exc
    typer.echo(f"report written to {path}")


def register(app: typer.Typer) -> None:
    """Add `posture report` to the CLI."""
    app.command("report")(report_command)
