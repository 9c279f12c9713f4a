"""What the event engine hands out: `FormEvent` (the events.json entry) and `EventUpdate` (live changes).

The fields follow docs/design.md, "Offline analysis contract" (events.json) and docs/messages.md (the `event`
message): `rule`, `type`, `metric`, `side`, `t_start_s`, `t_end_s`, `severity`, `advice`, `message`, plus the
`value` that triggered the event and its `threshold`. Messages are form cues, never diagnoses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from processing.steps import Side

__all__ = [
    "EVENT_TYPES",
    "SEVERITIES",
    "EventType",
    "EventUpdate",
    "FormEvent",
    "JsonValue",
    "Severity",
    "UpdateKind",
]

EventType = Literal["asymmetry", "level", "drift", "cadence", "load", "summary"]
Severity = Literal["info", "warning", "alert"]
UpdateKind = Literal["opened", "escalated", "closed"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
#: A value of the events.json document: plain JSON types only.
JsonValue = str | float | int | bool | None | list[str]


def _json_number(x: float | None) -> float | None:
    """NaN and infinities are not JSON: they become null; other numbers are rounded to 6 decimals."""
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


@dataclass(frozen=True, slots=True)
class FormEvent:
    """One form event (or the session's summary or training-load event).

    Attributes
    ----------
    rule : str
        The rule's stable id (`processing.events.Rule.id`).
    type : "asymmetry", "level", "drift", "cadence", "load" or "summary"
    metric : str or None
        The steps.csv column the event concerns; None for events over several metrics (form fatigue), the
        training load and the summary.
    side : "L", "R" or None
        The side of the steps in which the problem shows; for pelvic drop the stance side (the other hip is
        the one that sags). None when the event concerns both sides.
    t_start_s : float, s
        On the recording's time axis (the steps' `t_ic_s`): the first initial contact of the first window of
        strides that showed the problem.
    t_end_s : float or None, s
        The last initial contact of the last window that still showed it; None while the event is open.
    severity : "info", "warning" or "alert"
        The highest reached while the event was open.
    advice : tuple of str
        Advice ids (`processing.advice`), most relevant first.
    message : str
        The cue in plain words (a form cue, not a diagnosis).
    value : float or None
        The worst window value while the event was open, in the threshold's unit, oriented so that larger is
        worse (for a falling cadence, the fall in percent); for the summary, the number of form events.
    threshold : float or None
        The rule's threshold (the runner's own if overridden); None for the summary.
    unit : str or None
        Unit of `value` and `threshold` ("deg", "%", "m/s", "g", "metrics", "ratio", "events").
    t_detected_s : float or None, s
        When a live run raised the event: the last initial contact of the window that confirmed it (after the
        rule's minimum number of strides). The delay from the problem's onset is measured to this instant.
    """

    rule: str
    type: EventType
    metric: str | None
    side: Side | None
    t_start_s: float
    t_end_s: float | None
    severity: Severity
    advice: tuple[str, ...]
    message: str
    value: float | None
    threshold: float | None
    unit: str | None = None
    t_detected_s: float | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"type must be one of {EVENT_TYPES}, got {self.type!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.side not in ("L", "R", None):
            raise ValueError(f"side must be 'L', 'R' or None, got {self.side!r}")
        if not math.isfinite(self.t_start_s):
            raise ValueError(f"t_start_s must be finite, got {self.t_start_s}")
        if self.t_end_s is not None and not self.t_end_s >= self.t_start_s:
            raise ValueError(f"t_end_s {self.t_end_s} must not precede t_start_s {self.t_start_s}")
        if not isinstance(self.advice, tuple):
            raise ValueError("advice must be a tuple of advice ids")

    @property
    def is_open(self) -> bool:
        """True while the problem still shows (no end yet)."""
        return self.t_end_s is None

    def to_json_dict(self) -> dict[str, JsonValue]:
        """The events.json object: plain JSON types, NaN as null, numbers rounded to 6 decimals."""
        return {
            "rule": self.rule,
            "type": self.type,
            "metric": self.metric,
            "side": self.side,
            "t_start_s": _json_number(self.t_start_s),
            "t_end_s": _json_number(self.t_end_s),
            "severity": self.severity,
            "advice": list(self.advice),
            "message": self.message,
            "value": _json_number(self.value),
            "threshold": _json_number(self.threshold),
            "unit": self.unit,
            "t_detected_s": _json_number(self.t_detected_s),
        }


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """A change the live engine reports: an event opened, escalated (its severity rose) or closed.

    Attributes
    ----------
    kind : "opened", "escalated" or "closed"
    event : FormEvent
        The event as it stands after the change (open: `t_end_s` None; closed: with its end).
    """

    kind: UpdateKind
    event: FormEvent

    def __post_init__(self) -> None:
        if self.kind not in get_args(UpdateKind):
            raise ValueError(f"kind must be one of {get_args(UpdateKind)}, got {self.kind!r}")
