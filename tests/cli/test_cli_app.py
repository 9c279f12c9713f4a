"""The `posture` app: every command is listed, and a command imports only its own module."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from typer.testing import CliRunner

from posture.cli import COMMAND_MODULES, app


def test_help_lists_every_command_in_order() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    commands_panel = result.output.split("Commands")[-1]
    listed = re.findall(r"^\W+([a-z]+)\s{2,}\S", commands_panel, flags=re.MULTILINE)
    assert listed == list(COMMAND_MODULES)


def test_each_module_registers_exactly_the_commands_listed_for_it() -> None:
    # `--help` of each command loads its module, which checks its registrations against COMMAND_MODULES
    for name in COMMAND_MODULES:
        result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_analyze_does_not_import_the_other_command_modules() -> None:
    # a fresh interpreter: this test process may have imported them already
    code = (
        "import json, sys\n"
        "import typer\n"
        "from posture.cli import app\n"
        "group = typer.main.get_command(app)\n"
        "group.get_command(typer.Context(group), 'analyze')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('posture.commands.'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(proc.stdout) == ["posture.commands.analysis"]


def test_unknown_command_is_an_error() -> None:
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code != 0
