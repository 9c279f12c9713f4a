"""The report's plots (plotly figures, no I/O): left vs right, the run over time, and the alerts.

Every time axis is seconds from the start of the run, labelled minutes:seconds (`time_ticks`). Left is
always blue and right always orange, on every plot and in the tables' headers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from posture.labels import METRIC_LABELS, SIDE_WORDS, event_subject, format_clock, label_for
from posture.report.drift import SideDrift
from posture.report.headline import DRIFT_DEG, DRIFT_PCT
from posture.report.run import FormEvent, RunData, RunSummary, WindowSeries
from processing.asymmetry import METRIC_DIRECTIONS

__all__ = [
    "ALERT_COLOUR",
    "DRIFT_METRICS",
    "LEFT_COLOUR",
    "RIGHT_COLOUR",
    "alerts_figure",
    "drift_figure",
    "layout",
    "side_figures",
    "time_ticks",
]

LEFT_COLOUR = "#1f6fb4"
RIGHT_COLOUR = "#e8771a"
ALERT_COLOUR = "#c62828"
#: Cadence counts both feet: one line, in neither side's colour.
CADENCE_COLOUR = "#444444"
CADENCE = "cadence_spm"
#: What the "over the run" plot shows, top to bottom: the pelvis first (the device's reason to exist), then
#: the timing and the bounce that change as a runner tires.
DRIFT_METRICS = (
    "pelvic_drop_deg",
    "pelvic_tilt_deg",
    "pelvic_rotation_deg",
    "contact_time_s",
    "vertical_oscillation_m",
)
#: Up to this many windows (a run of about 20 minutes) each gets a marker; more would blot out the lines.
MAX_MARKED_WINDOWS = 80
#: Tick spacings the time axes choose from, s: the smallest that gives at most `_MAX_TICKS` ticks.
_TICK_STEPS_S = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
_MAX_TICKS = 10
_FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", size=13)


def time_ticks(duration_s: float) -> tuple[list[float], list[str]]:
    """Tick positions (s from the start) and their m:ss labels for a run of `duration_s`."""
    duration_s = duration_s if math.isfinite(duration_s) and duration_s > 0 else 60.0
    step = next((s for s in _TICK_STEPS_S if duration_s / s <= _MAX_TICKS), _TICK_STEPS_S[-1])
    values = [float(v) for v in np.arange(0.0, duration_s + 1e-9, step)]
    return values, [format_clock(v) for v in values]


def _time_axis(fig: go.Figure, duration_s: float, **where: int) -> None:
    values, texts = time_ticks(duration_s)
    fig.update_xaxes(tickmode="array", tickvals=values, ticktext=texts, range=[0, duration_s], **where)


def layout(fig: go.Figure, *, height: int) -> go.Figure:
    """The page's look for every plot: its font, white background, light grid, legend on top."""
    fig.update_layout(
        height=height,
        margin=dict(l=60, r=20, t=80, b=50),
        font=_FONT,
        plot_bgcolor="white",
        # the legend at the top of the figure, above the first plot's title (not on it)
        legend=dict(orientation="h", yref="container", yanchor="top", y=0.99, xanchor="right", x=1.0),
        hoverlabel=dict(font=_FONT),
    )
    fig.update_xaxes(showline=True, linecolor="#999", gridcolor="#eee")
    fig.update_yaxes(showline=True, linecolor="#999", gridcolor="#eee", zeroline=False)
    return fig


def _wrapped_title(name: str, unit: str) -> str:
    """A subplot title on two lines when its name has a part in brackets (a fifth of the page is narrow)."""
    head, _, rest = name.partition(" (")
    return f"{head}<br>({rest} ({unit})" if rest else f"{name} ({unit})"


def _y_range(values: np.ndarray, reference: float, half_span: float) -> list[float] | None:
    """A y range that shows at least `half_span` either side of `reference` (and all of `values`), so that
    step-to-step noise does not fill the plot and look like a trend; None to let plotly choose."""
    finite = values[np.isfinite(values)]
    if not (finite.size and math.isfinite(reference) and math.isfinite(half_span)):
        return None
    lo = min(float(finite.min()), reference - half_span)
    hi = max(float(finite.max()), reference + half_span)
    pad = 0.05 * (hi - lo)
    return [lo - pad, hi + pad]


