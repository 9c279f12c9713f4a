"""Event rules as data: `rules.toml` in this package, loaded and validated against the advice catalog.

Each rule names what it measures over a window of strides (`Measure`), a threshold with its unit and its
`source` (a published figure with its citation, or "stated default: why"), a release threshold below it
(hysteresis: an open event closes only when the value falls below the release), the minimum number of strides
the problem must show before an event opens, a cool-down in strides before the same rule and side may open
again, a severity (and optionally a higher `alert_threshold` that raises it to "alert"), the advice ids it
points to (checked against `processing.advice`) and a cue template (plain words, at most 60 characters once
the side is filled in). `rules_with_overrides` applies a runner's own thresholds (from the settings).

Every measured value is oriented so that larger is worse: a falling cadence is measured as the fall, in
percent, and the threshold is positive.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Literal, cast, get_args

from processing.advice import MAX_CUE_CHARS, AdviceCatalog, is_speakable
from processing.asymmetry import METRIC_DIRECTIONS
from processing.events.errors import RulesError
from processing.events.model import EVENT_TYPES, SEVERITIES, EventType, Severity
from processing.steps import METRIC_UNITS

__all__ = [
    "MEASURES",
    "RULES_FILE",
    "DriftComponent",
    "Measure",
    "Rule",
    "RulesError",
    "load_rules",
    "parse_rules",
    "rules_with_overrides",
]

#: The rules' data file inside this package.
RULES_FILE = "rules.toml"

Measure = Literal[
    "mean",  # the window mean of the metric over both sides
    "side_mean",  # the window mean over each side's steps (one reading per side)
    "asymmetry",  # SI (%) for timing and force metrics, right minus left for angles; per side, oriented
    "change",  # window mean minus the runner's baseline, in the metric's unit (direction up or down)
    "change_pct",  # the same in percent of the baseline
    "drifting_metrics",  # how many of the rule's components drifted past their own change from the baseline
    "acute_chronic_ratio",  # this week's running distance over the mean of the weeks before (training load)
    "summary",  # the post-run summary event
]
MEASURES: tuple[str, ...] = get_args(Measure)
Direction = Literal["up", "down"]

#: Which measures each event type may use.
_MEASURES_OF_TYPE: dict[str, tuple[str, ...]] = {
    "asymmetry": ("asymmetry",),
    "level": ("mean", "side_mean"),
    "drift": ("change", "change_pct", "drifting_metrics"),
    "cadence": ("change", "change_pct"),
    "load": ("acute_chronic_ratio",),
    "summary": ("summary",),
}
#: Measures whose events carry a side ("L"/"R").
SIDED_MEASURES = frozenset({"side_mean", "asymmetry"})
#: Measures compared with the runner's baseline (evaluated once the baseline is known).
BASELINE_MEASURES = frozenset({"change", "change_pct", "drifting_metrics"})
_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SIDE_WORDS = ("left", "right")
_PLACEHOLDERS = frozenset({"side", "other_side"})
_RULE_KEYS = frozenset(
    {
        "id",
        "type",
        "title",
        "metric",
        "measure",
        "direction",
        "threshold",
        "unit",
        "source",
        "release",
        "alert_threshold",
        "min_strides",
        "cooldown_strides",
        "severity",
        "advice",
        "cue",
        "components",
    }
)


@dataclass(frozen=True, slots=True)
class DriftComponent:
    """One metric of a multi-metric drift rule (form fatigue): it counts as drifting when its window mean has
    moved from the baseline by at least `change` (signed: negative means a fall counts), in its own unit.
    """

    metric: str
    change: float

    def __post_init__(self) -> None:
        if self.metric not in METRIC_UNITS:
            raise RulesError(
                f"component metric {self.metric!r} is not a steps.csv column", field="components"
            )
        if not (math.isfinite(self.change) and self.change != 0):
            raise RulesError(f"component {self.metric}: change must be finite and not 0", field="components")

    @property
    def unit(self) -> str:
        return METRIC_UNITS[self.metric]


@dataclass(frozen=True, slots=True)
class Rule:
    """One event rule (see the module notes; rules.toml documents each field).

    Attributes
    ----------
    id : str
    type : "asymmetry", "level", "drift", "cadence", "load" or "summary"
    title : str
        A short name for reports ("Pelvic drop high").
    metric : str or None
        The steps.csv column; None for form fatigue (several metrics), the training load and the summary.
    measure : Measure
    direction : "up" or "down"
        For change measures: which way is worse.
    threshold : float or None
        Opens an event, in `unit`; None only for the summary.
    unit : str
    source : str
        The published figure with its citation, or "stated default: why".
    release : float
        An open event closes when the value falls below this (< threshold: hysteresis).
    alert_threshold : float or None
        At or above this the event's severity becomes "alert".
    min_strides : int
        The problem must show over at least this many consecutive strides before the event opens.
    cooldown_strides : int
        After an event closes, the same rule and side stay quiet for this many strides.
    severity : "info", "warning" or "alert"
    advice : tuple of str
    cue : str
        Template of the spoken message; may use {side} and {other_side} ("left"/"right") on sided rules.
    components : tuple of DriftComponent
        For `drifting_metrics` only.
    """

    id: str
    type: EventType
    title: str
    metric: str | None
    measure: Measure
    threshold: float | None
    unit: str
    source: str
    release: float
    min_strides: int
    cooldown_strides: int
    severity: Severity
    advice: tuple[str, ...]
    cue: str
    direction: Direction = "up"
    alert_threshold: float | None = None
    components: tuple[DriftComponent, ...] = ()

    def __post_init__(self) -> None:
        _validate_rule(self)

    @property
    def is_form_rule(self) -> bool:
        """True for rules evaluated on windows of strides (not the training load, not the summary)."""
        return self.type not in ("load", "summary")

    @property
    def is_sided(self) -> bool:
        """True when events name a side ("L"/"R")."""
        return self.measure in SIDED_MEASURES

    @property
    def uses_baseline(self) -> bool:
        """True when the rule compares windows with the runner's own first minutes."""
        return self.measure in BASELINE_MEASURES

    def message(self, side: str | None = None) -> str:
        """The cue with the side filled in ("L"/"R" becomes "left"/"right")."""
        if side is None:
            return self.cue
        words = {"L": ("left", "right"), "R": ("right", "left")}[side]
        return self.cue.format(side=words[0], other_side=words[1])


