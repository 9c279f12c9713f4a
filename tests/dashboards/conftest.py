"""Real servers for the ingest tests: InfluxDB 1.6.7 behind the v2 write shim; never mocked or skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posture.localstack.influxdb import InfluxDB
from posture.localstack.v2_write_shim import V2WriteShim


@pytest.fixture
def influxdb() -> Iterator[InfluxDB]:
    """A fresh `influxd` with the database ``posture`` (starts in well under a second)."""
    with InfluxDB(database="posture") as server:
        yield server


@pytest.fixture
def influx_v2(influxdb: InfluxDB) -> Iterator[V2WriteShim]:
    """The v2 write API in front of `influxdb` (what influxdb-client and the ingest talk to)."""
    with V2WriteShim(influxdb.url) as shim:
        yield shim
