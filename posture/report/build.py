"""From a run folder or a session file to the report file: the one function `posture report` and `posture
demo` call."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path

from posture.report.advice import AdviceItem, load_advice
from posture.report.errors import ReportError
from posture.report.history import read_recent_runs
from posture.report.page import render_report
from posture.report.run import load_run

__all__ = ["write_report"]

logger = logging.getLogger(__name__)


def _replayed(session_file: Path, out_dir: Path) -> Path:
    """Replay a session file into `out_dir` (what `posture replay` writes) and return the folder."""
    try:
        from posture.session import replay_to_dir
    except ImportError as exc:
        raise ReportError(
            f"{session_file} is a file, and this version cannot replay session files: run "
            "`posture replay SESSION_FILE --out DIR`, then `posture report DIR`"
        ) from exc
    from posture.session import SessionError

    try:
        replay_to_dir(session_file, out_dir)
    except SessionError as exc:
        raise ReportError(f"{session_file}: {exc}") from exc
    return out_dir


def write_report(
    source: Path,
    out: Path,
    *,
    advice: Mapping[str, AdviceItem] | None = None,
    history_file: Path | None = None,
    athlete: str | None = None,
    default_athlete: str | None = None,
) -> Path:
    """Write the report of `source` (a run folder, or a session file that is replayed first) to `out`.

    Parameters
    ----------
    source : Path
        The folder `posture analyze` / `posture replay` wrote, or a session file.
    out : Path
        The HTML file to write (its folder is created).
    advice : mapping of advice id to AdviceItem, optional
        Default: the installed advice catalog (`load_advice`).
    history_file : Path, optional
        The run history (SQLite, `posture.history`): the page then compares this run with the recent ones.
    athlete : str, optional
        Whose runs to compare with; default: the athlete of the replayed session, else `default_athlete`
        (a folder analysed from a CSV recording does not say whose run it was).
    default_athlete : str, optional
        The settings' athlete.

    Returns
    -------
    Path
        `out`.
    """
    advice = load_advice() if advice is None else advice
    if source.is_file():
        with tempfile.TemporaryDirectory(prefix="posture-report-") as tmp:
            run = load_run(_replayed(source, Path(tmp)))
    else:
        run = load_run(source)
    history = None
    who = athlete or run.identity.athlete or default_athlete or ""
    if history_file is not None:
        if not who:
            raise ReportError(
                f"{source} does not say whose run it was: pass --athlete to compare it with the run history"
            )
        history = read_recent_runs(history_file, who)
    html = render_report(run, advice=advice, history=history, athlete=who)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {out} ({exc.strerror}): choose another --out") from exc
    logger.info("report of %s written to %s", source, out)
    return out
