"""The form-event engine of one run, as a runner's settings and history make it.

The rules come from the catalog with the runner's own thresholds (`[thresholds]` in the config file); the
training-load rule reads the runner's earlier runs from the local history (never this run's own row, so a
replay decides the same).
"""

from __future__ import annotations

from collections.abc import Mapping

from posture.history import RunHistory
from processing.events import EventEngine, LoadContext

__all__ = ["event_engine"]


def event_engine(
    thresholds: Mapping[str, float], *, athlete: str, started_ns: int, history: RunHistory | None
) -> EventEngine:
    """The engine of one run: the runner's thresholds, and their history before `started_ns`."""
    from processing.advice import load_catalog
    from processing.events import load_rules, rules_with_overrides

    rules = rules_with_overrides(load_rules(load_catalog()), thresholds)
    load = (
        None
        if history is None
        else LoadContext(history.load_history(athlete, before_ns=started_ns), started_ns)
    )
    return EventEngine(rules, load=load)
