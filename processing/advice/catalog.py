"""The advice catalog: the guide to avoiding lower back pain while running, as typed, validated data.

The text lives in one data file, `catalog.toml` next to this module (read through `importlib.resources`, so it
ships inside the package), and is validated when it is loaded: a bad entry fails at start with a message that
names the entry and the field (`AdviceCatalogError`), never later in the middle of a run.

Every item has a `cue` short enough to be spoken during a run (at most `MAX_CUE_CHARS` characters of plain
words: letters, spaces and light punctuation, no digits, symbols or abbreviations a speech engine would trip
over) and an `explanation` for the post-run review. Alerts built on these are form cues, never diagnoses: the
catalog's `notice` says so, and the `see_a_doctor` item says when pain needs a doctor rather than a cue.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal, cast, get_args

from processing.errors import ProcessingError
from processing.steps import METRIC_UNITS

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

AdviceCategory = Literal["cause", "prevention", "treatment", "see_a_doctor"]
CATEGORIES: tuple[str, ...] = get_args(AdviceCategory)
#: The catalog's data file inside this package.
CATALOG_FILE = "catalog.toml"
#: A live cue must be short enough to be spoken in a few seconds, characters.
MAX_CUE_CHARS = 60
#: Ids as the MQTT event schema accepts them (docs/messages.md), kept to snake case here.
_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: Plain spoken words: starts with a capital letter, then letters, spaces and , . ' - ! ? (no digits, units,
#: symbols or brackets, which a speech engine reads badly).
_SPEAKABLE = re.compile(r"[A-Z][A-Za-z ,.'!?-]*")
_ITEM_KEYS = frozenset({"id", "category", "title", "cue", "explanation", "metrics"})


class AdviceCatalogError(ProcessingError, ValueError):
    """The advice catalog (or a rule pointing into it) is invalid.

    Attributes
    ----------
    item : str or None
        The id of the offending entry (or its position, "#3", before its id is known).
    field : str or None
        The offending field.
    """

    def __init__(self, message: str, *, item: str | None = None, field: str | None = None) -> None:
        where = f"advice {item}" if item else "advice catalog"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.item = item
        self.field = field


def is_speakable(text: str) -> bool:
    """True for plain words fit to be spoken: a capital letter first, then letters, spaces, , . ' - ! ?"""
    return bool(_SPEAKABLE.fullmatch(text)) and "  " not in text


