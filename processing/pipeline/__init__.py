"""One streaming processor for blocks and recordings: alignment, orientation, events, per-step metrics."""

from processing.pipeline.batch import AnalysisResult, analyze, default_event_detector
from processing.pipeline.detectors import EventDetector, EventDetectorAdapter, WindowEventDetector
from processing.pipeline.step_metrics import compute_step_metrics
from processing.pipeline.streaming import PipelineParams, StreamingProcessor

__all__ = [
    "AnalysisResult",
    "EventDetector",
    "EventDetectorAdapter",
    "PipelineParams",
    "StreamingProcessor",
    "WindowEventDetector",
    "analyze",
    "compute_step_metrics",
    "default_event_detector",
]
