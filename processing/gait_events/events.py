"""The detector's result type: initial contacts, toe-offs, sides and activity, one entry per step.

`GaitEvents` is what crosses from `gait_events` into the pipeline (helper D2's `processing.pipeline`), so it
is a frozen, slotted dataclass that validates itself; times are seconds from the first sample of the
detector's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["ACTIVITIES", "SIDES", "Activity", "GaitEvents", "Side"]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

Side = Literal["L", "R"]
Activity = Literal["walking", "running"]
SIDES: tuple[Side, Side] = ("L", "R")
ACTIVITIES: tuple[Activity, Activity] = ("walking", "running")


@dataclass(frozen=True, slots=True, eq=False)
class GaitEvents:
    """One row per detected step (a step starts at an initial contact), sorted by `ic_s`.

    Attributes
    ----------
    ic_s : (k,) array, s
        Initial contacts, interpolated between samples, from the first sample of the input.
    to_s : (k,) array, s
        Toe-off of the same foot, NaN where it could not be determined. `to_s - ic_s` is the contact time.
    side : (k,) array of "L" / "R"
        Side of the foot that makes the contact (McCamley-style laterality plus strict alternation per bout).
    side_score : (k,) array
        The local, unitless evidence for "L" (positive) or "R" (negative) before bout parity is imposed. A
        streaming caller that stitches overlapping windows sums these scores over the events it keeps to
        decide the parity of a bout that crosses window borders; the label alone cannot do that.
    bout_id : (k,) int array
        Steps with the same id form one bout (regular step times, strict left/right alternation inside).
    activity : (k,) array of "walking" / "running"
        "running" where a flight phase precedes the contact.
    parity_group : (k,) int array or None
        Groups of consecutive contacts whose sides the detector alternated together
        (`processing.laterality.parity_groups`, increasing from 0), so that a streaming caller stitching
        windows reads the detector's own groups instead of recomputing them; None when the detector does not
        say (the caller then computes them from the other fields).
    """

    ic_s: FloatArray
    to_s: FloatArray
    side: StrArray
    side_score: FloatArray
    bout_id: npt.NDArray[np.int64]
    activity: StrArray
    parity_group: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = self.ic_s.shape[0]
        for name in ("ic_s", "to_s", "side", "side_score", "bout_id", "activity"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"GaitEvents.{name} must have shape ({n},), got {arr.shape}")
        if self.parity_group is not None and self.parity_group.shape != (n,):
            raise ValueError(f"GaitEvents.parity_group must have shape ({n},), got {self.parity_group.shape}")
        if n > 1 and ((self.ic_s[1:] - self.ic_s[:-1]) <= 0).any():
            raise ValueError(
                "GaitEvents.ic_s must be strictly increasing; sort the events before building them"
            )
        # element-wise comparisons, not np.unique: this runs twice per pipeline window
        if n and not ((self.side == SIDES[0]) | (self.side == SIDES[1])).all():
            raise ValueError(f"GaitEvents.side must hold only {SIDES}")
        if n and not ((self.activity == ACTIVITIES[0]) | (self.activity == ACTIVITIES[1])).all():
            raise ValueError(f"GaitEvents.activity must hold only {ACTIVITIES}")

    def __len__(self) -> int:
        return int(self.ic_s.shape[0])

    @property
    def contact_time_s(self) -> FloatArray:
        """TO - IC per step, NaN where the toe-off is unknown."""
        return self.to_s - self.ic_s

    @property
    def step_time_s(self) -> FloatArray:
        """Next IC - IC; NaN for the last step and across bout borders (a pause is not a step)."""
        out = np.full(len(self), np.nan)
        if len(self) > 1:
            same_bout = self.bout_id[1:] == self.bout_id[:-1]
            out[:-1] = np.where(same_bout, (self.ic_s[1:] - self.ic_s[:-1]), np.nan)
        return out

    @staticmethod
    def empty() -> GaitEvents:
        """No steps (standing, too short an input)."""
        return GaitEvents(
            ic_s=np.empty(0),
            to_s=np.empty(0),
            side=np.empty(0, dtype="<U1"),
            side_score=np.empty(0),
            bout_id=np.empty(0, dtype=np.int64),
            activity=np.empty(0, dtype="<U7"),
        )

    def on_sample_times(self, t_s: FloatArray, sampling_rate_hz: float) -> GaitEvents:
        """The same events on the time axis of the samples `t_s` the detector was given.

        The detector counts time as sample index / nominal rate; a sensor clock that runs fast or slow (MEMS
        oscillators: up to about 1.5 %, i.e. 150 ms over a 10 s window) puts the samples elsewhere. The
        samples' clock is the least-squares line through their timestamps (index -> time), which follows a
        rate error and averages out timestamp jitter (a recording's time axis is regular, or
        `posture.recording_io` refuses it); each event's fractional sample index goes through that line.
        """
        n = t_s.shape[0]
        if n < 2:
            return self.shifted(float(t_s[0]) if n else 0.0)
        index = np.arange(n, dtype=np.float64)
        mean_index = 0.5 * (n - 1)
        mean_t = float(np.mean(t_s))
        centred = index - mean_index
        period_s = float(np.dot(centred, t_s - mean_t) / np.dot(centred, centred))
        intercept_s = mean_t - period_s * mean_index
        scale = period_s * sampling_rate_hz  # seconds on the samples' clock per nominal second
        return GaitEvents(
            ic_s=intercept_s + scale * self.ic_s,
            to_s=intercept_s + scale * self.to_s,
            side=self.side,
            side_score=self.side_score,
            bout_id=self.bout_id,
            activity=self.activity,
            parity_group=self.parity_group,
        )

    def shifted(self, offset_s: float) -> GaitEvents:
        """The same events on another time axis (e.g. window start -> recording start)."""
        return GaitEvents(
            ic_s=self.ic_s + offset_s,
            to_s=self.to_s + offset_s,
            side=self.side,
            side_score=self.side_score,
            bout_id=self.bout_id,
            activity=self.activity,
            parity_group=self.parity_group,
        )
