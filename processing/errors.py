"""The processing core's exceptions: one root, input errors also `ValueError`.

Messages say what to do next; callers decide on the type, never on the text.
"""

from __future__ import annotations

__all__ = ["CalibrationError", "InvalidSamplesError", "ProcessingError"]


class ProcessingError(Exception):
    """Root of every error raised by `processing` (the CLI prints it as one line, without a traceback)."""


class InvalidSamplesError(ProcessingError, ValueError):
    """Samples that the pipeline cannot use: wrong rate, gaps, NaNs, a block out of order.

    Attributes
    ----------
    reason : str
        A short machine-readable tag ("rate", "gap", "nan", "order", "shape", "short", "clipped", and from
        the CSV reader "column", "format", "duplicate", "unit", "range" (readings beyond any sensor's range),
        "no_steps" (`posture analyze` found no step)).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class CalibrationError(ProcessingError, ValueError):
    """The sensor-to-body mounting cannot be determined from the data (no motion, no gravity)."""
