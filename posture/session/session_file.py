"""The session file: every raw packet of a run, appended as it arrives, crash-safe and replayable.

Layout
------
``FILE_MAGIC``, then records, each framed as::

    RECORD_MARK (4 bytes) | length (u32 LE, payload bytes) | kind (u8) | payload | CRC-32 (u32 LE)

The CRC (zlib's CRC-32, as in gzip and PNG) covers length, kind and payload. The first record is the
`SessionHeader` (JSON, so that a person can read it with ``strings``); then one record per input of the link's
decoder (`sensorlink.decoder.TapRecord`: every notification with its host arrival time, every event with the
point at which it took effect); a clean end writes a `SessionEnd` record. Numbers are little-endian.

Crash safety
------------
- Each record is written with one unbuffered ``os.write`` on a file opened ``O_APPEND``: once `append`
  returns, the record is in the operating system, so a killed process (SIGKILL, a crash) loses nothing it
  appended. The file is flushed to the disk (``fdatasync``) at most every `fsync_interval_s` and at the end,
  which bounds what a power cut can take without paying a disk flush per packet.
- A torn tail (a record cut off by a power cut or a full disk) is not an error: the reader returns every
  whole record before it and reports how many bytes it dropped. A damaged record in the middle (its CRC does
  not match) is skipped, counted, and reading goes on at the next record that checks out (found by its mark).

Sessions live in ``{sessions_dir}/{athlete}/{session_id}/session.posture`` (`session_path`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from posture.session.errors import SessionError, SessionFileError
from sensorlink.decoder import (
    DEFAULT_MAX_PENDING_PACKETS,
    RawPacket,
    Reconnected,
    StatusReported,
    StreamConfigured,
    TapRecord,
    TimeSynced,
)
from sensorlink.private_files import PRIVATE_FILE_MODE
from sensorlink.profile import SensorStatus, StreamSettings

__all__ = [
    "FILE_MAGIC",
    "FORMAT_VERSION",
    "SESSION_FILE_NAME",
    "ConsumerStopped",
    "SessionContents",
    "SessionEnd",
    "SessionExists",
    "SessionHeader",
    "SessionWriter",
    "read_session",
    "session_path",
]

logger = logging.getLogger(__name__)

FILE_MAGIC: Final = b"POSTURE-SESSION\n"
RECORD_MARK: Final = b"\xb5PSR"
FORMAT_VERSION: Final = 1
SESSION_FILE_NAME: Final = "session.posture"
#: Longest payload a record may declare; a larger length is damage, not a record (a notification is at most
#: an ATT MTU, 517 bytes; the header a few hundred).
MAX_PAYLOAD_BYTES: Final = 1 << 20
DEFAULT_FSYNC_INTERVAL_S: Final = 1.0

_FRAME = struct.Struct("<4sIB")  # mark, payload length, kind
_CRC = struct.Struct("<I")
_OVERHEAD = _FRAME.size + _CRC.size
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# Record kinds (u8). Unknown kinds with a valid CRC are skipped and counted (a newer minor format).
_HEADER, _PACKET, _CONFIGURED, _TIME_SYNC, _RECONNECTED, _STATUS, _END, _CONSUMED = 1, 2, 3, 4, 5, 6, 7, 8
_PACKET_HEAD = struct.Struct("<qBB")  # host_ns, flags (bit 0: queued), channel length; channel, data follow
_PACKET_QUEUED = 0x01
_CONFIGURED_HEAD = struct.Struct("<QqIIIIB")  # after, host_ns, rate, acc, gyr, spp, new_tracking; firmware
_TIME_SYNC_BODY = struct.Struct("<QQqq")  # after, sensor_time_us, host_send_ns, host_receive_ns
_RECONNECTED_BODY = struct.Struct("<Qq")  # after, host_ns
_STATUS_BODY = struct.Struct("<QqhIBB")  # after, host_ns, battery (-1: unknown), flags, overflow, fault
_END_HEAD = struct.Struct("<q")  # host_ns; reason (UTF-8) follows
_CONSUMED_BODY = struct.Struct("<Q")  # samples (delivered and lost) the consumer took


def _check_id(kind: str, value: str) -> None:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{kind} {value!r} cannot name a folder: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def session_path(sessions_dir: Path, athlete: str, session_id: str) -> Path:
    """Where a session's file lives: ``{sessions_dir}/{athlete}/{session_id}/session.posture``."""
    _check_id("athlete", athlete)
    _check_id("session id", session_id)
    return sessions_dir / athlete / session_id / SESSION_FILE_NAME


