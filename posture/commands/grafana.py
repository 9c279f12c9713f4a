"""`posture grafana [--check] [--out DIR]`: regenerate (or check) the Grafana provisioning files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["grafana_command", "register"]


def grafana_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", file_okay=False, help="The provisioning folder (default: dashboards/provisioning)."
        ),
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only check that the files match the code; exit 1 if not.")
    ] = False,
) -> None:
    """Write Grafana's provisioning files (datasource, dashboards, alert rules) generated from the schema."""
    # imported here: the generator loads the Grafana SDK, which `posture scan` should not wait for
    from dashboards.grafana.provisioning import DEFAULT_ROOT, StaleProvisioning, check, write

    root = out or DEFAULT_ROOT
    if check_only:
        try:
            check(root)
        except StaleProvisioning as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"provisioning files under {root} are up to date")
        return
    paths = write(root)
    typer.echo(f"wrote {len(paths)} provisioning files under {root}")


def register(app: typer.Typer) -> None:
    """Add ``posture grafana`` to the CLI."""
    app.command("grafana")(grafana_command)
