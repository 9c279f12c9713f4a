"""The storage schema: every InfluxDB measurement, tag and field the live run writes, in one place.

The ingest writes with it and the dashboards and alert rules query with it, so no measurement, tag or field
name is typed twice. Each measurement is derived from one kind of MQTT message (docs/messages.md): the same
names, units in the names, times in integer nanoseconds.

Idempotency
-----------
InfluxDB keeps one point per (measurement, tag set, timestamp): writing the same key again replaces the
fields it carries. Every point's tags and timestamp are therefore taken from what identifies the message
(its ``message_id``), never from the wall clock or a counter, so a redelivered, replayed or republished
message lands on its own point again instead of adding one:

========================  =====================================  ======================================
measurement               tags                                   timestamp
========================  =====================================  ======================================
``live``                  athlete, session                       ``t_ns`` (the sample)
``step``                  athlete, session, side                 ``t_ic_ns`` (the initial contact)
``event``                 athlete, session, rule, event_type,    ``t_start_ns``: open, close and their
                          side (absent when null), severity      redeliveries share it, so the close
                                                                 overwrites the open
``session_status``        athlete, session                       ``t_ns``
``session_summary``       athlete, session                       ``started_ns`` (not ``t_ns``, which is
                                                                 when the summary was made and differs
                                                                 between a run and its replay)
``run_history``           athlete                                ``started_ns``
========================  =====================================  ======================================

Consequences a producer must respect: an event keeps its rule, type, side and severity from open to close
(they are tags; a change would start another series); a null value leaves its field out, so an overwrite
with null keeps the earlier value (InfluxDB merges fields of one point). `run_history` holds one point per run
without the session tag, so the trend over recent runs reads one series per athlete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from dashboards.errors import InvalidPoint
from dashboards.line_protocol import FieldValue, encode_line, escape_key, escape_tag_value, format_field
from processing.steps import METRIC_UNITS

__all__ = [
    "EVENT",
    "LIVE",
    "MEASUREMENTS",
    "RUN_HISTORY",
    "SESSION_STATUS",
    "SESSION_SUMMARY",
    "STEP",
    "SUMMARY_METRIC_STATS",
    "FieldKind",
    "FieldSpec",
    "MeasurementSpec",
    "Tag",
    "lines_for",
    "summary_event_count_field",
    "summary_metric_field",
]


class Tag(StrEnum):
    """Every tag key (tags are indexed: what queries filter and group by)."""

    ATHLETE = "athlete"
    SESSION = "session"
    SIDE = "side"
    RULE = "rule"
    EVENT_TYPE = "event_type"
    SEVERITY = "severity"


class FieldKind(StrEnum):
    """A field's type, named as InfluxQL's ``SHOW FIELD KEYS`` names it.

    InfluxDB fixes a field's type per shard at its first write and refuses another, so every value is cast
    to its declared kind (JSON's ``180`` for a float field is written as ``180.0``-the-float, not ``180i``).
    """

    FLOAT = "float"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its name (with the unit in it), its type, and the message key it is read from.

    Attributes
    ----------
    name : str
    kind : FieldKind
    source : str
        The payload key in docs/messages.md (the same as `name` unless stated).
    """

    name: str
    kind: FieldKind
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.name)


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    """One measurement: its name, tags (with the payload key of each), fields and timestamp.

    Attributes
    ----------
    name : str
    message_kind : str
        The MQTT message kind it is written from (the last topic level).
    tags : tuple of (Tag, str)
        Each tag and the payload key its value comes from, sorted by tag key (line protocol's order).
    fields : tuple of FieldSpec
        Sorted by name. `session_summary` also has per-metric and per-event-type fields (see
        `summary_metric_field`, `summary_event_count_field`).
    time_source : str
        The payload key holding the point's timestamp (ns).
    """

    name: str
    message_kind: str
    tags: tuple[tuple[Tag, str], ...]
    fields: tuple[FieldSpec, ...]
    time_source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(sorted(self.tags, key=lambda t: t[0].value)))
        object.__setattr__(self, "fields", tuple(sorted(self.fields, key=lambda f: f.name)))
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"measurement {self.name!r} names a field twice")

    @property
    def tag_keys(self) -> tuple[Tag, ...]:
        """The tag keys, sorted."""
        return tuple(tag for tag, _ in self.tags)

    def field(self, name: str) -> str:
        """`name` if this measurement has such a field; a KeyError naming the fields otherwise.

        Queries go through this so that a renamed or misspelt field fails when the query is built.
        """
        for spec in self.fields:
            if spec.name == name:
                return name
        known = ", ".join(f.name for f in self.fields)
        raise KeyError(f"{self.name} has no field {name!r}; its fields: {known}")

    def kind_of(self, name: str) -> FieldKind:
        """The declared type of field `name` (KeyError as `field`)."""
        for spec in self.fields:
            if spec.name == name:
                return spec.kind
        raise KeyError(f"{self.name} has no field {name!r}")


