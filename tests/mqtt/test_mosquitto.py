"""posture.localstack.mosquitto: a real broker that tests and the demo can stop, kill and start again."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from posture.localstack.mosquitto import Mosquitto, MosquittoError, make_certificates, mosquitto_available


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_the_broker_is_installed() -> None:
    # Never skipped: .ci/run installs Debian's mosquitto; without it these tests must fail, not vanish.
    assert mosquitto_available()


def test_stop_kill_and_start_keep_the_same_port(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        port = broker.port
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert accepts(port)
        broker.stop()
        assert not broker.running
        assert not accepts(port)
        broker.start()
        assert accepts(port)
        broker.kill()
        assert not broker.running
        broker.restart()
        assert broker.port == port
        assert accepts(port)
    assert not accepts(port)


def test_a_temporary_folder_is_removed_on_exit() -> None:
    with Mosquitto() as broker:
        folder = broker.folder
        assert (folder / "mosquitto.conf").is_file()
    assert not folder.exists()


def test_password_acl_and_tls_files_are_in_the_config(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path / "pki")
    with Mosquitto(
        tmp_path / "broker", users={"ann": "correct-horse"}, acl="user ann\ntopic write x/#\n", tls=tls
    ) as broker:
        config = broker.config_file.read_text()
        assert "allow_anonymous false" in config
        assert "acl_file" in config
        assert "correct-horse" not in (broker.folder / "passwords").read_text()  # stored as a hash
        assert broker.tls_url.startswith("mqtts://localhost:")
        assert broker.tls_port is not None
        assert accepts(broker.tls_port)


def test_a_broker_that_cannot_start_says_why(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker", acl="this is not an acl line\n")
    with pytest.raises(MosquittoError, match="exited"):
        broker.start(timeout_s=5)
    broker.close()


def test_no_tls_listener_means_no_tls_url(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker, pytest.raises(MosquittoError, match="no TLS listener"):
        _ = broker.tls_url
