"""How the pipeline asks for gait events on one window of levelled samples.

The gait-event detectors (`processing.gait_events`) follow mobgap's shape: `detect(acc, gyr, *,
sampling_rate_hz) -> self` with `events_` in seconds from the window's first sample. `EventDetectorAdapter`
puts those times on the recording's time axis through the samples' own timestamps (so a sensor clock that
runs off its nominal rate does not shift them). Anything with a `detect_window` method of the same signature
can stand in (the tests use the simulator's truth this way).
"""

from __future__ import annotations

from typing import Protocol, Self

from processing.gait_events.events import GaitEvents
from processing.samples import FloatArray

__all__ = ["EventDetector", "EventDetectorAdapter", "WindowEventDetector"]


class EventDetector(Protocol):
    """A mobgap-style detector: parameters in the constructor, results in `events_`."""

    events_: GaitEvents

    def detect(
        self, acc_mps2: FloatArray, gyr_dps: FloatArray | None, *, sampling_rate_hz: float
    ) -> Self: ...


class WindowEventDetector(Protocol):
    """Gait events of one window, on the recording's time axis."""

    def detect_window(
        self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray | None, *, sampling_rate_hz: float
    ) -> GaitEvents: ...


class EventDetectorAdapter:
    """Run a mobgap-style detector on a window and shift its times to the recording's axis.

    Parameters
    ----------
    detector : EventDetector
        Used as given; it must be deterministic on a window (the streaming/batch equality depends on it).
    """

    def __init__(self, detector: EventDetector) -> None:
        self.detector = detector

    def detect_window(
        self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        if t_s.shape[0] == 0:
            return GaitEvents.empty()
        events = self.detector.detect(acc_mps2, gyr_dps, sampling_rate_hz=sampling_rate_hz).events_
        return events.on_sample_times(t_s, sampling_rate_hz)
