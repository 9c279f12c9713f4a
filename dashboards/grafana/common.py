"""What the dashboards share: the template variables, the event rules they show, colour zones, docs links.

The thresholds of the asymmetry gauges and alert rules are the event rules' own (`processing.events`,
rules.toml: one home for every threshold), so a changed threshold changes the generated files and the
staleness test asks for a regeneration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import expr
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    DashboardLinkType,
    ThresholdsMode,
    VariableHide,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.dashboard import Threshold as ThresholdStep

from dashboards.grafana.influxql import (
    ATHLETE_VAR,
    DATASOURCE,
    EXPRESSION_DATASOURCE,
    SESSION_VAR,
)
from dashboards.schema import Tag
from processing.advice import load_catalog
from processing.events.rules import Rule, load_rules

__all__ = [
    "ADVICE_DOC",
    "DASHBOARD_TAG",
    "DOCS_BASE_URL",
    "GCT_BALANCE_ZONES_PCT",
    "Zone",
    "advice_link",
    "athlete_variable",
    "event_rules",
    "math_expression",
    "new_dashboard",
    "numbered",
    "panel_id",
    "rule_by_id",
    "session_variable",
    "thresholds",
    "zones_around_zero",
]

#: The advice catalog's page; each advice id is an anchor on it (``docs/advice.md#form_hips_level``).
ADVICE_DOC = "docs/advice.md"
#: Prefixed to repository paths in links that leave Grafana (alert annotations); empty: links stay
#: repository-relative until the project has a published home.
DOCS_BASE_URL = ""

GREEN, ORANGE, RED = "green", "orange", "red"
#: Every posture dashboard carries this tag; their links list the others by it.
DASHBOARD_TAG = "posture"


@dataclass(frozen=True, slots=True)
class Zone:
    """A colour from `start` upwards (Grafana's threshold steps; the first zone starts at -infinity)."""

    start: float | None
    color: str


#: Garmin's colour zones for ground contact time balance (Garmin Enduro 3 owner's manual, "GCT Balance"):
#: green within 50.7 % on either side (about 40 % of runners), orange 50.8 to 52.2 % (50 %), red above
#: 52.2 % (10 %). Here as the share of the right foot, with the boundaries half-way between the manual's
#: one-decimal figures: left 52.2 % is right 47.8 %.
GCT_BALANCE_ZONES_PCT: tuple[Zone, ...] = (
    Zone(None, RED),
    Zone(47.75, ORANGE),
    Zone(49.25, GREEN),
    Zone(50.75, ORANGE),
    Zone(52.25, RED),
)


def zones_around_zero(warning: float, alert: float | None) -> tuple[Zone, ...]:
    """Garmin-like zones for a signed difference (right minus left): green within `warning` either side,
    orange up to `alert`, red beyond (no red without an alert level)."""
    zones = [Zone(None, ORANGE), Zone(-warning, GREEN), Zone(warning, ORANGE)]
    if alert is not None:
        zones = [Zone(None, RED), Zone(-alert, ORANGE), *zones[1:], Zone(alert, RED)]
    return tuple(zones)


def thresholds(zones: Sequence[Zone]) -> dash.ThresholdsConfig:
    """Grafana's absolute thresholds for `zones`."""
    steps = [ThresholdStep(value=z.start, color=z.color) for z in zones]
    return dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


@cache
def event_rules() -> tuple[Rule, ...]:
    """The event rules of processing (rules.toml), validated against the advice catalog."""
    return load_rules(load_catalog())


def rule_by_id(rule_id: str) -> Rule:
    """One event rule (a KeyError naming the rules when there is no such rule)."""
    for rule in event_rules():
        if rule.id == rule_id:
            return rule
    raise KeyError(f"no event rule {rule_id!r}; rules: {', '.join(r.id for r in event_rules())}")


def advice_link(advice_id: str) -> str:
    """The link to one advice item's section of the advice page."""
    if advice_id not in load_catalog():
        raise KeyError(f"{advice_id!r} is not in the advice catalog")
    base = f"{DOCS_BASE_URL}/" if DOCS_BASE_URL else ""
    return f"{base}{ADVICE_DOC}#{advice_id}"


def athlete_variable() -> dash.QueryVariable:
    """``$athlete``: every athlete InfluxDB has points of."""
    return (
        dash.QueryVariable(ATHLETE_VAR)
        .label("Athlete")
        .datasource(DATASOURCE)
        .query(f'SHOW TAG VALUES WITH KEY = "{Tag.ATHLETE.value}"')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def session_variable() -> dash.QueryVariable:
    """``$session``: the athlete's sessions, newest id first (ids start with the date)."""
    return (
        dash.QueryVariable(SESSION_VAR)
        .label("Session")
        .datasource(DATASOURCE)
        .query(
            f'SHOW TAG VALUES WITH KEY = "{Tag.SESSION.value}" '
            f'WHERE "{Tag.ATHLETE.value}" =~ /^${ATHLETE_VAR}$/'
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_DESC)
        .hide(VariableHide.DONT_HIDE)
    )


def math_expression(ref_id: str, expression: str) -> expr.TypeMath:
    """A server-side math expression over the panel's other queries (``$A - $B``)."""
    return expr.TypeMath().ref_id(ref_id).datasource(EXPRESSION_DATASOURCE).expression(expression)


def new_dashboard(uid: str, title: str, description: str, *, time_from: str, refresh: str) -> dash.Dashboard:
    """A dashboard with our datasource's variables, a tag, and the cursor shared between panels."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([DASHBOARD_TAG])
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(athlete_variable())
        .with_variable(session_variable())
        .link(
            # the other posture dashboards, for the same athlete and session
            dash.DashboardLink("Posture")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([DASHBOARD_TAG])
            .as_dropdown(False)
            .include_vars(True)
            .keep_time(False)
        )
        .readonly()
    )


def numbered(board: Dashboard) -> Dashboard:
    """`board` with its panels numbered in order (Grafana keys a panel's links, repeats, view and the alert
    rules linked to it by id)."""
    for number, panel in enumerate(board.panels or (), start=1):
        panel.id_val = number
    return board


def panel_id(board: Dashboard, title: str) -> int:
    """The id of the panel titled `title` (a KeyError naming the panels when there is none)."""
    for panel in board.panels or ():
        if panel.title == title and panel.id_val is not None:
            return panel.id_val
    titles = ", ".join(str(p.title) for p in board.panels or ())
    raise KeyError(f"dashboard {board.uid} has no numbered panel {title!r}; its panels: {titles}")
