"""The `posture` command line: global options, then one command module per area (posture.commands.*).

Errors a user can act on are the root exceptions of the packages (posture.errors; each message says what
to do); `main()` prints them in one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace

import typer
from rich.console import Console

from posture.settings import Settings, SettingsError, load_settings

console = Console(stderr=True)

app = typer.Typer(
    name="posture",
    help="Running-posture monitor: pair a clip-on lower-back IMU, stream it, and measure pelvic tilt, drop "
    "and "
    "rotation step by step.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass(frozen=True, slots=True)
class AppContext:
    """What every command receives through `typer.Context.obj`."""

    settings: Settings
    verbose: bool


@app.callback()
def _global_options(
    ctx: typer.Context,
    adapter: str = typer.Option(
        None,
        "--adapter",
        help="BLE adapter: 'auto' (the operating system's Bluetooth), 'sim' (the simulated sensor on a "
        "virtual "
        "link) or a Bumble transport such as 'usb:0' or 'tcp-client:127.0.0.1:9000'.",
        envvar="POSTURE_ADAPTER",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the link and pipeline do."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = load_settings()
    if adapter:
        settings = replace(settings, adapter=adapter)
    ctx.obj = AppContext(settings=settings, verbose=verbose)


def _register_commands() -> None:
    # One module per area, each owning its commands: link (scan, pair, record, doctor, demo), sim (the
    # simulated
    # sensor as its own process), analysis (analyze), evaluation (evaluate).
    from posture.commands import analysis, evaluation, link, sim

    for module in (link, sim, analysis, evaluation):
        module.register(app)


_register_commands()


def main() -> None:
    """Entry point of the `posture` script: run the app, turning user-facing errors into one clear line."""
    from posture.errors import USER_FACING_ERRORS

    try:
        app()
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    except USER_FACING_ERRORS as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
