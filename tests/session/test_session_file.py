"""The session file: what is appended is read back; a cut-off or damaged file reads up to what is whole.

The file must survive what happens to a runner's phone or belt computer: a process killed at any moment, a
record cut off by a power cut or a full disk, bytes changed on disk. None of these may raise; each is reported
in words and everything whole is read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture.session import (
    SessionEnd,
    SessionExists,
    SessionFileError,
    SessionHeader,
    SessionWriter,
    read_session,
    session_path,
)
from posture.session.session_file import FILE_MAGIC, RECORD_MARK
from sensorlink.decoder import RawPacket, Reconnected, StatusReported, StreamConfigured, TapRecord, TimeSynced
from sensorlink.profile import SensorStatus, StreamSettings

HEADER = SessionHeader(
    athlete="ana",
    session_id="20261207-134000",
    sensor_address="C4:5E:00:00:00:01",
    profile="posture-v1",
    start_host_ns=1_765_000_000_000_000_000,
    time_scale=1.0,
    firmware_revision="1.0.0",
    settings=StreamSettings(208, 16, 2000, 20),
)

i64 = st.integers(-(2**63), 2**63 - 1)
u64 = st.integers(0, 2**64 - 1)
positive = st.integers(1, 2**32 - 1)
records = st.one_of(
    st.builds(
        RawPacket,
        host_ns=i64,
        data=st.binary(max_size=520),
        channel=st.text(max_size=20).filter(lambda c: len(c.encode()) < 256),
        queued=st.booleans(),
    ),
    st.builds(
        StreamConfigured,
        after_packets=u64,
        host_ns=i64,
        settings=st.builds(StreamSettings, positive, positive, positive, positive),
        new_tracking=st.booleans(),
        firmware_revision=st.text(max_size=30),
    ),
    st.builds(TimeSynced, after_packets=u64, sensor_time_us=u64, host_send_ns=i64, host_receive_ns=i64),
    st.builds(Reconnected, after_packets=u64, host_ns=i64),
    st.builds(
        StatusReported,
        after_packets=u64,
        host_ns=i64,
        status=st.builds(
            SensorStatus,
            battery_pct=st.one_of(st.none(), st.integers(0, 100)),
            flags=st.integers(0, 2**32 - 1),
            buffer_overflow=st.booleans(),
            sensor_fault=st.booleans(),
        ),
    ),
)


def packets(n: int) -> list[TapRecord]:
    return [RawPacket(1_000 * i, bytes([i % 256]) * (40 + i % 7)) for i in range(n)]


def write(path: Path, items: list[TapRecord], *, end: bool = True) -> None:
    writer = SessionWriter(path, HEADER, host_clock_ns=lambda: 5)
    for item in items:
        writer.append(item)
    if end:
        writer.close("duration reached")
    else:
        writer.abandon()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records, max_size=30))
def test_what_is_appended_is_read_back_equal_in_order(tmp_path: Path, items: list[TapRecord]) -> None:
    path = tmp_path / f"{time.monotonic_ns()}" / "session.posture"
    write(path, items)
    contents = read_session(path)
    assert contents.header == HEADER
    assert list(contents.records) == items
    assert contents.end == SessionEnd(5, "duration reached")
    assert contents.notes() == []


def test_a_session_lives_in_its_athletes_folder_and_is_never_overwritten(tmp_path: Path) -> None:
    path = session_path(tmp_path / "sessions", "ana", "20261207-134000")
    assert path == tmp_path / "sessions" / "ana" / "20261207-134000" / "session.posture"
    write(path, packets(3))
    with pytest.raises(SessionExists, match="choose another session id"):
        SessionWriter(path, HEADER)
    assert len(read_session(path).records) == 3


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 65])
def test_athlete_and_session_names_must_be_folder_safe(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="cannot name a folder"):
        session_path(tmp_path, name, "s1")


def test_a_torn_last_record_at_any_byte_gives_every_whole_record_and_says_how_much_was_dropped(
    tmp_path: Path,
) -> None:
    whole = tmp_path / "whole.posture"
    items = packets(5)
    write(whole, items, end=False)
    data = whole.read_bytes()
    last_start = data.rindex(RECORD_MARK)
    for cut in range(last_start, len(data)):
        torn = tmp_path / "torn.posture"
        torn.write_bytes(data[:cut])
        contents = read_session(torn)
        assert list(contents.records) == items[:4], cut
        assert contents.torn_tail_bytes == cut - last_start
        assert contents.end is None
        if cut > last_start:
            assert f"{cut - last_start} bytes after the last whole record dropped" in " ".join(
                contents.notes()
            )


@pytest.mark.parametrize("where", ["payload", "length", "mark", "crc"])
def test_a_damaged_record_in_the_middle_is_skipped_counted_and_reading_goes_on(
    tmp_path: Path, where: str
) -> None:
    path = tmp_path / "session.posture"
    items = packets(10)
    write(path, items)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data)) if data.startswith(RECORD_MARK, i)]
    fifth = starts[1 + 4]  # after the header record
    offset = {"mark": 0, "length": 5, "payload": 20, "crc": starts[1 + 5] - 1 - fifth}[where]
    data[fifth + offset] ^= 0xFF
    path.write_bytes(bytes(data))
    contents = read_session(path)
    assert list(contents.records) == items[:4] + items[5:]
    assert contents.damaged_records == 1
    assert contents.damaged_bytes == starts[1 + 5] - fifth
    assert contents.end is not None
    assert "1 damaged stretches" in " ".join(contents.notes())


def test_what_is_not_a_session_file_is_one_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "run.csv"
    other.write_text("t_s,acc_x_mps2\n")
    with pytest.raises(SessionFileError, match="not a session file"):
        read_session(other)
    cut = tmp_path / "cut.posture"
    cut.write_bytes(FILE_MAGIC[:5])
    with pytest.raises(SessionFileError, match="cut off before the session began"):
        read_session(cut)


def test_the_disk_is_flushed_at_most_once_per_interval_and_at_the_end(tmp_path: Path) -> None:
    now = [0.0]
    writer = SessionWriter(tmp_path / "s.posture", HEADER, fsync_interval_s=1.0, monotonic=lambda: now[0])
    start = writer.fsyncs
    for i in range(100):  # 10 s at 10 packets per second
        now[0] = i * 0.1
        writer.append(RawPacket(i, b"x"))
    assert writer.fsyncs - start == 9  # once a second: at 1.0, 2.0, ... 9.0 s
    writer.close("done")
    assert writer.fsyncs - start == 10


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from posture.session import SessionHeader, SessionWriter
    from sensorlink.decoder import RawPacket

    header = SessionHeader("ana", "killed", "C4:5E:00:00:00:01", "posture-v1", 0)
    writer = SessionWriter(Path(sys.argv[1]), header)
    i = 0
    while True:
        writer.append(RawPacket(i, i.to_bytes(4, "little") * 60))
        i += 1
    """
)


