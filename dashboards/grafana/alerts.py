"""Grafana unified-alerting rules, contact point and notification policy, from the event rules of processing.

Two kinds of rule, each one alert instance per athlete and session (the queries GROUP BY both):

- **Form events** (`form_event_rules`): one Grafana rule per event rule of processing (rules.toml) that can
  alert (info-only rules inform the review) and side. It fires when the ingest has stored an *open* event of
  that rule and side, of severity warning or alert, that started within the last `FORM_EVENT_WINDOW_S`.
  Processing has already applied the rule's hysteresis and minimum number of strides, so the rule fires at
  once (``for: 0s``). The training-load event is raised when the run ends and arrives closed, stamped with
  the run's start: its rule counts any such event within `POST_RUN_EVENT_WINDOW_S`.
- **Asymmetry over the run** (`asymmetry_rules`): for each asymmetry rule of processing (pelvic drop, step
  time, contact time) and each side, Grafana itself compares the mean of the right and the left running steps
  of the last `ASYMMETRY_WINDOW_S`: right minus left for angles, the symmetry index
  SI = 100 (R - L) / ((R + L) / 2) for times, against the rule's threshold, for `ASYMMETRY_FOR`. It works from
  the steps alone, so it fires even when the run's publisher sends no events.

Every rule's annotations carry the cue (the rule's, with the side filled in), the advice (title and cue of
each advice id) and links to the advice's section of docs/advice.md (``runbook_url``: the first, most
relevant one), and rules about a metric the run review draws over the run are linked to that panel
(``__dashboardUid__``, ``__panelId__``), where Grafana marks their state changes. Annotations are not
interpolated with environment variables by Grafana's file provisioning
(labels are), so the alert templates (``{{ $labels.athlete }}``) in them are safe; labels hold no ``$``.

The contact point is a webhook whose URL comes from the environment of the Grafana server
(``${POSTURE_ALERT_WEBHOOK_URL}``, interpolated when Grafana reads the file); the notification policy sends
everything to it, grouped per athlete.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Literal

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.models.alerting import RelativeTimeRange

from dashboards.grafana.common import advice_link, event_rules, panel_id
from dashboards.grafana.influxql import DATASOURCE_UID, EXPRESSION_DATASOURCE, InfluxQL, field, tag
from dashboards.grafana.review import DRIFT_METRICS, REVIEW_UID, drift_title, review_dashboard
from dashboards.schema import EVENT, STEP, Tag
from processing.advice import load_catalog
from processing.events.rules import Rule

__all__ = [
    "ALERT_WEBHOOK_ENV",
    "ASYMMETRY_FOR",
    "ASYMMETRY_GROUP",
    "ASYMMETRY_WINDOW_S",
    "CONTACT_POINT",
    "FOLDER_TITLE",
    "FOLDER_UID",
    "FORM_EVENT_WINDOW_S",
    "FORM_GROUP",
    "POST_RUN_EVENT_WINDOW_S",
    "RuleGroupSpec",
    "asymmetry_rules",
    "can_alert",
    "contact_point",
    "form_event_rules",
    "notification_policy",
    "rule_groups",
]

FOLDER_UID = "posture"
FOLDER_TITLE = "Posture"
#: Rule groups: (title, evaluation interval). Form events are checked often: a cue is worth most at once.
FORM_GROUP = ("posture-form-events", "10s")
ASYMMETRY_GROUP = ("posture-asymmetry", "30s")
#: A form event counts as new for this long after it opened, s.
FORM_EVENT_WINDOW_S = 600
#: An event raised when the run ends (the training load) is stamped with the run's start: it counts as new
#: for this long after the start, s (longer than any run, short enough to be about this run).
POST_RUN_EVENT_WINDOW_S = 6 * 3600
#: The asymmetry rules average the running steps of this window, s (about 800 steps at 160 steps/min).
ASYMMETRY_WINDOW_S = 300
#: How long the asymmetry must last before the rule fires (Grafana's ``for``).
ASYMMETRY_FOR = "1m"
#: The webhook the contact point posts to, from the Grafana server's environment.
ALERT_WEBHOOK_ENV = "POSTURE_ALERT_WEBHOOK_URL"
CONTACT_POINT = "posture-webhook"
#: The severities that alert (info events only inform the review).
ALERTING_SEVERITIES = ("warning", "alert")
#: Grafana's limit on a rule uid.
MAX_UID_CHARS = 40

Side = Literal["L", "R"]
RuleGroupSpec = tuple[str, str, list[alerting.Rule]]
_SIDE_WORDS = {"L": "left", "R": "right"}


def _uid(*parts: str) -> str:
    uid = "-".join(("posture", *parts)).replace("_", "-")
    if len(uid) > MAX_UID_CHARS:
        raise ValueError(f"alert rule uid {uid!r} is longer than Grafana's {MAX_UID_CHARS} characters")
    return uid


def _influx(ref_id: str, query: str, window_s: int) -> alerting.Query:
    model = InfluxQL(ref_id, query)
    return (
        alerting.Query(ref_id)
        .datasource_uid(DATASOURCE_UID)
        .relative_time_range(RelativeTimeRange(from_val=window_s, to=0))
        .model(model)
    )


def _expression(ref_id: str, model: expr.TypeReduce | expr.TypeMath | expr.TypeThreshold) -> alerting.Query:
    return alerting.Query(ref_id).datasource_uid(EXPRESSION_DATASOURCE.uid or "__expr__").model(model)


def _reduce_last(ref_id: str, source: str) -> alerting.Query:
    model = (
        expr.TypeReduce()
        .ref_id(ref_id)
        .datasource(EXPRESSION_DATASOURCE)
        .expression(source)
        .reducer("last")
        .settings(expr.ExprTypeReduceSettings().mode("dropNN"))
    )
    return _expression(ref_id, model)


def _threshold(ref_id: str, source: str, kind: Literal["gt", "lt"], value: float) -> alerting.Query:
    evaluator = expr.ExprTypeThresholdConditionsEvaluator().type(kind).params([value])
    model = (
        expr.TypeThreshold()
        .ref_id(ref_id)
        .datasource(EXPRESSION_DATASOURCE)
        .expression(source)
        .conditions([expr.ExprTypeThresholdConditions().evaluator(evaluator)])
    )
    return _expression(ref_id, model)


@cache
def _review_panels() -> dict[str, int]:
    """The review dashboard's panel id drawing each metric over the run."""
    board = review_dashboard()
    return {metric: panel_id(board, drift_title(metric)) for metric, _ in DRIFT_METRICS}


