"""Settings: typed values from the config file and the environment; one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.settings import Settings, SettingsError, check_id, load_settings, secrets_from_env


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    dirs = {"POSTURE_CONFIG_DIR": str(tmp_path / "config"), "POSTURE_DATA_DIR": str(tmp_path / "data")}
    return {**dirs, **extra}


def _config(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(text, encoding="utf-8")


def test_defaults_leave_the_run_local(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))
    assert settings.mqtt_url is None
    assert settings.mqtt_protocol == "5"
    assert settings.data_dir == tmp_path / "data"
    assert settings.history_file.parent == settings.data_dir
    assert dict(settings.thresholds) == {}


def test_a_number_is_parsed_into_its_type(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, POSTURE_MQTT_KEEPALIVE_S="15", POSTURE_MQTT_MAX_IN_FLIGHT="20"))
    assert settings.mqtt_keepalive_s == 15
    assert settings.mqtt_max_in_flight == 20


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    _config(tmp_path, 'mqtt_url = "mqtt://file:1883"\nmqtt_keepalive_s = 40\n')
    settings = load_settings(_env(tmp_path, POSTURE_MQTT_URL="mqtt://env:1884"))
    assert settings.mqtt_url == "mqtt://env:1884"
    assert settings.mqtt_keepalive_s == 40


def test_thresholds_per_runner_come_from_the_file(tmp_path: Path) -> None:
    _config(tmp_path, "[thresholds]\npelvic_drop_high = 9\n")
    assert dict(load_settings(_env(tmp_path)).thresholds) == {"pelvic_drop_high": 9.0}


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("POSTURE_MQTT_KEEPALIVE_S", "soon", "whole number"),
        ("POSTURE_MQTT_MAX_IN_FLIGHT", "0", "greater than 0"),
        ("POSTURE_MQTT_URL", "http://broker:1883", "mqtt://host:1883"),
        ("POSTURE_MQTT_PROTOCOL", "4", "'5' or '3.1.1'"),
        ("POSTURE_ATHLETE", "a/b", "letters, digits"),
        ("POSTURE_INFLUX_URL", "localhost:8086", "http://host:8086"),
    ],
)
def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, variable: str, value: str, words: str
) -> None:
    with pytest.raises(SettingsError, match=rf"\${variable}") as caught:
        load_settings(_env(tmp_path, **{variable: value}))
    assert words in str(caught.value)


def test_a_bad_file_value_names_the_file(tmp_path: Path) -> None:
    _config(tmp_path, 'mqtt_keepalive_s = "thirty"\n')
    with pytest.raises(SettingsError, match=r"config\.toml must be a whole number"):
        load_settings(_env(tmp_path))


def test_a_threshold_must_be_a_number(tmp_path: Path) -> None:
    _config(tmp_path, '[thresholds]\npelvic_drop_high = "high"\n')
    with pytest.raises(SettingsError, match="pelvic_drop_high"):
        load_settings(_env(tmp_path))


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    _config(tmp_path, 'mqtt_pasword = "x"\n')
    with pytest.raises(SettingsError, match="unknown keys"):
        load_settings(_env(tmp_path))


def test_secrets_come_only_from_the_environment(tmp_path: Path) -> None:
    _config(tmp_path, "")
    secrets = secrets_from_env({"POSTURE_MQTT_USERNAME": "u", "POSTURE_MQTT_PASSWORD": "p"})
    assert (secrets.mqtt_username, secrets.mqtt_password, secrets.influx_token) == ("u", "p", None)
    assert "p" not in repr(secrets).replace("mqtt_username='u'", "")
    assert not hasattr(Settings, "mqtt_password")


def test_ids_are_checked() -> None:
    assert check_id("session", "2026-12-07_run-1") == "2026-12-07_run-1"
    with pytest.raises(SettingsError, match="session id"):
        check_id("session", "my run")
