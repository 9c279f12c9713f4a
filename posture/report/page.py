"""The report as one self-contained HTML page: plotly's JavaScript inline, no fonts, images or scripts from
anywhere else, and a Content-Security-Policy that forbids the page to fetch anything, so it opens the same
offline, from an e-mail attachment, or years later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from posture.labels import (
    ADVICE_CATEGORY_HEADINGS,
    METRIC_LABELS,
    event_subject,
    format_clock,
    label_for,
    worse_side_text,
)
from posture.report.advice import AdviceItem
from posture.report.drift import SideDrift, side_drifts
from posture.report.figures import (
    ALERT_COLOUR,
    LEFT_COLOUR,
    RIGHT_COLOUR,
    alerts_figure,
    drift_figure,
    side_figures,
)
from posture.report.headline import Headline, headline, side_verdict
from posture.report.history import HistoryRun, comparison_points, history_figure, history_html
from posture.report.load import load_figure, load_html, weekly_load
from posture.report.run import FormEvent, RunData
from processing.asymmetry import BASELINE_S, METRIC_DIRECTIONS, WINDOW_STRIDES

__all__ = ["CONTENT_SECURITY_POLICY", "DEFAULT_NOTICE", "render_report"]

#: Nothing may be loaded from anywhere: scripts and styles are inline, images (plotly's "download plot")
#: are data or blob URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
    "font-src data:; connect-src 'none'"
)
#: The footer when the advice catalog brings no notice of its own.
DEFAULT_NOTICE = (
    "These are form cues, not a diagnosis. If something hurts, rest, and see a physiotherapist if it keeps "
    "hurting."
)
#: plotly's options for every plot: no plotly logo (a link to plotly's site).
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #222; margin: 0; background: #f6f6f4; line-height: 1.45; }}
main {{ max-width: 1060px; margin: 0 auto; padding: 1.5em 1.2em 3em; }}
h1 {{ margin: 0 0 .2em; font-size: 1.8em; }}
h2 {{ margin: 1.8em 0 .4em; font-size: 1.35em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }}
section.card, div.card {{ background: white; border-radius: 8px; padding: 1em 1.2em;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
.headline {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin-top: 1em; }}
.headline h2 {{ margin-top: 0; border: 0; font-size: 1.15em; }}
.well h2 {{ color: #2e7d32; }} .work h2 {{ color: {ALERT_COLOUR}; }}
.headline li {{ margin-bottom: .4em; }}
.note {{ background: #fff8e1; border-left: 4px solid #f9a825; padding: .6em 1em; margin: 1em 0; }}
.muted {{ color: #666; font-size: .92em; }}
table {{ border-collapse: collapse; width: 100%; background: white; }}
th, td {{ text-align: left; padding: .45em .6em; border-bottom: 1px solid #eee; }}
th.num, td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
th.left {{ color: {LEFT_COLOUR}; }} th.right {{ color: {RIGHT_COLOUR}; }}
td.uneven {{ color: {ALERT_COLOUR}; font-weight: 600; }}
section.alert-group {{ margin: .8em 0; }}
.alert-group h3 {{ margin: 0 0 .4em; font-size: 1.05em; }}
ul.alert-times {{ list-style: none; padding: 0; margin: 0 0 .6em; }}
ul.alert-times li {{ margin: .2em 0; }}
.alert-num {{ display: inline-block; min-width: 1.4em; text-align: center; border-radius: 50%;
  background: {ALERT_COLOUR}; color: white; font-weight: 600; font-size: .85em; }}
.when {{ font-weight: 600; color: {ALERT_COLOUR}; }}
.advice {{ margin: .6em 0 0; padding-left: .8em; border-left: 3px solid #90caf9; }}
.advice .kind {{ color: #666; font-size: .85em; text-transform: uppercase; letter-spacing: .03em; }}
.advice .cue {{ font-weight: 600; }}
.plot {{ background: white; border-radius: 8px; margin: .8em 0; }}
.sides-grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 0 .6em; }}
.sides-grid .plot {{ margin: .3em 0; }}
.table-wrap {{ overflow-x: auto; }}
dl.glossary dt {{ font-weight: 600; margin-top: .5em; }} dl.glossary dd {{ margin: 0 0 0 1em; }}
footer {{ margin-top: 2.5em; }}
@media (max-width: 700px) {{ .headline {{ grid-template-columns: 1fr; }} }}
"""


