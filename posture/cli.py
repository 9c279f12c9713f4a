"""The `posture` command line: global options, then one command module per area (posture.commands.*).

Errors a user can act on are the root exceptions of the packages (posture.errors; each message says what
to do); `main()` prints them in one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from posture.settings import Settings, SettingsError, check_adapter, load_settings
from sensorlink.simsensor.kinds import simulated_kind_names

if TYPE_CHECKING:  # typer vendors click as typer._click: its groups take and return these types
    from typer._click.core import Command, Context

console = Console(stderr=True)

#: Which module (posture.commands.*) registers each command, in the order `posture --help` lists them: one
#: module per area, each owning its commands: link (scan, pair, record, doctor), live (run, replay), demo,
#: sim (the simulated sensor as its own process), analysis (analyze), report (report), ingest (ingest),
#: grafana (regenerate the provisioning), evaluation (evaluate). A command's module is imported when
#: the command runs (or help lists it): `posture analyze` does not pay for bumble, the simulator or the
#: evaluation's scipy.spatial (about 1.2 s of start-up, more than the analysis of an hour of data).
COMMAND_MODULES: dict[str, str] = {
    "scan": "link",
    "pair": "link",
    "run": "live",
    "record": "link",
    "replay": "live",
    "doctor": "link",
    "demo": "demo",
    "sim": "sim",
    "analyze": "analysis",
    "report": "report",
    "ingest": "ingest",
    "grafana": "grafana",
    "evaluate": "evaluation",
}


class _LazyCommands(TyperGroup):
    """The app's command group, importing a command's module only when that command is asked for."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMAND_MODULES, *(n for n in super().list_commands(ctx) if n not in COMMAND_MODULES)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self._load(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)

    def _load(self, module_name: str) -> None:
        """Register the commands of `posture.commands.<module_name>` (through the module's `register`)."""
        module = importlib.import_module(f"posture.commands.{module_name}")
        commands = typer.Typer()
        module.register(commands)
        group = typer.main.get_group(commands)
        expected = {name for name, owner in COMMAND_MODULES.items() if owner == module_name}
        if set(group.commands) != expected:  # pragma: no cover - a programming error, caught by the tests
            raise RuntimeError(
                f"posture.commands.{module_name} registers {sorted(group.commands)}, but COMMAND_MODULES "
                f"lists {sorted(expected)} for it: update COMMAND_MODULES in posture/cli.py"
            )
        for name, command in group.commands.items():
            self.add_command(command, name)


app = typer.Typer(
    cls=_LazyCommands,
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
        help="BLE adapter: 'auto' (the operating system's Bluetooth), 'sim:KIND' (a simulated sensor on a "
        f"virtual link; KIND: {', '.join(simulated_kind_names())}; 'sim' is sim:posture) or a Bumble "
        "transport such as 'usb:0' or 'tcp-client:127.0.0.1:9000'.",
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
        settings = replace(settings, adapter=check_adapter(adapter))
    ctx.obj = AppContext(settings=settings, verbose=verbose)


def main() -> None:
    """Entry point of the `posture` script: run the app, turning user-facing errors into one clear line."""
    from posture.errors import user_facing_errors

    try:
        app()
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True, markup=True, highlight=False)
        sys.exit(2)
    except Exception as exc:
        if not isinstance(exc, user_facing_errors()):
            raise
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        sys.exit(1)
