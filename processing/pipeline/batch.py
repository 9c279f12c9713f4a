"""The batch entry point: a whole recording through the streaming processor, in one block."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from processing.alignment import Mounting
from processing.gait_events import GaitEventDetector
from processing.pipeline.axes import check_absent_acc_axes, fill_absent_acc_axes, sides_observable
from processing.pipeline.detectors import EventDetectorAdapter, WindowEventDetector
from processing.pipeline.gaps import GapCounts
from processing.pipeline.streaming import PipelineParams, StreamingProcessor
from processing.samples import ImuSamples
from processing.steps import StepMetrics

__all__ = ["AnalysisResult", "analyze", "default_event_detector"]


@dataclass(frozen=True, slots=True, eq=False)
class AnalysisResult:
    """What the pipeline found in one recording.

    Attributes
    ----------
    steps : tuple of StepMetrics
        In time order.
    mounting : Mounting or None
        The calibration used; None when the recording had too little motion to decide it (then no steps).
    sampling_rate_hz : float
    has_gyroscope : bool
        False for accelerometer-only input: the pelvic angles are NaN.
    gaps : GapCounts
        The gaps in the sample times, bridged or split (`processing.pipeline.gaps`).
    absent_acc_axes : tuple of int
        Sensor axes the accelerometer lacks (all-NaN columns: a biaxial logger), read as 0
        (`processing.pipeline.axes`).
    sides_observable : bool
        False when left and right cannot be told (a biaxial logger without a gyroscope): the steps' sides are
        then an alternation of unknown parity, not feet.
    """

    steps: tuple[StepMetrics, ...]
    mounting: Mounting | None
    sampling_rate_hz: float
    has_gyroscope: bool
    gaps: GapCounts = field(default_factory=GapCounts)
    absent_acc_axes: tuple[int, ...] = ()
    sides_observable: bool = True


def default_event_detector() -> WindowEventDetector:
    """The project's gait-event detector (running and walking, with left/right), adapted to windows."""
    return EventDetectorAdapter(GaitEventDetector())


def analyze(
    blocks: ImuSamples | Iterable[ImuSamples],
    *,
    sampling_rate_hz: float,
    params: PipelineParams | None = None,
    event_detector: WindowEventDetector | None = None,
) -> AnalysisResult:
    """Analyse a recording, given whole or as consecutive blocks (the result is the same either way).

    Gaps in the sample times (a recording through a link drop) are bridged or split the recording into
    segments analysed apart, by `params.gaps`; `AnalysisResult.gaps` counts them. An accelerometer axis that
    is all NaN in the first block is absent (a biaxial logger, `processing.pipeline.axes`): it reads as 0 in
    every block, and `AnalysisResult.sides_observable` says whether left and right can be told.

    Parameters
    ----------
    blocks : ImuSamples or iterable of ImuSamples
        Sensor-frame samples; an iterable lets a caller show progress or stream from disk.
    sampling_rate_hz : float
        The recording's constant rate, 50 to 500 Hz.
    params : PipelineParams or None
    event_detector : WindowEventDetector or None
        Defaults to `default_event_detector()`.
    """
    whole = isinstance(blocks, ImuSamples)
    items = [blocks] if isinstance(blocks, ImuSamples) else blocks
    processor: StreamingProcessor | None = None
    steps: list[StepMetrics] = []
    has_gyr = True
    absent: tuple[int, ...] = ()
    for block in items:
        if processor is None:
            has_gyr = block.has_gyroscope
            absent = check_absent_acc_axes(block, sampling_rate_hz=sampling_rate_hz)
            processor = StreamingProcessor(
                sampling_rate_hz,
                has_gyroscope=has_gyr,
                event_detector=event_detector or default_event_detector(),
                params=params,
            )
        # a recording given at once is not copied (the caller waits for the result); blocks from an
        # iterable are (its producer may reuse their arrays)
        steps.extend(processor.update(fill_absent_acc_axes(block, absent), copy=not whole))
    if processor is None:
        return AnalysisResult((), None, float(sampling_rate_hz), has_gyr)
    steps.extend(processor.finish())
    return AnalysisResult(
        tuple(steps),
        processor.mounting_,
        float(sampling_rate_hz),
        has_gyr,
        processor.gaps_,
        absent,
        sides_observable(has_gyroscope=has_gyr, absent_axes=absent),
    )
