"""The weekly running load around this run (the guide's gradual progress), from the run history.

Weeks are `processing.events.weekly_loads`' rolling 7-day blocks ending with this run, the same blocks the
training-load rule judges, so the page and the load alert cannot disagree. Shown only when the history
holds this run's own row (a run recorded with `posture run`): this run's distance is the history's estimate,
and a folder analysed from a CSV recording has neither a date nor that estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints

from posture.report.figures import layout
from posture.report.history import HistoryRun
from posture.report.run import RunData
from processing.events import RunLoad, WeeklyLoad, weekly_loads
from processing.events.load import CHRONIC_WEEKS

__all__ = ["load_figure", "load_html", "weekly_load"]


def weekly_load(run: RunData, history: Sequence[HistoryRun]) -> tuple[WeeklyLoad, ...]:
    """This week (the 7 days ending with this run) and the `CHRONIC_WEEKS` weeks before it, this week
    first; empty when the history does not hold this run."""
    session = run.identity.session
    own = next((r for r in history if session is not None and r.session == session), None)
    if own is None:
        return ()
    end_ns = own.started_ns + round(own.duration_s * 1e9)
    loads = [RunLoad(r.started_ns, r.duration_s, r.distance_m) for r in history]
    return weekly_loads(loads, at_ns=end_ns, weeks=CHRONIC_WEEKS + 1)


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _week_name(i: int) -> str:
    return "The last 7 days" if i == 0 else ("The week before" if i == 1 else f"{i} weeks before")


def load_figure(weeks: Sequence[WeeklyLoad]) -> go.Figure | None:
    """Distance per week, oldest first; None without weeks."""
    if not weeks:
        return None
    ordered = list(enumerate(weeks))[::-1]
    fig = go.Figure(
        go.Bar(
            x=[_week_name(i) for i, _ in ordered],
            y=[w.distance_m / 1000.0 for _, w in ordered],
            text=[f"{w.distance_m / 1000.0:.1f} km, {_runs(w.runs)}" for _, w in ordered],
            textposition="outside",
            marker_color=["#555" if i == 0 else "#aaa" for i, _ in ordered],
            hovertemplate="%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="km (estimated)", rangemode="tozero")
    layout(fig, height=300)
    return fig.update_layout(margin=dict(t=30))


def load_html(weeks: Sequence[WeeklyLoad], *, plot_html: str) -> str:
    """The weekly load section: this week against the mean of the weeks before, in words, and the plot."""
    if not weeks:
        return ""
    this = weeks[0].distance_m
    before = sum(w.distance_m for w in weeks[1:]) / max(1, len(weeks) - 1)
    change = f" ({100.0 * (this - before) / before:+.0f} %)" if before > 0 and math.isfinite(this) else ""
    text = (
        f"The last 7 days: {this / 1000.0:.1f} km in {_runs(weeks[0].runs)}; "
        f"the {len(weeks) - 1} weeks before: {before / 1000.0:.1f} km a week on average{change}. Distances "
        "are estimated from your contact times."
    )
    return f"<h3 id='weekly-load'>Your weekly running</h3><p>{escape(text)}</p>{plot_html}"
