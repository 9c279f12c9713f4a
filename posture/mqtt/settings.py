"""`MqttSettings`: where the broker is and how to talk to it, validated once at start-up.

Credentials are arguments here: the caller reads them from `POSTURE_MQTT_USERNAME` / `POSTURE_MQTT_PASSWORD`
and passes them in; nothing in this package writes them anywhere (the password is left out of `repr`).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from posture.mqtt.errors import MqttSettingsError

__all__ = ["DEFAULT_PORTS", "MqttProtocol", "MqttSettings"]

MqttProtocol = Literal["5", "3.1.1"]
#: The IANA ports of MQTT and MQTT over TLS, used when the URL gives none.
DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
# What any broker must accept as a client id is 1-23 of these; Mosquitto takes longer ones, so we allow 128.
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How the publisher reaches the broker.

    Attributes
    ----------
    host : str
    port : int
    tls : bool
        True for `mqtts://`: TLS, verifying the broker's certificate against `ca_file` (or the system's CAs).
    protocol : "5" or "3.1.1"
        MQTT v5 by default: only v5 reports an ACL denial (PUBACK reason code 135); 3.1.1 brokers drop the
        message silently.
    client_id : str or None
        None: the publisher derives one from athlete and session.
    username, password : str or None
        From the environment, passed in by the caller; never logged (`repr` hides the password).
    ca_file, cert_file, key_file : Path or None
        TLS only: the CA that signs the broker's certificate, and a client certificate with its key.
    keepalive_s : int, s
        MQTT keepalive; a dead connection is noticed within about 1.5 times this.
    max_in_flight : int
        QoS 1 messages sent and not yet acknowledged, at most (backpressure; paho's message ids are 16-bit).
        The broker's own Receive Maximum lowers it further.
    connect_timeout_s : float, s
        For the TCP connection, the TLS handshake and the CONNACK.
    reconnect_min_s, reconnect_max_s : float, s
        First and largest wait between connection attempts (see `posture.mqtt.backoff`).
    """

    host: str
    port: int
    tls: bool = False
    protocol: MqttProtocol = "5"
    client_id: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    max_in_flight: int = 1000
    connect_timeout_s: float = 5.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise MqttSettingsError(f"MQTT host {self.host!r} is empty or has spaces; give mqtt://host:port")
        _require(isinstance(self.port, int) and 1 <= self.port <= 65535, "port", self.port, "1 to 65535")
        _require(self.protocol in ("5", "3.1.1"), "protocol", self.protocol, '"5" or "3.1.1"')
        if self.client_id is not None and not _CLIENT_ID.fullmatch(self.client_id):
            raise MqttSettingsError(
                f"MQTT client id {self.client_id!r} must be 1 to 128 of A-Z, a-z, 0-9, '_', '.', ':', '-'"
            )
        if self.password is not None and self.username is None:
            raise MqttSettingsError("an MQTT password without a user name; set POSTURE_MQTT_USERNAME too")
        _require(
            isinstance(self.keepalive_s, int) and 5 <= self.keepalive_s <= 65535,
            "keepalive_s",
            self.keepalive_s,
            "5 to 65535 s",
        )
        _require(
            isinstance(self.max_in_flight, int) and 1 <= self.max_in_flight <= 60000,
            "max_in_flight",
            self.max_in_flight,
            "1 to 60000 (paho's message ids are 16-bit)",
        )
        _require(
            0 < self.connect_timeout_s <= 120, "connect_timeout_s", self.connect_timeout_s, "in (0, 120] s"
        )
        _require(
            0 < self.reconnect_min_s <= self.reconnect_max_s <= 3600,
            "reconnect_min_s/reconnect_max_s",
            (self.reconnect_min_s, self.reconnect_max_s),
            "0 < min <= max <= 3600 s",
        )
        tls_files = {"ca_file": self.ca_file, "cert_file": self.cert_file, "key_file": self.key_file}
        given = {name: path for name, path in tls_files.items() if path is not None}
        if given and not self.tls:
            raise MqttSettingsError(
                f"TLS files ({', '.join(given)}) are set but the broker URL is mqtt://; use mqtts://"
            )
        for name, path in given.items():
            if not Path(path).is_file():
                raise MqttSettingsError(f"MQTT {name} {str(path)!r} is not a readable file; fix the path")
        if (self.cert_file is None) != (self.key_file is None):
            raise MqttSettingsError("a TLS client certificate needs both cert_file and key_file")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        protocol: MqttProtocol = "5",
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        keepalive_s: int = 30,
        max_in_flight: int = 1000,
        connect_timeout_s: float = 5.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> MqttSettings:
        """Parse `mqtt://host[:port]` or `mqtts://host[:port]` (default ports 1883 and 8883).

        Raises
        ------
        MqttSettingsError
            For another scheme, a missing host, a bad port, credentials, a path or a query in the URL.
        """
        hint = "give mqtt://host:1883 or mqtts://host:8883"
        try:
            parts = urllib.parse.urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise MqttSettingsError(f"bad MQTT URL {url!r} ({exc}); {hint}") from None
        if parts.scheme not in DEFAULT_PORTS:
            raise MqttSettingsError(f"bad MQTT URL {url!r}: the scheme must be mqtt or mqtts; {hint}")
        if parts.username is not None or parts.password is not None:
            raise MqttSettingsError(
                "the MQTT URL must not hold credentials; set POSTURE_MQTT_USERNAME and POSTURE_MQTT_PASSWORD"
            )
        if not parts.hostname:
            raise MqttSettingsError(f"bad MQTT URL {url!r}: no host; {hint}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise MqttSettingsError(f"bad MQTT URL {url!r}: no path or query allowed; {hint}")
        return cls(
            host=parts.hostname,
            port=DEFAULT_PORTS[parts.scheme] if port is None else port,
            tls=parts.scheme == "mqtts",
            protocol=protocol,
            client_id=client_id,
            username=username,
            password=password,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            keepalive_s=keepalive_s,
            max_in_flight=max_in_flight,
            connect_timeout_s=connect_timeout_s,
            reconnect_min_s=reconnect_min_s,
            reconnect_max_s=reconnect_max_s,
        )

    @property
    def url(self) -> str:
        """The broker's URL, without credentials (safe to print)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def _require(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise MqttSettingsError(f"MQTT setting {name} = {value!r} is invalid: must be {allowed}")
