"""Evaluation against references: matching, scores, the suite runner behind `posture evaluate`, and the
random robustness sweep behind `posture evaluate --sweep`.

Pure (numpy only): the real recordings are read by the caller (`posture.commands.evaluation`) and handed in as
`ReferenceRecording`s.
"""

from processing.evaluation.matching import EventMatch, match_events
from processing.evaluation.scores import (
    EventScores,
    ReferenceEvents,
    matched_rmse,
    right_minus_left,
    score_events,
    symmetry_index,
)
from processing.evaluation.suite import (
    REAL_TOLERANCE_S,
    SIM_TOLERANCE_S,
    EvaluationRow,
    ReferenceRecording,
    StepContacts,
    as_recorded,
    contacts_from_steps,
    evaluate_recording,
    evaluate_recording_detector,
    evaluate_scenario,
    evaluate_suite,
    level_with_gravity,
)
from processing.evaluation.sweep import (
    SWEEP_METRICS,
    MetricDistribution,
    SweepDraw,
    SweepResult,
    random_scenario,
    run_sweep,
    summarize_sweep,
)

__all__ = [
    "REAL_TOLERANCE_S",
    "SIM_TOLERANCE_S",
    "SWEEP_METRICS",
    "EvaluationRow",
    "EventMatch",
    "EventScores",
    "MetricDistribution",
    "ReferenceEvents",
    "ReferenceRecording",
    "StepContacts",
    "SweepDraw",
    "SweepResult",
    "as_recorded",
    "contacts_from_steps",
    "evaluate_recording",
    "evaluate_recording_detector",
    "evaluate_scenario",
    "evaluate_suite",
    "level_with_gravity",
    "match_events",
    "matched_rmse",
    "random_scenario",
    "right_minus_left",
    "run_sweep",
    "score_events",
    "summarize_sweep",
    "symmetry_index",
]
