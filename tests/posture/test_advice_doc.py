"""docs/advice.md is the catalog's page: up to date, one anchor per advice id (the alerts link to them)."""

from __future__ import annotations

import re
from pathlib import Path

from posture.advice_doc import ADVICE_DOC, render_advice_page
from processing.advice import load_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_page_is_the_catalog_s() -> None:
    page = (ROOT / ADVICE_DOC).read_text(encoding="utf-8")
    assert page == render_advice_page(load_catalog()), "run: python -m posture.advice_doc"


def test_every_advice_id_has_an_anchor_and_its_cue() -> None:
    catalog = load_catalog()
    page = render_advice_page(catalog)
    anchors = re.findall(r'<a id="([a-z0-9_]+)"></a>', page)
    assert sorted(anchors) == sorted(catalog)
    for item in catalog.values():
        assert item.cue in page
    assert "not a diagnosis" in page


def test_the_alert_rules_link_only_to_anchors_that_exist() -> None:
    anchors = set(load_catalog())
    rules = ROOT / "dashboards" / "provisioning" / "alerting"
    linked = {
        m
        for path in rules.glob("*.yaml")
        for m in re.findall(r"docs/advice\.md#([a-z0-9_]+)", path.read_text())
    }
    assert linked, "the alert rules link to the advice page"
    assert linked <= anchors
