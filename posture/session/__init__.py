"""Sessions: every raw packet of a run in a crash-safe file, the recording loop, and replay.

- `session_file`: the file (`SessionWriter`, `read_session`), one record per input of the link's decoder.
- `recording`: streams a link's blocks into sinks (CSV, session file) until a stop condition.
- `replay`: a session file back into sample blocks, and into the outputs of `posture analyze`.
"""

from posture.session.errors import SessionError, SessionFileError
from posture.session.replay import ReplayedRun, replay_blocks, replay_run, replay_to_dir
from posture.session.session_file import (
    SESSION_FILE_NAME,
    SessionContents,
    SessionEnd,
    SessionExists,
    SessionHeader,
    SessionWriter,
    read_session,
    session_path,
)

__all__ = [
    "SESSION_FILE_NAME",
    "ReplayedRun",
    "SessionContents",
    "SessionEnd",
    "SessionError",
    "SessionExists",
    "SessionFileError",
    "SessionHeader",
    "SessionWriter",
    "read_session",
    "replay_blocks",
    "replay_run",
    "replay_to_dir",
    "session_path",
]
