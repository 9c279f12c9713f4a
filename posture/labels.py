"""How a metric is named and printed for a runner: one home for display names, display units and time
formats (the report, the live view, the end-of-run lines).

The results files name every metric by its column (`braking_dv_mps`), which a runner should never have to
read. `METRIC_LABELS` turns each column of `processing.steps.METRIC_UNITS` into a plain name and a display
unit: short times in milliseconds and the sacrum's bounce in centimetres, as running watches show them,
angles in degrees. Times on the page are minutes:seconds from the start of the run (`format_clock`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ADVICE_CATEGORY_HEADINGS",
    "EVENT_TYPE_NAMES",
    "METRIC_LABELS",
    "SIDE_WORDS",
    "MetricLabel",
    "event_subject",
    "format_clock",
    "label_for",
    "worse_side_text",
]


@dataclass(frozen=True, slots=True)
class MetricLabel:
    """How one per-step metric appears on the page.

    Attributes
    ----------
    column : str
        The `steps.csv` column (and `summary.json` metric key).
    name : str
        Plain name a runner reads, e.g. "Pelvic drop".
    unit : str
        Display unit, e.g. "ms" or "°".
    scale : float
        Display value = file value * scale (0.24 s of contact time shows as 240 ms).
    decimals : int
        Decimals shown.
    meaning : str
        One sentence: what the number is, in a runner's words.
    """

    column: str
    name: str
    unit: str
    scale: float
    decimals: int
    meaning: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"{self.column}: scale must be a positive number, got {self.scale}")
        if self.decimals < 0:
            raise ValueError(f"{self.column}: decimals must be >= 0, got {self.decimals}")

    @property
    def title(self) -> str:
        """Name with its unit, for a plot axis or a table header: "Ground contact time (ms)"."""
        return f"{self.name} ({self.unit})"

    def format(self, value: float, *, signed: bool = False) -> str:
        """`value` (in the file's unit) as the page shows it, with its unit; "-" when missing."""
        if not math.isfinite(value):
            return "-"
        shown = value * self.scale
        sign = "+" if signed and round(shown, self.decimals) > 0 else ""
        sep = "" if self.unit in ("°", "%") else " "
        return f"{sign}{shown:.{self.decimals}f}{sep}{self.unit}"


#: Every per-step metric in `processing.steps.METRIC_UNITS`, in the order the page lists them (a test keeps
#: the two in step).
METRIC_LABELS: dict[str, MetricLabel] = {
    label.column: label
    for label in (
        MetricLabel(
            "pelvic_drop_deg",
            "Pelvic drop",
            "°",
            1.0,
            1,
            "how far the hip of the swinging leg sags while you stand on the other leg",
        ),
        MetricLabel(
            "pelvic_tilt_deg",
            "Pelvic tilt (forward)",
            "°",
            1.0,
            1,
            "how far your pelvis tips forward compared with standing still at the start",
        ),
        MetricLabel(
            "pelvic_rotation_deg",
            "Pelvic rotation",
            "°",
            1.0,
            1,
            "how much your pelvis twists with each step",
        ),
        MetricLabel(
            "contact_time_s", "Ground contact time", "ms", 1000.0, 0, "how long each foot stays on the ground"
        ),
        MetricLabel("flight_time_s", "Flight time", "ms", 1000.0, 0, "how long both feet are off the ground"),
        MetricLabel(
            "step_time_s",
            "Step time",
            "ms",
            1000.0,
            0,
            "time from one foot landing to the other foot landing",
        ),
        MetricLabel("cadence_spm", "Cadence", "steps/min", 1.0, 0, "steps per minute, both feet counted"),
        MetricLabel(
            "vertical_oscillation_m",
            "Vertical bounce",
            "cm",
            100.0,
            1,
            "how far your lower back moves up and down with each step",
        ),
        MetricLabel(
            "braking_peak_mps2",
            "Braking (peak deceleration)",
            "m/s²",
            1.0,
            1,
            "the hardest slowing-down jolt as your foot lands",
        ),
        MetricLabel(
            "braking_dv_mps",
            "Braking (speed lost per step)",
            "m/s",
            1.0,
            2,
            "how much speed each landing takes away before you push off again",
        ),
        MetricLabel(
            "impact_peak_g",
            "Impact (peak load)",
            "g",
            1.0,
            1,
            "the peak vertical load as your foot lands (standing still is 1 g)",
        ),
    )
}

#: The advice catalog's categories (`processing.advice`) as headings over each item on the page, in the
#: order the page lists them: what to do first, then why.
ADVICE_CATEGORY_HEADINGS: dict[str, str] = {
    "prevention": "What helps",
    "cause": "Why it happens",
    "treatment": "If it keeps happening",
    "see_a_doctor": "When to see a doctor",
}

#: What an alert is about when it names no metric (events.json `type`): the training load, mostly.
EVENT_TYPE_NAMES: dict[str, str] = {
    "asymmetry": "Left/right difference",
    "level": "Form",
    "drift": "Form as you tired",
    "cadence": "Cadence",
    "load": "Weekly running load",
    "summary": "The run",
}

SideWord = Literal["left", "right"]
#: The file's side letters as the page writes them.
SIDE_WORDS: dict[str, SideWord] = {"L": "left", "R": "right"}


def label_for(column: str) -> MetricLabel:
    """The display label of a `steps.csv` column; a column without one is shown as its readable column name
    (so a metric added to the pipeline before it gets a label still shows, just less nicely)."""
    label = METRIC_LABELS.get(column)
    if label is not None:
        return label
    return MetricLabel(column, column.replace("_", " ").capitalize(), "", 1.0, 2, "")


def event_subject(metric: str | None, event_type: str) -> str:
    """What an alert is about: its metric's name, else its type's (`EVENT_TYPE_NAMES`)."""
    if metric:
        return label_for(metric).name
    return EVENT_TYPE_NAMES.get(event_type, event_type.replace("_", " ").capitalize())


def worse_side_text(column: str, side: str) -> str:
    """Where a metric is worse, in a runner's words.

    For pelvic drop the worse side is a stance side (docs/design.md: the side of the steps with the larger
    drop), and it is the other hip that sags, so the text names both: "when standing on your left leg
    (right hip sags)". For every other metric it is the side of the steps: "on right steps".
    """
    word = SIDE_WORDS[side]
    if column == "pelvic_drop_deg":
        other = SIDE_WORDS["R" if side == "L" else "L"]
        return f"when standing on your {word} leg ({other} hip sags)"
    return f"on {word} steps"


def format_clock(seconds: float) -> str:
    """Seconds from the start of the run as m:ss (h:mm:ss from an hour on); "-" when missing.

    Rounds to the nearest second; times before the start (a negative value) keep their minus sign.
    """
    if not math.isfinite(seconds):
        return "-"
    total = round(abs(seconds))
    sign = "-" if seconds < 0 and total > 0 else ""
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"
