"""A real InfluxDB server (Debian's `influxd` 1.6.7) on free loopback ports in a folder of its own.

For the tests and `posture demo`: `InfluxDB()` writes a config of ours into a temporary folder (HTTP on a free
loopback port, the RPC bind address on another, meta/data/WAL folders inside, usage reporting, the internal
monitor, continuous queries and every other listener off), starts `influxd`, waits until `/ping` answers and
creates the database. `stop()`, `start()` and `kill()` keep the ports and the data, so a test can take the
server away mid-stream and bring it back where the ingest expects it.

1.6.7 answers InfluxQL (`/query`) and the v1 `/write`, not the v2 `/api/v2/write` that `influxdb-client`
writes to (added in 1.8); `posture.localstack.v2_write_shim` translates for it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from posture.localstack.process import LocalServer, free_port

__all__ = ["InfluxDB", "InfluxdbServerError", "Series", "free_port"]

logger = logging.getLogger(__name__)

#: How long `influxd` may take to answer `/ping` after it starts (it opens its shards first; about 1 s here).
STARTUP_TIMEOUT_S = 30.0
#: How long a SIGTERM may take before the server is killed (it closes its shards; well under 1 s here).
STOP_TIMEOUT_S = 10.0


class InfluxdbServerError(RuntimeError):
    """The local InfluxDB server could not be started or answered an error; the message says what to check."""


@dataclass(frozen=True, slots=True)
class Series:
    """One series of an InfluxQL answer (``epoch=ns``: the ``time`` column holds int nanoseconds).

    Attributes
    ----------
    name : str
        The measurement.
    tags : tuple of (str, str)
        The GROUP BY tags of this series, sorted; empty without GROUP BY.
    columns : tuple of str
    values : tuple of tuple
        One row per point, in `columns` order; JSON values (float, int, bool, str or None).
    """

    name: str
    tags: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    values: tuple[tuple[object, ...], ...]

    def rows(self) -> list[dict[str, object]]:
        """The rows as column-name mappings (convenient in tests)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


_CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false
"""


class InfluxDB(LocalServer):
    """A started `influxd` with one database; a context manager that stops it and removes its folder.

    Parameters
    ----------
    database : str
        Created at the first start (the v2 API's bucket, through the shim).
    root : Path or None
        Folder for the config, data and log; default: a new temporary folder, removed on exit.
    executable : str
        The `influxd` binary (default: the one on PATH, Debian's /usr/bin/influxd).
    """

    def __init__(self, *, database: str = "posture", root: Path | None = None, executable: str = "") -> None:
        found = executable or shutil.which("influxd") or "/usr/bin/influxd"
        if not Path(found).exists():
            raise InfluxdbServerError(
                "influxd is not installed: install Debian's `influxdb` package (apt-get install influxdb)"
            )
        self.executable = found
        self.database = database
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="posture-influxdb-")) if root is None else root
        self.port = free_port()
        self.rpc_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._created = False
        config = _CONFIG.format(root=self.root, rpc_port=self.rpc_port, http_port=self.port)
        self.config_file = self.root / "influxdb.conf"
        self.config_file.write_text(config)
        self.log_file = self.root / "influxd.log"

    @property
    def url(self) -> str:
        """The HTTP API's base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Start the server on its ports and wait until it answers; create the database the first time."""
        if self.running:
            return
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [self.executable, "-config", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the test run, not the server
            )
        deadline = time.monotonic() + timeout_s
        while not self._ping():
            if self._process.poll() is not None:
                raise InfluxdbServerError(
                    f"influxd exited with code {self._process.returncode} at start; see {self.log_file}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise InfluxdbServerError(f"influxd did not answer within {timeout_s} s; see {self.log_file}")
            time.sleep(0.05)
        if not self._created:
            self.query(f'CREATE DATABASE "{self.database}"', method="POST")
            self._created = True
        logger.info("influxd pid %s listens on %s", self._process.pid, self.url)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the server with SIGTERM (killing it if it does not exit in time); data and ports stay."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would (its WAL restores the written points at start)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        """Stop the server and remove its folder if it was a temporary one."""
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1.0) as response:
                return bool(response.status == 204)
        except (OSError, urllib.error.URLError):
            return False

    def query(self, influxql: str, *, method: str = "GET") -> tuple[Series, ...]:
        """Run InfluxQL statements against the database; the series of all results, times in int ns.

        Raises
        ------
        InfluxdbServerError
            When the server refuses the query (the message is InfluxDB's error).
        """
        params = urllib.parse.urlencode({"db": self.database, "q": influxql, "epoch": "ns"})
        if method == "GET":
            request = urllib.request.Request(f"{self.url}/query?{params}")
        else:
            request = urllib.request.Request(
                f"{self.url}/query",
                data=params.encode(),
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        try:
            with urllib.request.urlopen(request, timeout=30.0) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise InfluxdbServerError(f"InfluxDB refused {influxql!r}: {detail}") from exc
        series: list[Series] = []
        for result in answer.get("results", []):
            if "error" in result:
                raise InfluxdbServerError(f"InfluxDB refused {influxql!r}: {result['error']}")
            for s in result.get("series", []):
                series.append(
                    Series(
                        name=s.get("name", ""),
                        tags=tuple(sorted((s.get("tags") or {}).items())),
                        columns=tuple(s["columns"]),
                        values=tuple(tuple(row) for row in s.get("values", [])),
                    )
                )
        return tuple(series)

    def write_v1(self, lines: str) -> None:
        """Write line protocol through the v1 `/write` endpoint (for seeding tests; the ingest uses v2)."""
        url = f"{self.url}/write?{urllib.parse.urlencode({'db': self.database, 'precision': 'n'})}"
        request = urllib.request.Request(url, data=lines.encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30.0):
                pass
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise InfluxdbServerError(f"InfluxDB refused the write: {detail}") from exc


if __name__ == "__main__":  # pragma: no cover - a manual check: start a server and wait
    with InfluxDB() as server:
        print(server.url, server.database, os.getpid(), flush=True)
        signal.pause()
