"""The advice catalog: the guide to avoiding lower back pain while running, as validated data.

`load_catalog()` reads `catalog.toml` (shipped in this package) once and returns an `AdviceCatalog`, a mapping
of advice id to `AdviceItem` (a spoken cue of at most 60 characters, an explanation for the review, the
metrics it addresses, and its category: cause, prevention, treatment or see_a_doctor). The event rules
(`processing.events`) link every form event to these ids. Alerts are form cues, never diagnoses.
"""

from processing.advice.catalog import (
    CATALOG_FILE,
    MAX_CUE_CHARS,
    AdviceCatalog,
    AdviceCatalogError,
    AdviceCategory,
    AdviceItem,
    is_speakable,
    load_catalog,
    parse_catalog,
)

__all__ = [
    "CATALOG_FILE",
    "MAX_CUE_CHARS",
    "AdviceCatalog",
    "AdviceCatalogError",
    "AdviceCategory",
    "AdviceItem",
    "is_speakable",
    "load_catalog",
    "parse_catalog",
]
