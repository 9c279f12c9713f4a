"""`posture evaluate`: the pipeline over the simulator's scenario suite and the real recordings, one table.

The simulated rows come from `processing.simulation.SCENARIO_SUITE` (truth known exactly); the real rows from
the walking recordings with reference gait events shipped in `tests/data/mobgap-HA002/` (Apache-2.0, see its
NOTICE), read here because `processing` does no I/O. The table is printed and, with `--out`, written as
Markdown (docs/evaluation.md keeps the latest one).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import typer
from rich.console import Console
from rich.table import Table

from processing.evaluation import (
    REAL_TOLERANCE_S,
    SIM_TOLERANCE_S,
    EvaluationRow,
    ReferenceEvents,
    ReferenceRecording,
    evaluate_suite,
)
from processing.evaluation.suite import SIM_UNSCORED_EDGE_S
from processing.evaluation.sweep import SweepResult, run_sweep, summarize_sweep
from processing.samples import ImuSamples

__all__ = [
    "DEFAULT_REAL_DATA_DIR",
    "HAND_WRITTEN_MARKER",
    "TARGETS",
    "hand_written_tail",
    "load_reference_recordings",
    "register",
    "render_markdown",
    "run_evaluation",
    "run_sweep_command",
]

logger = logging.getLogger(__name__)
console = Console()

#: The real walking recordings shipped with the repository (CSV + JSON reference per recording).
DEFAULT_REAL_DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "mobgap-HA002"

Suite = Literal["sim", "real", "all"]
# Reference systems in order of preference: INDIP is the primary reference of the Mobilise-D validation (it
# covers every walking bout); stereophotogrammetry covers only the capture volume (fewer, shorter bouts).
_REFERENCE_SYSTEMS = ("INDIP", "Stereophoto")

# Columns: short header, long name (docs), value key, the issue-3 target (None = no target), lower is better.
_COLUMNS: tuple[tuple[str, str, str, float | None, bool], ...] = (
    ("F1", "IC F1", "ic_f1", 0.99, False),
    ("IC ms", "IC error, median abs, ms", "median_ic_error_ms", 10.0, True),
    ("CT ms", "contact time MAE (running), ms", "contact_mae_ms", 15.0, True),
    ("side", "side accuracy (sim: running; real: all)", "side_accuracy", 0.99, False),
    ("cad", "cadence error, steps/min", "cadence_error_spm", 1.0, True),
    ("tilt", "tilt RMSE, deg", "tilt_rmse_deg", 1.5, True),
    ("drop", "drop RMSE, deg", "drop_rmse_deg", 1.5, True),
    ("rot", "rotation RMSE, deg", "rotation_rmse_deg", 1.5, True),
    ("SI st", "step-time SI error, pp", "step_time_si_error_pp", 2.0, True),
    ("SI ct", "contact-time SI error, pp", "contact_time_si_error_pp", 2.0, True),
    ("RL drop", "drop R-L error, deg", "drop_rl_error_deg", 0.5, True),
    ("RL tilt", "tilt R-L error, deg", "tilt_rl_error_deg", 0.5, True),
    ("RL rot", "rotation R-L error, deg", "rotation_rl_error_deg", 0.5, True),
    ("VO", "vertical oscillation (sacrum) RMSE, cm", "vertical_oscillation_rmse_cm", None, True),
    ("brake", "braking peak RMSE, m/s^2", "braking_peak_rmse_mps2", None, True),
    ("brake dv", "braking speed loss RMSE, m/s", "braking_dv_rmse_mps", None, True),
    ("impact", "impact peak RMSE, g", "impact_peak_rmse_g", None, True),
)
#: The targets of issue 3, by column key; the real recordings have their own IC F1 and side targets (0.90).
TARGETS: dict[str, float] = {key: target for _, _, key, target, _ in _COLUMNS if target is not None}
_REAL_TARGETS = {"ic_f1": 0.90, "side_accuracy": 0.90}


def _value(row: EvaluationRow, key: str) -> float:
    e = row.events
    if key == "ic_f1":
        return e.ic_f1
    if key == "median_ic_error_ms":
        return 1e3 * e.median_abs_ic_error_s
    if key == "contact_mae_ms":
        return 1e3 * e.contact_time_mae_s
    if key == "side_accuracy":
        return e.side_accuracy_running if row.source == "sim" else e.side_accuracy
    if key == "cadence_error_spm":
        return e.cadence_error_spm
    if key == "vertical_oscillation_rmse_cm":
        return 100.0 * row.vertical_oscillation_rmse_m
    return float(getattr(row, key))


def _meets(row: EvaluationRow, key: str, value: float) -> bool | None:
    lower_is_better = {k: low for _, _, k, _, low in _COLUMNS}[key]
    target = (_REAL_TARGETS if row.source != "sim" else TARGETS).get(key)
    if target is None or not math.isfinite(value):
        return None
    return value <= target if lower_is_better else value >= target


def _fmt(key: str, value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if key in ("ic_f1", "side_accuracy"):
        return f"{value:.3f}"
    return f"{value:.1f}" if key.endswith("_ms") else f"{value:.2f}"


def _read_csv(path: Path) -> ImuSamples:
    """The contract's columns by name (reference recordings may be shorter than `posture analyze` accepts)."""
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    col = {name: i for i, name in enumerate(header)}
    acc = data[:, [col[f"acc_{a}_mps2"] for a in "xyz"]]
    has_gyr = all(f"gyr_{a}_dps" in col for a in "xyz")
    gyr = data[:, [col[f"gyr_{a}_dps"] for a in "xyz"]] if has_gyr else None
    return ImuSamples(data[:, col["t_s"]], acc, gyr)


