"""MQTT publishing of a live run (paho-mqtt 2.x): settings, the background publisher and its durable outbox.

The only package that imports paho for publishing. Topics and payloads come from `posture.messages`.
"""

from posture.mqtt.backoff import backoff_s
from posture.mqtt.errors import (
    AuthenticationFailed,
    BrokerUnreachable,
    ConnectionRefused,
    MqttError,
    MqttSettingsError,
    PublishDenied,
    TlsVerificationFailed,
)
from posture.mqtt.outbox import DEFAULT_MAX_MESSAGES, Outbox, OutboxRow
from posture.mqtt.publisher import ClientFactory, Publisher, PublisherCounters, paho_client
from posture.mqtt.settings import DEFAULT_PORTS, MqttProtocol, MqttSettings

__all__ = [
    "DEFAULT_MAX_MESSAGES",
    "DEFAULT_PORTS",
    "AuthenticationFailed",
    "BrokerUnreachable",
    "ClientFactory",
    "ConnectionRefused",
    "MqttError",
    "MqttProtocol",
    "MqttSettings",
    "MqttSettingsError",
    "Outbox",
    "OutboxRow",
    "PublishDenied",
    "Publisher",
    "PublisherCounters",
    "TlsVerificationFailed",
    "backoff_s",
    "paho_client",
]
