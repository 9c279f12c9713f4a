"""Left/right assignment of initial contacts: local side evidence plus strict alternation within a bout.

Public names: `AlternatingLaterality` (the assigner), `side_scores` (the local evidence per contact),
`alternate_by_bout` (parity per bout), `parity_groups` (where the alternation cannot be carried on).
"""

from processing.laterality.assign import (
    MISSED_STEP_RATIO,
    AlternatingLaterality,
    alternate_by_bout,
    parity_groups,
    side_scores,
)

__all__ = ["MISSED_STEP_RATIO", "AlternatingLaterality", "alternate_by_bout", "parity_groups", "side_scores"]
