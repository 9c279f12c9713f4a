"""Files that hold key material (bonds, pairing keys, the central's identity): owner-only, atomic.

Long-term keys and identity resolving keys let whoever reads them impersonate the sensor or the phone and
decrypt or track its links (Core Spec Vol 3 Part H 2.4), so every such file is written 0600 like SSH keys,
whatever the umask. A temporary file made by `tempfile.mkstemp` is created 0600 and then renamed over the old
one, so a reader never sees half a file and the keys are never readable by others for a moment.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["PRIVATE_FILE_MODE", "make_private", "write_private_text"]

logger = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600


def write_private_text(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8), owner read/write only, flushed to the disk (folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def make_private(path: Path) -> None:
    """Take group and other access away from an existing key file (one written by an older version)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        logger.warning("%s was readable by others (mode %o); made it owner-only", path, mode)
        path.chmod(mode & 0o700)