def _expected_unit(rule: Rule) -> str:
    m = rule.measure
    if m in ("mean", "side_mean", "change") and rule.metric is not None:
        return METRIC_UNITS[rule.metric]
    if m == "asymmetry" and rule.metric is not None:
        return "%" if METRIC_DIRECTIONS[rule.metric][0] == "ratio" else METRIC_UNITS[rule.metric]
    return {"change_pct": "%", "drifting_metrics": "metrics", "acute_chronic_ratio": "ratio"}.get(m, "events")


def _validate_rule(r: Rule) -> None:
    def fail(message: str, field: str) -> RulesError:
        return RulesError(message, rule=r.id if isinstance(r.id, str) else repr(r.id), field=field)

    if not isinstance(r.id, str) or not _ID.fullmatch(r.id):
        raise fail("id must be snake case ([a-z][a-z0-9_]*, at most 64 characters)", "id")
    if r.type not in EVENT_TYPES:
        raise fail(f"{r.type!r} is not one of {', '.join(EVENT_TYPES)}", "type")
    if r.measure not in _MEASURES_OF_TYPE[r.type]:
        raise fail(f"a {r.type} rule measures one of {', '.join(_MEASURES_OF_TYPE[r.type])}", "measure")
    if r.direction not in ("up", "down"):
        raise fail("must be 'up' or 'down'", "direction")
    if r.direction == "down" and r.measure not in ("change", "change_pct"):
        raise fail("only change measures can fall ('down')", "direction")
    needs_metric = r.measure not in ("drifting_metrics", "acute_chronic_ratio", "summary")
    if needs_metric and r.metric not in METRIC_UNITS:
        raise fail(f"{r.metric!r} is not a steps.csv column ({', '.join(METRIC_UNITS)})", "metric")
    if not needs_metric and r.metric is not None:
        raise fail(f"a {r.measure} rule concerns no single metric; leave metric out", "metric")
    if r.measure in ("asymmetry", "side_mean") and r.metric not in METRIC_DIRECTIONS:
        raise fail(f"no left/right direction is defined for {r.metric!r}", "metric")
    if r.type == "cadence" and r.metric != "cadence_spm":
        raise fail("a cadence rule measures cadence_spm", "metric")
    if r.unit != _expected_unit(r):
        raise fail(f"is {r.unit!r}; this measure is in {_expected_unit(r)!r}", "unit")
    for name in ("title", "source", "cue"):
        if not isinstance(getattr(r, name), str) or not getattr(r, name).strip():
            raise fail("must be a non-empty string", name)
    if not r.source.startswith("stated default:") and not re.search(r"\b(19|20)\d\d\b", r.source):
        raise fail("must cite a published figure (with its year) or start with 'stated default:'", "source")
    if r.severity not in SEVERITIES:
        raise fail(f"{r.severity!r} is not one of {', '.join(SEVERITIES)}", "severity")
    if r.measure == "summary":
        if r.threshold is not None or r.alert_threshold is not None:
            raise fail("the summary has no threshold", "threshold")
    else:
        if r.threshold is None or not (math.isfinite(r.threshold) and r.threshold > 0):
            raise fail(f"must be a positive number, got {r.threshold!r}", "threshold")
        if r.alert_threshold is not None and not r.alert_threshold > r.threshold:
            raise fail(f"must be above the threshold {r.threshold}", "alert_threshold")
    if r.is_form_rule and r.threshold is not None:  # (form rules always have one: checked above)
        if not (math.isfinite(r.release) and 0 <= r.release < r.threshold):
            raise fail(f"must be in [0, threshold {r.threshold}) for hysteresis, got {r.release}", "release")
        if not (isinstance(r.min_strides, int) and r.min_strides >= 1):
            raise fail("must be an integer of at least 1", "min_strides")
        if not (isinstance(r.cooldown_strides, int) and r.cooldown_strides >= 0):
            raise fail("must be a non-negative integer", "cooldown_strides")
    if (r.measure == "drifting_metrics") != bool(r.components):
        raise fail("a drifting_metrics rule needs components, and only it", "components")
    if r.measure == "drifting_metrics":
        if len({c.metric for c in r.components}) != len(r.components):
            raise fail("lists a metric twice", "components")
        if r.threshold is not None and r.threshold > len(r.components):
            raise fail(f"threshold {r.threshold} exceeds the {len(r.components)} components", "threshold")
    if not isinstance(r.advice, tuple) or (r.measure != "summary" and not r.advice):
        raise fail("needs at least one advice id", "advice")
    fields_used = {f for _, f, _, _ in string.Formatter().parse(r.cue) if f is not None}
    if fields_used - _PLACEHOLDERS:
        raise fail(
            f"unknown placeholder(s) {sorted(fields_used - _PLACEHOLDERS)}; use {{side}}, {{other_side}}",
            "cue",
        )
    if fields_used and not r.is_sided:
        raise fail("names a side, but this rule's events have none", "cue")
    for side in ("L", "R") if r.is_sided else (None,):
        text = r.message(side)
        if len(text) > MAX_CUE_CHARS or not is_speakable(text):
            raise fail(f"{text!r}: a cue is plain spoken words of at most {MAX_CUE_CHARS} characters", "cue")


