"""One streaming processor for blocks and recordings: alignment, orientation, events, per-step metrics."""

from processing.pipeline.axes import absent_acc_axes, sides_observable
from processing.pipeline.batch import AnalysisResult, analyze, default_event_detector
from processing.pipeline.detectors import EventDetector, EventDetectorAdapter, WindowEventDetector
from processing.pipeline.gaps import GapCounts, GapPolicy
from processing.pipeline.live import LiveAngles
from processing.pipeline.step_metrics import compute_step_metrics
from processing.pipeline.streaming import PipelineParams, StreamingProcessor

__all__ = [
    "AnalysisResult",
    "EventDetector",
    "EventDetectorAdapter",
    "GapCounts",
    "GapPolicy",
    "LiveAngles",
    "PipelineParams",
    "StreamingProcessor",
    "WindowEventDetector",
    "absent_acc_axes",
    "analyze",
    "compute_step_metrics",
    "default_event_detector",
    "sides_observable",
]
