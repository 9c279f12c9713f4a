"""The live-run dashboard: what a runner or coach glances at during the run.

Cadence and the three pelvic angles over the last minutes (``live``, about 10 Hz), the pelvic drop of every
step per side (``step``), two asymmetry gauges over the shown minutes with colour zones (contact-time balance
in Garmin's zones; pelvic drop right minus left in the zones of the event rule), the sensor's battery and link
(``session_status``) and the latest form events with their cues (``event``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import gauge, stat, table, timeseries
from grafana_foundation_sdk.models.common import VisibilityMode
from grafana_foundation_sdk.models.dashboard import Dashboard, DynamicConfigValue

from dashboards.grafana.common import (
    GCT_BALANCE_ZONES_PCT,
    math_expression,
    new_dashboard,
    numbered,
    rule_by_id,
    thresholds,
    zones_around_zero,
)
from dashboards.grafana.influxql import DATASOURCE, InfluxQL, field, session_filter, tag
from dashboards.schema import EVENT, LIVE, SESSION_STATUS, STEP, Tag

__all__ = ["LIVE_UID", "live_dashboard", "side_mean_query"]

LIVE_UID = "posture-live"
#: The shown window: long enough for the gauges to average a few hundred steps, short enough to react.
LIVE_WINDOW = "now-5m"
REFRESH = "5s"
#: How many of the latest form events the live table lists.
LATEST_EVENTS = 10


def _live_mean(name: str, alias: str) -> str:
    return f'mean({field(LIVE, name)}) AS "{alias}"'


def side_mean_query(metric: str, side: str) -> str:
    """The mean of a step metric over one side's running steps in the shown range (a gauge's input)."""
    return (
        f'SELECT mean({field(STEP, metric)}) AS "{metric}" FROM "{STEP.name}" '
        f"WHERE {session_filter(STEP)} AND {tag(STEP, Tag.SIDE)} = '{side}' "
        f"AND {field(STEP, 'is_running')} = true AND $timeFilter"
    )


def _cadence() -> timeseries.Panel:
    query = (
        f'SELECT {_live_mean("cadence_spm", "cadence")} FROM "{LIVE.name}" '
        f"WHERE {session_filter(LIVE)} AND $timeFilter GROUP BY time($__interval) fill(none)"
    )
    return (
        timeseries.Panel()
        .title("Cadence")
        .description("Steps per minute (the latest step's), averaged per interval.")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .unit("suffix: steps/min")
        .span(8)
        .height(8)
    )


def _angles() -> timeseries.Panel:
    query = (
        f"SELECT {_live_mean('pelvic_tilt_deg', 'tilt')}, {_live_mean('pelvic_obliquity_deg', 'obliquity')}, "
        f'{_live_mean("pelvic_rotation_deg", "rotation")} FROM "{LIVE.name}" '
        f"WHERE {session_filter(LIVE)} AND $timeFilter GROUP BY time($__interval) fill(none)"
    )
    return (
        timeseries.Panel()
        .title("Pelvis: tilt, obliquity, rotation")
        .description(
            "Anterior tilt (positive: tipped forward), obliquity (positive: left side up, the right hip "
            "dropped) and rotation (positive: turned to the left), relative to your standing posture."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .unit("degree")
        .span(16)
        .height(8)
    )


def _drop_per_side() -> timeseries.Panel:
    query = (
        f'SELECT {field(STEP, "pelvic_drop_deg")} AS "pelvic_drop" FROM "{STEP.name}" '
        f"WHERE {session_filter(STEP)} AND $timeFilter GROUP BY {tag(STEP, Tag.SIDE)}"
    )
    return (
        timeseries.Panel()
        .title("Pelvic drop per step, by stance side")
        .description(
            "How far the swing side's hip sags below level during each step's stance; L: left stance "
            "(the right hip sags), R: right stance."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .unit("degree")
        .show_points(VisibilityMode.ALWAYS)
        .span(12)
        .height(8)
    )


def _contact_balance_gauge() -> gauge.Panel:
    return (
        gauge.Panel()
        .title("Contact time balance (right %)")
        .description(
            "The right foot's share of the ground contact time of the shown minutes, in Garmin's colour "
            "zones for ground contact time balance: green within 50.7 % on either side, orange to 52.2 %, "
            "red beyond."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", side_mean_query("contact_time_s", "L")).hide())
        .with_target(InfluxQL("B", side_mean_query("contact_time_s", "R")).hide())
        .with_target(math_expression("C", "100 * $B / ($A + $B)"))
        .unit("percent")
        .decimals(1)
        .min(45.0)
        .max(55.0)
        .thresholds(thresholds(GCT_BALANCE_ZONES_PCT))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .show_threshold_markers(True)
        .span(6)
        .height(8)
    )


def _drop_asymmetry_gauge() -> gauge.Panel:
    rule = rule_by_id("drop_asymmetry")
    assert rule.threshold is not None  # a form rule has one (rules.py validates it)
    return (
        gauge.Panel()
        .title("Pelvic drop, right minus left")
        .description(
            f"Mean drop of right-stance steps minus left-stance steps over the shown minutes: beyond "
            f"{rule.threshold:g} {rule.unit} the event rule {rule.id!r} warns"
            + (f", beyond {rule.alert_threshold:g} {rule.unit} it alerts" if rule.alert_threshold else "")
            + "."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", side_mean_query("pelvic_drop_deg", "L")).hide())
        .with_target(InfluxQL("B", side_mean_query("pelvic_drop_deg", "R")).hide())
        .with_target(math_expression("C", "$B - $A"))
        .unit("degree")
        .decimals(1)
        .min(-2 * (rule.alert_threshold or rule.threshold))
        .max(2 * (rule.alert_threshold or rule.threshold))
        .thresholds(thresholds(zones_around_zero(rule.threshold, rule.alert_threshold)))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .show_threshold_markers(True)
        .span(6)
        .height(8)
    )


def _sensor() -> stat.Panel:
    columns = ", ".join(
        f'last({field(SESSION_STATUS, name)}) AS "{alias}"'
        for name, alias in (
            ("battery_pct", "battery"),
            ("rssi_dbm", "signal"),
            ("packet_loss_rate", "packet loss"),
            ("state", "state"),
        )
    )
    # no time filter: the latest status of the session, however long ago it was sent
    query = f'SELECT {columns} FROM "{SESSION_STATUS.name}" WHERE {session_filter(SESSION_STATUS)}'
    return (
        stat.Panel()
        .title("Sensor: battery and link")
        .description(
            "The sensor's battery, its radio signal, the share of packets lost, and the run's state."
        )
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", query))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .override_by_name("battery", [DynamicConfigValue(id_val="unit", value="percent")])
        .override_by_name("signal", [DynamicConfigValue(id_val="unit", value="dBm")])
        .override_by_name("packet loss", [DynamicConfigValue(id_val="unit", value="percentunit")])
        .span(12)
        .height(4)
    )


def latest_events_query() -> str:
    """The session's latest form events, newest first (no time filter: an event opened before the shown
    minutes may still be open)."""
    columns = ", ".join(
        (
            f'{tag(EVENT, Tag.RULE)} AS "rule"',
            f'{tag(EVENT, Tag.SEVERITY)} AS "severity"',
            f'{tag(EVENT, Tag.SIDE)} AS "side"',
            f'{field(EVENT, "message")} AS "cue"',
            f'{field(EVENT, "state")} AS "state"',
            f'{field(EVENT, "advice")} AS "advice"',
        )
    )
    return (
        f'SELECT {columns} FROM "{EVENT.name}" WHERE {session_filter(EVENT)} '
        f"AND {tag(EVENT, Tag.EVENT_TYPE)} != 'summary' ORDER BY time DESC LIMIT {LATEST_EVENTS}"
    )


def _latest_events() -> table.Panel:
    return (
        table.Panel()
        .title("Latest form cues")
        .description("The newest form events of this run with their cues; open ones still show.")
        .datasource(DATASOURCE)
        .with_target(InfluxQL("A", latest_events_query(), "table"))
        .span(24)
        .height(8)
    )


def live_dashboard() -> Dashboard:
    """The live-run dashboard (uid ``posture-live``)."""
    return numbered(
        new_dashboard(
            LIVE_UID,
            "Posture: live run",
            "Cadence, pelvic angles, drop per side, asymmetry, sensor and the latest cues of a run.",
            time_from=LIVE_WINDOW,
            refresh=REFRESH,
        )
        .with_panel(_cadence())
        .with_panel(_angles())
        .with_panel(_drop_per_side())
        .with_panel(_contact_balance_gauge())
        .with_panel(_drop_asymmetry_gauge())
        .with_panel(_sensor())
        .with_panel(_latest_events())
        .build()
    )
