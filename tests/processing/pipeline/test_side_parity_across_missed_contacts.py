"""A missed or extra running contact breaks the alternation: the sides after it are decided afresh.

Running contacts alternate, so a detector that misses one contact (a step twice as long as its neighbours)
or finds one the feet did not make (a step split in two) puts every later contact on the other foot if the
parity is carried across it. The pipeline starts a new parity decision there, on the evidence that follows.
"""

from __future__ import annotations

import numpy as np
import pytest

from processing.alignment import Mounting
from processing.gait_events.events import GaitEvents
from processing.pipeline import StreamingProcessor
from processing.samples import ImuSamples
from processing.steps import StepMetrics

FS = 100.0
DURATION_S = 60.0
STEP_S = 0.32
#: Running from 2 s, left foot first, one contact every STEP_S.
TRUE_IC_S = np.round(2.0 + STEP_S * np.arange(170), 6)
TRUE_SIDES = np.where(np.arange(170) % 2 == 0, "L", "R")


class RunningWithAFault:
    """Side evidence of 0.5 for the true foot at every contact; `fault` names one contact the detector
    misses ("missed") or an extra contact it reports halfway through the step after it ("extra"), with no
    evidence either way."""

    def __init__(self, fault: str, at: int) -> None:
        self.ic = TRUE_IC_S.copy()
        self.side = TRUE_SIDES.copy()
        self.score = np.where(TRUE_SIDES == "L", 0.5, -0.5)
        if fault == "missed":
            keep = np.arange(self.ic.size) != at
            self.ic, self.side, self.score = self.ic[keep], self.side[keep], self.score[keep]
        else:
            self.ic = np.insert(self.ic, at + 1, self.ic[at] + STEP_S / 2)
            self.side = np.insert(self.side, at + 1, "L")
            self.score = np.insert(self.score, at + 1, 0.0)

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        seen = (t_s[0] <= self.ic) & (self.ic <= t_s[-1])
        ic = self.ic[seen]
        return GaitEvents(
            ic_s=ic,
            to_s=ic + 0.2,
            side=self.side[seen],
            side_score=self.score[seen],
            bout_id=np.zeros(ic.shape[0], dtype=np.int64),
            activity=np.full(ic.shape[0], "running"),
        )


def run(detector: RunningWithAFault) -> list[StepMetrics]:
    n = round(DURATION_S * FS)
    samples = ImuSamples(np.arange(n) / FS, np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3)))
    upright = Mounting(np.eye(3), "standing", None, 1.0, np.zeros(3))
    processor = StreamingProcessor(FS, has_gyroscope=True, event_detector=detector, mounting=upright)
    return processor.update(samples) + processor.finish()


@pytest.mark.parametrize("fault", ["missed", "extra"])
def test_sides_after_a_missed_or_extra_running_contact_follow_the_evidence(fault: str) -> None:
    # the fault comes after 40 s of running: evidence enough that carrying the parity on would mislabel
    # the contacts after it to the end of the run
    at = 120
    steps = run(RunningWithAFault(fault, at))
    truth = dict(zip(TRUE_IC_S.tolist(), TRUE_SIDES.tolist(), strict=True))
    real = [s for s in steps if s.t_ic_s in truth]
    assert len(real) >= 160
    after = [s for s in real if s.t_ic_s > TRUE_IC_S[at] + 1.0]
    assert len(after) >= 40
    assert [s.side for s in real] == [truth[s.t_ic_s] for s in real]