def _panel_link(rule: Rule) -> dict[str, str]:
    """Grafana's link from a rule to the review panel of its metric: its state changes are drawn there."""
    if rule.metric not in _review_panels():
        return {}
    return {"__dashboardUid__": REVIEW_UID, "__panelId__": str(_review_panels()[rule.metric])}


def _annotations(rule: Rule, side: Side | None, what: str) -> dict[str, str]:
    catalog = load_catalog()
    cue = rule.message(side)
    advice = " ".join(f"{catalog[a].title}: {catalog[a].cue}" for a in rule.advice)
    return _panel_link(rule) | {
        "summary": f"{rule.title}{f' ({_SIDE_WORDS[side]} side)' if side else ''}: {cue}",
        "description": (
            f"{what} Athlete {{{{ $labels.athlete }}}}, session {{{{ $labels.session }}}}. "
            "A form cue, not a diagnosis."
        ),
        "cue": cue,
        "advice": advice,
        "advice_ids": ",".join(rule.advice),
        "advice_links": " ".join(advice_link(a) for a in rule.advice),
        "runbook_url": advice_link(rule.advice[0]),
    }


def can_alert(rule: Rule) -> bool:
    """True when the rule's events can reach an alerting severity (info-only rules inform the review)."""
    if rule.type == "summary":
        return False
    return rule.severity in ALERTING_SEVERITIES or rule.alert_threshold is not None


def _after_the_run(rule: Rule) -> bool:
    """Events raised when the run ends (the training load): they arrive closed, stamped at the run's start."""
    return not rule.is_form_rule


def form_event_window_s(rule: Rule) -> int:
    """How long after its start an event of `rule` still counts as new, s."""
    return POST_RUN_EVENT_WINDOW_S if _after_the_run(rule) else FORM_EVENT_WINDOW_S


def form_event_query(rule: Rule, side: Side | None) -> str:
    """New events of `rule` (and `side`) of an alerting severity: open ones, or for events raised after the
    run (which arrive closed), any."""
    side_value = side or ""  # a null side leaves the tag out, which InfluxQL matches as ''
    severities = "|".join(ALERTING_SEVERITIES)
    state = "" if _after_the_run(rule) else f"AND {field(EVENT, 'state')} = 'open' "
    return (
        f'SELECT count({field(EVENT, "message")}) AS "new_events" FROM "{EVENT.name}" '
        f"WHERE {tag(EVENT, Tag.RULE)} = '{rule.id}' AND {tag(EVENT, Tag.SIDE)} = '{side_value}' "
        f"{state}AND {tag(EVENT, Tag.SEVERITY)} =~ /^({severities})$/ "
        f"AND $timeFilter GROUP BY {tag(EVENT, Tag.ATHLETE)}, {tag(EVENT, Tag.SESSION)}"
    )


def _sides(rule: Rule) -> tuple[Side | None, ...]:
    return ("L", "R") if rule.is_sided else (None,)


