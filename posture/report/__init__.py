"""The post-run report: one self-contained HTML page for a runner, from a run folder (`posture report`)."""

from posture.labels import METRIC_LABELS, MetricLabel, format_clock, label_for
from posture.report.advice import AdviceItem, load_advice
from posture.report.build import write_report
from posture.report.errors import ReportError, RunFolderError
from posture.report.headline import Headline, headline
from posture.report.page import render_report
from posture.report.run import FormEvent, MetricSummary, RunData, RunSummary, load_run

__all__ = [
    "METRIC_LABELS",
    "AdviceItem",
    "FormEvent",
    "Headline",
    "MetricLabel",
    "MetricSummary",
    "ReportError",
    "RunData",
    "RunFolderError",
    "RunSummary",
    "format_clock",
    "headline",
    "label_for",
    "load_advice",
    "load_run",
    "render_report",
    "write_report",
]