@dataclass(frozen=True, slots=True)
class SessionHeader:
    """What a session is: written first, before any packet.

    Attributes
    ----------
    athlete, session_id : str
        Who ran, and which run (folder-safe names, see `session_path`).
    sensor_address : str
    profile : str
        The sensor profile's name (`SensorProfile.name`), which decodes the packets on replay.
    start_host_ns : int
        Host clock when the session began, ns (the link's host clock: epoch-based in a real run). Replayed
        sample times are given in seconds after it.
    time_scale : float
        How much faster than real time a simulated sensor ran (1 for a real one).
    firmware_revision : str or None
        If known when the file was opened; the `StreamConfigured` records carry it for every connection.
    settings : StreamSettings or None
        The settings asked for; the `StreamConfigured` records carry those the stream ran with.
    queue_packets : int
        The link's receive-queue capacity (`LinkOptions.queue_packets`): how far back an event may apply.
    format_version : int
    """

    athlete: str
    session_id: str
    sensor_address: str
    profile: str
    start_host_ns: int
    time_scale: float = 1.0
    firmware_revision: str | None = None
    settings: StreamSettings | None = None
    queue_packets: int = DEFAULT_MAX_PENDING_PACKETS
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_id("athlete", self.athlete)
        _check_id("session id", self.session_id)
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")
        if self.queue_packets < 1:
            raise ValueError(f"queue_packets must be >= 1, got {self.queue_packets}")

    def to_bytes(self) -> bytes:
        settings = self.settings
        document = {
            "format_version": self.format_version,
            "athlete": self.athlete,
            "session_id": self.session_id,
            "sensor_address": self.sensor_address,
            "profile": self.profile,
            "start_host_ns": self.start_host_ns,
            "time_scale": self.time_scale,
            "firmware_revision": self.firmware_revision,
            "settings": None
            if settings is None
            else {
                "sample_rate_hz": settings.sample_rate_hz,
                "acc_range_g": settings.acc_range_g,
                "gyr_range_dps": settings.gyr_range_dps,
                "samples_per_packet": settings.samples_per_packet,
            },
            "queue_packets": self.queue_packets,
        }
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, payload: bytes) -> SessionHeader:
        """Raises KeyError, TypeError or ValueError for a payload that is not a header."""
        document = json.loads(payload.decode())
        settings = document["settings"]
        return cls(
            athlete=str(document["athlete"]),
            session_id=str(document["session_id"]),
            sensor_address=str(document["sensor_address"]),
            profile=str(document["profile"]),
            start_host_ns=int(document["start_host_ns"]),
            time_scale=float(document["time_scale"]),
            firmware_revision=document["firmware_revision"],
            settings=None if settings is None else StreamSettings(**settings),
            queue_packets=int(document["queue_packets"]),
            format_version=int(document["format_version"]),
        )


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """The session ended cleanly (no such record: the recording was cut off).

    Attributes
    ----------
    host_ns : int
        Host clock at the end, ns (the same clock as the packets').
    reason : str
        Why, in plain words (e.g. "duration reached", "stopped by the user", "link lost: ...").
    """

    host_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class ConsumerStopped:
    """Where the live consumer stopped: the samples (delivered and lost) of the blocks it took.

    Packets keep arriving between the consumer's last block and the sensor's STOP; they are in the file,
    and a replay that should give the live run's results stops here (`posture replay`).
    """

    samples: int