_DIRECTIONS = {
    "FORWARD": (1.0, 0.0, 0.0),
    "BACKWARD": (-1.0, 0.0, 0.0),
    "LEFT": (0.0, 1.0, 0.0),
    "RIGHT": (0.0, -1.0, 0.0),
    "UP": (0.0, 0.0, 1.0),
    "DOWN": (0.0, 0.0, -1.0),
}
_POINTS = re.compile(r"\+[XYZ] POINTS (?:TO THE )?(?:PARTICIPANT'S )?(FORWARD|BACKWARD|LEFT|RIGHT|UP|DOWN)")


def _axes_rotation(convention: dict[str, str]) -> npt.NDArray[np.float64] | None:
    """v_body = R @ v_sensor from the JSON's axis texts, e.g. "+x points UP"; None if they do not say."""
    columns = []
    for axis in ("acc_x", "acc_y", "acc_z"):
        found = _POINTS.search(convention.get(axis, "").upper())
        if found is None:
            return None
        columns.append(_DIRECTIONS[found.group(1)])
    rot = np.array(columns, dtype=np.float64).T
    return rot if np.isclose(np.linalg.det(rot), 1.0) else None


def _untimed_gaps(ref: dict[str, Any], fs: float) -> npt.NDArray[np.float64]:
    """(u, 2) gaps, s, around each contact the reference lists without a time (NaN in the .mat, null here).

    The raw .mat times are MATLAB 1-based; mobgap's parser (and `t_s` in the JSON) is one sample earlier.
    """
    gaps: list[tuple[float, float]] = []
    for wb in ref.get("raw_mat_initial_contacts_per_wb", []):
        times = [None if t is None else round(float(t) * fs) / fs - 1.0 / fs for t in wb["ic_t_s"]]
        for k, t in enumerate(times):
            if t is not None:
                continue
            before = [x for x in times[:k] if x is not None]
            after = [x for x in times[k + 1 :] if x is not None]
            if before and after:
                gaps.append((before[-1], after[0]))
    return np.array(gaps, dtype=np.float64).reshape(-1, 2)