_F, _I, _B, _S = FieldKind.FLOAT, FieldKind.INTEGER, FieldKind.BOOLEAN, FieldKind.STRING
_SESSION_TAGS = ((Tag.ATHLETE, "athlete"), (Tag.SESSION, "session"))

LIVE = MeasurementSpec(
    name="live",
    message_kind="live",
    tags=_SESSION_TAGS,
    fields=tuple(
        FieldSpec(n, _F)
        for n in ("pelvic_tilt_deg", "pelvic_obliquity_deg", "pelvic_rotation_deg", "cadence_spm")
    ),
    time_source="t_ns",
)

#: One point per committed step: the numeric columns of steps.csv (processing.steps.METRIC_UNITS, their one
#: home) plus the toe-off instant and the running flag.
STEP = MeasurementSpec(
    name="step",
    message_kind="step",
    tags=(*_SESSION_TAGS, (Tag.SIDE, "side")),
    fields=(
        FieldSpec("t_to_ns", _I),
        FieldSpec("is_running", _B),
        *(FieldSpec(n, _F) for n in METRIC_UNITS),
    ),
    time_source="t_ic_ns",
)

EVENT = MeasurementSpec(
    name="event",
    message_kind="event",
    tags=(
        *_SESSION_TAGS,
        (Tag.RULE, "rule"),
        (Tag.EVENT_TYPE, "type"),
        (Tag.SIDE, "side"),
        (Tag.SEVERITY, "severity"),
    ),
    fields=(
        FieldSpec("state", _S),
        FieldSpec("metric", _S),
        FieldSpec("t_end_ns", _I),
        FieldSpec("value", _F),
        FieldSpec("threshold", _F),
        # the advice ids, comma-separated (InfluxDB has no list type; ids match [a-z0-9_.-])
        FieldSpec("advice", _S),
        FieldSpec("message", _S),
    ),
    time_source="t_start_ns",
)

SESSION_STATUS = MeasurementSpec(
    name="session_status",
    message_kind="status",
    tags=_SESSION_TAGS,
    fields=(
        FieldSpec("state", _S),
        FieldSpec("connected", _B),
        FieldSpec("battery_pct", _F),
        FieldSpec("rssi_dbm", _F),
        FieldSpec("packet_loss_rate", _F),
        FieldSpec("samples_lost", _I),
        FieldSpec("reconnects", _I),
        FieldSpec("outbox_pending", _I),
    ),
    time_source="t_ns",
)

#: The statistics a summary gives per metric; field `{metric}_{stat}`, e.g. ``pelvic_drop_deg_si_pct``.
SUMMARY_METRIC_STATS: Mapping[str, FieldKind] = MappingProxyType(
    {
        "mean": _F,
        "left_mean": _F,
        "right_mean": _F,
        "right_minus_left": _F,
        "si_pct": _F,
        "worse_side": _S,
    }
)


def summary_metric_field(metric: str, stat: str) -> str:
    """The `session_summary` field of statistic `stat` of `metric`, e.g. ``pelvic_drop_deg_si_pct``."""
    if stat not in SUMMARY_METRIC_STATS:
        raise KeyError(f"no summary statistic {stat!r}; there are {', '.join(SUMMARY_METRIC_STATS)}")
    return f"{metric}_{stat}"


