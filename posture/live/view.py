"""The live terminal view of `posture run`: what a runner (or a coach beside the track) reads at a glance.

One frozen snapshot (`LiveSnapshot`) in, one rich renderable out: the view holds no state and does no I/O,
so it is tested on hand-made snapshots and redrawn by `rich.live.Live` a few times a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from posture.labels import format_clock

__all__ = ["LiveSnapshot", "format_clock", "render"]


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """What the live view shows; NaN or None where nothing is known yet.

    Attributes
    ----------
    elapsed_s : float, s
        Time since the run started.
    phase : str
        "calibrating", "running", "reconnecting" or "finished".
    steps : int
        Steps committed so far.
    cadence_spm : float, steps/min
        Over the latest committed steps.
    pelvic_tilt_deg, pelvic_obliquity_deg, pelvic_rotation_deg : float, deg
        The current angles (live, from the orientation filter).
    drop_left_deg, drop_right_deg : float, deg
        Mean pelvic drop of the latest left and right steps (the stance side).
    contact_si_pct : float, %
        Contact-time symmetry index over the latest steps (positive: right longer).
    latest_cue : str or None
        The cue of the newest open form event.
    battery_pct : int or None
    packet_loss_pct : float, %
    mqtt : str
        The publisher's state in a few words ("off", "connected", "broker away: 120 queued", ...).
    """

    elapsed_s: float
    phase: str
    steps: int
    cadence_spm: float
    pelvic_tilt_deg: float
    pelvic_obliquity_deg: float
    pelvic_rotation_deg: float
    drop_left_deg: float
    drop_right_deg: float
    contact_si_pct: float
    latest_cue: str | None
    battery_pct: int | None
    packet_loss_pct: float
    mqtt: str


def _num(value: float, unit: str, digits: int = 1) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f} {unit}"


def _signed(value: float, unit: str) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.1f} {unit}"


def render(snapshot: LiveSnapshot) -> Group:
    """The view of one snapshot: a header line, the numbers, the sensor and broker, and the latest cue."""
    s = snapshot
    header = Text.assemble(
        ("posture run  ", "bold"),
        (format_clock(s.elapsed_s), "bold cyan"),
        f"  {s.phase}  {s.steps} steps",
    )
    numbers = Table.grid(padding=(0, 2))
    for _ in range(4):
        numbers.add_column(no_wrap=True)
    numbers.add_row(
        "cadence", _num(s.cadence_spm, "steps/min", 0), "pelvic tilt", _signed(s.pelvic_tilt_deg, "deg")
    )
    numbers.add_row(
        "hip drop, L stance",
        _num(s.drop_left_deg, "deg"),
        "hips (left up +)",
        _signed(s.pelvic_obliquity_deg, "deg"),
    )
    numbers.add_row(
        "hip drop, R stance",
        _num(s.drop_right_deg, "deg"),
        "pelvic rotation",
        _signed(s.pelvic_rotation_deg, "deg"),
    )
    numbers.add_row("contact balance", _signed(s.contact_si_pct, "% (R-L)"), "", "")
    battery = "?" if s.battery_pct is None else str(s.battery_pct)
    health = Text(f"sensor: battery {battery} %, {s.packet_loss_pct:.1f} % packets lost   mqtt: {s.mqtt}")
    cue = Text(s.latest_cue or "form looks steady", style="bold yellow" if s.latest_cue else "green")
    return Group(header, Panel(numbers, expand=False), health, Text.assemble(("latest cue: ", "bold"), cue))
