"""Evaluation against references: matching, scores, and the suite runner behind `posture evaluate`.

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

__all__ = [
    "EventMatch",
    "EventScores",
    "ReferenceEvents",
    "match_events",
    "matched_rmse",
    "right_minus_left",
    "score_events",
    "symmetry_index",
]
