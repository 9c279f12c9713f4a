"""Our reading of what Grafana does with a panel or alert query, so that tests can run them without Grafana.

Grafana cannot be installed on the machines that test this project, so the tests run every provisioned query
against a real InfluxDB with Grafana's substitutions done here, and evaluate every alert rule here. What each
step does, and where it comes from:

Template variables (`interpolate_variables`)
    Grafana's frontend replaces ``$name``, ``${name}`` and ``[[name]]`` with the variable's current value
    before it sends the query; ``${name:raw}`` inserts the value untouched. For the InfluxDB datasource a
    value is regex-escaped (``@grafana/data``'s ``escapeRegex``: each of ``\\ ^ $ * + ? . ( ) | [ ] { } /``
    gets a backslash), which is why our filters are ``"athlete" =~ /^$athlete$/`` (see
    `dashboards.grafana.influxql`). Names Grafana provides itself (``$__interval``, ``$timeFilter``,
    ``$interval``) are left for the next step.

Macros (`expand_macros`)
    Grafana's InfluxQL backend (``pkg/tsdb/influxdb/influxql/models/query.go``, ``Build``) then replaces, in
    this order: ``$timeFilter`` with ``time >= {from}ms and time <= {to}ms`` (the range's ends truncated to
    whole milliseconds), ``$interval`` with the interval's text, ``$__interval_ms`` with its milliseconds and
    ``$__interval`` with its text (``gtime.FormatInterval``: ``500ms``, ``15s``, ``2m``, ``1h``, ``1d``...).
    ``$__timeFilter`` is the SQL datasources' macro and means nothing to InfluxQL, so it is refused here.

The interval (`calculate_interval_ms`)
    ``$__interval`` is the range divided by the panel's maximum number of points (its width in pixels; 1000
    unless the panel says), rounded by ``rangeutil.roundInterval`` (the table in `_ROUNDED_MS`) and raised to
    the datasource's minimum (its ``timeInterval``).

Alert evaluation (`evaluate_condition`, `AlertTimeline`)
    A rule's queries run over ``[now - relativeTimeRange.from, now - relativeTimeRange.to]``. An InfluxQL
    result becomes one series per (GROUP BY tag set, value column), labelled with the tags. ``reduce`` turns
    each series into one number (``last``, ``mean``, ``max``, ``min``, ``sum``, ``count``; mode ``dropNN``
    ignores null and NaN, the default ``strict`` mode gives NaN if any value is one). ``math`` combines
    numbers with equal labels (``$A - $B``, ``abs()``, ``+ - * /``, comparisons giving 1 or 0); a number
    without a partner drops out. ``threshold`` gives 1 where ``gt``/``lt`` holds (``within_range`` and
    ``outside_range`` too), else 0. The condition's non-zero numbers are the firing instances. An instance
    goes Pending when its condition first holds and Alerting once it has held for the rule's ``for``
    (``0s``: at once), and Normal again when it stops holding; with no data at all the rule takes its
    ``noDataState``.

Everything here is pure: queries are run by a callable the caller passes (the tests pass a real InfluxDB).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dashboards.errors import DashboardsError

__all__ = [
    "DEFAULT_MAX_DATA_POINTS",
    "AlertState",
    "AlertTimeline",
    "EmulationError",
    "Labels",
    "Numbers",
    "SeriesLike",
    "TimeRange",
    "calculate_interval_ms",
    "evaluate_condition",
    "evaluate_math",
    "expand_macros",
    "format_interval",
    "interpolate",
    "interpolate_variables",
    "parse_duration_s",
    "reduce_series",
    "round_interval_ms",
]

#: A panel's maximum number of points when it does not say (about its width in pixels).
DEFAULT_MAX_DATA_POINTS = 1000
#: What Grafana's alerting gives a query that sets no interval.
ALERT_INTERVAL_MS = 1000


class EmulationError(DashboardsError, ValueError):
    """A query or rule uses something this emulation does not read the way Grafana does; extend it first."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A dashboard's or rule's time range, epoch ns, both ends included (as ``$timeFilter`` includes them)."""

    from_ns: int
    to_ns: int

    def __post_init__(self) -> None:
        if self.to_ns < self.from_ns:
            raise EmulationError(f"time range ends ({self.to_ns}) before it starts ({self.from_ns})")

    @property
    def span_ms(self) -> float:
        return (self.to_ns - self.from_ns) / 1e6


# ---- the interval ------------------------------------------------------------------------------------------

