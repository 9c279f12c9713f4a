"""This run against the runner's recent runs from the run history (`posture.history`): a table and a plot.

The history keeps per run what a later run needs without its session file (`posture.history.RunRecord`):
start, duration, estimated distance, cadence, pelvic drop per stance side, and the left/right differences in
timing. The report compares the same numbers of this run with the `MAX_RECENT_RUNS` runs before it. When
the history already holds this run (a replayed session that `posture run` recorded), its own row is used, so
both sides of the comparison are measured the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Protocol

import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from posture.labels import format_clock, label_for
from posture.report.errors import ReportError
from posture.report.figures import LEFT_COLOUR, RIGHT_COLOUR, layout
from posture.report.run import RunData

__all__ = [
    "MAX_RECENT_RUNS",
    "HistoryRun",
    "RunPoint",
    "comparison_points",
    "history_figure",
    "history_html",
    "read_recent_runs",
]

#: The comparison shows at most this many runs before this one: about a month of regular running, few
#: enough to read each run's label.
MAX_RECENT_RUNS = 10
THIS_RUN = "This run"


class HistoryRun(Protocol):
    """What the report reads of a run history row (`posture.history.RunRecord`)."""

    @property
    def session(self) -> str: ...
    @property
    def started_ns(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def distance_m(self) -> float: ...
    @property
    def cadence_spm(self) -> float: ...
    @property
    def pelvic_drop_left_deg(self) -> float: ...
    @property
    def pelvic_drop_right_deg(self) -> float: ...
    @property
    def contact_time_si_pct(self) -> float: ...
    @property
    def form_events(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RunPoint:
    """One run in the comparison (NaN where unknown).

    Attributes
    ----------
    label : str
        "Mon 30 Nov 07:10", or "This run".
    is_this_run : bool
    duration_s : float, s
    distance_m : float, m
        Estimated by the history (NaN for this run when the history does not hold it).
    cadence_spm : float, steps/min
    pelvic_drop_left_deg, pelvic_drop_right_deg : float, deg
        Mean drop standing on the left and on the right leg.
    contact_time_si_pct : float, %
        Symmetry index of the ground contact time.
    alerts : int
        Form alerts (the training load's are not counted: they are about the week, not the run).
    """

    label: str
    is_this_run: bool
    duration_s: float
    distance_m: float
    cadence_spm: float
    pelvic_drop_left_deg: float
    pelvic_drop_right_deg: float
    contact_time_si_pct: float
    alerts: int


def read_recent_runs(path: Path, athlete: str) -> tuple[HistoryRun, ...]:
    """The athlete's runs in the history file `path`, oldest first; raises `ReportError` when the file is
    missing or is no run history."""
    if not path.is_file():
        raise ReportError(
            f"no run history at {path}: give the history file of `posture run`, or leave out --history"
        )
    from posture.history import HistoryError, RunHistory  # its sqlite3 and processing.events only when asked

    try:
        return RunHistory(path).recent_runs(athlete)
    except HistoryError as exc:
        raise ReportError(str(exc)) from exc


def _label(started_ns: int) -> str:
    """The run's local start as a runner names it: "Mon 30 Nov 07:10"."""
    return datetime.fromtimestamp(started_ns / 1e9).astimezone().strftime("%a %d %b %H:%M")


def _point(r: HistoryRun, *, label: str, is_this_run: bool) -> RunPoint:
    return RunPoint(
        label=label,
        is_this_run=is_this_run,
        duration_s=r.duration_s,
        distance_m=r.distance_m,
        cadence_spm=r.cadence_spm,
        pelvic_drop_left_deg=r.pelvic_drop_left_deg,
        pelvic_drop_right_deg=r.pelvic_drop_right_deg,
        contact_time_si_pct=r.contact_time_si_pct,
        alerts=r.form_events,
    )


def comparison_points(run: RunData, history: Sequence[HistoryRun]) -> tuple[RunPoint, ...]:
    """The `MAX_RECENT_RUNS` runs before this one (oldest first), then this run.

    This run is the history's row of the same session when there is one; otherwise it is taken from the run
    folder (summary.json; its distance is then unknown).
    """
    session, started = run.identity.session, run.identity.started_ns
    own = next((r for r in history if session is not None and r.session == session), None)
    before = [
        r
        for r in sorted(history, key=lambda r: r.started_ns)
        if r is not own and (started is None or r.started_ns < started)
    ][-MAX_RECENT_RUNS:]
    labels = [_label(r.started_ns) for r in before]
    points = [
        _point(r, label=label if labels.count(label) == 1 else f"{label} ({i + 1})", is_this_run=False)
        for i, (r, label) in enumerate(zip(before, labels, strict=True))
    ]
    if own is not None:
        points.append(_point(own, label=THIS_RUN, is_this_run=True))
    else:
        drop = run.summary.metric("pelvic_drop_deg")
        contact = run.summary.metric("contact_time_s")
        points.append(
            RunPoint(
                label=THIS_RUN,
                is_this_run=True,
                duration_s=run.summary.duration_s,
                distance_m=math.nan,
                cadence_spm=run.summary.cadence_spm,
                pelvic_drop_left_deg=drop.left_mean if drop else math.nan,
                pelvic_drop_right_deg=drop.right_mean if drop else math.nan,
                contact_time_si_pct=contact.si_pct if contact else math.nan,
                # counted as the history counts them: form alerts, not the training load's
                alerts=sum(e.type != "load" for e in run.alerts),
            )
        )
    return tuple(points)


def history_figure(points: Sequence[RunPoint]) -> go.Figure | None:
    """Pelvic drop per side, the left/right difference in contact time and the distance of each run, this
    run last and marked; None without earlier runs."""
    if not any(not p.is_this_run for p in points):
        return None
    x = [p.label for p in points]
    size = [13 if p.is_this_run else 7 for p in points]
    distances = [p.distance_m / 1000.0 for p in points]
    show_distance = any(math.isfinite(d) for d in distances)
    rows = 3 if show_distance else 2
    titles = ["Pelvic drop (°)", "Ground contact time: left/right difference (%)", "Distance (km, estimated)"]
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=titles[:rows]
    )
    for name, values, colour in (
        ("standing on your left leg", [p.pelvic_drop_left_deg for p in points], LEFT_COLOUR),
        ("standing on your right leg", [p.pelvic_drop_right_deg for p in points], RIGHT_COLOUR),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                mode="lines+markers",
                name=f"Pelvic drop {name}",
                marker=dict(color=colour, size=size),
                line=dict(color=colour, width=2),
                hovertemplate="%{x}: %{y:.1f}°<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(
            x=x,
            y=[abs(p.contact_time_si_pct) for p in points],
            marker_color=["#555" if p.is_this_run else "#aaa" for p in points],
            name="Contact time difference",
            showlegend=False,
            hovertemplate="%{x}: %{y:.1f} %<extra></extra>",
        ),
        row=2,
        col=1,
    )
    if show_distance:
        fig.add_trace(
            go.Bar(
                x=x,
                y=distances,
                marker_color=["#555" if p.is_this_run else "#aaa" for p in points],
                name="Distance",
                showlegend=False,
                hovertemplate="%{x}: %{y:.1f} km<extra></extra>",
            ),
            row=3,
            col=1,
        )
        for p in points:  # an empty slot would read as zero: say that the distance is not known
            if not math.isfinite(p.distance_m):
                fig.add_annotation(
                    x=p.label, y=0, yanchor="bottom", text="not known", showarrow=False, row=3, col=1
                )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x)
    fig.update_annotations(font_size=12)
    return layout(fig, height=230 * rows + 120)