def _encode(record: TapRecord | SessionEnd | ConsumerStopped) -> tuple[int, bytes]:
    """A record's kind and payload."""
    if isinstance(record, RawPacket):
        channel = record.channel.encode()
        flags = _PACKET_QUEUED if record.queued else 0
        return _PACKET, _PACKET_HEAD.pack(record.host_ns, flags, len(channel)) + channel + record.data
    if isinstance(record, StreamConfigured):
        s = record.settings
        head = _CONFIGURED_HEAD.pack(
            record.after_packets,
            record.host_ns,
            s.sample_rate_hz,
            s.acc_range_g,
            s.gyr_range_dps,
            s.samples_per_packet,
            record.new_tracking,
        )
        return _CONFIGURED, head + record.firmware_revision.encode()
    if isinstance(record, TimeSynced):
        return _TIME_SYNC, _TIME_SYNC_BODY.pack(
            record.after_packets, record.sensor_time_us, record.host_send_ns, record.host_receive_ns
        )
    if isinstance(record, Reconnected):
        return _RECONNECTED, _RECONNECTED_BODY.pack(record.after_packets, record.host_ns)
    if isinstance(record, StatusReported):
        st = record.status
        battery = -1 if st.battery_pct is None else st.battery_pct
        body = _STATUS_BODY.pack(
            record.after_packets, record.host_ns, battery, st.flags, st.buffer_overflow, st.sensor_fault
        )
        return _STATUS, body
    if isinstance(record, ConsumerStopped):
        return _CONSUMED, _CONSUMED_BODY.pack(record.samples)
    return _END, _END_HEAD.pack(record.host_ns) + record.reason.encode()


def _decode(kind: int, payload: bytes) -> TapRecord | SessionEnd | SessionHeader | ConsumerStopped | None:
    """A record from its kind and payload; None for a kind this version does not know.

    Raises struct.error, UnicodeDecodeError or ValueError for a payload that does not fit its kind.
    """
    if kind == _PACKET:
        host_ns, flags, channel_len = _PACKET_HEAD.unpack_from(payload)
        start = _PACKET_HEAD.size
        if start + channel_len > len(payload):
            raise ValueError("channel runs past the record")
        channel = payload[start : start + channel_len].decode()
        data = payload[start + channel_len :]
        return RawPacket(host_ns, data, channel=channel, queued=bool(flags & _PACKET_QUEUED))
    if kind == _CONFIGURED:
        after, host_ns, rate, acc, gyr, spp, new_tracking = _CONFIGURED_HEAD.unpack_from(payload)
        firmware = payload[_CONFIGURED_HEAD.size :].decode()
        return StreamConfigured(
            after, host_ns, StreamSettings(rate, acc, gyr, spp), bool(new_tracking), firmware
        )
    if kind == _TIME_SYNC:
        return TimeSynced(*_TIME_SYNC_BODY.unpack(payload))
    if kind == _RECONNECTED:
        return Reconnected(*_RECONNECTED_BODY.unpack(payload))
    if kind == _STATUS:
        after, host_ns, battery, flags, overflow, fault = _STATUS_BODY.unpack(payload)
        status = SensorStatus(None if battery < 0 else battery, flags, bool(overflow), bool(fault))
        return StatusReported(after, host_ns, status)
    if kind == _END:
        (host_ns,) = _END_HEAD.unpack_from(payload)
        return SessionEnd(host_ns, payload[_END_HEAD.size :].decode())
    if kind == _HEADER:
        return SessionHeader.from_bytes(payload)
    if kind == _CONSUMED:
        return ConsumerStopped(*_CONSUMED_BODY.unpack(payload))
    return None


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a record of {len(payload)} bytes is larger than {MAX_PAYLOAD_BYTES}")
    head = _FRAME.pack(RECORD_MARK, len(payload), kind)
    return head + payload + _CRC.pack(zlib.crc32(head[4:] + payload))


