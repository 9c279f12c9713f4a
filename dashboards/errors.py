"""The exceptions of the `dashboards` package: one root, `DashboardsError`, whose messages say what to do.

Retry decisions read an exception's type and fields (`WriteFailed.retryable`, `WriteFailed.status`), never its
text, as Telegraf's outputs return a `Retryable` error.
"""

from __future__ import annotations

__all__ = ["DashboardsError", "IngestConfigError", "InvalidPoint", "WriteFailed"]


class DashboardsError(Exception):
    """Root of every error raised by the `dashboards` package."""


class InvalidPoint(DashboardsError, ValueError):
    """A value cannot be written as InfluxDB line protocol (a non-finite float, no field at all, ...).

    Attributes
    ----------
    reason : str
        A short, stable token (`no_fields`, `non_finite`, `bad_type`, `bad_timestamp`) for counters and the
        dead-letter topic.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{detail}: fix the producer of this value (reason {reason})")
        self.reason = reason


class WriteFailed(DashboardsError):
    """A batch of points was not written.

    Attributes
    ----------
    status : int or None
        The HTTP status InfluxDB answered, None when it did not answer (connection refused, timeout).
    retryable : bool
        True when the same batch may succeed later unchanged (InfluxDB away, overloaded, misconfigured
        credentials or bucket that an operator can fix); False when InfluxDB refused the points themselves
        (HTTP 400 or 422: a field type conflict, a malformed line), so retrying the batch cannot help.
    """

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class IngestConfigError(DashboardsError, ValueError):
    """The ingest's options are inconsistent; the message names the option and the valid range."""
