"""A test-and-demo-only translation of InfluxDB's v2 write API to the v1 API of Debian's InfluxDB 1.6.7.

Why it exists: the product writes with `influxdb-client`'s v2 write API (InfluxDB 2.x, 3.x, Cloud and 1.8+
answer it), but the only InfluxDB that installs on these machines is Debian's 1.6.7, which lacks
`/api/v2/write` (added in 1.8). In production the ingest talks to InfluxDB directly and this module plays no
part. It translates exactly what the client needs, nothing more:

- ``POST /api/v2/write?org=O&bucket=B&precision=P`` becomes ``POST /write?db=B&precision=p`` (``ns`` -> ``n``,
  ``us`` -> ``u``, ``ms``, ``s``); the body (and its Content-Encoding) is passed through untouched; the org is
  ignored, as 1.8's compatibility API ignores it; ``bucket`` ``db/rp`` selects a retention policy as 1.8 does.
- ``GET /ping`` and ``GET /health`` answer from the real server (``/health`` in the v2 shape).
- The token: ``Authorization: Token T`` must match `token` when one is given (401 otherwise), else ignored.

Errors pass through faithfully so the ingest's retries meet the real failures: the server's own status code
and message (a 400 for a bad line, a 5xx when it fails), and 503 Service Unavailable when the server does not
answer at all (stopped or killed), which is what an InfluxDB behind a load balancer answers while it is away.
Error bodies are given the v2 shape (``{"code": ..., "message": ...}``) that the client parses.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from posture.localstack.process import LocalServer

__all__ = ["V2WriteShim"]

logger = logging.getLogger(__name__)

_PRECISIONS = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}
#: The v2 API's error codes by HTTP status (https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite).
_V2_CODES = {
    400: "invalid",
    401: "unauthorized",
    404: "not found",
    413: "request too large",
    503: "unavailable",
}
#: How long the shim waits for InfluxDB to answer one write (InfluxDB's own write timeout is 10 s).
UPSTREAM_TIMEOUT_S = 30.0


class V2WriteShim(LocalServer):
    """A small threaded HTTP server on 127.0.0.1 that forwards v2 writes to a v1 InfluxDB.

    Parameters
    ----------
    influx_url : str
        The real server, e.g. ``http://127.0.0.1:8086`` (`posture.localstack.influxdb.InfluxDB.url`).
    port : int
        0 picks a free port; give the previous port to restart on the same address.
    token : str or None
        When given, writes must carry ``Authorization: Token <token>``.
    """

    def __init__(self, influx_url: str, *, port: int = 0, token: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(influx_url)
        if parsed.scheme != "http" or parsed.hostname is None:
            raise ValueError(f"influx_url must be http://host:port, got {influx_url!r}")
        self._upstream = (parsed.hostname, parsed.port or 8086)
        self._token = token
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the shim listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The URL to give `influxdb-client` (and `posture ingest --influx-url`)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="v2-write-shim", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool reuses connections

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("v2 shim: " + format, *args)

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                if path == "/ping":
                    status, headers, body = shim._forward("GET", "/ping", b"", {})
                    self._answer(status, body, headers)
                elif path == "/health":
                    status, _, _ = shim._forward("GET", "/ping", b"", {})
                    ok = status == 204
                    body = json.dumps(
                        {
                            "name": "influxdb",
                            "message": "ready for queries and writes" if ok else "InfluxDB does not answer",
                            "status": "pass" if ok else "fail",
                            "version": "1.6.7 behind posture's v2 write shim",
                        }
                    ).encode()
                    self._answer(200 if ok else 503, body, {"Content-Type": "application/json"})
                else:
                    self._error(404, f"the v2 write shim serves /api/v2/write, /ping and /health, not {path}")

            def do_POST(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if split.path != "/api/v2/write":
                    self._error(404, f"the v2 write shim serves /api/v2/write, not {split.path}")
                    return
                if shim._token is not None and self.headers.get("Authorization") != f"Token {shim._token}":
                    self._error(401, "unauthorized access: wrong or missing token")
                    return
                query = urllib.parse.parse_qs(split.query)
                bucket = query.get("bucket", [""])[0]
                precision = query.get("precision", ["ns"])[0]
                if not bucket or precision not in _PRECISIONS:
                    self._error(400, f"bucket is required and precision one of {sorted(_PRECISIONS)}")
                    return
                database, _, retention = bucket.partition("/")
                params = {"db": database, "precision": _PRECISIONS[precision]}
                if retention:
                    params["rp"] = retention
                headers = {"Content-Type": "text/plain; charset=utf-8"}
                if self.headers.get("Content-Encoding"):
                    headers["Content-Encoding"] = self.headers["Content-Encoding"]
                status, _, upstream_body = shim._forward(
                    "POST", f"/write?{urllib.parse.urlencode(params)}", body, headers
                )
                if status == 204:
                    self._answer(204, b"", {})
                else:
                    self._error(status, _v1_error_text(upstream_body))

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                code = _V2_CODES.get(status, "internal error")
                body = json.dumps({"code": code, "message": message}).encode()
                self._answer(status, body, {"Content-Type": "application/json"})

        return Handler

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the real server: its status, headers and body; 503 when it does not answer."""
        connection = http.client.HTTPConnection(*self._upstream, timeout=UPSTREAM_TIMEOUT_S)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except OSError as exc:
            message = f"InfluxDB at {self._upstream[0]}:{self._upstream[1]} does not answer: {exc}"
            return 503, {}, json.dumps({"error": message}).encode()
        finally:
            connection.close()


def _v1_error_text(body: bytes) -> str:
    """The message of a v1 error body (``{"error": "..."}``), or the body itself."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])
    return body.decode(errors="replace")