class SessionExists(SessionError, FileExistsError):
    """A session file is already there: sessions are never overwritten."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists: sessions are never overwritten; choose another session id")
        self.path = path


_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


class SessionWriter:
    """Appends a session's records to a new file (see the module docstring); a context manager.

    Parameters
    ----------
    path : Path
        The file to create (its folder is created too); an existing file is refused (`SessionExists`).
    header : SessionHeader
        Written and flushed to the disk before this returns.
    fsync_interval_s : float
        Longest time between flushes to the disk while appending (seconds of `monotonic`).
    host_clock_ns : callable returning int, optional
        Stamps the `SessionEnd` record: pass the link's host clock, so that the end is on the packets' time
        base (default: the wall clock).
    monotonic : callable returning float, optional
        The clock of the flush interval (injected for tests).
    """

    def __init__(
        self,
        path: Path,
        header: SessionHeader,
        *,
        fsync_interval_s: float = DEFAULT_FSYNC_INTERVAL_S,
        host_clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if fsync_interval_s < 0:
            raise ValueError("fsync_interval_s must be >= 0")
        self.path = path
        self.header = header
        self._fsync_interval_s = fsync_interval_s
        self._monotonic = monotonic
        self._host_clock_ns = host_clock_ns
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # private to its user: a session is a person's movement data (the key files are 0600 too)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
            self._fd: int | None = os.open(path, flags, PRIVATE_FILE_MODE)
        except FileExistsError as exc:
            raise SessionExists(path) from exc
        self.records_written = 0
        self.bytes_written = 0
        self.fsyncs = 0
        self._synced_at = monotonic()
        self._write(FILE_MAGIC + _frame(_HEADER, header.to_bytes()))
        self.sync()
        _sync_directory(path.parent)  # the file's name survives a power cut too

    @property
    def closed(self) -> bool:
        return self._fd is None

    def append(self, record: TapRecord) -> None:
        """Append one record; it is in the operating system when this returns (usable as a packet sink)."""
        self._write(_frame(*_encode(record)))
        self.records_written += 1
        if self._monotonic() - self._synced_at >= self._fsync_interval_s:
            self.sync()

    def sync(self) -> None:
        """Flush what was appended to the disk."""
        if self._fd is None:
            raise ValueError(f"the session file {self.path} is closed")
        _fdatasync(self._fd)
        self.fsyncs += 1
        self._synced_at = self._monotonic()

    def close(self, reason: str, *, consumed_samples: int | None = None) -> None:
        """Write the `SessionEnd` record (after a `ConsumerStopped` when `consumed_samples` is given),
        flush to the disk and close; closing again does nothing."""
        if self._fd is None:
            return
        try:
            if consumed_samples is not None:
                self._write(_frame(*_encode(ConsumerStopped(consumed_samples))))
            self._write(_frame(*_encode(SessionEnd(self._host_clock_ns(), reason))))
            self.sync()
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    def abandon(self) -> None:
        """Close without an end record (what a crash leaves), after flushing what was appended."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _fdatasync(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close("closed" if exc is None else f"ended by an error: {exc or type(exc).__name__}")

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"the session file {self.path} is closed")
        view = memoryview(data)
        while view:  # a regular file takes it whole; a short write is possible on a full disk
            written = os.write(self._fd, view)
            view = view[written:]
        self.bytes_written += len(data)


def _sync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles (Windows): the name is flushed with the file
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True, eq=False)
class SessionContents:
    """A session file as read: its header, its records, and what could not be read.

    Attributes
    ----------
    path : Path
    header : SessionHeader
    records : tuple of TapRecord
        In file order (what the link's tap saw, in the order it saw it).
    end : SessionEnd or None
        None when the session did not end cleanly (a crash, a kill, a power cut).
    torn_tail_bytes : int
        Bytes after the last whole record, dropped (a record cut off while it was written).
    damaged_records, damaged_bytes : int
        Stretches in the middle that did not check out (CRC), skipped, and their bytes.
    unknown_records : int
        Records of a kind this version does not know (a newer minor format), skipped.
    consumed_samples : int or None
        Samples (delivered and lost) the live consumer took before it stopped (`ConsumerStopped`); None when
        the file does not say (a crash, or a writer that streamed everything).
    """

    path: Path
    header: SessionHeader
    records: tuple[TapRecord, ...] = field(repr=False)
    end: SessionEnd | None
    torn_tail_bytes: int = 0
    damaged_records: int = 0
    damaged_bytes: int = 0
    unknown_records: int = 0
    consumed_samples: int | None = None

    @property
    def packets(self) -> int:
        return sum(isinstance(r, RawPacket) for r in self.records)

    @property
    def settings(self) -> StreamSettings | None:
        """The settings the stream first ran with (None if it never started)."""
        for r in self.records:
            if isinstance(r, StreamConfigured):
                return r.settings
        return self.header.settings

    @property
    def firmware_revision(self) -> str | None:
        for r in self.records:
            if isinstance(r, StreamConfigured):
                return r.firmware_revision
        return self.header.firmware_revision

    def notes(self) -> list[str]:
        """What a reader should know about this file, in plain words (empty for a clean, whole file)."""
        notes: list[str] = []
        if self.end is None:
            notes.append("the session did not end cleanly (the recording process was stopped or crashed)")
        if self.torn_tail_bytes:
            notes.append(
                f"{self.torn_tail_bytes} bytes after the last whole record dropped (a record cut off while "
                "it was written)"
            )
        if self.damaged_records:
            notes.append(
                f"{self.damaged_records} damaged stretches ({self.damaged_bytes} bytes) skipped: the file "
                "was changed on disk; what follows them was read"
            )
        if self.unknown_records:
            notes.append(f"{self.unknown_records} records of a newer format skipped: update posture")
        return notes


