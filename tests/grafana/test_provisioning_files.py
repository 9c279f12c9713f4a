"""The checked-in provisioning files: up to date with the code, and holding what Grafana must be given.

Each dashboard JSON is loaded as Grafana would load it and checked for its panels, variables and datasource;
every query names only measurements, tags and fields of the storage schema; the alerting files have the
shape of Grafana's file provisioning, with the cue, the advice and its link in every rule.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.grafana import DEFAULT_ROOT, StaleProvisioning, check, provisioning_files, write
from dashboards.grafana.common import rule_by_id
from dashboards.grafana.influxql import DATASOURCE_UID
from dashboards.schema import MEASUREMENTS, SUMMARY_METRIC_STATS, Tag
from processing.advice import load_catalog
from processing.steps import METRIC_UNITS
from tests.grafana.grafana_files import (
    DASHBOARD_FILES,
    alert_rules,
    dashboard,
    influx_targets,
    panels,
)


def test_the_checked_in_files_are_what_the_code_generates() -> None:
    check(DEFAULT_ROOT)  # raises StaleProvisioning naming the files: run `python -m dashboards.grafana`


def test_a_changed_or_extra_file_is_reported_stale(tmp_path: Path) -> None:
    write(tmp_path)
    check(tmp_path)
    (tmp_path / "datasources" / "posture.yaml").write_text("apiVersion: 1\n")
    (tmp_path / "alerting" / "old-rules.yaml").write_text("apiVersion: 1\n")
    with pytest.raises(StaleProvisioning) as info:
        check(tmp_path)
    assert info.value.paths == ("datasources/posture.yaml", "alerting/old-rules.yaml")
    write(tmp_path)  # regeneration removes what the code no longer makes
    check(tmp_path)


def test_the_files_are_grafanas_provisioning_layout() -> None:
    assert sorted(provisioning_files()) == [
        "alerting/posture-contact-points.yaml",
        "alerting/posture-policies.yaml",
        "alerting/posture-rules.yaml",
        "dashboards/posture.yaml",
        "dashboards/posture/posture-history.json",
        "dashboards/posture/posture-live.json",
        "dashboards/posture/posture-review.json",
        "datasources/posture.yaml",
    ]


def _yaml(relative: str) -> Any:
    return yaml.safe_load((DEFAULT_ROOT / relative).read_text(encoding="utf-8"))


def test_the_datasource_is_influxql_with_settings_from_the_environment() -> None:
    (source,) = _yaml("datasources/posture.yaml")["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "influxdb"
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["url"] == "${POSTURE_INFLUX_URL}"
    assert source["jsonData"]["dbName"] == "${POSTURE_INFLUX_BUCKET}"
    assert source["secureJsonData"]["httpHeaderValue1"] == "Token ${POSTURE_INFLUX_TOKEN}"
    text = (DEFAULT_ROOT / "datasources/posture.yaml").read_text()
    for version in ("InfluxDB 1.x", "InfluxDB 2.x", "InfluxDB 3.x"):
        assert version in text, f"the datasource file explains the settings for {version}"
    assert "influx v1 dbrp create" in text


def test_the_dashboard_provider_loads_the_dashboard_folder() -> None:
    (provider,) = _yaml("dashboards/posture.yaml")["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].endswith("/dashboards/posture")
    files = {p.name for p in (DEFAULT_ROOT / "dashboards" / "posture").iterdir()}
    assert files == set(DASHBOARD_FILES.values())


@pytest.mark.parametrize("board", sorted(DASHBOARD_FILES))
def test_every_dashboard_has_the_athlete_and_session_variables_from_show_tag_values(board: str) -> None:
    variables = {v["name"]: v for v in dashboard(board)["templating"]["list"]}
    for name in (Tag.ATHLETE.value, Tag.SESSION.value):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"]["uid"] == DATASOURCE_UID
        assert variables[name]["query"].startswith(f'SHOW TAG VALUES WITH KEY = "{name}"')
    assert "$athlete" in variables[Tag.SESSION.value]["query"], "sessions are the chosen athlete's"


@pytest.mark.parametrize("board", sorted(DASHBOARD_FILES))
def test_every_panel_queries_the_posture_datasource_in_raw_influxql(board: str) -> None:
    assert [p["id"] for p in panels(board)] == list(range(1, len(panels(board)) + 1))
    (link,) = dashboard(board)["links"]
    assert (link["type"], link["tags"], link["includeVars"]) == ("dashboards", ["posture"], True)
    for panel in panels(board):
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        for target in panel["targets"]:
            if target.get("datasource", {}).get("type") == "__expr__":
                continue
            assert target["rawQuery"] is True
            assert target["resultFormat"] in ("time_series", "table")
            assert target["datasource"]["uid"] == DATASOURCE_UID


_FROM = re.compile(r'FROM "(\w+)"')
_QUOTED = re.compile(r'"([a-z_${}]+)"')
_ALIAS = re.compile(r' AS "[^"]*"')


def _names_of(measurement: str) -> set[str]:
    spec = next(m for m in MEASUREMENTS if m.name == measurement)
    names = {f.name for f in spec.fields} | {t.value for t in spec.tag_keys}
    if measurement == "session_summary":  # the per-metric fields of the repeated panel
        names |= {f"${{metric}}_{stat}" for stat in SUMMARY_METRIC_STATS}
    return names


def test_every_query_names_only_schema_measurements_tags_and_fields() -> None:
    queries = [q for board in DASHBOARD_FILES for _, q in influx_targets(board)]
    queries += [q["model"]["query"] for rule in alert_rules() for q in rule["data"] if "query" in q["model"]]
    assert len(queries) > 20
    for query in queries:
        (measurement,) = _FROM.findall(query)
        names = {n for n in _QUOTED.findall(_ALIAS.sub("", query)) if n != measurement}
        unknown = names - _names_of(measurement)
        assert not unknown, f"{query} names {unknown}, which {measurement} does not have"


def test_the_live_dashboard_has_the_glance_panels() -> None:
    titles = [p["title"] for p in panels("live")]
    assert titles == [
        "Cadence",
        "Pelvis: tilt, obliquity, rotation",
        "Pelvic drop per step, by stance side",
        "Contact time balance (right %)",
        "Pelvic drop, right minus left",
        "Sensor: battery and link",
        "Latest form cues",
    ]
    gauges = [p for p in panels("live") if p["type"] == "gauge"]
    balance = gauges[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    # Garmin's GCT balance zones, as the right foot's share: red, orange, green (49.3-50.7), orange, red
    assert [(s["value"], s["color"]) for s in balance] == [
        (None, "red"),
        (47.75, "orange"),
        (49.25, "green"),
        (50.75, "orange"),
        (52.25, "red"),
    ]


def test_the_review_dashboard_repeats_the_left_right_panel_over_every_metric() -> None:
    board = dashboard("review")
    metric = next(v for v in board["templating"]["list"] if v["name"] == "metric")
    assert metric["query"].split(",") == list(METRIC_UNITS)
    repeated = [p for p in panels("review") if p.get("repeat") == "metric"]
    assert len(repeated) == 1
    (annotation,) = board["annotations"]["list"]
    assert annotation["datasource"]["uid"] == DATASOURCE_UID
    assert annotation["target"]["query"] == annotation["query"]
    titles = [p["title"] for p in panels("review")]
    assert "Every form cue, with its advice" in titles
    assert "pelvic_drop_deg over the run, by side" in titles


def test_the_history_dashboard_shows_runs_and_weekly_load() -> None:
    titles = [p["title"] for p in panels("history")]
    assert titles[:3] == ["Runs", "Weekly distance", "Weekly distance, change from the week before"]


def test_every_alert_rule_carries_the_cue_the_advice_and_its_link() -> None:
    catalog = load_catalog()
    rules = alert_rules()
    assert len({r["uid"] for r in rules}) == len(rules)
    for rule in rules:
        notes = rule["annotations"]
        assert notes["cue"]
        assert notes["cue"] in notes["summary"]
        ids = notes["advice_ids"].split(",")
        assert all(i in catalog for i in ids)
        assert notes["runbook_url"] == f"docs/advice.md#{ids[0]}"
        assert notes["advice_links"].split() == [f"docs/advice.md#{i}" for i in ids]
        assert "$" not in json.dumps(rule["labels"]), "labels are env-interpolated by Grafana: no $ in them"
        refs = {q["refId"] for q in rule["data"]}
        assert rule["condition"] in refs


def test_the_contact_point_and_policy_take_their_endpoint_from_the_environment() -> None:
    (point,) = _yaml("alerting/posture-contact-points.yaml")["contactPoints"]
    (receiver,) = point["receivers"]
    assert receiver["type"] == "webhook"
    assert receiver["settings"]["url"] == "${POSTURE_ALERT_WEBHOOK_URL}"
    (policy,) = _yaml("alerting/posture-policies.yaml")["policies"]
    assert policy["receiver"] == point["name"]
    assert "athlete" in policy["group_by"]


def test_the_posture_grafana_command_writes_and_checks(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from posture.commands import grafana as command

    app = typer.Typer()
    command.register(app)
    app.command("unused")(lambda: None)  # two commands: typer then takes the command's name
    runner = CliRunner()
    stale = runner.invoke(app, ["grafana", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1
    assert "python -m dashboards.grafana" in stale.output
    written = runner.invoke(app, ["grafana", "--out", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert runner.invoke(app, ["grafana", "--check", "--out", str(tmp_path)]).exit_code == 0


def test_rules_about_a_drawn_metric_are_linked_to_its_review_panel() -> None:
    review = {p["id"]: p for p in panels("review")}
    linked = [r for r in alert_rules() if "__panelId__" in r["annotations"]]
    assert {r["labels"]["posture_rule"] for r in linked} >= {"drop_asymmetry", "contact_time_asymmetry"}
    for rule in linked:
        assert rule["annotations"]["__dashboardUid__"] == dashboard("review")["uid"]
        target = review[int(rule["annotations"]["__panelId__"])]
        metric = rule_by_id(rule["labels"]["posture_rule"]).metric
        assert target["title"] == f"{metric} over the run, by side", rule["uid"]


def test_every_advice_link_of_the_alert_rules_has_its_anchor_in_the_advice_page() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "advice.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="([a-z0-9_.-]+)"', page))
    for rule in alert_rules():
        for link in rule["annotations"]["advice_links"].split():
            path, anchor = link.split("#")
            assert path == "docs/advice.md"
            assert anchor in anchors, f"{rule['uid']} links {link}, which docs/advice.md lacks"
