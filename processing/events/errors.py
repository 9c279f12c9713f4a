"""The event engine's exceptions: one root under `processing.errors.ProcessingError`, input errors also
`ValueError`. Messages say what to do next."""

from __future__ import annotations

from processing.errors import ProcessingError

__all__ = ["EventsError", "InvalidStepsError", "RulesError"]


class EventsError(ProcessingError):
    """Root of the errors of `processing.events`."""


class RulesError(EventsError, ValueError):
    """A rule (in rules.toml or a runner's override) is invalid.

    Attributes
    ----------
    rule : str or None
        The id of the offending rule.
    field : str or None
        The offending field.
    """

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        where = f"rule {rule}" if rule else "event rules"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.rule = rule
        self.field = field


class InvalidStepsError(EventsError, ValueError):
    """Steps the event engine cannot use: out of time order, or fed after `finish()`.

    Attributes
    ----------
    t_ic_s : float
        The initial contact of the offending step (NaN after `finish()`).
    """

    def __init__(self, message: str, *, t_ic_s: float) -> None:
        super().__init__(message)
        self.t_ic_s = t_ic_s
