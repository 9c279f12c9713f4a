"""Event rules as data: loaded and checked against the advice catalog; thresholds with sources; overrides."""

from __future__ import annotations

import math

import pytest

from processing.advice import load_catalog
from processing.events import Rule, RulesError, load_rules, parse_rules, rules_with_overrides
from processing.events.rules import RULES_FILE

#: Issue 8, item 2: the rules the engine must have, with their type.
REQUIRED = {
    "pelvic_drop_high": "level",
    "drop_asymmetry": "asymmetry",
    "step_time_asymmetry": "asymmetry",
    "contact_time_asymmetry": "asymmetry",
    "pelvic_tilt_high": "level",
    "pelvic_tilt_rising": "drift",
    "rotation_excessive": "level",
    "overstriding_braking": "level",
    "impact_high": "level",
    "cadence_falling": "cadence",
    "form_fatigue": "drift",
    "weekly_load_jump": "load",
    "run_summary": "summary",
}

VALID = """
[[rules]]
id = "drop_high"
type = "level"
title = "Drop high"
metric = "pelvic_drop_deg"
measure = "side_mean"
threshold = 8.0
unit = "deg"
source = "stated default: the top of the normal range."
release = 7.5
min_strides = 30
cooldown_strides = 60
severity = "warning"
advice = ["form_hips_level"]
cue = "Keep your hips level, your {other_side} hip sags."

[[rules]]
id = "summary"
type = "summary"
title = "Summary"
measure = "summary"
unit = "events"
source = "stated default: one per run."
severity = "info"
cue = "Run summary."
"""


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return load_rules(load_catalog())


def test_the_required_rules_are_there_with_their_types(rules: tuple[Rule, ...]) -> None:
    assert {r.id: r.type for r in rules} == REQUIRED


def test_every_threshold_has_a_unit_a_source_and_hysteresis(rules: tuple[Rule, ...]) -> None:
    catalog = load_catalog()
    for r in rules:
        assert r.source.startswith("stated default:") or any(str(y) in r.source for y in range(1990, 2030)), (
            r.id
        )
        assert all(a in catalog for a in r.advice), r.id
        if r.is_form_rule:
            assert r.threshold is not None, r.id
            assert 0 <= r.release < r.threshold, r.id
            assert r.min_strides >= 20, r.id
            assert r.cooldown_strides >= 0, r.id


def test_asymmetry_zones_are_garmins_ground_contact_time_balance(rules: tuple[Rule, ...]) -> None:
    by_id = {r.id: r for r in rules}
    for rule_id in ("step_time_asymmetry", "contact_time_asymmetry"):
        r = by_id[rule_id]
        # balance b% on the longer side is SI = 4 (b - 50): green <= 50.7, orange 50.8-52.2, red > 52.2
        assert r.threshold == pytest.approx(4 * (50.8 - 50))
        assert r.alert_threshold == pytest.approx(4 * (52.2 - 50))
        assert r.release == pytest.approx(4 * (50.7 - 50))
        assert "Garmin" in r.source
        assert r.unit == "%"


def test_messages_fill_in_the_side_in_plain_words(rules: tuple[Rule, ...]) -> None:
    by_id = {r.id: r for r in rules}
    # pelvic drop names the stance side: during left stance it is the right hip that sags
    assert by_id["pelvic_drop_high"].message("L") == "Keep your hips level, your right hip sags."
    assert by_id["step_time_asymmetry"].message("R") == "Uneven steps, your right step lasts longer."
    assert by_id["form_fatigue"].message() == by_id["form_fatigue"].cue


def test_overrides_replace_the_threshold_and_scale_the_hysteresis(rules: tuple[Rule, ...]) -> None:
    new = {
        r.id: r for r in rules_with_overrides(rules, {"pelvic_drop_high": 9.0, "step_time_asymmetry": 10.0})
    }
    old = {r.id: r for r in rules}
    drop = new["pelvic_drop_high"]
    assert drop.threshold == 9.0
    assert drop.release == pytest.approx(7.5 * 9.0 / 8.0)
    assert "runner's own threshold" in drop.source
    assert "Bramah" in drop.source
    step = new["step_time_asymmetry"]
    assert step.threshold == 10.0
    assert step.alert_threshold is None
    assert new["contact_time_asymmetry"] == old["contact_time_asymmetry"]
    assert rules_with_overrides(rules, {}) == rules


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"hip_drop": 9.0}, "no rule called hip_drop"),
        ({"pelvic_drop_high": -1.0}, "positive number"),
        ({"pelvic_drop_high": math.nan}, "positive number"),
        ({"run_summary": 1.0}, "no threshold"),
    ],
)
def test_bad_overrides_fail_naming_the_rule(
    rules: tuple[Rule, ...], overrides: dict[str, float], words: str
) -> None:
    with pytest.raises(RulesError, match=words):
        rules_with_overrides(rules, overrides)


def test_a_valid_minimal_rule_set_parses() -> None:
    parsed = parse_rules(VALID, load_catalog())
    assert [r.id for r in parsed] == ["drop_high", "summary"]
    assert parsed[0].is_sided
    assert not parsed[0].uses_baseline


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('advice = ["form_hips_level"]', 'advice = ["keep_calm"]', "advice", "unknown advice id"),
        (
            'advice = ["form_hips_level"]',
            'advice = ["prevent_running_shoes"]',
            "advice",
            "addresses pelvic_drop_deg",
        ),
        ("release = 7.5", "release = 8.5", "release", "hysteresis"),
        ('unit = "deg"', 'unit = "%"', "unit", "'deg'"),
        ('measure = "side_mean"', 'measure = "change_pct"', "measure", "a level rule measures"),
        ('source = "stated default: the top of the normal range."', 'source = "a guess"', "source", "cite"),
        ("{other_side} hip sags.", "{leg} hip sags.", "cue", "placeholder"),
        (
            "Keep your hips level, your {other_side} hip sags.",
            "Keep your hips level at 8 deg.",
            "cue",
            "spoken",
        ),
        ('metric = "pelvic_drop_deg"', 'metric = "hip_drop"', "metric", "steps.csv column"),
        ('severity = "warning"', 'severity = "panic"', "severity", "panic"),
    ],
)
def test_invalid_rules_fail_naming_the_rule_and_the_field(old: str, new: str, field: str, words: str) -> None:
    assert old in VALID
    with pytest.raises(RulesError, match=words) as info:
        parse_rules(VALID.replace(old, new, 1), load_catalog())
    assert info.value.rule == "drop_high"
    assert info.value.field == field


def test_rule_set_errors() -> None:
    catalog = load_catalog()
    with pytest.raises(RulesError, match="exactly one summary"):
        parse_rules(VALID.split('[[rules]]\nid = "summary"')[0], catalog)
    with pytest.raises(RulesError, match="more than once"):
        parse_rules(VALID + VALID.split('\n[[rules]]\nid = "summary"')[0], catalog)
    with pytest.raises(RulesError, match="not valid TOML"):
        parse_rules("[[rules]\n", catalog)
    with pytest.raises(RulesError, match="missing key"):
        parse_rules(VALID.replace("min_strides = 30\n", ""), catalog)
    assert RULES_FILE == "rules.toml"
