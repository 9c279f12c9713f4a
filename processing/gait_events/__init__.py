"""Gait events from a lower-back IMU: initial contact (IC) and toe-off (TO), running and walking, with sides.

`GaitEventDetector(...).detect(acc_mps2, gyr_dps, sampling_rate_hz=...).events_` -> `GaitEvents`.
Input: the levelled body frame (x forward, y left, z up), acc in m/s^2 incl. gravity, gyr in deg/s or None.

Streaming contract (for `processing.pipeline`): the detector is deterministic on a window and needs only local
context (filters, crossings, a contact and its neighbours). Run it on overlapping windows fixed to absolute
sample indices, keep the events whose IC lies in the window's central part (at least `1 / walking_lowpass_hz`
s, and one step, away from each edge), and keep sides consistent across windows with `GaitEvents.side_score`
(local evidence, positive = left) and strict alternation: within a bout, the parity is the one that agrees
with the summed scores.
"""

from processing.gait_events.detector import GaitEventDetector, bouts_from_step_times
from processing.gait_events.events import ACTIVITIES, SIDES, Activity, GaitEvents, Side

__all__ = [
    "ACTIVITIES",
    "SIDES",
    "Activity",
    "GaitEventDetector",
    "GaitEvents",
    "Side",
    "bouts_from_step_times",
]
