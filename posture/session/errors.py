"""Exceptions of posture.session: one root, subclasses that carry data and also inherit the built-in type."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SessionError", "SessionFileError"]


class SessionError(Exception):
    """Root of every error raised by posture.session; messages say what to do next."""


class SessionFileError(SessionError, ValueError):
    """A file that is not a readable session file (not one at all, a newer format, no header).

    A torn tail or a damaged record in the middle is not an error: the reader skips and reports them.

    Attributes
    ----------
    path : Path
    reason : str
        What is wrong, in plain words.
    """

    def __init__(self, path: Path, reason: str, advice: str) -> None:
        super().__init__(f"cannot read the session file {path}: {reason}; {advice}")
        self.path = path
        self.reason = reason
