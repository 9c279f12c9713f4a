"""Form events: rules as data, an engine that turns steps into events live or after the run, training load.

- `load_rules(catalog)` reads `rules.toml` (thresholds with their sources, hysteresis, minimum strides,
  cool-down, severity, advice ids checked against `processing.advice`, spoken cues);
  `rules_with_overrides(rules, {"rule_id": threshold})` applies a runner's own thresholds.
- `EventEngine(rules).update(steps)` reports events as they open, escalate and close; `finish()` returns every
  event of the run (the summary event last). `detect_events(steps)` is the same in one call: any split of the
  steps into `update()` calls gives the batch result.
- `FormEvent.to_json_dict()` is the events.json object (docs/design.md, "Offline analysis contract").
- `processing.events.load`: the acute:chronic ratio of weekly running distance and the distance estimate.

Events are form cues, never diagnoses.
"""

from processing.events.engine import (
    EngineParams,
    EngineState,
    EventEngine,
    LoadContext,
    detect_events,
    required_windows,
)
from processing.events.errors import EventsError, InvalidStepsError, RulesError
from processing.events.load import (
    LoadAssessment,
    RunLoad,
    WeeklyLoad,
    assess_load,
    estimate_distance_m,
    weekly_loads,
)
from processing.events.measures import Reading, WindowStats, readings, window_stats
from processing.events.model import EventType, EventUpdate, FormEvent, Severity
from processing.events.rules import (
    DriftComponent,
    Measure,
    Rule,
    load_rules,
    parse_rules,
    rules_with_overrides,
)

__all__ = [
    "DriftComponent",
    "EngineParams",
    "EngineState",
    "EventEngine",
    "EventType",
    "EventUpdate",
    "EventsError",
    "FormEvent",
    "InvalidStepsError",
    "LoadAssessment",
    "LoadContext",
    "Measure",
    "Reading",
    "Rule",
    "RulesError",
    "RunLoad",
    "Severity",
    "WeeklyLoad",
    "WindowStats",
    "assess_load",
    "detect_events",
    "estimate_distance_m",
    "load_rules",
    "parse_rules",
    "readings",
    "required_windows",
    "rules_with_overrides",
    "weekly_loads",
    "window_stats",
]