@dataclass(frozen=True, slots=True)
class AdviceItem:
    """One item of the guide.

    Attributes
    ----------
    id : str
        Stable id ([a-z][a-z0-9_]*), used by rules, events.json and the MQTT event messages.
    title : str
        A short heading for the post-run review.
    cue : str
        At most `MAX_CUE_CHARS` characters of plain words, fit to be spoken during a run.
    explanation : str
        The longer text for the post-run review.
    metrics : tuple of str
        The `StepMetrics` columns (`processing.steps.METRIC_UNITS`) this item addresses; may be empty.
    category : "cause", "prevention", "treatment" or "see_a_doctor"
    """

    id: str
    title: str
    cue: str
    explanation: str
    metrics: tuple[str, ...]
    category: AdviceCategory

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise AdviceCatalogError(
                "id must be snake case ([a-z][a-z0-9_]*, at most 64 characters)",
                item=repr(self.id),
                field="id",
            )
        for name in ("title", "cue", "explanation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise AdviceCatalogError("must be a non-empty string", item=self.id, field=name)
        if len(self.cue) > MAX_CUE_CHARS:
            raise AdviceCatalogError(
                f"{len(self.cue)} characters; a spoken cue has at most {MAX_CUE_CHARS}: shorten it",
                item=self.id,
                field="cue",
            )
        if not is_speakable(self.cue):
            raise AdviceCatalogError(
                f"{self.cue!r} is not plain spoken words (a capital letter first, then letters, spaces and "
                ", . ' - ! ? only: write numbers and units out or leave them to the explanation)",
                item=self.id,
                field="cue",
            )
        if self.category not in CATEGORIES:
            raise AdviceCatalogError(
                f"{self.category!r} is not one of {', '.join(CATEGORIES)}", item=self.id, field="category"
            )
        if not isinstance(self.metrics, tuple) or not all(isinstance(m, str) for m in self.metrics):
            raise AdviceCatalogError("must be a list of metric names", item=self.id, field="metrics")
        unknown = [m for m in self.metrics if m not in METRIC_UNITS]
        if unknown:
            raise AdviceCatalogError(
                f"unknown metric(s) {', '.join(unknown)}; use steps.csv columns: {', '.join(METRIC_UNITS)}",
                item=self.id,
                field="metrics",
            )
        if len(set(self.metrics)) != len(self.metrics):
            raise AdviceCatalogError("lists a metric twice", item=self.id, field="metrics")


@dataclass(frozen=True, slots=True, eq=False)
class AdviceCatalog(Mapping[str, AdviceItem]):
    """The whole guide: a read-only mapping of advice id to `AdviceItem`, in the file's order.

    Attributes
    ----------
    entries : mapping of id to AdviceItem
        The items (the mapping itself reads through to them).
    notice : str
        What the alerts are and are not (form cues, not a diagnosis), for the review and the summary.
    """

    entries: Mapping[str, AdviceItem]
    notice: str

    def __post_init__(self) -> None:
        if not isinstance(self.notice, str) or not self.notice.strip():
            raise AdviceCatalogError("needs a non-empty 'notice' saying that alerts are not a diagnosis")
        for key, item in self.entries.items():
            if not isinstance(item, AdviceItem) or key != item.id:
                raise AdviceCatalogError("items must be keyed by their own id", item=key)
        present = {item.category for item in self.entries.values()}
        missing = [c for c in CATEGORIES if c not in present]
        if missing:
            raise AdviceCatalogError(f"no item of category {', '.join(missing)}: the guide covers all four")
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    def __getitem__(self, key: str) -> AdviceItem:
        return self.entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def by_category(self, category: AdviceCategory) -> tuple[AdviceItem, ...]:
        """The items of one category, in the file's order."""
        return tuple(item for item in self.entries.values() if item.category == category)

    def addressing(self, metric: str) -> tuple[AdviceItem, ...]:
        """The items that list `metric` among the metrics they address."""
        return tuple(item for item in self.entries.values() if metric in item.metrics)

    def require(self, ids: tuple[str, ...], *, owner: str) -> None:
        """Raise `AdviceCatalogError` naming `owner` (e.g. "rule pelvic_drop_high") if an id is unknown."""
        unknown = [i for i in ids if i not in self.entries]
        if unknown:
            raise AdviceCatalogError(
                f"{owner} points to unknown advice id(s) {', '.join(unknown)}; known ids: {', '.join(self)}"
            )


def parse_catalog(text: str) -> AdviceCatalog:
    """Parse and validate catalog TOML (the format of `catalog.toml`); raises `AdviceCatalogError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AdviceCatalogError(f"not valid TOML: {exc}") from exc
    unknown_top = set(data) - {"notice", "advice"}
    if unknown_top:
        raise AdviceCatalogError(f"unknown top-level key(s) {', '.join(sorted(unknown_top))}")
    entries = data.get("advice")
    if not isinstance(entries, list) or not entries:
        raise AdviceCatalogError("needs at least one [[advice]] entry")
    items: dict[str, AdviceItem] = {}
    for k, entry in enumerate(entries):
        label = str(entry.get("id", f"#{k + 1}")) if isinstance(entry, dict) else f"#{k + 1}"
        if not isinstance(entry, dict):
            raise AdviceCatalogError("must be a table", item=label)
        extra = set(entry) - _ITEM_KEYS
        if extra:
            raise AdviceCatalogError(f"unknown key(s) {', '.join(sorted(extra))}", item=label)
        missing = sorted(_ITEM_KEYS - set(entry))
        if missing:
            raise AdviceCatalogError(f"missing key(s) {', '.join(missing)}", item=label)
        metrics = entry["metrics"]
        if not isinstance(metrics, list):
            raise AdviceCatalogError("must be a list of metric names", item=label, field="metrics")
        item = AdviceItem(
            id=entry["id"],
            title=entry["title"],
            cue=entry["cue"],
            explanation=" ".join(str(entry["explanation"]).split()),
            metrics=tuple(metrics),
            category=cast("AdviceCategory", entry["category"]),
        )
        if item.id in items:
            raise AdviceCatalogError("appears twice: ids must be unique", item=item.id, field="id")
        items[item.id] = item
    notice = data.get("notice", "")
    return AdviceCatalog(items, " ".join(str(notice).split()))


@cache
def load_catalog() -> AdviceCatalog:
    """The project's advice catalog (`catalog.toml` in this package), validated; the same object each call."""
    text = resources.files("processing.advice").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    return parse_catalog(text)