def side_figures(summary: RunSummary) -> tuple[tuple[str, go.Figure], ...]:
    """Left and right means of every metric with both sides: one small bar chart per metric (the page lays
    them out in as many columns as the screen has room for), with its column name."""
    out = []
    for column in METRIC_LABELS:
        m = summary.metric(column)
        if m is None or not (math.isfinite(m.left_mean) and math.isfinite(m.right_mean)):
            continue
        label = label_for(column)
        fig = go.Figure()
        for side, value, colour in (
            ("Left", m.left_mean, LEFT_COLOUR),
            ("Right", m.right_mean, RIGHT_COLOUR),
        ):
            fig.add_trace(
                go.Bar(
                    x=[side],
                    y=[value * label.scale],
                    marker_color=colour,
                    name=side,
                    showlegend=False,
                    text=[label.format(value)],
                    textposition="inside",
                    insidetextanchor="middle",
                    textangle=0,
                    hovertemplate=f"{label.name}, {side.lower()} steps: %{{text}}<extra></extra>",
                )
            )
        layout(fig, height=250)
        fig.update_layout(
            title=dict(
                text=_wrapped_title(label.name, label.unit), font=dict(size=13), x=0.5, xanchor="center"
            ),
            margin=dict(l=45, r=10, t=60, b=30),
            uniformtext=dict(minsize=9, mode="hide"),
            bargap=0.25,
        )
        out.append((column, fig))
    return tuple(out)


def _drift_title(metric: str) -> str:
    label = label_for(metric)
    if metric == "pelvic_drop_deg":  # its side is the stance side: say so where the lines are
        return f"{label.title}: left = standing on your left leg, so the right hip sags"
    return label.title


def drift_figure(
    run: RunData, alerts: Sequence[FormEvent] = (), drifts: Sequence[SideDrift] = ()
) -> go.Figure | None:
    """The `DRIFT_METRICS` over the run: left and right per rolling window, each against its own first
    minutes (dashed, from `drifts`), with the alerts as numbered bands; None when the run is shorter than
    one window.

    Every plot shows at least 1.5 times the headline's drift threshold either side of the baseline, so a
    change the headline would not mention also looks small here.
    """
    series = [
        w
        for m in DRIFT_METRICS
        if (w := run.window(m)) is not None and np.isfinite(np.concatenate([w.left_mean, w.right_mean])).any()
    ]  # an accelerometer-only recording has no angles: no empty plots for them
    step_time = run.window("step_time_s")
    has_cadence = step_time is not None and bool(np.isfinite(step_time.window_mean).any())
    if not series and not has_cadence:
        return None
    n_rows = len(series) + has_cadence
    duration_s = run.summary.duration_s
    baselines: dict[tuple[str, str], float] = {(d.metric, d.side): d.baseline for d in drifts}
    fig = make_subplots(
        rows=n_rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05 if n_rows > 3 else 0.1,
        subplot_titles=[_drift_title(w.metric) for w in series]
        + ([_drift_title(CADENCE)] if has_cadence else []),
    )
    for i, w in enumerate(series):
        label = label_for(w.metric)
        when = [format_clock(t) for t in w.t_mid_s]
        hover = f"%{{customdata}}: %{{y:.{label.decimals}f}} {label.unit}"
        for side, values, colour in (("L", w.left_mean, LEFT_COLOUR), ("R", w.right_mean, RIGHT_COLOUR)):
            name = SIDE_WORDS[side].capitalize()
            fig.add_trace(
                go.Scatter(
                    x=w.t_mid_s,
                    y=values * label.scale,
                    mode="lines+markers" if len(w.t_mid_s) <= MAX_MARKED_WINDOWS else "lines",
                    marker=dict(size=5, color=colour),
                    line=dict(color=colour, width=2),
                    name=f"{name} steps",
                    legendgroup=side,
                    showlegend=i == 0,
                    customdata=when,
                    hovertemplate=f"{hover}<extra>{name}</extra>",
                ),
                row=i + 1,
                col=1,
            )
            baseline = baselines.get((w.metric, side), math.nan)
            if math.isfinite(baseline):
                fig.add_trace(
                    go.Scatter(
                        x=[0.0, duration_s],
                        y=[baseline * label.scale] * 2,
                        mode="lines",
                        line=dict(color=colour, width=1, dash="dash"),
                        name=f"{name}: your first minutes",
                        legendgroup=f"{side}-baseline",
                        showlegend=i == 0,
                        hoverinfo="skip",
                    ),
                    row=i + 1,
                    col=1,
                )
        reference = float(np.nanmean(np.concatenate([w.left_mean, w.right_mean])))
        is_angle = METRIC_DIRECTIONS.get(w.metric, ("ratio", True))[0] == "angle"
        half_span = 1.5 * (DRIFT_DEG if is_angle else DRIFT_PCT / 100.0 * abs(reference))
        y_range = _y_range(
            np.concatenate([w.left_mean, w.right_mean]) * label.scale,
            reference * label.scale,
            half_span * label.scale,
        )
        fig.update_yaxes(range=y_range, row=i + 1, col=1)
    rows = {w.metric: i + 1 for i, w in enumerate(series)}
    if step_time is not None and has_cadence:
        rows[CADENCE] = n_rows
        _cadence_row(fig, step_time, duration_s, row=n_rows)
    for n, e in enumerate(alerts, start=1):
        end = e.t_end_s if math.isfinite(e.t_end_s) else duration_s
        # on the plot of its own metric; an alert about something not plotted here shows on all of them
        row: int | str = rows.get(e.metric, "all") if e.metric else "all"
        fig.add_vrect(
            x0=e.t_start_s,
            x1=max(end, e.t_start_s + 1.0),
            fillcolor=ALERT_COLOUR,
            opacity=0.12,
            line_width=0,
            label=dict(text=f"<b>{n}</b>", textposition="top left", font=dict(color=ALERT_COLOUR, size=12)),
            row=row,
            col=1,
        )
    for i in range(n_rows):
        _time_axis(fig, duration_s, row=i + 1, col=1)
    fig.update_xaxes(title_text="time from the start (min:s)", row=n_rows, col=1)
    fig.update_annotations(font_size=12)
    return layout(fig, height=200 * n_rows + 140)


