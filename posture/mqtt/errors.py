"""The errors of `posture.mqtt`: one root, one subclass per thing a user can fix, each message saying how.

The publisher never raises these from the background (a broker problem never stops a run): it logs the error
as one line, keeps it in `Publisher.last_error` and counts it. Only bad settings raise, at start-up.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BrokerUnreachable",
    "ConnectionRefused",
    "MqttError",
    "MqttSettingsError",
    "PublishDenied",
    "TlsVerificationFailed",
]


class MqttError(Exception):
    """Root of the errors of `posture.mqtt`; the message is one line that says what to do next."""


class MqttSettingsError(MqttError, ValueError):
    """An MQTT setting (URL, TLS file, number) is invalid; raised at start-up, before anything connects."""


class BrokerUnreachable(MqttError, ConnectionError):
    """Nothing answers at the broker's address (refused, timed out, unknown host, network down)."""


class TlsVerificationFailed(MqttError, ConnectionError):
    """The broker's TLS certificate does not verify against the configured CA (or the system's CAs)."""


class AuthenticationFailed(MqttError, PermissionError):
    """The broker refused the user name and password, or this client (CONNACK 134/135, 3.1.1: 4/5).

    Attributes
    ----------
    reason_code : int
        The MQTT v5 CONNACK reason code (3.1.1 codes are mapped to these by paho).
    """

    def __init__(self, message: str, reason_code: int) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class ConnectionRefused(MqttError, ConnectionError):
    """The broker answered CONNECT with another failure (server busy, protocol version, client id, ...)."""

    def __init__(self, message: str, reason_code: int) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class PublishDenied(MqttError, PermissionError):
    """The broker refused a message (MQTT v5 PUBACK with a failure code; 135 is an ACL denial).

    Attributes
    ----------
    topic : str
    reason_code : int
    """

    def __init__(self, message: str, topic: str, reason_code: int) -> None:
        super().__init__(message)
        self.topic = topic
        self.reason_code = reason_code
