"""MqttSettings: a broker URL and its options, checked at start-up with one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.mqtt import MqttError, MqttSettings, MqttSettingsError, backoff_s


def test_urls_give_host_port_and_tls() -> None:
    plain = MqttSettings.from_url("mqtt://broker.example.org")
    assert (plain.host, plain.port, plain.tls) == ("broker.example.org", 1883, False)
    secure = MqttSettings.from_url("mqtts://broker.example.org:9883")
    assert (secure.host, secure.port, secure.tls) == ("broker.example.org", 9883, True)
    assert MqttSettings.from_url("mqtts://broker.example.org").port == 8883
    assert MqttSettings.from_url("mqtt://[::1]:1884/").url == "mqtt://[::1]:1884"
    assert plain.protocol == "5"
    assert MqttSettings.from_url("mqtt://h", protocol="3.1.1").protocol == "3.1.1"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://broker:1883", "scheme must be mqtt or mqtts"),
        ("broker:1883", "scheme"),
        ("mqtt://", "no host"),
        ("mqtt://broker:0", "port"),
        ("mqtt://broker:70000", "(?i)port"),
        ("mqtt://broker:abc", "(?i)port"),
        ("mqtt://ann:pw@broker:1883", "POSTURE_MQTT_USERNAME"),
        ("mqtt://broker:1883/topic", "no path"),
        ("mqtt://broker:1883?x=1", "no path"),
    ],
)
def test_a_bad_url_is_one_clear_line(url: str, says: str) -> None:
    with pytest.raises(MqttSettingsError, match=says) as info:
        MqttSettings.from_url(url)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, MqttError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"keepalive_s": 0}, "keepalive_s"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"max_in_flight": 70000}, "16-bit"),
        ({"connect_timeout_s": 0}, "connect_timeout_s"),
        ({"reconnect_min_s": 5, "reconnect_max_s": 1}, "reconnect"),
        ({"client_id": "has space"}, "client id"),
        ({"password": "pw"}, "POSTURE_MQTT_USERNAME"),
        ({"protocol": "4"}, "protocol"),
    ],
)
def test_a_bad_option_names_itself(options: dict[str, object], says: str) -> None:
    with pytest.raises(MqttSettingsError, match=says):
        MqttSettings.from_url("mqtt://broker", **options)  # type: ignore[arg-type]


def test_tls_files_need_mqtts_and_must_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not checked here")
    with pytest.raises(MqttSettingsError, match="use mqtts://"):
        MqttSettings.from_url("mqtt://broker", ca_file=ca)
    with pytest.raises(MqttSettingsError, match="not a readable file"):
        MqttSettings.from_url("mqtts://broker", ca_file=tmp_path / "missing.crt")
    with pytest.raises(MqttSettingsError, match="both cert_file and key_file"):
        MqttSettings.from_url("mqtts://broker", cert_file=ca)
    assert MqttSettings.from_url("mqtts://broker", ca_file=ca).ca_file == ca


def test_the_password_never_shows() -> None:
    settings = MqttSettings.from_url("mqtt://broker", username="ann", password="s3cret")
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in settings.url


def test_backoff_doubles_up_to_its_cap() -> None:
    waits = [backoff_s(n, initial_s=0.5, max_s=10.0, uniform=lambda: 0.0) for n in range(8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert backoff_s(10_000, initial_s=0.5, max_s=10.0, uniform=lambda: 0.0) == 10.0
    assert backoff_s(3, initial_s=0.5, max_s=10.0, jitter=0.2, uniform=lambda: 1.0) == pytest.approx(3.2)
    with pytest.raises(ValueError, match="attempt"):
        backoff_s(-1, initial_s=0.5, max_s=10.0)
