"""The advice catalog: every item of the guide, spoken cues, explanations, metrics; clear errors."""

from __future__ import annotations

from importlib import resources

import pytest

from processing.advice import (
    MAX_CUE_CHARS,
    AdviceCatalog,
    AdviceCatalogError,
    AdviceCategory,
    AdviceItem,
    is_speakable,
    load_catalog,
    parse_catalog,
)
from processing.errors import ProcessingError
from processing.steps import METRIC_UNITS

#: The guide, item by item (issue 8, item 1), and the catalog entry that covers it.
GUIDE: dict[AdviceCategory, dict[str, tuple[str, ...]]] = {
    "cause": {
        "cause_overuse": ("overuse", "sudden jump"),
        "cause_poor_form": ("posture", "form"),
        "cause_muscle_imbalance": ("core", "glutes", "hamstrings", "back extensors"),
    },
    "prevention": {
        "prevent_strengthen_core_back": ("core", "back"),
        "prevent_strengthen_glutes_hamstrings": ("glutes", "hamstrings"),
        "form_shoulders_relaxed": ("shoulders",),
        "form_hips_level": ("hip",),
        "form_feet_under_hips": ("under the hips",),
        "form_no_overstriding": ("overstriding",),
        "prevent_cross_training": ("swimming", "cycling", "yoga"),
        "prevent_running_shoes": ("shoes",),
        "prevent_gradual_progress": ("distance",),
    },
    "treatment": {
        "treat_rest": ("rest",),
        "treat_ice_then_heat": ("cold", "heat"),
        "treat_stretching": ("hamstring", "hip", "lower back"),
        "treat_massage": ("massage",),
        "treat_physical_therapy": ("physical therapist", "underlying cause"),
    },
    "see_a_doctor": {
        "see_doctor": ("severe", "lasts", "spreads down a leg", "numbness", "weakness", "herniated disc"),
    },
}

VALID = """
notice = "Form cues, not a diagnosis."
[[advice]]
id = "a_cause"
category = "cause"
title = "A cause"
cue = "Ease off."
explanation = "Why."
metrics = ["pelvic_drop_deg"]
[[advice]]
id = "a_prevention"
category = "prevention"
title = "Prevention"
cue = "Keep your hips level."
explanation = "How."
metrics = []
[[advice]]
id = "a_treatment"
category = "treatment"
title = "Treatment"
cue = "Rest."
explanation = "What."
metrics = []
[[advice]]
id = "a_doctor"
category = "see_a_doctor"
title = "Doctor"
cue = "See a doctor."
explanation = "When."
metrics = []
"""


def test_every_item_of_the_guide_is_an_entry_of_its_category() -> None:
    catalog = load_catalog()
    for category, items in GUIDE.items():
        assert {i.id for i in catalog.by_category(category)} == set(items), category
        for advice_id, words in items.items():
            text = f"{catalog[advice_id].title} {catalog[advice_id].explanation}".lower()
            for word in words:
                assert word in text, (advice_id, word)


def test_cues_are_short_plain_words_and_explanations_are_longer() -> None:
    for item in load_catalog().values():
        assert len(item.cue) <= MAX_CUE_CHARS
        assert is_speakable(item.cue), item.cue
        assert len(item.explanation) > 2 * len(item.cue)
        assert all(m in METRIC_UNITS for m in item.metrics)


def test_the_catalog_says_alerts_are_form_cues_not_a_diagnosis() -> None:
    catalog = load_catalog()
    assert "not a diagnosis" in catalog.notice
    assert "cannot diagnose" in catalog["see_doctor"].explanation


def test_form_metrics_are_addressed_by_advice() -> None:
    catalog = load_catalog()
    for metric in (
        "pelvic_drop_deg",
        "pelvic_tilt_deg",
        "pelvic_rotation_deg",
        "braking_dv_mps",
        "impact_peak_g",
        "cadence_spm",
        "step_time_s",
        "contact_time_s",
    ):
        assert catalog.addressing(metric), metric


def test_the_catalog_ships_as_package_data_and_loads_once() -> None:
    assert resources.files("processing.advice").joinpath("catalog.toml").is_file()
    assert load_catalog() is load_catalog()
    assert isinstance(load_catalog(), AdviceCatalog)


def test_a_valid_minimal_catalog_parses() -> None:
    catalog = parse_catalog(VALID)
    assert list(catalog) == ["a_cause", "a_prevention", "a_treatment", "a_doctor"]
    assert catalog["a_cause"] == AdviceItem(
        "a_cause", "A cause", "Ease off.", "Why.", ("pelvic_drop_deg",), "cause"
    )


@pytest.mark.parametrize(
    ("old", "new", "item", "field", "words"),
    [
        ('cue = "Ease off."', 'cue = "' + "Run tall " * 8 + '"', "a_cause", "cue", "at most 60"),
        ('cue = "Ease off."', 'cue = "Run at 180 steps/min."', "a_cause", "cue", "spoken"),
        ('metrics = ["pelvic_drop_deg"]', 'metrics = ["hip_drop"]', "a_cause", "metrics", "hip_drop"),
        ('category = "cause"', 'category = "cure"', "a_cause", "category", "cure"),
        ('id = "a_prevention"', 'id = "a_cause"', "a_cause", "id", "twice"),
        ('id = "a_cause"', 'id = "A-Cause"', "'A-Cause'", "id", "snake case"),
        ('title = "Treatment"\n', "", "a_treatment", None, r"missing key\(s\) title"),
        (
            'explanation = "What."',
            'explanation = "What."\nurl = "x"',
            "a_treatment",
            None,
            r"unknown key\(s\) url",
        ),
    ],
)
def test_invalid_entries_fail_naming_the_entry_and_the_field(
    old: str, new: str, item: str, field: str | None, words: str
) -> None:
    assert old in VALID
    with pytest.raises(AdviceCatalogError, match=words) as info:
        parse_catalog(VALID.replace(old, new, 1))
    assert info.value.item == item
    assert info.value.field == field
    assert isinstance(info.value, ProcessingError)
    assert isinstance(info.value, ValueError)


def test_catalog_wide_errors() -> None:
    with pytest.raises(AdviceCatalogError, match="not valid TOML"):
        parse_catalog("[[advice]\n")
    with pytest.raises(AdviceCatalogError, match="notice"):
        parse_catalog(VALID.replace('notice = "Form cues, not a diagnosis."', ""))
    with pytest.raises(AdviceCatalogError, match="see_a_doctor"):
        parse_catalog(VALID.replace('category = "see_a_doctor"', 'category = "treatment"'))
    with pytest.raises(AdviceCatalogError, match=r"unknown advice id\(s\) nope"):
        load_catalog().require(("form_hips_level", "nope"), owner="rule x")
