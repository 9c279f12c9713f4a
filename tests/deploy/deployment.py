"""Helpers of the deployment tests: deploy/compose.yaml as Docker Compose reads it, with deploy/env.example.

Docker cannot run here, so these helpers do the little of Compose's work the tests need: parse the file,
interpolate it (the forms of the Compose specification's "Interpolation" section: ``${VAR}``,
``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``$VAR`` and ``$$``) with the
values a user gets from ``cp env.example .env``, and map a container path back to the repository folder
mounted there.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
MOSQUITTO_CONF = DEPLOY / "mosquitto" / "config" / "mosquitto.conf"
ACL_FILE = DEPLOY / "mosquitto" / "config" / "acl"

#: Where a variable starts: ``$$`` (a literal dollar), ``${NAME`` with an optional operator, or ``$NAME``.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    """A required variable (``${VAR:?message}``) has no value."""


@dataclass(frozen=True, slots=True)
class VariableUse:
    """One ``${...}`` in the compose file: the variable, whether it has a default, whether it is required."""

    name: str
    has_default: bool
    required: bool


def read_env_file(path: Path) -> dict[str, str]:
    """A ``.env`` file as Compose reads it: ``KEY=VALUE`` lines; blank lines and ``#`` comments skipped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"{path}:{number}: not KEY=VALUE: {raw!r}")
        values[key] = value
    return values


def variable_uses(text: str) -> list[VariableUse]:
    """Every variable the text refers to, nested defaults included (``$$`` is a literal dollar)."""
    uses = []
    for match in _VARIABLE.finditer(text):
        if match["escaped"]:
            continue
        name = match["braced"] or match["plain"]
        op = match["op"] or ""
        uses.append(VariableUse(name, has_default=op.endswith("-"), required=op.endswith("?")))
    return uses


def compose_variable_uses() -> list[VariableUse]:
    """Every variable the compose file's values refer to (comments and keys are not interpolated)."""
    tree = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return [use for text in _strings(tree) for use in variable_uses(text)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    return []


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` (a parsed YAML tree) with every string interpolated as Compose does."""
    if isinstance(value, str):
        return _expand(value, env)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _expand(text: str, env: Mapping[str, str]) -> str:
    out = []
    pos = 0
    while (match := _VARIABLE.search(text, pos)) is not None:
        out.append(text[pos : match.start()])
        pos = match.end()
        if match["escaped"]:
            out.append("$")
        elif match["plain"]:
            out.append(env.get(match["plain"], ""))
        else:
            close = _closing_brace(text, pos)
            out.append(_resolve(match["braced"], match["op"] or "", text[pos:close], env))
            pos = close + 1
    return "".join(out) + text[pos:]


def _closing_brace(text: str, pos: int) -> int:
    """The index of the ``}`` that closes a ``${`` opened before `pos` (nested ``${...}`` skipped)."""
    depth = 0
    for index in range(pos, len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return index
            depth -= 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def _resolve(name: str, op: str, arg: str, env: Mapping[str, str]) -> str:
    """One ``${name op arg}``; `arg` is expanded only when it is used (as Compose does)."""
    value = env.get(name)
    unset_or_empty = not value if op.startswith(":") else value is None
    if op.endswith("-") and unset_or_empty:
        return _expand(arg, env)
    if op.endswith("?") and unset_or_empty:
        raise InterpolationError(f"${{{name}}}: {_expand(arg, env)}")
    if op and not unset_or_empty:
        return value or ""
    if op == "" and arg:
        raise ValueError(f"${{{name}{arg}}}: not a Compose interpolation")
    return value or ""


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file, interpolated with `env` (default: env.example's values, as after `cp`)."""
    tree = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    if not isinstance(tree, dict):
        raise ValueError(f"{COMPOSE_FILE} is not a YAML mapping")
    return dict(interpolate(tree, read_env_file(ENV_EXAMPLE) if env is None else env))


@dataclass(frozen=True, slots=True)
class Mount:
    """A bind mount: a folder or file of the repository (`source`) at `target` in the container."""

    source: Path
    target: PurePosixPath
    read_only: bool


def bind_mounts(service: Mapping[str, Any]) -> list[Mount]:
    """The service's bind mounts (short syntax ``SOURCE:TARGET[:ro]``; named volumes are left out)."""
    mounts = []
    for entry in service.get("volumes", []):
        if not isinstance(entry, str):
            raise TypeError(f"long volume syntax is not used in this compose file: {entry!r}")
        source, target, *mode = entry.split(":")
        if source.startswith((".", "/")):
            mounts.append(Mount((DEPLOY / source).resolve(), PurePosixPath(target), read_only="ro" in mode))
    return mounts


def repo_path(mounts: list[Mount], container_path: str) -> Path | None:
    """The repository path mounted at `container_path`, or None when no bind mount holds that path."""
    path = PurePosixPath(container_path)
    for mount in mounts:
        if path == mount.target or mount.target in path.parents:
            return mount.source / path.relative_to(mount.target)
    return None


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment` (mapping or list form) as strings."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def ingest_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run `posture ingest` (the main one and the club profile's extra ones)."""
    services: dict[str, dict[str, Any]] = compose["services"]
    return {name: service for name, service in services.items() if name.startswith("ingest")}


HEALTHCHECK = DEPLOY / "ingest" / "healthcheck.py"


def load_healthcheck() -> ModuleType:
    """deploy/ingest/healthcheck.py as a module (it is a script the container runs, not a package)."""
    spec = importlib.util.spec_from_file_location("deploy_ingest_healthcheck", HEALTHCHECK)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HEALTHCHECK}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