def summary_event_count_field(event_type: str) -> str:
    """The `session_summary` field counting the events of `event_type`, e.g. ``events_asymmetry``."""
    return f"events_{event_type}"


_SUMMARY_TOTALS = (
    FieldSpec("duration_s", _F),
    FieldSpec("steps_total", _I),
    FieldSpec("steps_left", _I),
    FieldSpec("steps_right", _I),
    FieldSpec("steps_running", _I),
    FieldSpec("cadence_spm", _F),
    FieldSpec("distance_m", _F),
)

SESSION_SUMMARY = MeasurementSpec(
    name="session_summary",
    message_kind="summary",
    tags=_SESSION_TAGS,
    fields=(
        *_SUMMARY_TOTALS,
        *(
            FieldSpec(summary_metric_field(m, s), k, source=f"metrics.{m}.{s}")
            for m in METRIC_UNITS
            for s, k in SUMMARY_METRIC_STATS.items()
        ),
    ),
    time_source="started_ns",
)

#: One point per run, per athlete (no session tag): the trend over recent runs and the weekly running load.
RUN_HISTORY = MeasurementSpec(
    name="run_history",
    message_kind="summary",
    tags=((Tag.ATHLETE, "athlete"),),
    fields=(
        FieldSpec("session", _S),
        FieldSpec("duration_s", _F),
        FieldSpec("distance_m", _F),
        FieldSpec("steps_total", _I),
        FieldSpec("steps_running", _I),
        FieldSpec("cadence_spm", _F),
    ),
    time_source="started_ns",
)

MEASUREMENTS: tuple[MeasurementSpec, ...] = (LIVE, STEP, EVENT, SESSION_STATUS, SESSION_SUMMARY, RUN_HISTORY)


def _cast(kind: FieldKind, value: object, key: str) -> FieldValue | None:
    """`value` as a field of `kind` (None stays None: the field is left out)."""
    if value is None:
        return None
    if kind is FieldKind.FLOAT:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is FieldKind.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind is FieldKind.BOOLEAN:
        if isinstance(value, bool):
            return value
    elif isinstance(value, str):
        return value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise InvalidPoint("bad_type", f"{key} = {value!r} is not a valid {kind.value}")


@dataclass(frozen=True, slots=True)
class _Encoder:
    """A measurement's line-protocol prefix pieces, escaped once (the per-message work is the values)."""

    measurement: str
    tags: tuple[tuple[str, str], ...]  # (escaped key + "=", payload key)
    fields: tuple[tuple[str, FieldKind, str], ...]  # (escaped key + "=", kind, payload key)
    time_source: str


def _encoder(spec: MeasurementSpec) -> _Encoder:
    return _Encoder(
        measurement=spec.name,
        tags=tuple((f"{escape_key(tag.value)}=", src) for tag, src in spec.tags),
        fields=tuple((f"{escape_key(f.name)}=", f.kind, f.source) for f in spec.fields),
        time_source=spec.time_source,
    )


def _tag(payload: Mapping[str, object], src: str) -> str | None:
    """A tag value from the payload: a string, or None (the tag is left out)."""
    value = payload.get(src)
    if value is None or isinstance(value, str):
        return value
    raise InvalidPoint("bad_type", f"tag {src} = {value!r} is not a string")


