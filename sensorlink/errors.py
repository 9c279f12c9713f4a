"""Exceptions of sensorlink: one root, subclasses that carry data and also inherit the built-in type.

Callers decide on retries and counters from the type and the fields, never from the message text. Messages say
what the user can do next. Link errors (connection, pairing, timeouts) are added below the protocol errors.
"""

from __future__ import annotations

__all__ = [
    "InvalidConfiguration",
    "MalformedPacket",
    "SensorlinkError",
    "UnknownProfile",
    "UnsupportedFirmware",
]


class SensorlinkError(Exception):
    """Root of every error raised by sensorlink; `posture` prints these as one line without a traceback."""


# --- protocol errors (sensorlink.protocol) ------------------------------------------------------------------


class MalformedPacket(SensorlinkError, ValueError):
    """Bytes from the sensor that do not follow the firmware spec; the receiver counts, logs and skips them.

    Attributes
    ----------
    kind : str
        Which value was being decoded ("imu packet", "configuration", "control response", ...).
    length : int
        Length of the offending bytes.
    seq : int or None
        The packet's sequence number when its header was readable (lets the receiver account for its samples
        as lost rather than guessing), else None.
    """

    def __init__(self, kind: str, reason: str, *, length: int, seq: int | None = None) -> None:
        where = f" (seq {seq})" if seq is not None else ""
        super().__init__(
            f"malformed {kind}{where}, {length} bytes: {reason}; the packet is skipped. If this repeats, "
            "check that the sensor runs a firmware this version of posture supports (`posture doctor`)."
        )
        self.kind = kind
        self.reason = reason
        self.length = length
        self.seq = seq


class InvalidConfiguration(SensorlinkError, ValueError):
    """A sensor configuration value the firmware spec does not allow (rate, range, samples per packet)."""


class UnsupportedFirmware(SensorlinkError):
    """The sensor speaks a protocol major version this client does not know; the client refuses to stream.

    Attributes
    ----------
    firmware_revision : str
        What the sensor reported (Device Information firmware revision, or "protocol N" from its
        advertisement).
    supported_major : int
        The protocol major version this client implements.
    """

    def __init__(self, firmware_revision: str, supported_major: int, *, reported_major: int | None) -> None:
        if reported_major is not None and reported_major > supported_major:
            advice = "update posture (pip install --upgrade posture-monitor) to use this sensor"
        elif reported_major is not None:
            advice = f"update the sensor's firmware to a {supported_major}.x release"
        else:
            advice = "the revision string is not MAJOR.MINOR.PATCH; update the sensor's firmware or posture"
        super().__init__(
            f"this sensor runs firmware {firmware_revision}; posture supports {supported_major}.x: {advice}"
        )
        self.firmware_revision = firmware_revision
        self.supported_major = supported_major
        self.reported_major = reported_major


# --- link errors (sensorlink.link, scan, bonds, bumble_backend; helper B) -----------------------------------


class AdapterUnavailable(SensorlinkError, OSError):
    """No usable Bluetooth adapter for the requested `--adapter` (no BlueZ/D-Bus, dongle or transport).

    Attributes
    ----------
    adapter : str
        The adapter spec that was asked for.
    reason : str
        What is missing, in plain words.
    """

    def __init__(self, adapter: str, reason: str) -> None:
        super().__init__(
            f"no usable Bluetooth adapter for --adapter {adapter}: {reason}. Use --adapter sim for the "
            "simulated sensor, --adapter usb:0 for a USB Bluetooth dongle, or run `posture doctor`."
        )
        self.adapter = adapter
        self.reason = reason


class SensorNotFound(SensorlinkError, LookupError):
    """No posture sensor answered a scan (or the remembered one did not advertise) within the timeout."""

    def __init__(self, timeout_s: float, wanted: str | None = None) -> None:
        what = f"sensor {wanted}" if wanted else "posture sensor"
        super().__init__(
            f"no {what} found within {timeout_s:g} s: wake it (move it), bring it closer, check its battery, "
            "then run `posture scan`."
        )
        self.timeout_s = timeout_s
        self.wanted = wanted


class NotPaired(SensorlinkError, LookupError):
    """The command needs a paired sensor and none is remembered for this adapter."""

    def __init__(self, adapter: str) -> None:
        super().__init__(
            f"no sensor is paired on adapter {adapter}: run `posture --adapter {adapter} pair` first."
        )
        self.adapter = adapter


class ConnectFailed(SensorlinkError, ConnectionError):
    """Connecting (or setting up streaming) failed after every retry.

    Attributes
    ----------
    address : str
    attempts : int
    """

    def __init__(self, address: str, attempts: int, reason: str) -> None:
        super().__init__(
            f"could not connect to sensor {address} after {attempts} attempts ({reason}): bring it closer, "
            "make sure no phone app holds the connection, then try again."
        )
        self.address = address
        self.attempts = attempts
        self.reason = reason


class PairingFailed(SensorlinkError, PermissionError):
    """LE Secure Connections pairing was refused or timed out."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"pairing with sensor {address} failed ({reason}): hold the sensor's button to enter pairing "
            "mode and run `posture pair` again; if it was paired before, forget it on the sensor side first."
        )
        self.address = address
        self.reason = reason


class LinkLost(SensorlinkError, ConnectionError):
    """The sensor went away mid-run and did not come back within the reconnect budget (out of range).

    Attributes
    ----------
    address : str
    down_s : float
        How long the link had been down when the supervisor gave up.
    samples_received : int
        Samples delivered before the loss (the recording up to here is kept).
    """

    def __init__(self, address: str, down_s: float, samples_received: int) -> None:
        super().__init__(
            f"lost sensor {address} for {down_s:.1f} s and could not reconnect (out of range or battery "
            f"empty); the {samples_received} samples received so far were kept. Bring the sensor closer and "
            "start again."
        )
        self.address = address
        self.down_s = down_s
        self.samples_received = samples_received


class ControlCommandFailed(SensorlinkError, RuntimeError):
    """The sensor answered a control-point command with an error result (or not at all)."""

    def __init__(self, command: str, result: str) -> None:
        super().__init__(
            f"the sensor refused {command} ({result}): restart the sensor; if it repeats, "
            "run `posture doctor`."
        )
        self.command = command
        self.result = result


class BondStoreError(SensorlinkError, OSError):
    """The paired-sensor file cannot be read or written."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(
            f"paired-sensor file {path}: {reason}; fix or delete it and run `posture pair` again."
        )
        self.path = path
        self.reason = reason


class UnknownProfile(SensorlinkError, LookupError):
    """A sensor profile name this version does not know (e.g. in a session file from a newer posture).

    Attributes
    ----------
    name : str
    known : tuple of str
    """

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"unknown sensor profile {name!r} (this posture knows {', '.join(known)}): update posture"
        )
        self.name = name
        self.known = known
