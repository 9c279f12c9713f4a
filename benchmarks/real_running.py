"""The pipeline on a real outdoor run against an ankle accelerometer on the same clock.

Usage: python benchmarks/real_running.py DATA_DIR [--out DIR]

DATA_DIR holds `left_hip.csv` and `left_ankle.csv` (the contract's columns, one clock), as in
../shared/data/adept-running (adeptdata `acc_running`, GPL-3: read from there, never copied into this tree).
The hip file goes through `posture analyze` exactly as a runner's file would; the ankle's impact peaks give
the left foot's contacts, a surrogate reference for step counts, cadence and sides (not for contact times: an
ankle impact marks the landing, nothing marks the toe-off).

Prints, per minute: the reference cadence (twice the left contacts: both feet land once a stride), the
pipeline's steps and cadence, and, over the run, how many left contacts have a pipeline contact within
`MATCH_S` and which side that contact was given. The figures go into docs/evaluation.md by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from posture.analysis import analyze_recording

#: An ankle impact counts as a contact when the acceleration magnitude peaks above this, g (running landings
#: reach 4 to 10 g at the ankle; swing-phase peaks stay below about 2.5 g).
ANKLE_IMPACT_G = 3.0
#: Contacts of one foot are at least this far apart, s (a stride at 220 steps/min lasts 0.55 s).
MIN_STRIDE_S = 0.5
#: A left contact and a pipeline contact within this of each other are the same landing, s.
MATCH_S = 0.1
#: Side labels and contact offsets are summarised over windows of this length, s.
WINDOW_S = 100.0
#: A minute counts as running when the reference shows at least this cadence, steps/min.
RUNNING_SPM = 130.0

STANDARD_GRAVITY_MPS2 = 9.80665


def ankle_contacts(path: Path) -> tuple[np.ndarray, float]:
    """Times of the left foot's impact peaks (s) and the recording's duration (s)."""
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    t, acc = data[:, 0], data[:, 1:4]
    g = np.linalg.norm(acc, axis=1) / STANDARD_GRAVITY_MPS2
    fs = 1.0 / float(np.median(np.diff(t)))
    peaks, _ = find_peaks(g, height=ANKLE_IMPACT_G, distance=max(1, round(MIN_STRIDE_S * fs)))
    return t[peaks], float(t[-1] - t[0])


def pipeline_steps(hip: Path, out: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, object]]]:
    """Contact times, sides and events of `posture analyze` on the hip recording."""
    analyze_recording(hip, out)
    rows = np.genfromtxt(out / "steps.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    events = json.loads((out / "events.json").read_text(encoding="utf-8"))
    return np.asarray(rows["t_ic_s"], dtype=float), np.asarray(rows["side"], dtype=str), events


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="keep the run folder here")
    args = parser.parse_args(argv)
    contacts, duration_s = ankle_contacts(args.data_dir / "left_ankle.csv")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        t_ic, side, events = pipeline_steps(args.data_dir / "left_hip.csv", out)

    minutes = int(np.ceil(duration_s / 60.0))
    print("| minute | reference cadence, steps/min | pipeline steps | pipeline cadence, steps/min | diff. |")
    print("|---|---|---|---|---|")
    diffs = []
    for m in range(minutes):
        lo, hi = 60.0 * m, min(60.0 * (m + 1), duration_s)
        span_min = (hi - lo) / 60.0
        ref = 2 * int(np.count_nonzero((contacts >= lo) & (contacts < hi))) / span_min
        got = int(np.count_nonzero((t_ic >= lo) & (t_ic < hi)))
        cadence = got / span_min
        if ref >= RUNNING_SPM:
            diffs.append(cadence - ref)
        print(f"| {m} | {ref:.0f} | {got} | {cadence:.0f} | {cadence - ref:+.0f} |")
    d = np.abs(np.asarray(diffs))
    print(
        f"\nrunning minutes (reference >= {RUNNING_SPM:g} steps/min): {d.size}; cadence error median "
        f"{np.median(d):.1f}, worst {d.max():.1f} steps/min"
    )
    print(f"steps: pipeline {t_ic.size}, reference (2 x left contacts) {2 * contacts.size}")

    nearest = np.searchsorted(t_ic, contacts)
    lo_idx = np.clip(nearest - 1, 0, t_ic.size - 1)
    hi_idx = np.clip(nearest, 0, t_ic.size - 1)
    pick = np.where(np.abs(t_ic[lo_idx] - contacts) <= np.abs(t_ic[hi_idx] - contacts), lo_idx, hi_idx)
    offset = t_ic[pick] - contacts
    matched = np.abs(offset) <= MATCH_S
    sides = side[pick[matched]]
    print(
        f"left contacts with a pipeline contact within {MATCH_S * 1000:.0f} ms: {int(matched.sum())} of "
        f"{contacts.size} ({matched.mean():.3f}); offset median {np.median(offset[matched]) * 1000:+.0f} ms; "
        f"labelled L {int((sides == 'L').sum())}, R {int((sides == 'R').sum())}"
    )
    print("\n| window, s | left contacts | nearest pipeline contact labelled L | its offset, median ms |")
    print("|---|---|---|---|")
    for lo in np.arange(0.0, duration_s, WINDOW_S):
        here = (contacts >= lo) & (contacts < lo + WINDOW_S)
        if not here.any():
            continue
        print(
            f"| {lo:.0f}-{lo + WINDOW_S:.0f} | {int(here.sum())} | {np.mean(side[pick[here]] == 'L'):.2f} | "
            f"{np.median(offset[here]) * 1000:+.0f} |"
        )
    print("\nevents:")
    for e in events:
        end = e["t_end_s"]
        until = "open" if end is None else f"{end:.0f}"
        print(f"- {e['rule']} side {e['side']} {e['t_start_s']:.0f}-{until} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