def load_reference_recordings(data_dir: Path = DEFAULT_REAL_DATA_DIR) -> list[ReferenceRecording]:
    """Read every `<name>.csv` + `<name>.json` pair, one `ReferenceRecording` per reference system with timed
    contacts: the primary system first (INDIP, the Mobilise-D primary reference, else Stereophoto), then the
    other one as an independent second reference for the same samples (`ReferenceRecording.primary` False).

    Recordings whose JSON lists no reference contact in either system are skipped (nothing to score).
    """
    recordings: list[ReferenceRecording] = []
    for meta_path in sorted(data_dir.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        systems = meta.get("reference", {})
        chosen = [s for s in _REFERENCE_SYSTEMS if systems.get(s, {}).get("initial_contacts")]
        if not chosen:
            logger.info("skipping %s: no reference initial contacts", meta_path.name)
            continue
        samples = _read_csv(data_dir / meta["csv"])
        fs = float(meta["sampling_rate_hz"])
        for k, system in enumerate(chosen):
            ref = systems[system]
            ics = ref["initial_contacts"]
            bouts = np.array([[b["start_s"], b["end_s"]] for b in ref["walking_bouts"]], dtype=np.float64)
            recordings.append(
                ReferenceRecording(
                    name=meta["recording_id"],
                    samples=samples,
                    sampling_rate_hz=fs,
                    reference=ReferenceEvents(
                        ic_s=np.array([ic["t_s"] for ic in ics], dtype=np.float64),
                        side=np.array([ic["side"] for ic in ics], dtype="<U1"),
                        to_s=np.full(len(ics), np.nan),
                        is_running=np.zeros(len(ics), dtype=bool),
                        bouts_s=bouts.reshape(-1, 2),
                        untimed_gaps_s=_untimed_gaps(ref, fs),
                    ),
                    reference_system=system,
                    sensor_to_body=_axes_rotation(meta.get("axis_convention", {})),
                    primary=k == 0,
                )
            )
    return recordings


def run_evaluation(
    suite: Suite, *, data_dir: Path = DEFAULT_REAL_DATA_DIR, scenarios: Iterable[object] | None = None
) -> list[EvaluationRow]:
    """Evaluate the pipeline on the chosen suite (scenarios default to `SCENARIO_SUITE`)."""
    if suite in ("sim", "all") and scenarios is None:
        from processing.simulation import SCENARIO_SUITE

        scenarios = SCENARIO_SUITE
    chosen_scenarios = scenarios if suite in ("sim", "all") and scenarios is not None else ()
    recordings = load_reference_recordings(data_dir) if suite in ("real", "all") else []
    rows = []
    for row in evaluate_suite(chosen_scenarios, recordings):
        logger.info("evaluated %s (%s)", row.name, row.source)
        rows.append(row)
    return rows


def _summary_rows(rows: list[EvaluationRow]) -> list[tuple[str, str, dict[str, float]]]:
    """Pooled lines over the simulated rows: the median and the worst row (targets hold across the suite)."""
    sim = [r for r in rows if r.source == "sim"]
    if not sim:
        return []
    worst: dict[str, float] = {}
    median: dict[str, float] = {}
    for _, _, key, _, lower in _COLUMNS:
        values = [v for v in (_value(r, key) for r in sim) if math.isfinite(v)]
        if values:
            worst[key] = max(values) if lower else min(values)
            median[key] = float(np.median(values))
    return [("median over the suite", "sim", median), ("worst over the suite", "sim", worst)]


#: A regenerated table keeps whatever follows this line in the file it replaces: measurements that no command
#: here can repeat (a recording outside this tree, such as docs/real-running.md's outdoor run).
HAND_WRITTEN_MARKER = "<!-- hand-written below: posture evaluate keeps what follows -->"


def hand_written_tail(path: Path) -> str:
    """The marker and what follows it in `path` ("" when the file or the marker is not there)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    at = text.find(HAND_WRITTEN_MARKER)
    return "" if at < 0 else "\n" + text[at:]


def render_markdown(rows: list[EvaluationRow], *, command: str) -> str:
    """The table as Markdown, with the targets and how to reproduce it."""
    keys = [key for _, _, key, _, _ in _COLUMNS]
    head = ["scenario / recording", "source", "Hz", *[long for _, long, _, _, _ in _COLUMNS]]
    lines = [
        "# Evaluation",
        "",
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. The whole pipeline "
        "(`processing.pipeline.analyze`) runs on raw sensor-frame samples: mounting calibration, "
        "orientation, gait events, left/right and per-step metrics, nothing levelled with the truth. The "
        "detected contacts are the steps' initial contacts plus the next contact that ends each bout's last "
        "step (`processing.evaluation.contacts_from_steps`).",
        "",
        f"- Simulated rows: `processing.simulation.SCENARIO_SUITE`, matched to the truth within "
        f"{1e3 * SIM_TOLERANCE_S:.0f} ms. Side accuracy over running steps; metric RMSE over matched running "
        "steps; SI and right-minus-left errors over running steps. Recordings as people have them (issue "
        "11): `phone_stamped_*` rows carry a phone app's arrival stamps (jitter, lost packets, a clock 0.5 % "
        "off; `processing.simulation.host_stamps`) and go through the time-base repair "
        "(`processing.timebase.regularize`) before the pipeline, scored on the true time axis; `biaxial_*` "
        "rows lack the medio-lateral accelerometer axis and the gyroscope, so their sides cannot be told "
        "(side accuracy `-`, docs/biaxial.md). Hills (`uphill_*`, `downhill_*`, `steep_downhill_*`, "
        "`rolling_hills`; `processing.simulation.terrain`) and short lab clips (`short_clip_*`, "
        "`lab_treadmill_trial_8s`, `treadmill_incline_clip_6s`: 4 to 8 s, opening mid-stride). The clips, "
        "like `no_standing*`, have no standing start: their angles are relative to the mean running "
        "posture, so their tilt RMSE is the runner's mean anterior tilt (about 4 deg, 7 deg up an "
        "incline), not an error of the pipeline. The first and last "
        f"{SIM_UNSCORED_EDGE_S:g} s of each simulated recording are not scored (a contact cut by an end).",
        f"- Real rows: walking recordings in `tests/data/mobgap-HA002` (mobgap example data, Apache-2.0), "
        f"matched to the reference system within {REAL_TOLERANCE_S:g} s inside its walking bouts (as mobgap "
        "scores it); side accuracy over matched contacts. No running, toe-off or pelvic-angle reference. "
        "Rows marked `(detector, documented axes)` run the gait-event detector alone on the recording "
        "levelled from its documented sensor axes, apart from the pipeline's calibration.",
        "- Targets (issue 3): "
        + ", ".join(
            f"{name} {'<=' if low else '>='} {t:g}" for _, name, _, t, low in _COLUMNS if t is not None
        )
        + "; real recordings: IC F1 >= 0.90, side accuracy >= 0.90. A `*` marks a value that misses its "
        "target.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] * len(head)) + "|",
    ]
    for row in rows:
        cells = [row.name, row.source, f"{row.sampling_rate_hz:g}"]
        for key in keys:
            value = _value(row, key)
            mark = "*" if _meets(row, key, value) is False else ""
            cells.append(_fmt(key, value) + mark)
        lines.append("| " + " | ".join(cells) + " |")
    for name, source, worst in _summary_rows(rows):
        cells = [f"**{name}**", source, ""] + [_fmt(k, worst[k]) if k in worst else "-" for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    lines.extend(_untimed_notes(rows))
    return "\n".join(lines) + "\n"


def _untimed_notes(rows: list[EvaluationRow]) -> list[str]:
    """Where a real row's false positives fall into gaps the reference itself left (scores unchanged)."""
    notes = []
    for row in rows:
        e = row.events
        n_false = e.n_detected - e.n_matched
        if row.source == "sim" or e.n_false_in_untimed_gaps == 0:
            continue
        notes.append(
            f"- {row.name} ({_short_source(row.source)}): {e.n_false_in_untimed_gaps} of the {n_false} "
            "false positives lie between two timed reference contacts where the reference lists a contact "
            "it could not time (NaN in its .mat, dropped by mobgap's parser); they count as false all the "
            "same."
        )
    if notes:
        notes = ["", "Reference gaps (a diagnostic; the scores above are unchanged):", "", *notes]
    return notes


def _short_source(source: str) -> str:
    return source.replace(" (detector, documented axes)", " det").replace("real:", "")


def _rich_table(rows: list[EvaluationRow]) -> Table:
    table = Table(title="posture evaluate (targets: see docs/evaluation.md; red = missed)", pad_edge=False)
    table.add_column("scenario / recording", no_wrap=True, overflow="ellipsis", max_width=34)
    table.add_column("src", no_wrap=True)
    table.add_column("Hz", justify="right")
    for short, _, _, _, _ in _COLUMNS:
        table.add_column(short, justify="right", no_wrap=True)
    for row in rows:
        cells = [row.name, _short_source(row.source), f"{row.sampling_rate_hz:g}"]
        for _, _, key, _, _ in _COLUMNS:
            value = _value(row, key)
            text = _fmt(key, value)
            cells.append(f"[red]{text}[/red]" if _meets(row, key, value) is False else text)
        table.add_row(*cells)
    for name, source, worst in _summary_rows(rows):
        cells = [f"[bold]{name}[/bold]", source, ""]
        cells += [_fmt(k, worst[k]) if k in worst else "-" for _, _, k, _, _ in _COLUMNS]
        table.add_row(*cells)
    return table


def _sweep_table(results: list[SweepResult]) -> Table:
    table = Table(title=f"sweep over {len(results)} random scenarios (issue-3 targets)", pad_edge=False)
    for head in ("metric", "target", "n", "median", "p90 (bad side)", "worst", "missed"):
        table.add_column(head, justify="left" if head == "metric" else "right", no_wrap=True)
    for d in summarize_sweep(results):
        cmp = "<=" if d.lower_is_better else ">="
        missed = f"{d.n_missed}" + (f" ({100.0 * d.n_missed / d.n:.0f} %)" if d.n else "")
        cells = [f"{v:.3g}" if math.isfinite(v) else "-" for v in (d.median, d.p90, d.worst)]
        table.add_row(
            d.name, f"{cmp} {d.target:g}", str(d.n), *cells, f"[red]{missed}[/red]" if d.n_missed else missed
        )
    return table


def run_sweep_command(n: int, seed: int) -> list[SweepResult]:
    """`posture evaluate --sweep N --seed S`: print the distributions, the crashes and the missed draws."""
    results: list[SweepResult] = []
    with console.status(f"sweeping {n} random scenarios ...") as status:
        for r in run_sweep(n, seed):
            results.append(r)
            status.update(f"sweeping: {len(results)}/{n} done")
    console.print(_sweep_table(results))
    for k, r in enumerate(results):
        if r.row is None:
            console.print(f"[red]CRASH[/red] draw {k} ({r.draw.scenario!r}):\n{r.error}", soft_wrap=True)
    for d in summarize_sweep(results):
        if d.missed:
            names = ", ".join(results[i].draw.scenario.name for i in d.missed)
            console.print(f"{d.name} missed by: {names}", soft_wrap=True)
    n_crash = sum(r.row is None for r in results)
    console.print(f"{n_crash} crash(es) in {n} draws; reproduce one draw with processing.evaluation.sweep")
    return results


def register(app: typer.Typer) -> None:
    """Add `posture evaluate` to the CLI."""

    @app.command("evaluate")
    def evaluate(
        suite: Annotated[
            str,
            typer.Option("--suite", help="Which rows: 'sim' (scenario suite), 'real' (recordings), 'all'."),
        ] = "all",
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Also write the table as Markdown here, e.g. docs/evaluation.md."),
        ] = None,
        data_dir: Annotated[
            Path, typer.Option("--data-dir", help="Folder of real recordings (<name>.csv + <name>.json).")
        ] = DEFAULT_REAL_DATA_DIR,
        scenario: Annotated[
            list[str] | None,
            typer.Option(
                "--scenario",
                help="Only these suite scenarios (repeat the option; an unknown name lists them all); "
                "default: all.",
            ),
        ] = None,
        sweep: Annotated[
            int,
            typer.Option(
                "--sweep",
                min=0,
                help="Instead of the suite: N random scenarios across the issue's ranges, per-metric "
                "distributions against the targets and every crash (processing.evaluation.sweep).",
            ),
        ] = 0,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the --sweep draws.")] = 0,
    ) -> None:
        """Run the pipeline over the simulated scenario suite and the real recordings; print one table."""
        if sweep:
            run_sweep_command(sweep, seed)
            return
        if suite not in ("sim", "real", "all"):
            raise typer.BadParameter("use 'sim', 'real' or 'all'", param_hint="--suite")
        chosen = None
        if scenario:
            from processing.simulation import UnknownScenarioError, scenario_by_name

            try:
                chosen = [scenario_by_name(name) for name in scenario]
            except UnknownScenarioError as exc:
                raise typer.BadParameter(str(exc), param_hint="--scenario") from exc
        with console.status("evaluating ..."):
            rows = run_evaluation(suite, data_dir=data_dir, scenarios=chosen)  # type: ignore[arg-type]
        console.print(_rich_table(rows))
        if out is not None:
            command = "posture evaluate --suite " + suite + (f" --out {out}" if out else "")
            out.parent.mkdir(parents=True, exist_ok=True)
            text = render_markdown(rows, command=command) + hand_written_tail(out)
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out}")
