"""The advice the report shows with each alert: the catalog's items, looked up by the ids events carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["AdviceItem", "load_advice"]


class AdviceItem(Protocol):
    """What the report reads of an advice catalog item (`processing.advice`)."""

    @property
    def title(self) -> str: ...

    @property
    def cue(self) -> str: ...

    @property
    def explanation(self) -> str: ...

    @property
    def category(self) -> str: ...


def load_advice() -> Mapping[str, AdviceItem]:
    """The project's advice catalog (`processing.advice.load_catalog`), by advice id."""
    from processing.advice import load_catalog

    catalog: Mapping[str, AdviceItem] = load_catalog()
    return catalog