def _line(enc: _Encoder, payload: Mapping[str, object]) -> str:
    """One line for a flat payload (every field read straight from a payload key).

    The ingest's hot path (a dozen floats per step): a float is formatted inline exactly as
    `line_protocol.format_field` formats it; every other value goes through `_cast` and `format_field`.
    The tests check that the result equals `line_protocol.encode_line` on random payloads.
    """
    get = payload.get
    tag_text = ""
    for key_eq, src in enc.tags:
        tag_value = get(src)
        if type(tag_value) is not str:
            tag_value = _tag(payload, src)  # None, or raises for a non-string
        if tag_value:
            tag_text += f",{key_eq}{escape_tag_value(tag_value)}"
    parts = []
    for key_eq, kind, src in enc.fields:
        value = get(src)
        if value is None:
            continue
        if kind is _F and type(value) is float and value - value == 0.0:  # finite: inf - inf, nan are nan
            text = repr(value)
            parts.append(key_eq + (text[:-2] if text.endswith(".0") else text))
        elif kind is _I and type(value) is int and -(2**63) <= value < 2**63:
            parts.append(f"{key_eq}{value}i")
        elif kind is _B and type(value) is bool:
            parts.append(key_eq + ("true" if value else "false"))
        else:
            cast = _cast(kind, value, src)
            if cast is not None:
                parts.append(key_eq + format_field(cast))
    if not parts:
        raise InvalidPoint("no_fields", f"a {enc.measurement!r} point has no field with a value")
    time_ns = get(enc.time_source)
    if type(time_ns) is not int or not 0 <= time_ns < 2**63:
        raise InvalidPoint("bad_timestamp", f"{enc.time_source} = {time_ns!r} is not an int64 of ns")
    return f"{enc.measurement}{tag_text} {','.join(parts)} {time_ns}"


_ENCODERS: Mapping[str, _Encoder] = MappingProxyType(
    {spec.name: _encoder(spec) for spec in MEASUREMENTS if spec is not SESSION_SUMMARY}
)
_BY_KIND: Mapping[str, tuple[_Encoder, ...]] = MappingProxyType(
    {
        "live": (_ENCODERS[LIVE.name],),
        "step": (_ENCODERS[STEP.name],),
        "event": (_ENCODERS[EVENT.name],),
        "status": (_ENCODERS[SESSION_STATUS.name],),
    }
)


def _summary_line(payload: Mapping[str, object]) -> str:
    """The `session_summary` line: the totals plus one field per metric statistic and per event type."""
    fields: dict[str, FieldValue | None] = {
        f.name: _cast(f.kind, payload.get(f.source), f.source) for f in _SUMMARY_TOTALS
    }
    metrics = payload.get("metrics")
    if isinstance(metrics, Mapping):
        for metric, stats in metrics.items():
            if not isinstance(stats, Mapping):
                raise InvalidPoint("bad_type", f"metrics.{metric} is not an object")
            for stat, kind in SUMMARY_METRIC_STATS.items():
                fields[summary_metric_field(metric, stat)] = _cast(kind, stats.get(stat), f"{metric}.{stat}")
    events = payload.get("events")
    if isinstance(events, Mapping):
        for event_type, count in events.items():
            fields[summary_event_count_field(event_type)] = _cast(FieldKind.INTEGER, count, event_type)
    time_ns = payload.get(SESSION_SUMMARY.time_source)
    if isinstance(time_ns, bool) or not isinstance(time_ns, int):
        raise InvalidPoint("bad_timestamp", f"started_ns = {time_ns!r} is not an int64 of ns")
    tags = {tag.value: _tag(payload, src) for tag, src in SESSION_SUMMARY.tags}
    return encode_line(SESSION_SUMMARY.name, tags, fields, time_ns)


def lines_for(kind: str, payload: Mapping[str, object]) -> tuple[str, ...]:
    """The line-protocol lines of one validated message of `kind` (docs/messages.md).

    Parameters
    ----------
    kind : str
        ``live``, ``step``, ``event``, ``status`` or ``summary``.
    payload : mapping
        The decoded JSON payload, already validated against its message schema.

    Returns
    -------
    tuple of str
        One line per measurement written from this kind (a summary gives `session_summary` and
        `run_history`); empty for a live sample whose angles are all null (there is nothing to store).

    Raises
    ------
    InvalidPoint
        A value the message schema let through but line protocol cannot carry.
    KeyError
        An unknown kind.
    """
    if kind == "summary":
        return (_summary_line(payload), _line(_ENCODERS[RUN_HISTORY.name], payload))
    encoders = _BY_KIND[kind]
    if kind == "live" and all(payload.get(f.source) is None for f in LIVE.fields):
        return ()
    return tuple(_line(enc, payload) for enc in encoders)
