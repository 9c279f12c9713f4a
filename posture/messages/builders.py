"""Messages built from typed results: the only code that knows which field of a result goes where.

Each builder returns a validated `Message` (its `raw` bytes are ready to publish) or raises `InvalidMessage`
when a value is outside the contract (e.g. a pelvic drop of 120 deg): a caller logs and counts that, and goes
on. NaN becomes null. Times on the processing axis (seconds from the start of the samples) become epoch
nanoseconds by adding `t0_ns`, the epoch time of t = 0 s, rounded to the nearest ns: the same samples give the
same times, hence the same message ids, on every replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from posture.messages.codec import Kind, Message, encode, message_id_for, schema_name
from posture.messages.errors import InvalidMessage
from processing.steps import STEP_METRIC_COLUMNS, StepMetrics

__all__ = [
    "EventSeverity",
    "EventState",
    "EventType",
    "MetricSummary",
    "RunState",
    "WorseSide",
    "event_message",
    "live_message",
    "ns_from_s",
    "status_message",
    "step_message",
    "summary_message",
]

RunState = Literal["online", "calibrating", "running", "reconnecting", "finished", "offline"]
EventType = Literal["asymmetry", "level", "drift", "cadence", "load", "summary"]
EventState = Literal["open", "closed", "summary"]
EventSeverity = Literal["info", "warning", "alert"]
WorseSide = Literal["L", "R", "even"]

# The numeric columns of steps.csv, carried by the step message under the same names (one home: StepMetrics).
_STEP_NUMBERS: tuple[str, ...] = tuple(
    name for name in STEP_METRIC_COLUMNS if name not in ("t_ic_s", "side", "t_to_s", "is_running")
)


def _number(value: float | None) -> float | None:
    """JSON has no NaN: an unknown or non-finite value is null. Integers stay integers."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def ns_from_s(t0_ns: int, t_s: float) -> int:
    """Epoch ns of a time `t_s` on the processing axis whose zero is at epoch `t0_ns`."""
    if not math.isfinite(t_s):
        raise InvalidMessage("schema", f"time {t_s} s is not finite")
    return int(t0_ns) + round(t_s * 1e9)


def _message(kind: Kind, athlete: str, session: str, fields: dict[str, Any]) -> Message:
    payload: dict[str, Any] = {"schema": schema_name(kind), "athlete": athlete, "session": session, **fields}
    payload["message_id"] = message_id_for(kind, payload)
    raw = encode(kind, payload)
    return Message(kind, athlete, session, payload["message_id"], payload, raw)


def step_message(athlete: str, session: str, step: StepMetrics, t0_ns: int) -> Message:
    """The `step` message of one committed step (the `steps.csv` row, times in epoch ns).

    Parameters
    ----------
    step : StepMetrics
        The step, on the processing time axis (s).
    t0_ns : int, ns since the Unix epoch
        The epoch time of t_s = 0 on that axis (the session's first sample).
    """
    t_ic_ns = ns_from_s(t0_ns, step.t_ic_s)
    t_to_ns = None if math.isnan(step.t_to_s) else ns_from_s(t0_ns, step.t_to_s)
    fields: dict[str, Any] = {
        "t_ns": t_ic_ns,
        "t_ic_ns": t_ic_ns,
        "side": step.side,
        "t_to_ns": t_to_ns,
        "is_running": bool(step.is_running),
    }
    for name in _STEP_NUMBERS:
        fields[name] = _number(getattr(step, name))
    return _message("step", athlete, session, fields)


def live_message(
    athlete: str,
    session: str,
    *,
    t_ns: int,
    pelvic_tilt_deg: float | None,
    pelvic_obliquity_deg: float | None,
    pelvic_rotation_deg: float | None,
    cadence_spm: float | None,
) -> Message:
    """The `live` message: the pelvic angles at sample time `t_ns` and the latest step's cadence."""
    return _message(
        "live",
        athlete,
        session,
        {
            "t_ns": int(t_ns),
            "pelvic_tilt_deg": _number(pelvic_tilt_deg),
            "pelvic_obliquity_deg": _number(pelvic_obliquity_deg),
            "pelvic_rotation_deg": _number(pelvic_rotation_deg),
            "cadence_spm": _number(cadence_spm),
        },
    )


