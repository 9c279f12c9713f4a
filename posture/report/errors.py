"""The report's errors: one root, each message says what to do next."""

from __future__ import annotations

__all__ = ["ReportError", "RunFolderError"]


class ReportError(Exception):
    """Root of every error the report raises for the user to act on."""


class RunFolderError(ReportError, ValueError):
    """A run folder is missing a file or holds one the report cannot read.

    Attributes
    ----------
    path : str
        The file or folder at fault.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
