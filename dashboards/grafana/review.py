"""The run-review dashboard: the asymmetry review after a run.

Per metric, the left and right means, the symmetry index and the worse side (``session_summary``, one panel
per metric, repeated over the ``metric`` variable); the metrics over the run, per side (fatigue drift: step
metrics grouped by time); every form event with its cue and advice (``event``); and an annotation at each
event's start on every time-series panel.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models.dashboard import AnnotationQuery, Dashboard, VariableOption

from dashboards.grafana.common import new_dashboard, numbered
from dashboards.grafana.influxql import (
    DATASOURCE,
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    InfluxQL,
    field,
    session_filter,
    tag,
)
from dashboards.schema import EVENT, SESSION_SUMMARY, STEP, Tag, summary_metric_field
from processing.steps import METRIC_UNITS

__all__ = [
    "DRIFT_METRICS",
    "METRIC_VAR",
    "REVIEW_UID",
    "InfluxAnnotation",
    "drift_query",
    "drift_title",
    "events_query",
    "review_dashboard",
]

REVIEW_UID = "posture-review"
#: The variable the per-metric panel repeats over; its values are the steps.csv metrics.
METRIC_VAR = "metric"
#: The step metrics drawn over the run, with their Grafana unit.
DRIFT_METRICS: tuple[tuple[str, str], ...] = (
    ("pelvic_drop_deg", "degree"),
    ("pelvic_tilt_deg", "degree"),
    ("pelvic_rotation_deg", "degree"),
    ("contact_time_s", "s"),
    ("cadence_spm", "suffix: steps/min"),
)
#: The drift panels' smallest bin: a few strides, so one step's noise does not hide the trend.
DRIFT_MIN_INTERVAL = "10s"
#: The per-metric panel's statistics and their column names.
_SIDE_STATS = {
    "left_mean": "left",
    "right_mean": "right",
    "right_minus_left": "right minus left",
    "si_pct": "SI %",
}


class InfluxAnnotationQuery(AnnotationQuery):
    """An InfluxQL annotation: the query and which columns give the text, title and tags.

    Grafana's InfluxDB datasource reads ``target`` (current form) and the top-level ``query``, ``textColumn``,
    ``titleColumn`` and ``tagsColumn`` (the form it migrates from); both are written.
    """

    def __init__(self, name: str, query: str, *, text: str, title: str, tags: str, icon_color: str) -> None:
        super().__init__(name=name, datasource=DATASOURCE, enable=True, hide=False, icon_color=icon_color)
        self.query = query
        self.columns = {"textColumn": text, "titleColumn": title, "tagsColumn": tags}

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload["datasource"] = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
        payload["target"] = {
            "refId": "Anno",
            "query": self.query,
            "rawQuery": True,
            "resultFormat": "table",
            "fromAnnotations": True,
            **self.columns,
        }
        payload["query"] = self.query
        payload.update(self.columns)
        return payload


class InfluxAnnotation(dash.AnnotationQuery):
    """Builder of an `InfluxAnnotationQuery` for ``Dashboard.annotation``."""

    def __init__(self, name: str, query: str, *, text: str, title: str, tags: str, icon_color: str) -> None:
        self._internal = InfluxAnnotationQuery(
            name, query, text=text, title=title, tags=tags, icon_color=icon_color
        )


def _summary_stat(stat_name: str) -> str:
    """The summary field of `stat_name` of the repeated panel's metric, ``${metric}_left_mean``.

    The name is first built for a real metric and checked against the schema, then the metric is replaced
    by the variable, so a renamed statistic fails at generation time.
    """
    some_metric = next(iter(METRIC_UNITS))
    name = SESSION_SUMMARY.field(summary_metric_field(some_metric, stat_name))
    return f"${{{METRIC_VAR}}}" + name.removeprefix(some_metric)


def per_metric_query() -> str:
    """One metric's left/right summary (the metric comes from the repeated panel's ``$metric``)."""
    columns = [f'last("{_summary_stat(s)}") AS "{alias}"' for s, alias in _SIDE_STATS.items()]
    columns.append(f'last("{_summary_stat("worse_side")}") AS "worse side"')
    return (
        f'SELECT {", ".join(columns)} FROM "{SESSION_SUMMARY.name}" WHERE {session_filter(SESSION_SUMMARY)}'
    )


def _per_metric() -> stat.Panel:
    return (
        stat.Panel()
        .title(f"${METRIC_VAR}: left and right")
        .description(
            "Mean over the left and the right steps of the run, right minus left, the symmetry index "
            "SI = 100 (R - L) / ((R + L) / 2), and the worse side (named only when the difference exceeds "
            "its own uncertainty; 'even' otherwise)."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", per_metric_query()))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .repeat(METRIC_VAR)
        .repeat_direction("h")
        .max_per_row(3)
        .span(8)
        .height(4)
    )


def si_query() -> str:
    """The symmetry index of every metric in the run summary, one column per metric."""
    columns = ", ".join(
        f'last({field(SESSION_SUMMARY, summary_metric_field(m, "si_pct"))}) AS "{m}"' for m in METRIC_UNITS
    )
    return f'SELECT {columns} FROM "{SESSION_SUMMARY.name}" WHERE {session_filter(SESSION_SUMMARY)}'


def _si_bars() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("Symmetry index per metric")
        .description("SI = 100 (R - L) / ((R + L) / 2): positive when the right side's value is larger.")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", si_query()))
        .unit("percent")
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .span(24)
        .height(8)
    )


def _run_totals() -> stat.Panel:
    columns = ", ".join(
        f'last({field(SESSION_SUMMARY, name)}) AS "{alias}"'
        for name, alias in (
            ("duration_s", "duration"),
            ("distance_m", "distance"),
            ("cadence_spm", "cadence"),
            ("steps_total", "steps"),
        )
    )
    query = f'SELECT {columns} FROM "{SESSION_SUMMARY.name}" WHERE {session_filter(SESSION_SUMMARY)}'
    return (
        stat.Panel()
        .title("The run")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(24)
        .height(4)
    )


def drift_title(metric: str) -> str:
    """The title of the panel drawing `metric` over the run."""
    return f"{metric} over the run, by side"


def drift_query(metric: str) -> str:
    """A step metric's mean per interval and side over the run's running steps (fatigue drift)."""
    return (
        f'SELECT mean({field(STEP, metric)}) AS "{metric}" FROM "{STEP.name}" '
        f"WHERE {session_filter(STEP)} AND {field(STEP, 'is_running')} = true AND $timeFilter "
        f"GROUP BY time($__interval), {tag(STEP, Tag.SIDE)} fill(none)"
    )


def _drift(metric: str, unit: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(drift_title(metric))
        .description("Mean per interval of the running steps, left and right: a trend shows fatigue drift.")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", drift_query(metric)))
        .interval(DRIFT_MIN_INTERVAL)
        .unit(unit)
        .span(12)
        .height(8)
    )


def events_query() -> str:
    """Every form event of the session with its cue and advice ids (time order)."""
    columns = ", ".join(
        (
            f'{tag(EVENT, Tag.RULE)} AS "rule"',
            f'{tag(EVENT, Tag.EVENT_TYPE)} AS "type"',
            f'{tag(EVENT, Tag.SEVERITY)} AS "severity"',
            f'{tag(EVENT, Tag.SIDE)} AS "side"',
            f'{field(EVENT, "message")} AS "cue"',
            f'{field(EVENT, "advice")} AS "advice"',
            f'{field(EVENT, "value")} AS "value"',
            f'{field(EVENT, "threshold")} AS "threshold"',
            f'{field(EVENT, "state")} AS "state"',
        )
    )
    return (
        f'SELECT {columns} FROM "{EVENT.name}" WHERE {session_filter(EVENT)} '
        f"AND {tag(EVENT, Tag.EVENT_TYPE)} != 'summary'"
    )


def _events() -> table.Panel:
    return (
        table.Panel()
        .title("Every form cue, with its advice")
        .description(
            "Each event's cue and the ids of its advice; docs/advice.md explains each advice id (its "
            "section has the id as its anchor)."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", events_query(), "table"))
        .span(24)
        .height(8)
    )


def annotation_query() -> str:
    """The form events in the shown range, for annotations (text: the cue; tags: rule and severity)."""
    return (
        f'SELECT {field(EVENT, "message")} AS "cue", {tag(EVENT, Tag.RULE)} AS "rule", '
        f'{tag(EVENT, Tag.SEVERITY)} AS "severity" FROM "{EVENT.name}" WHERE {session_filter(EVENT)} '
        f"AND {tag(EVENT, Tag.EVENT_TYPE)} != 'summary' AND $timeFilter"
    )


def _metric_variable() -> dash.CustomVariable:
    metrics = list(METRIC_UNITS)
    return (
        dash.CustomVariable(METRIC_VAR)
        .label("Metric")
        .values(",".join(metrics))
        .multi(True)
        .include_all(True)
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
        .options([VariableOption(selected=False, text=m, value=m) for m in metrics])
    )


def review_dashboard() -> Dashboard:
    """The run-review dashboard (uid ``posture-review``)."""
    board = (
        new_dashboard(
            REVIEW_UID,
            "Posture: run review",
            "Left/right per metric with the worse side, the metrics over the run, every cue with its advice.",
            time_from="now-6h",
            refresh="1m",
        )
        .with_variable(_metric_variable())
        .annotation(
            InfluxAnnotation(
                "Form cues",
                annotation_query(),
                text="cue",
                title="rule",
                tags="rule,severity",
                icon_color="orange",
            )
        )
        .with_panel(_run_totals())
        .with_panel(_si_bars())
        .with_panel(_per_metric())
    )
    for metric, unit in DRIFT_METRICS:
        board = board.with_panel(_drift(metric, unit))
    return numbered(board.with_panel(_events()).build())
