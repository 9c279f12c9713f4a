"""InfluxQL queries for Grafana, built from the storage schema: the query type, the datasource, the filters.

grafana-foundation-sdk has no InfluxDB query type, so `InfluxQLQuery` is one: a `cog.variants.Dataquery` whose
JSON is what Grafana's InfluxDB datasource stores for a raw InfluxQL query (``refId``, ``query``,
``rawQuery: true``, ``resultFormat``). It plugs into every panel builder (`with_target`) and into the alert
rule builder (`alerting.Query.model`).

Every measurement, tag and field name in a query comes from `dashboards.schema` (through
`MeasurementSpec.field`, which fails at generation time on a name the schema does not have), never typed here.

Template variables
------------------
The dashboards filter with ``"athlete" =~ /^$athlete$/``, the form Grafana's InfluxDB documentation gives for
query variables: Grafana escapes regular-expression characters in the value it substitutes, so the filter
matches the value exactly whatever it holds (athlete and session ids match ``[A-Za-z0-9_-]{1,64}``, see
docs/messages.md, and hold none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from dashboards.schema import MeasurementSpec, Tag

__all__ = [
    "ATHLETE_VAR",
    "DATASOURCE",
    "DATASOURCE_NAME",
    "DATASOURCE_TYPE",
    "DATASOURCE_UID",
    "EXPRESSION_DATASOURCE",
    "SESSION_VAR",
    "InfluxQL",
    "InfluxQLQuery",
    "ResultFormat",
    "athlete_filter",
    "field",
    "session_filter",
    "tag",
]

#: The datasource every panel and alert rule queries (provisioned by datasources/posture.yaml).
DATASOURCE_UID = "posture-influxdb"
DATASOURCE_NAME = "Posture InfluxDB"
DATASOURCE_TYPE = "influxdb"
DATASOURCE = DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)
#: Grafana's server-side expressions (math, reduce, threshold) are queries on this pseudo-datasource.
EXPRESSION_DATASOURCE = DataSourceRef(type_val="__expr__", uid="__expr__")

#: The template variables of every dashboard (their values come from ``SHOW TAG VALUES``).
ATHLETE_VAR = Tag.ATHLETE.value
SESSION_VAR = Tag.SESSION.value

ResultFormat = Literal["time_series", "table"]


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL query as Grafana's InfluxDB datasource stores it in a panel or an alert rule.

    Parameters
    ----------
    ref_id : str
        The query's id within its panel or rule (``A``, ``B``...); expressions refer to it as ``$A``.
    query : str
        InfluxQL with Grafana's macros (``$timeFilter``, ``$__interval``) and template variables.
    result_format : "time_series" or "table"
        ``table`` keeps tags and string fields as columns (the event tables); ``time_series`` makes one
        series per field and GROUP BY tag set.
    hide : bool
        True for a query only an expression reads (Grafana does not draw it).
    """

    def __init__(
        self, ref_id: str, query: str, result_format: ResultFormat = "time_series", *, hide: bool = False
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID},
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.hide:
            payload["hide"] = True
        return payload


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder of an `InfluxQLQuery`, for ``panel.with_target(InfluxQL("A", query))``."""

    def __init__(self, ref_id: str, query: str, result_format: ResultFormat = "time_series") -> None:
        self._internal = InfluxQLQuery(ref_id, query, result_format)

    def build(self) -> InfluxQLQuery:
        return self._internal

    def hide(self, hide: bool = True) -> Self:
        """Compute the query but do not draw it (an expression of the panel reads it)."""
        self._internal.hide = hide
        return self


def field(spec: MeasurementSpec, name: str) -> str:
    """``"name"``, a double-quoted field identifier of `spec` (a KeyError for a field the schema lacks)."""
    return f'"{spec.field(name)}"'


def tag(spec: MeasurementSpec, key: Tag) -> str:
    """``"key"``, a double-quoted tag identifier of `spec` (a KeyError for a tag it does not carry)."""
    if key not in spec.tag_keys:
        raise KeyError(f"{spec.name} has no tag {key.value!r}; its tags: {', '.join(spec.tag_keys)}")
    return f'"{key.value}"'


def athlete_filter(spec: MeasurementSpec) -> str:
    """The WHERE condition selecting the dashboard's athlete."""
    return f"{tag(spec, Tag.ATHLETE)} =~ /^${ATHLETE_VAR}$/"


def session_filter(spec: MeasurementSpec) -> str:
    """The WHERE condition selecting the dashboard's athlete and session."""
    return f"{athlete_filter(spec)} AND {tag(spec, Tag.SESSION)} =~ /^${SESSION_VAR}$/"


@dataclass(frozen=True, slots=True)
class Select:
    """One column of a SELECT: an expression over fields and its alias (the column / series name)."""

    expression: str
    alias: str

    def render(self) -> str:
        return f'{self.expression} AS "{self.alias}"'


def select(columns: Sequence[Select]) -> str:
    """``SELECT a AS "x", b AS "y"``."""
    return "SELECT " + ", ".join(c.render() for c in columns)
