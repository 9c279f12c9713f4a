"""The local InfluxDB server of the tests and the demo: stopped, killed and restarted on the same port."""

from __future__ import annotations

import pytest

from posture.localstack.influxdb import InfluxDB, InfluxdbServerError


def test_written_points_survive_a_stop_and_a_kill_on_the_same_port(influxdb: InfluxDB) -> None:
    port = influxdb.port
    influxdb.write_v1("m,a=b x=1.5 1000\n")
    influxdb.stop()
    assert not influxdb.running
    influxdb.start()
    influxdb.write_v1("m,a=b x=2.5 2000\n")
    influxdb.kill()  # as a crash: the WAL brings the points back
    influxdb.start()
    assert influxdb.port == port
    (series,) = influxdb.query("SELECT x FROM m")
    assert series.values == ((1000, 1.5), (2000, 2.5))


def test_a_refused_query_says_what_influxdb_said(influxdb: InfluxDB) -> None:
    with pytest.raises(InfluxdbServerError, match="error parsing query"):
        influxdb.query("SELEKT nothing")
