"""A real InfluxDB (Debian's influxd 1.6.7) holding simulated runs as the ingest writes them.

`after_the_runs`: one server per test module with, for athlete ``alex``, a run with a planted fault (the
right hip dropping during left stance), a clean run, and the summaries of eight earlier runs over the weeks
before (the history), every point written exactly as the ingest writes it (`dashboards.schema.lines_for` of
each published message).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posture.localstack.influxdb import InfluxDB
from tests.grafana.published_runs import PublishedRun, history_summaries, published_run

ATHLETE = "alex"
FAULT = ("drop_asymmetry_left_stance", ATHLETE, "2026-12-07-fault", 0)
CLEAN = ("clean_run", ATHLETE, "2026-12-07-clean", 1)


@pytest.fixture(scope="module")
def fault_run() -> PublishedRun:
    return published_run(*FAULT)


@pytest.fixture(scope="module")
def clean_run() -> PublishedRun:
    return published_run(*CLEAN)


@pytest.fixture(scope="module")
def after_the_runs(fault_run: PublishedRun, clean_run: PublishedRun) -> Iterator[InfluxDB]:
    """InfluxDB after both runs and the earlier runs' summaries were ingested."""
    with InfluxDB(database="posture") as server:
        lines = [*fault_run.lines(), *clean_run.lines()]
        lines += [line for m in history_summaries(fault_run) for line in _lines(m)]
        server.write_v1("\n".join(lines) + "\n")
        yield server


def _lines(message: object) -> tuple[str, ...]:
    from dashboards.schema import lines_for
    from posture.messages import Message

    assert isinstance(message, Message)
    return lines_for(message.kind, message.payload)