def _cadence_row(fig: go.Figure, step_time: WindowSeries, duration_s: float, *, row: int) -> None:
    """Cadence per window (60 / the window's mean step time, both feet) against the first minutes: the
    first thing many runners' form changes in as they tire, and a number their watches show."""
    label = label_for(CADENCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        cadence = 60.0 / step_time.window_mean
    baseline = 60.0 / step_time.baseline_mean if step_time.baseline_mean > 0 else math.nan
    fig.add_trace(
        go.Scatter(
            x=step_time.t_mid_s,
            y=cadence,
            mode="lines+markers" if len(step_time.t_mid_s) <= MAX_MARKED_WINDOWS else "lines",
            marker=dict(size=5, color=CADENCE_COLOUR),
            line=dict(color=CADENCE_COLOUR, width=2),
            name="Cadence",
            showlegend=False,
            customdata=[format_clock(t) for t in step_time.t_mid_s],
            hovertemplate=f"%{{customdata}}: %{{y:.0f}} {label.unit}<extra></extra>",
        ),
        row=row,
        col=1,
    )
    if math.isfinite(baseline):
        fig.add_trace(
            go.Scatter(
                x=[0.0, duration_s],
                y=[baseline, baseline],
                mode="lines",
                line=dict(color=CADENCE_COLOUR, width=1, dash="dash"),
                showlegend=False,
                hoverinfo="skip",
            ),
            row=row,
            col=1,
        )
    reference = baseline if math.isfinite(baseline) else float(np.nanmean(cadence))
    fig.update_yaxes(range=_y_range(cadence, reference, 1.5 * DRIFT_PCT / 100.0 * reference), row=row, col=1)


def alerts_figure(alerts: Sequence[FormEvent], duration_s: float) -> go.Figure | None:
    """Each alert as a bar on the run's time line, numbered as the list below it; None without alerts."""
    if not alerts:
        return None
    fig = go.Figure()
    names = []
    for n, e in enumerate(alerts, start=1):
        end = e.t_end_s if math.isfinite(e.t_end_s) else duration_s
        what = event_subject(e.metric, e.type)
        name = f"{n}. {what}"
        names.append(name)
        span = f"{format_clock(e.t_start_s)} to {format_clock(end)}"
        fig.add_trace(
            go.Scatter(
                x=[e.t_start_s, end],
                y=[name, name],
                mode="lines+markers",
                line=dict(color=ALERT_COLOUR, width=12),
                marker=dict(size=12, color=ALERT_COLOUR),
                showlegend=False,
                hovertemplate=f"{span}<br>{e.message}<extra></extra>",
            )
        )
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names)
    _time_axis(fig, duration_s)
    fig.update_xaxes(title_text="time from the start (min:s)")
    layout(fig, height=80 + 45 * len(alerts))
    return fig.update_layout(margin=dict(t=20))  # no legend and no title to make room for
