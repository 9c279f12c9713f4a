"""A session file back into sample blocks, and into the outputs of `posture analyze`.

The blocks are the live link's, bit for bit: the file holds every input of the link's decoder in the order it
took effect (`sensorlink.decoder.replay`). A session cut off by a crash replays up to its last whole record.
Packets that arrived after the consumer stopped (between the last block it took and the sensor's STOP) are
in the file too and replay after the live blocks: a replay is the live stream, sometimes a packet longer.

Time axis
---------
Live blocks carry host times (seconds on the link's host clock, epoch-based in a real run). The replayed run,
its CSV and its steps are on the run's own axis instead: ``t_s`` is seconds after the session's start
(`SessionHeader.start_host_ns`), so that ``epoch_ns = start_host_ns + t_s * 1e9``. The offset is written to
``session.json`` in the output folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from posture.session.errors import SessionFileError
from posture.session.session_file import SessionContents, read_session
from processing.samples import ImuSamples
from sensorlink.blocks import SampleBlock
from sensorlink.decoder import PacketDecoder, replay
from sensorlink.errors import UnknownProfile
from sensorlink.profiles import profile_by_name

__all__ = [
    "REPLAY_CSV",
    "SESSION_JSON",
    "ReplayedRun",
    "blocks_of",
    "replay_blocks",
    "replay_run",
    "replay_to_dir",
]

logger = logging.getLogger(__name__)

#: The replayed samples in the `posture analyze` CSV format (on the run's axis), in the output folder.
REPLAY_CSV = "samples.csv"
#: What the session was and what reading it found (start time, time axis, losses, a torn tail).
SESSION_JSON = "session.json"


def _blocks(contents: SessionContents) -> Iterator[SampleBlock]:
    try:
        profile = profile_by_name(contents.header.profile)
    except UnknownProfile as exc:
        raise SessionFileError(contents.path, str(exc), "update posture") from exc
    decoder = PacketDecoder(profile)
    return replay(contents.records, decoder, max_pending_packets=contents.header.queue_packets)


def replay_blocks(path: Path, *, as_consumed: bool = False) -> Iterator[SampleBlock]:
    """The sample blocks the live link gave while this session was recorded (host times, as they were).

    With `as_consumed`, only the blocks the live consumer took (up to the file's `ConsumerStopped`, when it
    has one), so that a replay of `posture run` gives exactly the run's results.

    Raises
    ------
    SessionFileError
        The file is not a readable session file (a torn tail or damaged records are not errors).
    """
    return blocks_of(read_session(path), as_consumed=as_consumed)


def blocks_of(contents: SessionContents, *, as_consumed: bool = False) -> Iterator[SampleBlock]:
    """`replay_blocks` of a session file already read."""
    blocks = _blocks(contents)
    if not as_consumed or contents.consumed_samples is None:
        return blocks
    return _until(blocks, contents.consumed_samples)


def _until(blocks: Iterator[SampleBlock], samples: int) -> Iterator[SampleBlock]:
    """The blocks whose samples, delivered and lost, add up to at most `samples`."""
    taken = 0
    for block in blocks:
        taken += len(block) + block.lost_samples_before
        if taken > samples:
            return
        yield block


@dataclass(frozen=True, slots=True, eq=False)
class ReplayedRun:
    """A session's samples on the run's time axis.

    Attributes
    ----------
    samples : ImuSamples
        ``t_s`` in seconds after `start_host_ns` (see the module docstring).
    sampling_rate_hz : float
        Nominal rate of the stream (0 if it never started).
    lost_samples : int
        Samples the sensor took that never arrived (link drops); they show as gaps in ``t_s``.
    start_host_ns : int
    contents : SessionContents
        The file as read (header, end, torn tail, damage).
    """

    samples: ImuSamples
    sampling_rate_hz: float
    lost_samples: int
    start_host_ns: int
    contents: SessionContents


def replay_run(path: Path) -> ReplayedRun:
    """Replay a session file into one run of samples on the run's axis (see the module docstring)."""
    contents = read_session(path)
    start_ns = contents.header.start_host_ns
    start_s = start_ns * 1e-9
    parts: list[ImuSamples] = []
    lost = 0
    rate_hz = 0.0
    for block in _blocks(contents):
        s = block.samples
        parts.append(ImuSamples(s.t_s - start_s, s.acc_mps2, s.gyr_dps))
        lost += block.lost_samples_before
        rate_hz = block.sampling_rate_hz
    return ReplayedRun(ImuSamples.concatenate(parts), rate_hz, lost, start_ns, contents)


def replay_to_dir(session_file: Path, out_dir: Path) -> tuple[int, dict[str, object]]:
    """Replay a session through the live run (`posture.live.replay`) and write its run folder (steps.csv,
    asymmetry.csv, events.json, summary.json, `SESSION_JSON`) into `out_dir`, plus the replayed samples
    (`REPLAY_CSV`, for `posture analyze` and other tools).

    Steps are on the run's time axis (seconds after the session's start). Returns the number of steps and
    the summary document, as `posture analyze` does.

    Raises
    ------
    SessionFileError
        Not a readable session file, or one without samples.
    """
    from posture.live.replay import replay_session  # the live run imports this package
    from posture.session.recording import CsvSink

    out_dir.mkdir(parents=True, exist_ok=True)
    contents = read_session(session_file)
    start_s = contents.header.start_host_ns * 1e-9
    with (out_dir / REPLAY_CSV).open("w", encoding="utf-8", newline="") as handle:
        result = replay_session(contents, out_dir, on_block=CsvSink(handle, start_s))
    for note in result.notes:
        logger.warning("%s: %s", session_file, note)
    return result.folder.steps, result.folder.summary.to_json()