def _plot(fig: go.Figure, div_id: str) -> str:
    html: str = fig.to_html(
        full_html=False, include_plotlyjs=False, include_mathjax=False, config=_PLOT_CONFIG, div_id=div_id
    )
    return f'<div class="plot">{html}</div>'


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def _headline_html(h: Headline, notes: Sequence[str]) -> str:
    notes_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (
        f'<p class="summary">{escape(h.summary)}</p>{notes_html}'
        '<div class="headline">'
        f'<section class="card well" id="went-well"><h2>What went well</h2>{_list(h.went_well)}</section>'
        f'<section class="card work" id="work-on"><h2>What to work on</h2>{_list(h.work_on)}</section>'
        "</div>"
    )


def _advice_html(ids: Sequence[str], advice: Mapping[str, AdviceItem]) -> str:
    """The catalog's items for `ids` (unknown ids left out), each with its kind, cue and explanation; what
    helps first, then why it happens, then what to do if it keeps happening (`ADVICE_CATEGORY_HEADINGS`)."""
    order = list(ADVICE_CATEGORY_HEADINGS)
    items = sorted(
        (advice[a] for a in dict.fromkeys(ids) if a in advice),
        key=lambda i: order.index(i.category) if i.category in order else len(order),
    )
    blocks = []
    for item in items:
        kind = ADVICE_CATEGORY_HEADINGS.get(item.category, "")
        blocks.append(
            f'<div class="advice"><div class="kind">{escape(kind)}</div>'
            f'<div class="cue">{escape(item.cue)}</div>'
            f'<div class="explanation">{escape(item.explanation)}</div></div>'
        )
    return "".join(blocks)


def _where(e: FormEvent) -> str:
    """What an alert concerns, in words: "Pelvic drop, when standing on your left leg (right hip sags)"."""
    name = event_subject(e.metric, e.type)
    return f"{name}, {worse_side_text(e.metric, e.side)}" if e.metric and e.side else name


def _alerts_html(run: RunData, alerts: Sequence[FormEvent], advice: Mapping[str, AdviceItem]) -> str:
    """The alerts on the time line, then one card per metric and side: each alert's time and message
    (numbered as on the time line), then the advice of all of them once."""
    if not alerts:
        return '<p id="no-alerts">No form alerts during this run.</p>'
    fig = alerts_figure(alerts, run.summary.duration_s)
    parts = [_plot(fig, "plot-alerts")] if fig is not None else []
    groups: dict[str, list[tuple[int, FormEvent]]] = {}
    for n, e in enumerate(alerts, start=1):
        groups.setdefault(_where(e), []).append((n, e))
    for where, members in groups.items():
        times = []
        for n, e in members:
            end = format_clock(e.t_end_s) if math.isfinite(e.t_end_s) else "the end"
            times.append(
                f'<li class="alert"><span class="alert-num">{n}</span> '
                f'<span class="when">{format_clock(e.t_start_s)} to {end}</span> '
                f'<span class="message">{escape(e.message)}</span></li>'
            )
        ids = [a for _, e in members for a in e.advice]
        parts.append(
            f'<section class="card alert-group"><h3>{escape(where)}</h3>'
            f'<ul class="alert-times">{"".join(times)}</ul>{_advice_html(ids, advice)}</section>'
        )
    return "".join(parts)


def _difference(metric: str, si_pct: float, right_minus_left: float) -> str:
    """The size of a left/right difference: in % of the two sides' average for times and forces, in the
    metric's unit for angles (docs/design.md); which side is more has its own column."""
    if METRIC_DIRECTIONS.get(metric, ("ratio", True))[0] == "angle":
        return label_for(metric).format(abs(right_minus_left))
    return f"{abs(si_pct):.1f} %" if math.isfinite(si_pct) else "-"


def _sides_html(run: RunData) -> str:
    rows = []
    for column in METRIC_LABELS:
        m = run.summary.metric(column)
        if m is None or not (math.isfinite(m.left_mean) and math.isfinite(m.right_mean)):
            continue
        label = label_for(column)
        verdict = side_verdict(m)
        if verdict in ("slight", "uneven") and m.worse_side is not None:
            # the worse side has more of what is worse: less flight time, more of everything else
            more = "more" if METRIC_DIRECTIONS[column][1] else "less"
            which = f"{more} {worse_side_text(column, m.worse_side)}"
            which = which if verdict == "uneven" else f"slightly {which}"
        else:
            which = "even"
        diff = _difference(column, m.si_pct, m.right_minus_left)
        rows.append(
            f"<tr><td>{escape(label.name)}</td><td class='num'>{label.format(m.left_mean)}</td>"
            f"<td class='num'>{label.format(m.right_mean)}</td><td class='num'>{escape(diff)}</td>"
            f"<td class='{verdict}'>{escape(which)}</td></tr>"
        )
    if not rows:
        return "<p>No left/right comparison: no steps with both sides were found.</p>"
    table = (
        "<table id='sides-table'><thead><tr><th>Measure</th><th class='num left'>Left</th>"
        "<th class='num right'>Right</th><th class='num'>Difference</th><th>Which side</th>"
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p class='muted'>Difference: for times and forces, in % of the two sides' average; for angles, in "
        "degrees. A side is named only when the difference is big enough to matter.</p>"
    )
    plots = "".join(_plot(fig, f"plot-side-{column}") for column, fig in side_figures(run.summary))
    return f"<div class='table-wrap'>{table}</div><div class='sides-grid'>{plots}</div>"