def _km(distance_m: float) -> str:
    return f"{distance_m / 1000.0:.1f} km" if math.isfinite(distance_m) else "-"


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def history_html(points: Sequence[RunPoint], *, athlete: str, plot_html: str) -> str:
    """The "recent runs" section: a table of this run against the mean of the runs before, and the plot."""
    past = [p for p in points if not p.is_this_run]
    this = next(p for p in points if p.is_this_run)
    head = "<h2 id='history'>Compared with your recent runs</h2>"
    if not past:
        return (
            f"{head}<p>No earlier runs of {escape(athlete)} in the run history yet: the comparison starts "
            "with your next run.</p>"
        )
    drop, contact = label_for("pelvic_drop_deg"), label_for("contact_time_s")
    rows: list[tuple[str, str, str]] = [
        (
            "Pelvic drop, standing on your left leg",
            drop.format(this.pelvic_drop_left_deg),
            drop.format(_mean([p.pelvic_drop_left_deg for p in past])),
        ),
        (
            "Pelvic drop, standing on your right leg",
            drop.format(this.pelvic_drop_right_deg),
            drop.format(_mean([p.pelvic_drop_right_deg for p in past])),
        ),
        (
            f"{contact.name}: left/right difference",
            f"{abs(this.contact_time_si_pct):.1f} %",
            f"{_mean([abs(p.contact_time_si_pct) for p in past]):.1f} %",
        ),
        (
            "Cadence",
            label_for("cadence_spm").format(this.cadence_spm),
            label_for("cadence_spm").format(_mean([p.cadence_spm for p in past])),
        ),
        ("Duration", format_clock(this.duration_s), format_clock(_mean([p.duration_s for p in past]))),
        ("Distance (estimated)", _km(this.distance_m), _km(_mean([p.distance_m for p in past]))),
        ("Form alerts", str(this.alerts), f"{_mean([float(p.alerts) for p in past]):.1f}".removesuffix(".0")),
    ]
    body = "".join(
        f"<tr><td>{escape(a)}</td><td class='num'>{escape(b)}</td><td class='num'>{escape(c)}</td></tr>"
        for a, b, c in rows
    )
    return (
        f"{head}<div class='table-wrap'><table id='history-table'><thead><tr><th>Measure</th>"
        f"<th class='num'>This run</th><th class='num'>Your last {len(past)} runs (average)</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>" + plot_html
    )