def _component(raw: object, rule_id: str) -> DriftComponent:
    if not isinstance(raw, dict) or set(raw) != {"metric", "change"}:
        raise RulesError("each component is {metric = ..., change = ...}", rule=rule_id, field="components")
    try:
        return DriftComponent(str(raw["metric"]), float(raw["change"]))
    except RulesError as exc:
        raise RulesError(str(exc).split(": ", 1)[-1], rule=rule_id, field="components") from exc


def parse_rules(text: str, catalog: AdviceCatalog) -> tuple[Rule, ...]:
    """Parse and validate rules TOML (the format of `rules.toml`) against `catalog`; raises `RulesError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"not valid TOML: {exc}") from exc
    if set(data) - {"rules"}:
        raise RulesError(f"unknown top-level key(s) {', '.join(sorted(set(data) - {'rules'}))}")
    entries = data.get("rules")
    if not isinstance(entries, list) or not entries:
        raise RulesError("needs at least one [[rules]] entry")
    rules: list[Rule] = []
    for k, raw in enumerate(entries):
        label = str(raw.get("id", f"#{k + 1}")) if isinstance(raw, dict) else f"#{k + 1}"
        if not isinstance(raw, dict):
            raise RulesError("must be a table", rule=label)
        if set(raw) - _RULE_KEYS:
            raise RulesError(f"unknown key(s) {', '.join(sorted(set(raw) - _RULE_KEYS))}", rule=label)
        required = {"id", "type", "title", "measure", "unit", "source", "severity", "cue"}
        if raw.get("measure") != "summary":
            required |= {"threshold", "advice"}
        if raw.get("type") not in ("load", "summary"):
            required |= {"release", "min_strides", "cooldown_strides"}
        missing = sorted(required - set(raw))
        if missing:
            raise RulesError(f"missing key(s) {', '.join(missing)}", rule=label)
        threshold = raw.get("threshold")
        alert = raw.get("alert_threshold")
        try:
            rule = Rule(
                id=raw["id"],
                type=cast("EventType", raw["type"]),
                title=raw["title"],
                metric=raw.get("metric"),
                measure=cast("Measure", raw["measure"]),
                threshold=None if threshold is None else float(threshold),
                unit=raw["unit"],
                source=" ".join(str(raw["source"]).split()),
                release=float(raw.get("release", 0.0)),
                min_strides=raw.get("min_strides", 1),
                cooldown_strides=raw.get("cooldown_strides", 0),
                severity=cast("Severity", raw["severity"]),
                advice=tuple(raw.get("advice", ())),
                cue=raw["cue"],
                direction=cast("Direction", raw.get("direction", "up")),
                alert_threshold=None if alert is None else float(alert),
                components=tuple(_component(c, label) for c in raw.get("components", ())),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RulesError):
                raise
            raise RulesError(f"a value has the wrong type: {exc}", rule=label) from exc
        rules.append(rule)
    _validate_set(rules, catalog)
    return tuple(rules)


def _validate_set(rules: Sequence[Rule], catalog: AdviceCatalog) -> None:
    ids = [r.id for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RulesError(f"rule id(s) {', '.join(dup)} appear more than once")
    if sum(r.measure == "summary" for r in rules) != 1:
        raise RulesError("needs exactly one summary rule (the post-run summary event)")
    if sum(r.type == "load" for r in rules) > 1:
        raise RulesError("at most one training-load rule")
    for r in rules:
        try:
            catalog.require(r.advice, owner=f"rule {r.id}")
        except ValueError as exc:
            raise RulesError(str(exc), rule=r.id, field="advice") from exc
        # a rule on one metric points to advice for that metric; a multi-metric rule to advice for one of them
        metrics = [r.metric] if r.metric else [c.metric for c in r.components]
        if metrics and not any(m in catalog[a].metrics for a in r.advice for m in metrics):
            raise RulesError(
                f"none of its advice addresses {' or '.join(metrics)}; add an advice item that lists it",
                rule=r.id,
                field="advice",
            )


def load_rules(catalog: AdviceCatalog) -> tuple[Rule, ...]:
    """The project's rules (`rules.toml` in this package), validated against `catalog`."""
    text = resources.files("processing.events").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return parse_rules(text, catalog)