#: rangeutil.roundInterval: (below this many ms, round to this many ms).
_ROUNDED_MS: tuple[tuple[float, int], ...] = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000


def round_interval_ms(interval_ms: float) -> int:
    """Grafana's ``roundInterval``: a raw interval (ms) to the next "nice" one below it."""
    for below, rounded in _ROUNDED_MS:
        if interval_ms < below:
            return rounded
    return _YEAR_MS


def calculate_interval_ms(
    time_range: TimeRange, *, max_data_points: int = DEFAULT_MAX_DATA_POINTS, min_interval_ms: int = 0
) -> int:
    """``$__interval`` in ms: the range over `max_data_points`, rounded, at least `min_interval_ms`."""
    return max(round_interval_ms(time_range.span_ms / max_data_points), min_interval_ms)


_FORMAT_UNITS_MS = (("y", _YEAR_MS), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def format_interval(interval_ms: int) -> str:
    """``gtime.FormatInterval``: the largest unit the interval reaches, truncated (90 s is ``1m``)."""
    for unit, size in _FORMAT_UNITS_MS:
        if interval_ms >= size:
            return f"{interval_ms // size}{unit}"
    return f"{max(interval_ms, 1)}ms"


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_DURATION_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration_s(text: str) -> float:
    """A Grafana duration (``30s``, ``1m30s``, ``0s``) in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise EmulationError(f"{text!r} is not a duration such as 30s, 5m or 1h")
    return sum(int(n) * _DURATION_S[u] for n, u in parts)


# ---- variables and macros ----------------------------------------------------------------------------------

# Grafana's variable syntaxes: $name, [[name]] or [[name:format]], ${name} or ${name:format}
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")
#: Names Grafana itself fills in, left for `expand_macros`.
_MACROS = frozenset({"timeFilter", "interval", "__interval", "__interval_ms"})
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


def _regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def interpolate_variables(query: str, variables: Mapping[str, str]) -> str:
    """Replace the template variables of `query` as Grafana's frontend does for InfluxQL (module notes)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(5)
        if name in _MACROS:
            return match.group(0)
        if name.startswith("__"):
            raise EmulationError(f"{match.group(0)} is a Grafana variable this emulation does not provide")
        if name not in variables:
            raise EmulationError(f"the query uses ${name}, but no value was given for it")
        value = variables[name]
        if fmt in (None, "regex"):
            return _regex_escape(value)
        if fmt == "raw":
            return value
        raise EmulationError(f"variable format {fmt!r} of {match.group(0)} is not emulated")

    return _VARIABLE.sub(replace, query)


def expand_macros(query: str, *, time_range: TimeRange, interval_ms: int) -> str:
    """Replace Grafana's InfluxQL macros in the order its backend does (module notes)."""
    if "$__timeFilter" in query:
        raise EmulationError("$__timeFilter is not an InfluxQL macro; InfluxQL queries use $timeFilter")
    time_filter = f"time >= {time_range.from_ns // 1_000_000}ms and time <= {time_range.to_ns // 1_000_000}ms"
    text = format_interval(interval_ms)
    out = query.replace("$timeFilter", time_filter)
    out = out.replace("$interval", text)
    out = out.replace("$__interval_ms", str(interval_ms))
    out = out.replace("$__interval", text)
    left = re.search(r"\$\w+", _without_literals(out))
    if left:
        raise EmulationError(f"{left.group(0)} is left in the query after substitution: {out}")
    return out


def _without_literals(query: str) -> str:
    """The query without its regex and string literals (a ``$`` in ``/^x$/`` is an anchor, not a macro)."""
    return re.sub(r"/(?:\\.|[^/\\])*/|'(?:\\.|[^'\\])*'", "", query)


def interpolate(query: str, *, variables: Mapping[str, str], time_range: TimeRange, interval_ms: int) -> str:
    """The InfluxQL that Grafana sends for `query`: variables first, then macros."""
    return expand_macros(
        interpolate_variables(query, variables), time_range=time_range, interval_ms=interval_ms
    )


# ---- alert evaluation --------------------------------------------------------------------------------------


class SeriesLike(Protocol):
    """One series of an InfluxQL answer (`posture.localstack.influxdb.Series` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def values(self) -> tuple[tuple[object, ...], ...]: ...


#: An instance's labels (GROUP BY tags), sorted.
Labels = tuple[tuple[str, str], ...]
#: One number per label set: what reduce, math and threshold produce.
Numbers = dict[Labels, float]
#: Runs final InfluxQL and returns its series.
QueryRunner = Callable[[str], Sequence[SeriesLike]]


def _as_float(value: object) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _series_values(series: Sequence[SeriesLike]) -> dict[Labels, list[float]]:
    """One series per (tag set, value column), as Grafana frames an InfluxQL answer."""
    out: dict[Labels, list[float]] = {}
    for s in series:
        for index, column in enumerate(s.columns):
            if column == "time":
                continue
            labels = s.tags if len(s.columns) == 2 else (*s.tags, ("__field__", column))
            out[tuple(sorted(labels))] = [_as_float(row[index]) for row in s.values]
    return out


_REDUCERS: Mapping[str, Callable[[list[float]], float]] = {
    "last": lambda v: v[-1],
    "mean": lambda v: math.fsum(v) / len(v),
    "max": max,
    "min": min,
    "sum": math.fsum,
    "count": lambda v: float(len(v)),
}


def _reduce(values: list[float], reducer: str, mode: str) -> float:
    if reducer not in _REDUCERS:
        raise EmulationError(f"reducer {reducer!r} is not emulated; known: {', '.join(_REDUCERS)}")
    if mode == "dropNN":
        values = [v for v in values if math.isfinite(v)]
    elif mode != "strict":
        raise EmulationError(f"reduce mode {mode!r} is not emulated (strict, dropNN)")
    elif any(math.isnan(v) for v in values):
        return math.nan
    if not values:
        return math.nan if reducer != "count" else 0.0
    return _REDUCERS[reducer](values)


def reduce_series(series: Sequence[SeriesLike], reducer: str, mode: str = "dropNN") -> Numbers:
    """One number per series of an InfluxQL answer, as Grafana's ``reduce`` expression gives it."""
    return {k: _reduce(v, reducer, mode) for k, v in _series_values(series).items()}


_BINARY: Mapping[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: a / b if b != 0 else math.nan,
}
_COMPARE: Mapping[type, Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def evaluate_math(expression: str, results: Mapping[str, Numbers]) -> Numbers:
    """Evaluate a Grafana math expression over the numbers of other queries (module notes)."""
    source = re.sub(r"\$\{?(\w+)\}?", r"ref_\1", expression)
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise EmulationError(f"math expression {expression!r} is not emulated: {exc}") from exc

    def ev(node: ast.expr) -> Numbers | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id.startswith("ref_"):
            ref = node.id[4:]
            if ref not in results:
                raise EmulationError(f"math expression {expression!r} reads ${ref}, which is not computed")
            return results[ref]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return combine(lambda a, _: -a, ev(node.operand), 0.0)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return combine(_BINARY[type(node.op)], ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            compare = _COMPARE[type(node.ops[0])]
            return combine(lambda a, b: float(compare(a, b)), ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
            return combine(lambda a, _: abs(a), ev(node.args[0]), 0.0)
        raise EmulationError(f"math expression {expression!r}: {ast.unparse(node)} is not emulated")

    def combine(
        op: Callable[[float, float], float], a: Numbers | float, b: Numbers | float
    ) -> Numbers | float:
        if isinstance(a, float) and isinstance(b, float):
            return op(a, b)
        if isinstance(a, float):
            assert isinstance(b, dict)  # for mypy: one side is numbers
            return {k: op(a, v) for k, v in b.items()}
        if isinstance(b, float):
            return {k: op(v, b) for k, v in a.items()}
        return {k: op(v, b[k]) for k, v in a.items() if k in b}

    value = ev(tree)
    if isinstance(value, float):
        return {(): value}
    return value


def _threshold(numbers: Numbers, evaluator: Mapping[str, object]) -> Numbers:
    kind = evaluator.get("type")
    params = [float(p) for p in evaluator.get("params", [])]  # type: ignore[attr-defined]
    tests: Mapping[str, Callable[[float], bool]] = {
        "gt": lambda v: v > params[0],
        "lt": lambda v: v < params[0],
        "within_range": lambda v: params[0] < v < params[1],
        "outside_range": lambda v: v < params[0] or v > params[1],
    }
    if kind not in tests:
        raise EmulationError(f"threshold type {kind!r} is not emulated ({', '.join(tests)})")
    test = tests[str(kind)]
    return {k: float(not math.isnan(v) and test(v)) for k, v in numbers.items()}


def evaluate_condition(rule: Mapping[str, object], *, now_ns: int, run_query: QueryRunner) -> Numbers | None:
    """Evaluate one provisioned alert rule (its ``data`` and ``condition``) at `now_ns`.

    Parameters
    ----------
    rule : mapping
        One entry of ``groups[].rules`` of an alerting provisioning file.
    now_ns : int
        The evaluation instant, epoch ns.
    run_query : callable
        Runs final InfluxQL (after every substitution) and returns its series.

    Returns
    -------
    dict or None
        The condition's number per label set (non-zero: firing); None when the condition had no data.
    """
    results: dict[str, Numbers] = {}
    raw: dict[str, dict[Labels, list[float]]] = {}
    for query in rule["data"]:  # type: ignore[attr-defined]
        ref = str(query["refId"])
        model = query["model"]
        if query.get("datasourceUid") == "__expr__":
            kind = model["type"]
            if kind == "reduce":
                source = str(model["expression"])
                mode = str((model.get("settings") or {}).get("mode", "strict"))
                if source in raw:
                    results[ref] = {k: _reduce(v, model["reducer"], mode) for k, v in raw[source].items()}
                else:
                    results[ref] = {
                        k: _reduce([v], model["reducer"], mode) for k, v in results[source].items()
                    }
            elif kind == "math":
                results[ref] = evaluate_math(str(model["expression"]), results)
            elif kind == "threshold":
                (condition,) = model["conditions"]
                results[ref] = _threshold(results[str(model["expression"])], condition["evaluator"])
            else:
                raise EmulationError(f"expression type {kind!r} is not emulated")
        else:
            span = query["relativeTimeRange"]
            time_range = TimeRange(
                now_ns - int(span["from"]) * 10**9, now_ns - int(span.get("to", 0)) * 10**9
            )
            interval_ms = int(model.get("intervalMs", ALERT_INTERVAL_MS))
            text = expand_macros(str(model["query"]), time_range=time_range, interval_ms=interval_ms)
            raw[ref] = _series_values(run_query(text))
    condition = results.get(str(rule["condition"]))
    if condition is None:
        raise EmulationError(f"the rule's condition {rule['condition']!r} is not one of its expressions")
    return condition or None


@dataclass(frozen=True, slots=True)
class AlertState:
    """One alert instance at one evaluation: Normal, Pending or Alerting (or NoData for the whole rule)."""

    t_ns: int
    labels: Labels
    state: str


class AlertTimeline:
    """One alert rule evaluated again and again, with its ``for`` and ``noDataState`` (module notes).

    Call `evaluate` at each evaluation instant in time order (or `run` for evenly spaced ones); `states`
    holds every evaluation's state per instance, `firing` the evaluations at which an instance was Alerting.
    """

    def __init__(self, rule: Mapping[str, object]) -> None:
        self.rule = rule
        self.for_s = parse_duration_s(str(rule.get("for", "0s")))
        self.no_data_state = str(rule.get("noDataState", "NoData"))
        self.states: list[AlertState] = []
        self._pending_since: dict[Labels, int] = {}

    def evaluate(self, now_ns: int, run_query: QueryRunner) -> list[AlertState]:
        """Evaluate the rule at `now_ns`; returns the states of this evaluation."""
        numbers = evaluate_condition(self.rule, now_ns=now_ns, run_query=run_query)
        states: list[AlertState] = []
        if numbers is None:
            self._pending_since.clear()
            state = {"OK": "Normal", "Alerting": "Alerting"}.get(self.no_data_state, "NoData")
            states.append(AlertState(now_ns, (), state))
        else:
            for labels, value in sorted(numbers.items()):
                if value != 0 and not math.isnan(value):
                    since = self._pending_since.setdefault(labels, now_ns)
                    state = "Alerting" if (now_ns - since) / 1e9 >= self.for_s else "Pending"
                else:
                    self._pending_since.pop(labels, None)
                    state = "Normal"
                states.append(AlertState(now_ns, labels, state))
        self.states.extend(states)
        return states

    def run(self, *, start_ns: int, end_ns: int, interval_s: float, run_query: QueryRunner) -> AlertTimeline:
        """Evaluate every `interval_s` from `start_ns` to `end_ns` (both included when on the grid)."""
        t = start_ns
        while t <= end_ns:
            self.evaluate(t, run_query)
            t += round(interval_s * 1e9)
        return self

    @property
    def firing(self) -> list[AlertState]:
        """The evaluations at which an instance was Alerting."""
        return [s for s in self.states if s.state == "Alerting"]