def test_a_writer_killed_with_sigkill_leaves_a_file_readable_up_to_its_last_packet(tmp_path: Path) -> None:
    path = tmp_path / "session.posture"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)])
    try:
        deadline = time.monotonic() + 60
        while not (path.exists() and path.stat().st_size > 2_000_000):
            assert child.poll() is None, "the writer died by itself"
            assert time.monotonic() < deadline, "the writer wrote too little"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    contents = read_session(path)
    assert contents.end is None
    assert contents.damaged_records == 0
    got = contents.records
    assert len(got) > 2_000_000 // 300
    assert all(isinstance(r, RawPacket) and r.host_ns == i for i, r in enumerate(got))
    assert got[-1] == RawPacket(len(got) - 1, (len(got) - 1).to_bytes(4, "little") * 60)
    assert contents.torn_tail_bytes == 0  # each record is one write: a killed process never tears one


def test_a_session_file_is_private_to_its_user(tmp_path: Path) -> None:
    """A session holds a person's movement data: only its owner may read it (as the key files)."""
    path = tmp_path / "s" / "session.posture"
    path.parent.mkdir()
    header = SessionHeader(
        athlete="ann", session_id="s1", sensor_address="AA", profile="posture-v1", start_host_ns=0
    )
    with SessionWriter(path, header):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
