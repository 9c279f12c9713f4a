"""Emitted steps are final: neighbouring windows may disagree about a stretch, the emitted steps never do.

A window sees the stretch after its core only in its margin, with less context than the next window, whose
core it is. When they disagree (in walking, one fills a gap of the rhythm with two contacts and the other
does not), the steps that come out must still be one consistent sequence: each step ends on the next emitted
contact, and no step spans another step's initial contact.
"""

from __future__ import annotations

import itertools

import numpy as np

from processing.alignment import Mounting
from processing.gait_events.events import GaitEvents
from processing.pipeline import StreamingProcessor
from processing.samples import ImuSamples
from processing.steps import StepMetrics

FS = 100.0
DURATION_S = 30.0
#: Contacts every 0.6 s; the two at 8.2 and 8.8 s are seen only by windows that begin after 5 s.
CONTACTS_S = np.round(np.arange(1.0, DURATION_S - 1.0, 0.6), 6)
DISPUTED_S = (8.2, 8.8)


class DisagreeingNeighbours:
    """Walking contacts in alternation; a window that begins before 5 s misses the two disputed contacts."""

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        seen = (t_s[0] <= CONTACTS_S) & (t_s[-1] >= CONTACTS_S)
        ic = CONTACTS_S[seen]
        if t_s[0] < 5.0:
            ic = ic[~np.isin(ic, DISPUTED_S)]
        # the foot from the contact's position in the 0.6 s grid (a remainder of 1.2 s reads float noise:
        # 4.6 - 1.0 leaves 1.2 - 3e-16, which labelled some L contacts R)
        side = np.where(np.round((ic - 1.0) / 0.6).astype(np.int64) % 2 == 0, "L", "R")
        return GaitEvents(
            ic_s=ic,
            to_s=ic + 0.4,
            side=side,
            side_score=np.where(side == "L", 1.0, -1.0),
            bout_id=np.zeros(ic.shape[0], dtype=np.int64),
            activity=np.full(ic.shape[0], "walking"),
        )


def samples() -> ImuSamples:
    n = round(DURATION_S * FS)
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    return ImuSamples(np.arange(n) / FS, acc, np.zeros((n, 3)))


def run(cuts: list[int]) -> list[StepMetrics]:
    upright = Mounting(np.eye(3), "standing", None, 1.0, np.zeros(3))
    processor = StreamingProcessor(
        FS, has_gyroscope=True, event_detector=DisagreeingNeighbours(), mounting=upright
    )
    s = samples()
    out: list[StepMetrics] = []
    for a, b in itertools.pairwise([0, *cuts, len(s)]):
        out.extend(processor.update(s.slice(a, b)))
    return out + processor.finish()


def test_the_disputed_stretch_is_decided_by_the_window_that_owns_it() -> None:
    steps = run([])
    ic = np.array([s.t_ic_s for s in steps])
    end = ic + np.array([s.step_time_s for s in steps])
    assert np.all(np.diff(ic) > 0)
    # No emitted step spans another step's initial contact ...
    for a, b in zip(ic, end, strict=True):
        assert not np.any((ic > a + 1e-6) & (ic < b - 1e-6)), f"step {a:.2f} -> {b:.2f} spans a contact"
    # ... each ends on the next emitted contact, and the disputed contacts are those of the window whose core
    # holds them (the window that saw them only in its margin did not decide them).
    np.testing.assert_allclose(end[:-1], ic[1:])
    for disputed in DISPUTED_S:
        assert np.any(np.isclose(ic, disputed))
    # Sides keep alternating through the boundary.
    sides = [s.side for s in steps]
    assert all(a != b for a, b in itertools.pairwise(sides))


def test_any_split_gives_the_same_final_steps() -> None:
    whole = [(s.t_ic_s, s.side, s.step_time_s) for s in run([])]
    for cuts in ([1], [399, 400, 401, 801], list(range(700, 1300, 37))):
        assert [(s.t_ic_s, s.side, s.step_time_s) for s in run(cuts)] == whole