def rules_with_overrides(rules: Sequence[Rule], overrides: Mapping[str, float]) -> tuple[Rule, ...]:
    """The rules with a runner's own thresholds, by rule id (e.g. {"pelvic_drop_high": 9.0}).

    The release keeps its ratio to the threshold (the hysteresis scales with it); an `alert_threshold` that
    the new threshold reaches is dropped (the rule then stays at its own severity); the source records the
    override and the default. Unknown ids, the summary rule and non-positive or non-finite values raise
    `RulesError` naming the rule.
    """
    by_id = {r.id: r for r in rules}
    unknown = sorted(set(overrides) - set(by_id))
    if unknown:
        raise RulesError(f"no rule called {', '.join(unknown)}; known rules: {', '.join(by_id)}")
    out: list[Rule] = []
    for r in rules:
        if r.id not in overrides:
            out.append(r)
            continue
        value = overrides[r.id]
        if r.threshold is None:
            raise RulesError("the summary has no threshold to override", rule=r.id, field="threshold")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and value > 0)
        ):
            raise RulesError(
                f"override must be a positive number, got {value!r}", rule=r.id, field="threshold"
            )
        new = float(value)
        alert = r.alert_threshold if r.alert_threshold is not None and r.alert_threshold > new else None
        # a runner's own figure is a stated one, whatever the default's source was
        source = (
            f"stated default: the runner's own threshold (settings); the project's {r.threshold:g} {r.unit} "
            f"comes from: {r.source}"
        )
        out.append(
            replace(
                r,
                threshold=new,
                release=r.release * new / r.threshold,
                alert_threshold=alert,
                source=source,
            )
        )
    return tuple(out)