def status_message(
    athlete: str,
    session: str,
    *,
    t_ns: int,
    state: RunState,
    connected: bool,
    battery_pct: float | None = None,
    rssi_dbm: float | None = None,
    packet_loss_rate: float | None = None,
    samples_lost: int | None = None,
    reconnects: int = 0,
    outbox_pending: int = 0,
) -> Message:
    """The retained `status` message, made at epoch `t_ns`; `connected` is the sensor link's state."""
    return _message(
        "status",
        athlete,
        session,
        {
            "t_ns": int(t_ns),
            "state": state,
            "connected": bool(connected),
            "battery_pct": _number(battery_pct),
            "rssi_dbm": _number(rssi_dbm),
            "packet_loss_rate": _number(packet_loss_rate),
            "samples_lost": None if samples_lost is None else int(samples_lost),
            "reconnects": int(reconnects),
            "outbox_pending": int(outbox_pending),
        },
    )


def event_message(
    athlete: str,
    session: str,
    *,
    rule: str,
    type: EventType,
    metric: str | None,
    side: Literal["L", "R"] | None,
    t_start_ns: int,
    t_end_ns: int | None,
    state: EventState,
    severity: EventSeverity,
    value: float | None,
    threshold: float | None,
    advice: Sequence[str],
    message: str,
) -> Message:
    """The `event` message of a form event opening, closing, or of the session's summary event.

    The open and the close of one event share `rule`, `side` and `t_start_ns` (hence their tags in the
    database) and differ in `state`, hence in message id.
    """
    return _message(
        "event",
        athlete,
        session,
        {
            "t_ns": int(t_start_ns),
            "rule": rule,
            "type": type,
            "metric": metric,
            "side": side,
            "t_start_ns": int(t_start_ns),
            "t_end_ns": None if t_end_ns is None else int(t_end_ns),
            "state": state,
            "severity": severity,
            "value": _number(value),
            "threshold": _number(threshold),
            "advice": list(advice),
            "message": message,
        },
    )


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric's line of the run summary (units those of the metric; NaN allowed, sent as null).

    Attributes
    ----------
    mean, left_mean, right_mean : float
        Over all steps, the left steps, the right steps.
    right_minus_left : float
        `right_mean - left_mean`.
    si_pct : float, %
        Symmetry index.
    worse_side : "L", "R", "even" or None
        Named only when the difference exceeds its own uncertainty; None when unknown.
    """

    mean: float
    left_mean: float
    right_mean: float
    right_minus_left: float
    si_pct: float
    worse_side: WorseSide | None

    def __post_init__(self) -> None:
        if self.worse_side not in ("L", "R", "even", None):
            raise ValueError(f"worse_side must be 'L', 'R', 'even' or None, got {self.worse_side!r}")


def summary_message(
    athlete: str,
    session: str,
    *,
    t_ns: int,
    started_ns: int,
    duration_s: float,
    steps_total: int,
    steps_left: int,
    steps_right: int,
    steps_running: int,
    cadence_spm: float | None,
    distance_m: float | None,
    events: Mapping[str, int],
    metrics: Mapping[str, MetricSummary],
) -> Message:
    """The retained `summary` message of a run, made at epoch `t_ns`.

    Parameters
    ----------
    events : mapping of event type to count
    metrics : mapping of a `steps.csv` metric name to its `MetricSummary`
    """
    return _message(
        "summary",
        athlete,
        session,
        {
            "t_ns": int(t_ns),
            "started_ns": int(started_ns),
            "duration_s": _number(duration_s),
            "steps_total": int(steps_total),
            "steps_left": int(steps_left),
            "steps_right": int(steps_right),
            "steps_running": int(steps_running),
            "cadence_spm": _number(cadence_spm),
            "distance_m": _number(distance_m),
            "events": {str(k): int(v) for k, v in events.items()},
            "metrics": {
                str(name): {
                    "mean": _number(m.mean),
                    "left_mean": _number(m.left_mean),
                    "right_mean": _number(m.right_mean),
                    "right_minus_left": _number(m.right_minus_left),
                    "si_pct": _number(m.si_pct),
                    "worse_side": m.worse_side,
                }
                for name, m in metrics.items()
            },
        },
    )
