"""The ingest's writer: batches of line protocol to InfluxDB's v2 write API, through `influxdb-client`.

The only module of the package that imports `influxdb_client`. The ingest takes any `PointWriter` (tests and
benchmarks may give it another), and only `posture ingest`'s `main()` wires this one.

`InfluxWriter` writes synchronously (the ingest's writer thread owns the batching, the retries and the
acknowledgements, so nothing is held in a second, hidden buffer), with the client's own retries off: a failure
reaches the ingest at once, typed as `WriteFailed` with the HTTP status and whether a retry can help.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, cast

from dashboards.errors import WriteFailed

if TYPE_CHECKING:
    from influxdb_client import WritePrecision

__all__ = ["InfluxWriter", "PointWriter", "is_retryable_status"]

logger = logging.getLogger(__name__)

#: InfluxDB refused the points themselves: the same batch can never succeed (Telegraf drops such batches;
#: the ingest isolates the bad message and sends it to the dead-letter topic instead).
_REFUSED_STATUSES = frozenset({400, 422})
#: How long one write may take before it counts as failed (and is retried).
WRITE_TIMEOUT_S = 30.0


def is_retryable_status(status: int | None) -> bool:
    """True unless InfluxDB answered that the points are invalid (400 Bad Request, 422 Unprocessable).

    No answer (None), 5xx and 429 are the server away or overloaded. 401/403/404 (token, permission, bucket)
    are retryable too: an operator can fix them while the messages wait unacknowledged in the broker, which
    loses nothing; the ingest logs them as errors saying what to fix. 413 is retried after the batch is split.
    """
    return status not in _REFUSED_STATUSES


class PointWriter(Protocol):
    """Writes a batch of line-protocol lines (ns precision), all or nothing, or raises `WriteFailed`."""

    def write(self, lines: Sequence[str]) -> None: ...


class InfluxWriter:
    """`PointWriter` for InfluxDB 2.x, 3.x, Cloud and 1.8+ (v2 write API), from `influxdb-client`.

    Parameters
    ----------
    url : str
        e.g. ``http://localhost:8086`` or ``https://eu-central-1-1.aws.cloud2.influxdata.com``.
    org, bucket : str
        InfluxDB 1.8+: org is ignored and bucket is ``database/retention_policy`` (or just the database).
    token : str
        InfluxDB 1.8+ with authentication: ``username:password``.
    timeout_s : float, s
    """

    def __init__(self, url: str, *, org: str, bucket: str, token: str, timeout_s: float = WRITE_TIMEOUT_S):
        # influxdb-client takes a quarter of a second to import: only a writer made pays for it (`posture
        # --help` imports the ingest's command module).
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.url = url
        self.org = org
        self.bucket = bucket
        self._client = InfluxDBClient(
            url=url, token=token, org=org, timeout=int(timeout_s * 1000), enable_gzip=False, retries=False
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        # WritePrecision is a class of str constants that the client's annotations name as the class itself
        self._precision = cast("WritePrecision", WritePrecision.NS)

    def write(self, lines: Sequence[str]) -> None:
        """Write `lines` in one request.

        Raises
        ------
        WriteFailed
            With the HTTP status (None without an answer) and `retryable` from `is_retryable_status`.
        """
        from influxdb_client.client.exceptions import InfluxDBError
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError as Urllib3HTTPError

        try:
            # one body, encoded once: the client's serializer walks a list item by item (a few us per line)
            body = "\n".join(lines).encode("utf-8")
            self._write_api.write(
                bucket=self.bucket, org=self.org, record=body, write_precision=self._precision
            )
        except ApiException as exc:
            status = int(exc.status) if exc.status else None
            detail = (exc.body or exc.reason or "").strip() if isinstance(exc.body, str) else str(exc.reason)
            raise WriteFailed(
                f"InfluxDB at {self.url} answered {status}: {detail[:500]}",
                status=status,
                retryable=is_retryable_status(status),
            ) from exc
        except InfluxDBError as exc:
            status = getattr(exc.response, "status", None)
            raise WriteFailed(
                f"InfluxDB at {self.url} answered {status}: {exc.message[:500]}",
                status=status,
                retryable=is_retryable_status(status),
            ) from exc
        except (Urllib3HTTPError, OSError) as exc:
            raise WriteFailed(
                f"InfluxDB at {self.url} does not answer ({type(exc).__name__}); check that it runs and that "
                "--influx-url points at it",
                status=None,
                retryable=True,
            ) from exc

    def close(self) -> None:
        """Release the HTTP connections."""
        self._write_api.close()
        self._client.close()

    def __enter__(self) -> InfluxWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
