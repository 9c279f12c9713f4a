"""The history dashboard: how the runs of recent weeks compare, and the weekly running load.

Per-run summaries (``run_history``: one point per run) and per-run asymmetry (``session_summary``) across the
shown weeks; the weekly distance and its change from the week before (the guide's "gradual progress").

Weeks start on Monday 00:00 UTC: InfluxQL's ``GROUP BY time(1w)`` buckets start at the epoch, a Thursday, so
the buckets are shifted by four days (``time(1w, 4d)``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models.common import GraphDrawStyle, VisibilityMode
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards.grafana.common import new_dashboard, numbered
from dashboards.grafana.influxql import DATASOURCE, InfluxQL, athlete_filter, field, session_filter
from dashboards.schema import RUN_HISTORY, SESSION_SUMMARY, summary_metric_field

__all__ = [
    "HISTORY_UID",
    "WEEK_GROUPING",
    "history_dashboard",
    "runs_query",
    "weekly_change_query",
    "weekly_load_query",
]

HISTORY_UID = "posture-history"
#: Monday-to-Sunday weeks (module notes).
WEEK_GROUPING = "time(1w, 4d)"
#: The per-run asymmetry drawn across weeks: (metric, statistic, label).
TREND_STATS: tuple[tuple[str, str, str], ...] = (
    ("pelvic_drop_deg", "right_minus_left", "pelvic drop R-L (deg)"),
    ("contact_time_s", "si_pct", "contact time SI (%)"),
    ("step_time_s", "si_pct", "step time SI (%)"),
)


def runs_query() -> str:
    """One row per run of the athlete in the shown range, newest first."""
    columns = ", ".join(
        f'{field(RUN_HISTORY, name)} AS "{alias}"'
        for name, alias in (
            ("session", "session"),
            ("duration_s", "duration"),
            ("distance_m", "distance"),
            ("cadence_spm", "cadence"),
            ("steps_total", "steps"),
            ("steps_running", "running steps"),
        )
    )
    return (
        f'SELECT {columns} FROM "{RUN_HISTORY.name}" WHERE {athlete_filter(RUN_HISTORY)} AND $timeFilter '
        "ORDER BY time DESC"
    )


def _runs() -> table.Panel:
    return (
        table.Panel()
        .title("Runs")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", runs_query(), "table"))
        .span(24)
        .height(8)
    )


def trend_query() -> str:
    """Per-run asymmetry of the athlete's runs in the shown range (one point per run)."""
    columns = ", ".join(
        f'{field(SESSION_SUMMARY, summary_metric_field(m, s))} AS "{label}"' for m, s, label in TREND_STATS
    )
    return (
        f'SELECT {columns} FROM "{SESSION_SUMMARY.name}" '
        f"WHERE {athlete_filter(SESSION_SUMMARY)} AND $timeFilter"
    )


def _trend() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Asymmetry per run")
        .description("One point per run: is the left/right difference growing or shrinking over the weeks?")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", trend_query()))
        .show_points(VisibilityMode.ALWAYS)
        .span(12)
        .height(8)
    )


def weekly_load_query() -> str:
    """The athlete's running distance per week (km), Monday to Sunday."""
    return (
        f'SELECT sum({field(RUN_HISTORY, "distance_m")}) / 1000 AS "distance_km" FROM "{RUN_HISTORY.name}" '
        f"WHERE {athlete_filter(RUN_HISTORY)} AND $timeFilter GROUP BY {WEEK_GROUPING} fill(0)"
    )


def weekly_change_query() -> str:
    """The change of the weekly distance from the week before (km): the load's rate of change."""
    return (
        f'SELECT difference(sum({field(RUN_HISTORY, "distance_m")})) / 1000 AS "change_km" '
        f'FROM "{RUN_HISTORY.name}" WHERE {athlete_filter(RUN_HISTORY)} AND $timeFilter '
        f"GROUP BY {WEEK_GROUPING} fill(0)"
    )


def _weekly(title: str, description: str, query: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .draw_style(GraphDrawStyle.BARS)
        .fill_opacity(60)
        .unit("lengthkm")
        .span(12)
        .height(8)
    )


def _selected_run() -> stat.Panel:
    columns = ", ".join(
        f'last({field(SESSION_SUMMARY, name)}) AS "{alias}"'
        for name, alias in (
            ("distance_m", "distance"),
            ("duration_s", "duration"),
            ("cadence_spm", "cadence"),
        )
    )
    query = f'SELECT {columns} FROM "{SESSION_SUMMARY.name}" WHERE {session_filter(SESSION_SUMMARY)}'
    return (
        stat.Panel()
        .title("Selected run")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .span(12)
        .height(8)
    )


def history_dashboard() -> Dashboard:
    """The history dashboard (uid ``posture-history``)."""
    return numbered(
        new_dashboard(
            HISTORY_UID,
            "Posture: history",
            "Runs across weeks: per-run summaries and asymmetry, weekly distance and its change.",
            time_from="now-90d",
            refresh="5m",
        )
        .with_panel(_runs())
        .with_panel(
            _weekly(
                "Weekly distance",
                "Running distance per week (Monday to Sunday).",
                weekly_load_query(),
            )
        )
        .with_panel(
            _weekly(
                "Weekly distance, change from the week before",
                "Raise the weekly distance gradually: a big jump is the commonest cause of overuse pain.",
                weekly_change_query(),
            )
        )
        .with_panel(_trend())
        .with_panel(_selected_run())
        .build()
    )