def form_event_rules() -> Iterator[alerting.Rule]:
    """One rule per event rule of processing that can alert, and side."""
    for rule in event_rules():
        if not can_alert(rule):
            continue
        for side in _sides(rule):
            what = f"Processing raised a {rule.title.lower()} event (rule {rule.id})."
            yield (
                alerting.Rule(f"{rule.title}{f' ({_SIDE_WORDS[side]})' if side else ''}")
                .uid(_uid("ev", rule.id, side or "both"))
                .condition("C")
                .with_query(_influx("A", form_event_query(rule, side), form_event_window_s(rule)))
                .with_query(_reduce_last("B", "A"))
                .with_query(_threshold("C", "B", "gt", 0.0))
                .no_data_state("OK")
                .exec_err_state("Error")
                .for_val("0s")
                .labels({"posture_kind": "form_event", "posture_rule": rule.id, "side": side or "both"})
                .annotations(_annotations(rule, side, what))
            )


def side_mean_query(metric: str, side: Side) -> str:
    """The mean of a step metric over one side's running steps in the window, per athlete and session."""
    return (
        f'SELECT mean({field(STEP, metric)}) AS "{metric}" FROM "{STEP.name}" '
        f"WHERE {tag(STEP, Tag.SIDE)} = '{side}' AND {field(STEP, 'is_running')} = true AND $timeFilter "
        f"GROUP BY {tag(STEP, Tag.ATHLETE)}, {tag(STEP, Tag.SESSION)}"
    )


def asymmetry_expression(rule: Rule) -> str:
    """Right minus left for angles (deg), the symmetry index for the others (%), of reduced $C (L), $D (R)."""
    if rule.unit == "deg":
        return "$D - $C"
    if rule.unit == "%":
        return "100 * ($D - $C) / (0.5 * ($D + $C))"
    raise ValueError(f"asymmetry rule {rule.id} has unit {rule.unit!r}; expected deg or %")


def asymmetry_rules() -> Iterator[alerting.Rule]:
    """Per asymmetry rule of processing and side: the window's asymmetry beyond the rule's threshold."""
    for rule in event_rules():
        if rule.type != "asymmetry" or rule.metric is None or rule.threshold is None:
            continue
        for side in ("L", "R"):
            kind: Literal["gt", "lt"] = "gt" if side == "R" else "lt"
            limit = rule.threshold if side == "R" else -rule.threshold
            what = (
                f"Over the last {ASYMMETRY_WINDOW_S // 60} minutes, {rule.metric} of the {_SIDE_WORDS[side]} "
                f"steps exceeds the other side's by more than {rule.threshold:g} {rule.unit} "
                f"({'right minus left' if rule.unit == 'deg' else 'symmetry index'})."
            )
            yield (
                alerting.Rule(f"{rule.title} over the run ({_SIDE_WORDS[side]})")
                .uid(_uid("asym", rule.metric, side))
                .condition("F")
                .with_query(_influx("A", side_mean_query(rule.metric, "L"), ASYMMETRY_WINDOW_S))
                .with_query(_influx("B", side_mean_query(rule.metric, "R"), ASYMMETRY_WINDOW_S))
                .with_query(_reduce_last("C", "A"))
                .with_query(_reduce_last("D", "B"))
                .with_query(
                    _expression(
                        "E",
                        expr.TypeMath()
                        .ref_id("E")
                        .datasource(EXPRESSION_DATASOURCE)
                        .expression(asymmetry_expression(rule)),
                    )
                )
                .with_query(_threshold("F", "E", kind, limit))
                .no_data_state("OK")
                .exec_err_state("Error")
                .for_val(ASYMMETRY_FOR)
                .labels({"posture_kind": "asymmetry", "posture_rule": rule.id, "side": side})
                .annotations(_annotations(rule, side, what))
            )


def rule_groups() -> list[RuleGroupSpec]:
    """The rule groups: (title, evaluation interval, rules)."""
    return [
        (FORM_GROUP[0], FORM_GROUP[1], list(form_event_rules())),
        (ASYMMETRY_GROUP[0], ASYMMETRY_GROUP[1], list(asymmetry_rules())),
    ]


def contact_point() -> alerting.ContactPoint:
    """A webhook whose URL is the Grafana server's ``$POSTURE_ALERT_WEBHOOK_URL``."""
    return (
        alerting.ContactPoint()
        .name(CONTACT_POINT)
        .uid(CONTACT_POINT)
        .type("webhook")
        .settings({"url": f"${{{ALERT_WEBHOOK_ENV}}}", "httpMethod": "POST"})
        .disable_resolve_message(False)
    )


def notification_policy() -> alerting.NotificationPolicy:
    """Everything to the webhook, grouped per athlete and rule; a run's cues arrive within seconds."""
    return (
        alerting.NotificationPolicy()
        .receiver(CONTACT_POINT)
        .group_by(["grafana_folder", "alertname", "athlete"])
        .group_wait("10s")
        .group_interval("1m")
        .repeat_interval("4h")
    )
