"""Sides across windows: a new bout's follow the evidence of the contacts a window emits, not those of its
margin; a continuing bout keeps the window's own labelling, breaks included.

A window labels a bout by alternation (broken only where the evidence demands it), with the parity that the
side evidence of all its contacts gives, the margin's included. Contacts in the margin belong to the next
window, which may find them differently (in walking, a gap filled with a contact the next window does not
confirm breaks the chain), so the margin can flip the parity of the contacts the window emits. A bout that
starts in a window's core takes the parity its core contacts' own evidence gives. A bout that continues from
an earlier window alternates at the seam and keeps the window's labelling after it.
"""

from __future__ import annotations

import numpy as np

from processing.alignment import Mounting
from processing.gait_events.events import GaitEvents
from processing.pipeline import StreamingProcessor
from processing.samples import ImuSamples
from processing.steps import StepMetrics

FS = 100.0
DURATION_S = 24.0
#: Standing, then walking from 5.2 s: right foot first, every 0.6 s.
CONTACTS_S = np.round(5.2 + 0.6 * np.arange(30), 6)
TRUE_SIDES = np.where(np.arange(30) % 2 == 0, "R", "L")


class MarginFlipsTheChain:
    """Evidence of 0.5 for the true side at every contact; a window that begins before 5 s also inserts a
    contact in its margin at 8.5 s (a gap fill the next window does not make) and alternates its bout from
    there, so every contact before it gets the wrong foot."""

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        seen = (t_s[0] <= CONTACTS_S) & (t_s[-1] >= CONTACTS_S)
        ic, side = CONTACTS_S[seen], TRUE_SIDES[seen]
        score = np.where(side == "L", 0.5, -0.5)
        if t_s[0] < 5.0:
            # alternation anchored after the inserted contact: every contact before it gets the other foot
            side = np.where(ic < 8.5, np.where(side == "L", "R", "L"), side)
            after = side[np.argmax(ic > 8.5)]
            ic = np.append(ic, 8.5)
            side = np.append(side, "L" if after == "R" else "R")
            score = np.append(score, 0.0)
            order = np.argsort(ic)
            ic, side, score = ic[order], side[order], score[order]
        return GaitEvents(
            ic_s=ic,
            to_s=ic + 0.4,
            side=side,
            side_score=score,
            bout_id=np.zeros(ic.shape[0], dtype=np.int64),
            activity=np.full(ic.shape[0], "walking"),
        )


def run() -> list[StepMetrics]:
    n = round(DURATION_S * FS)
    samples = ImuSamples(np.arange(n) / FS, np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3)))
    upright = Mounting(np.eye(3), "standing", None, 1.0, np.zeros(3))
    processor = StreamingProcessor(
        FS, has_gyroscope=True, event_detector=MarginFlipsTheChain(), mounting=upright
    )
    return processor.update(samples) + processor.finish()


def test_a_bout_starting_in_the_core_takes_the_parity_of_its_core_evidence() -> None:
    steps = run()
    ic = np.array([s.t_ic_s for s in steps])
    assert ic[0] == CONTACTS_S[0]
    first_window = ic < 8.0
    assert first_window.sum() == 5
    truth = dict(zip(CONTACTS_S.tolist(), TRUE_SIDES.tolist(), strict=True))
    assert [s.side for s in steps] == [truth[t] for t in ic.tolist()]


class MissedContact:
    """Every window sees the walk of `CONTACTS_S` without its contact at 11.2 s (a shuffled step no window
    finds), so the left contacts at 10.6 and 11.8 s follow each other; the evidence (1.0 for the true side)
    says so, and the detector's labelling breaks the alternation there, as `processing.laterality` does."""

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        seen = (t_s[0] <= CONTACTS_S) & (t_s[-1] >= CONTACTS_S) & ~np.isclose(CONTACTS_S, 11.2)
        ic, side = CONTACTS_S[seen], TRUE_SIDES[seen]
        return GaitEvents(
            ic_s=ic,
            to_s=ic + 0.4,
            side=side,
            side_score=np.where(side == "L", 1.0, -1.0),
            bout_id=np.zeros(ic.shape[0], dtype=np.int64),
            activity=np.full(ic.shape[0], "walking"),
        )


def test_a_break_in_the_alternation_that_a_window_found_is_kept() -> None:
    # the break lies inside the core of the window [8, 12) s: its contacts after 11.2 s keep their feet
    # instead of being forced to continue the alternation (which mislabelled them, and every contact after
    # them until the bout's summed evidence turned round)
    n = round(DURATION_S * FS)
    samples = ImuSamples(np.arange(n) / FS, np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3)))
    upright = Mounting(np.eye(3), "standing", None, 1.0, np.zeros(3))
    processor = StreamingProcessor(FS, has_gyroscope=True, event_detector=MissedContact(), mounting=upright)
    steps = processor.update(samples) + processor.finish()
    ic = np.array([s.t_ic_s for s in steps])
    assert np.isclose(ic, 10.6).any()
    assert np.isclose(ic, 11.8).any()
    truth = dict(zip(CONTACTS_S.tolist(), TRUE_SIDES.tolist(), strict=True))
    assert [s.side for s in steps] == [truth[t] for t in ic.tolist()]
