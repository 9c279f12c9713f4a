"""One frozen settings object, built once at start-up from a TOML file and `POSTURE_*` environment variables.

Precedence (later wins): built-in defaults, the config file, the environment, then command-line options.
Every value is parsed into its type here (a port is an integer, a file is a `Path`), so a bad value fails at
start-up with one line that names the setting, where it came from and what it must be. Algorithms never read
these; the CLI passes the values they need as arguments.

Secrets are never settings: the MQTT password and the InfluxDB token come from the environment only
(`POSTURE_MQTT_USERNAME`, `POSTURE_MQTT_PASSWORD`, `POSTURE_INFLUX_TOKEN`, read by `secrets_from_env`), and
the project never writes them anywhere.

Config file (``config.toml`` in the config directory), every key optional::

    adapter = "sim"
    athlete = "alex"
    mqtt_url = "mqtts://broker.example.org:8883"
    mqtt_ca_file = "/etc/posture/ca.pem"
    influx_url = "http://localhost:8086"

    [thresholds]              # per-runner event thresholds, by rule id (see `posture rules`)
    pelvic_drop_high = 9.0
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal, cast

import platformdirs

APP_NAME = "posture"
ENV_PREFIX = "POSTURE_"

MqttProtocol = Literal["5", "3.1.1"]
#: An athlete or session id: it is part of MQTT topics and file names.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class SettingsError(ValueError):
    """The config file or an environment variable is invalid; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """Credentials from the environment only (never from a file of ours, never written)."""

    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)
    influx_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the application keeps its files, which sensor it uses, and where a run publishes.

    Attributes
    ----------
    config_dir, data_dir : Path
    adapter : str
        Default BLE adapter (`posture --adapter`).
    athlete : str
        Default athlete id for `posture run` (MQTT topics, the run history).
    mqtt_url : str or None
        Broker for `posture run` (`mqtt://host:port` or `mqtts://host:port`); None: the run stays local.
    mqtt_protocol : "5" or "3.1.1"
    mqtt_client_id : str or None
        Default: derived from athlete and session.
    mqtt_ca_file, mqtt_cert_file, mqtt_key_file : Path or None
        TLS: the CA that signs the broker's certificate, and a client certificate and key if the broker
        wants one.
    mqtt_keepalive_s : int, s
    mqtt_max_in_flight : int
        QoS 1 messages awaiting PUBACK at once (paho's message ids cap this at 65535).
    outbox_max_messages : int
        The durable outbox's bound while the broker is away (a 3-hour run has about 30,000 steps).
    influx_url, influx_org, influx_bucket : str or None
        Defaults for `posture ingest`.
    thresholds : mapping of rule id to float
        Per-runner overrides of the form-event thresholds.
    """

    config_dir: Path
    data_dir: Path
    adapter: str = "auto"
    athlete: str = "runner"
    mqtt_url: str | None = None
    mqtt_protocol: MqttProtocol = "5"
    mqtt_client_id: str | None = None
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_keepalive_s: int = 30
    mqtt_max_in_flight: int = 1000
    outbox_max_messages: int = 200_000
    influx_url: str | None = None
    influx_org: str | None = None
    influx_bucket: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

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

    @property
    def history_file(self) -> Path:
        """The local run history (SQLite): one row per run, for the training load and the report."""
        return self.data_dir / "history.sqlite"

    @property
    def outbox_file(self) -> Path:
        """Messages not yet acknowledged by the broker, kept across runs (SQLite)."""
        return self.data_dir / "outbox.sqlite"


# --- parsing ------------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _adapter(value: object) -> str:
    """An adapter spec; ``sim:KIND`` must name a kind with a simulated device (the message lists them)."""
    from sensorlink.errors import InvalidConfiguration
    from sensorlink.simsensor.kinds import simulated_kind

    text = _text(value)
    try:
        simulated_kind(text)
    except InvalidConfiguration as exc:
        raise ValueError(str(exc)) from None
    return text


def check_adapter(adapter: str) -> str:
    """The `--adapter` value, or `SettingsError` in one line (an unknown ``sim:KIND`` lists the kinds)."""
    try:
        return _adapter(adapter)
    except ValueError as exc:
        raise SettingsError(f"--adapter {adapter}: {exc}") from None


def _optional_text(value: object) -> str | None:
    text = _text(value).strip()
    return text or None


def _athlete(value: object) -> str:
    text = _text(value)
    if not ID_PATTERN.fullmatch(text):
        raise ValueError("must be 1 to 64 letters, digits, '_' or '-'")
    return text


def _path(value: object) -> Path:
    return Path(_text(value)).expanduser()


def _optional_path(value: object) -> Path | None:
    text = _optional_text(value)
    return None if text is None else Path(text).expanduser()


def _positive_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if not isinstance(value, int) or value <= 0:
        raise ValueError("must be a whole number greater than 0")
    return value


def _mqtt_protocol(value: object) -> MqttProtocol:
    text = _text(value).strip()
    if text not in ("5", "3.1.1"):
        raise ValueError("must be '5' or '3.1.1'")
    return cast("MqttProtocol", text)


def _mqtt_url(value: object) -> str | None:
    text = _optional_text(value)
    if text is not None and not re.fullmatch(r"mqtts?://[^/:\s]+(:\d{1,5})?/?", text):
        raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
    return text


def _http_url(value: object) -> str | None:
    text = _optional_text(value)
    if text is not None and not re.fullmatch(r"https?://\S+", text):
        raise ValueError("must look like http://host:8086 or https://host")
    return text


def _thresholds(value: object) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError("must be a table of rule id = number")
    parsed: dict[str, float] = {}
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ValueError(f"{key!r} must be a finite number, got {number!r}")
        parsed[str(key)] = float(number)
    return MappingProxyType(parsed)


#: How each setting is parsed from a config value or an environment string.
_PARSERS: dict[str, Callable[[object], object]] = {
    "data_dir": _path,
    "adapter": _adapter,
    "athlete": _athlete,
    "mqtt_url": _mqtt_url,
    "mqtt_protocol": _mqtt_protocol,
    "mqtt_client_id": _optional_text,
    "mqtt_ca_file": _optional_path,
    "mqtt_cert_file": _optional_path,
    "mqtt_key_file": _optional_path,
    "mqtt_keepalive_s": _positive_int,
    "mqtt_max_in_flight": _positive_int,
    "outbox_max_messages": _positive_int,
    "influx_url": _http_url,
    "influx_org": _optional_text,
    "influx_bucket": _optional_text,
    "thresholds": _thresholds,
}
#: Settings that only the config file can hold (a table has no environment form).
_FILE_ONLY = frozenset({"thresholds"})


def _parse(name: str, value: object, origin: str) -> object:
    try:
        return _PARSERS[name](value)
    except ValueError as exc:
        raise SettingsError(f"setting {name!r} from {origin} {exc}: got {value!r}") from None


def _default_settings(env: Mapping[str, str]) -> Settings:
    config_dir = Path(env.get(f"{ENV_PREFIX}CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))
    data_dir = Path(env.get(f"{ENV_PREFIX}DATA_DIR") or platformdirs.user_data_dir(APP_NAME))
    return Settings(config_dir=config_dir, data_dir=data_dir)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from defaults, `config.toml` in the config directory, and `POSTURE_*` variables.

    Raises
    ------
    SettingsError
        An unreadable config file, an unknown key, or a value of the wrong kind (the message names it).
    """
    env = os.environ if env is None else env
    settings = _default_settings(env)
    if set(_PARSERS) != {f.name for f in fields(Settings)} - {"config_dir"}:  # pragma: no cover
        raise RuntimeError("every setting needs a parser in posture.settings._PARSERS")
    overrides: dict[str, object] = {}
    if settings.config_file.is_file():
        try:
            from_file = tomllib.loads(settings.config_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read {settings.config_file}: {exc}; fix or delete the file") from exc
        unknown = set(from_file) - set(_PARSERS)
        if unknown:
            raise SettingsError(
                f"unknown keys {sorted(unknown)} in {settings.config_file}; known: {sorted(_PARSERS)}"
            )
        for name, value in from_file.items():
            overrides[name] = _parse(name, value, str(settings.config_file))
    for name in _PARSERS.keys() - _FILE_ONLY:
        variable = ENV_PREFIX + name.upper()
        from_env = env.get(variable)
        if from_env:
            overrides[name] = _parse(name, from_env, f"${variable}")
    return replace(settings, **overrides)  # type: ignore[arg-type]


def secrets_from_env(env: Mapping[str, str] | None = None) -> Secrets:
    """The MQTT credentials and the InfluxDB token, from the environment only."""
    env = os.environ if env is None else env
    return Secrets(
        mqtt_username=env.get(f"{ENV_PREFIX}MQTT_USERNAME") or None,
        mqtt_password=env.get(f"{ENV_PREFIX}MQTT_PASSWORD") or None,
        influx_token=env.get(f"{ENV_PREFIX}INFLUX_TOKEN") or None,
    )


def check_id(kind: str, value: str) -> str:
    """An athlete or session id as topics and file names need it; `SettingsError` otherwise."""
    if not ID_PATTERN.fullmatch(value):
        raise SettingsError(f"{kind} id {value!r} must be 1 to 64 letters, digits, '_' or '-'")
    return value
