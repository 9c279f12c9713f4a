"""Reading the checked-in provisioning files as Grafana reads them (JSON dashboards, YAML alerting files)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml

from dashboards.grafana import DEFAULT_ROOT
from dashboards.grafana.provisioning import DASHBOARDS_DIR

DASHBOARD_FILES = {
    "live": "posture-live.json",
    "review": "posture-review.json",
    "history": "posture-history.json",
}


@cache
def _load(relative: str) -> str:
    return (DEFAULT_ROOT / relative).read_text(encoding="utf-8")


def dashboard(name: str) -> dict[str, Any]:
    """A dashboard's JSON model (a fresh copy)."""
    board: dict[str, Any] = json.loads(_load(f"{DASHBOARDS_DIR}/{DASHBOARD_FILES[name]}"))
    return board


def panels(name: str) -> list[dict[str, Any]]:
    """The dashboard's panels in order."""
    return list(dashboard(name)["panels"])


def panel(name: str, title: str) -> dict[str, Any]:
    """One panel by its title."""
    for p in panels(name):
        if p["title"] == title:
            return p
    raise KeyError(f"dashboard {name} has no panel {title!r}")


def influx_targets(name: str) -> list[tuple[str, str]]:
    """(panel title, InfluxQL) of every InfluxDB query of the dashboard, annotations included."""
    out = [
        (p["title"], t["query"])
        for p in panels(name)
        for t in p["targets"]
        if t.get("datasource", {}).get("type") != "__expr__"
    ]
    annotations = dashboard(name)["annotations"].get("list", [])
    out += [(f"annotation {a['name']}", a["target"]["query"]) for a in annotations]
    return out


def alert_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(_load("alerting/posture-rules.yaml"))["groups"]
    return groups


def alert_rules() -> list[dict[str, Any]]:
    """Every alert rule of every group."""
    return [rule for group in alert_groups() for rule in group["rules"]]


def alert_rule(uid: str) -> dict[str, Any]:
    for rule in alert_rules():
        if rule["uid"] == uid:
            return rule
    raise KeyError(f"no alert rule {uid!r}")


def group_interval_s(uid: str) -> float:
    """The evaluation interval of the rule's group, s."""
    from dashboards.grafana.emulation import parse_duration_s

    for group in alert_groups():
        if any(r["uid"] == uid for r in group["rules"]):
            return parse_duration_s(group["interval"])
    raise KeyError(uid)