def _drift_html(run: RunData, alerts: Sequence[FormEvent], drifts: Sequence[SideDrift]) -> str:
    fig = drift_figure(run, alerts, drifts)
    if fig is None:
        return (
            f"<p>The run is too short to show how your form changed: that needs at least {WINDOW_STRIDES} "
            "strides of running.</p>"
        )
    baseline = (
        f" The dashed lines are your own averages over your first {BASELINE_S / 60:.0f} minutes of running: "
        "a line that moves away from its dashed line late in the run shows your form changing as you tire."
        if drifts
        else f" The run is too short to compare its end with its first {BASELINE_S / 60:.0f} minutes."
    )
    bands = " Red bands are the alerts, numbered as in the list above." if alerts else ""
    return (
        f"<p class='muted'>Each point is {WINDOW_STRIDES} strides (about 15 s) of your left or right steps."
        f"{baseline}{bands}</p>" + _plot(fig, "plot-drift")
    )


def _glossary_html() -> str:
    items = "".join(
        f"<dt>{escape(label.name)} ({escape(label.unit)})</dt><dd>{escape(label.meaning)}</dd>"
        for label in METRIC_LABELS.values()
    )
    return f"<dl class='glossary'>{items}</dl>"


def _title(run: RunData) -> str:
    """ "Your run of Mon 07 Dec 2026, 07:00" (local time) when the folder says when it was; else the
    recording's file name."""
    started = run.identity.started_ns
    if started is not None:
        when = datetime.fromtimestamp(started / 1e9).astimezone().strftime("%a %d %b %Y, %H:%M")
        return f"Your run of {when}"
    return f"Run report: {run.summary.input_name}" if run.summary.input_name else "Run report"


def _notice(advice: Mapping[str, AdviceItem]) -> str:
    """What the page is and is not: the catalog's own notice when it has one."""
    notice = getattr(advice, "notice", None)
    return notice if isinstance(notice, str) and notice.strip() else DEFAULT_NOTICE


def _history_html(run: RunData, history: Sequence[HistoryRun] | None, athlete: str) -> str:
    if history is None:
        return ""
    points = comparison_points(run, history)
    fig = history_figure(points)
    weeks = weekly_load(run, history)
    load_fig = load_figure(weeks)
    return history_html(
        points, athlete=athlete, plot_html=_plot(fig, "plot-history") if fig is not None else ""
    ) + load_html(weeks, plot_html=_plot(load_fig, "plot-weekly-load") if load_fig is not None else "")


def render_report(
    run: RunData,
    *,
    advice: Mapping[str, AdviceItem] | None = None,
    history: Sequence[HistoryRun] | None = None,
    athlete: str = "",
) -> str:
    """The whole report page for `run`.

    Parameters
    ----------
    run : RunData
    advice : mapping of advice id to AdviceItem, optional
        The catalog; each alert shows the cue and explanation of its advice ids found in it.
    history : sequence of HistoryRun, optional
        The runner's runs from the run history (`history.read_recent_runs`); None leaves the comparison with
        recent runs out.
    athlete : str
        Whose history it is (named when it holds no earlier runs).
    """
    advice = advice or {}
    alerts = run.alerts
    drifts = side_drifts(run)
    head = headline(run.summary, alerts, advice, drifts)
    title = _title(run)
    body = (
        f"<h1>{escape(title)}</h1>"
        + _headline_html(head, run.summary.notes)
        + "<h2 id='alerts'>Alerts during the run</h2>"
        + _alerts_html(run, alerts, advice)
        + "<h2 id='sides'>Left and right</h2>"
        + _sides_html(run)
        + "<h2 id='over-the-run'>Over the run</h2>"
        + _drift_html(run, alerts, drifts)
        + _history_html(run, history, athlete)
        + "<h2 id='glossary'>What the measures mean</h2>"
        + _glossary_html()
        + f"<footer class='muted'>{escape(_notice(advice))}</footer>"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"</head><body><main>{body}</main></body></html>\n"
    )
