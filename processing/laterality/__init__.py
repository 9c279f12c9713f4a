"""Left/right assignment of initial contacts: local side evidence plus strict alternation within a bout.

Public names: `AlternatingLaterality` (the assigner), `side_scores` (the local evidence per contact),
`alternate_by_bout` (parity per bout).
"""

from processing.laterality.assign import AlternatingLaterality, alternate_by_bout, side_scores

__all__ = ["AlternatingLaterality", "alternate_by_bout", "side_scores"]
