"""The simulator's exceptions: one root, subclasses that also inherit the built-in type callers expect."""

from __future__ import annotations


class SimulationError(Exception):
    """Root of every error raised by `processing.simulation`."""


class InvalidScenarioError(SimulationError, ValueError):
    """A scenario field is out of its physical or supported range.

    Attributes
    ----------
    field : str
        The offending `Scenario` field, so callers can point at it without parsing the message.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"Scenario.{field}: {message}")
        self.field = field


class UnknownScenarioError(SimulationError, KeyError):
    """`scenario_by_name` was asked for a name that is not in `SCENARIO_SUITE`."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no scenario named {name!r}; choose one of: {', '.join(known)}")
        self.name = name

    def __str__(self) -> str:  # KeyError would quote the whole message otherwise
        return str(self.args[0])