def _record_at(data: bytes, pos: int) -> tuple[int, bytes, int] | None:
    """(kind, payload, next position) if a whole record that checks out starts at `pos`, else None."""
    if pos + _OVERHEAD > len(data):
        return None
    mark, length, kind = _FRAME.unpack_from(data, pos)
    if mark != RECORD_MARK or length > MAX_PAYLOAD_BYTES:
        return None
    start = pos + _FRAME.size
    end = start + length
    if end + _CRC.size > len(data):
        return None
    (crc,) = _CRC.unpack_from(data, end)
    if zlib.crc32(data[pos + 4 : end]) != crc:
        return None
    return kind, data[start:end], end + _CRC.size


def _next_record(data: bytes, start: int) -> int | None:
    """Position of the next record that checks out at or after `start` (found by its mark)."""
    pos = data.find(RECORD_MARK, start)
    while pos >= 0:
        if _record_at(data, pos) is not None:
            return pos
        pos = data.find(RECORD_MARK, pos + 1)
    return None


def read_session(path: Path) -> SessionContents:
    """Read a session file: every whole record, with a torn tail and damaged records skipped and counted.

    Raises
    ------
    SessionFileError
        Not a session file, a newer format, or no readable header (cut off before the session began).
    OSError
        The file cannot be read.
    """
    data = path.read_bytes()
    if not data.startswith(FILE_MAGIC):
        if FILE_MAGIC.startswith(data):
            raise SessionFileError(
                path, "it was cut off before the session began", "there is nothing to replay"
            )
        raise SessionFileError(path, "it is not a session file", "pass the session.posture file of a run")
    first = _record_at(data, len(FILE_MAGIC))
    if first is None or first[0] != _HEADER:
        raise SessionFileError(
            path, "its header is missing or damaged", "there is nothing to replay without the header"
        )
    try:
        header = SessionHeader.from_bytes(first[1])
    except (KeyError, TypeError, ValueError) as exc:
        raise SessionFileError(path, f"its header does not read ({exc})", "update posture") from exc
    if header.format_version > FORMAT_VERSION:
        raise SessionFileError(
            path,
            f"it has format {header.format_version}, this posture reads up to {FORMAT_VERSION}",
            "update posture (pip install --upgrade posture-monitor)",
        )
    records: list[TapRecord] = []
    end: SessionEnd | None = None
    consumed: int | None = None
    damaged = damaged_bytes = unknown = torn = 0
    pos = first[2]
    while pos < len(data):
        found = _record_at(data, pos)
        record: TapRecord | SessionEnd | SessionHeader | ConsumerStopped | None = None
        if found is not None:
            kind, payload, after = found
            try:
                record = _decode(kind, payload)
            except (struct.error, UnicodeDecodeError, ValueError) as exc:
                logger.warning("%s: record at byte %d does not decode (%s); skipped", path, pos, exc)
                found = None
            else:
                if record is None:
                    unknown += 1
                pos = after
        if found is None:
            resume = _next_record(data, pos + 1)
            if resume is None:
                torn = len(data) - pos
                logger.warning("%s: %d bytes after the last whole record dropped", path, torn)
                break
            damaged += 1
            damaged_bytes += resume - pos
            logger.warning("%s: %d damaged bytes at byte %d skipped", path, resume - pos, pos)
            pos = resume
            continue
        if isinstance(record, SessionEnd):
            end = record
        elif isinstance(record, ConsumerStopped):
            consumed = record.samples
        elif isinstance(record, SessionHeader):
            damaged += 1  # a second header: not written by `SessionWriter`
        elif record is not None:
            records.append(record)
    return SessionContents(
        path, header, tuple(records), end, torn, damaged, damaged_bytes, unknown, consumed_samples=consumed
    )
