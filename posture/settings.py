"""One frozen settings object, built once at start-up from a TOML file and `POSTURE_*` environment variables.

Precedence (later wins): built-in defaults, the config file, the environment, then command-line options.
Algorithms never read these; the CLI passes the values they need as arguments.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

APP_NAME = "posture"
ENV_PREFIX = "POSTURE_"


class SettingsError(ValueError):
    """The config file or an environment variable is invalid; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the application keeps its files and which sensor adapter it uses by default."""

    config_dir: Path
    data_dir: Path
    adapter: str = "auto"
    athlete: str = "runner"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def bonds_file(self) -> Path:
        """Paired sensors, remembered across processes (see sensorlink.bonds)."""
        return self.config_dir / "bonds.json"

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"


def _default_settings(env: Mapping[str, str]) -> Settings:
    config_dir = Path(env.get(f"{ENV_PREFIX}CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))
    data_dir = Path(env.get(f"{ENV_PREFIX}DATA_DIR") or platformdirs.user_data_dir(APP_NAME))
    return Settings(config_dir=config_dir, data_dir=data_dir)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from defaults, `config.toml` in the config directory, and `POSTURE_*` variables."""
    env = os.environ if env is None else env
    settings = _default_settings(env)
    names = {f.name for f in fields(Settings)} - {"config_dir"}
    overrides: dict[str, object] = {}
    if settings.config_file.is_file():
        try:
            from_file = tomllib.loads(settings.config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read {settings.config_file}: {exc}; fix or delete the file") from exc
        unknown = set(from_file) - names
        if unknown:
            raise SettingsError(
                f"unknown keys {sorted(unknown)} in {settings.config_file}; known: {sorted(names)}"
            )
        overrides.update(from_file)
    for name in names:
        from_env = env.get(ENV_PREFIX + name.upper())
        if from_env:
            overrides[name] = from_env
    for key, setting in overrides.items():
        if not isinstance(setting, str):
            raise SettingsError(f"setting {key!r} must be a string, got {setting!r}")
    if "data_dir" in overrides:
        overrides["data_dir"] = Path(str(overrides["data_dir"]))
    return replace(settings, **overrides)  # type: ignore[arg-type]
