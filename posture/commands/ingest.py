"""`posture ingest`: the live run's MQTT messages into InfluxDB until SIGTERM or SIGINT (docs/ingest.md).

Only this module wires the real writer (`dashboards.influx_writer.InfluxWriter`) to the ingest. Flags are the
"Live-run contract" of docs/design.md; where a flag is not given, the settings (`influx_url`, `mqtt_url`, ...)
apply; the token comes only from ``POSTURE_INFLUX_TOKEN`` and the broker credentials from
``POSTURE_MQTT_USERNAME`` / ``POSTURE_MQTT_PASSWORD``.

``python -m posture.commands.ingest ...`` runs the same command on its own (the tests start it that way to
kill it with SIGKILL).
"""

from __future__ import annotations

import logging
import signal
import threading
import urllib.parse
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from dashboards.errors import IngestConfigError
from dashboards.influx_writer import InfluxWriter, PointWriter
from dashboards.ingest import BrokerAddress, Ingest, IngestOptions, IngestStats
from posture.settings import Settings, load_settings, secrets_from_env

__all__ = ["ingest_command", "register", "run_ingest"]

logger = logging.getLogger(__name__)
err = Console(stderr=True, soft_wrap=True)
_DEFAULTS = IngestOptions()


def run_ingest(
    broker: BrokerAddress,
    writer: PointWriter,
    options: IngestOptions,
    stop: threading.Event | None = None,
) -> IngestStats:
    """Run the ingest until SIGTERM or SIGINT (or `stop`); return its final counters.

    Must run in the main thread (signal handlers); the previous handlers are restored on return.
    """
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: stopping after the flush", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return Ingest(broker, writer, options).run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ingest_command(
    ctx: typer.Context,
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="Broker: mqtt://host:1883 or mqtts://host:8883 (settings).")
    ] = None,
    influx_url: Annotated[
        str | None, typer.Option("--influx-url", help="InfluxDB 2.x/3.x/Cloud/1.8+ URL (settings).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="InfluxDB organisation (1.8: any).")] = None,
    bucket: Annotated[
        str | None, typer.Option("--bucket", help="InfluxDB bucket (1.8: database or database/rp).")
    ] = None,
    client_id: Annotated[
        str, typer.Option("--client-id", help="Fixed MQTT client id: the broker keeps its session.")
    ] = _DEFAULTS.client_id,
    share_group: Annotated[
        str | None,
        typer.Option("--share-group", help="Share the subscription ($share/GROUP/...) with other ingests."),
    ] = None,
    max_unwritten: Annotated[
        int, typer.Option("--max-unwritten", min=1, help="Messages held unwritten at most (backpressure).")
    ] = _DEFAULTS.max_unwritten,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Points per write request at most.")
    ] = _DEFAULTS.batch_size,
    flush_interval: Annotated[
        float, typer.Option("--flush-interval", min=0.001, help="Seconds a partial batch may wait.")
    ] = _DEFAULTS.flush_interval_s,
    retire: Annotated[
        bool,
        typer.Option(
            "--retire",
            help="At SIGTERM, leave for good: unsubscribe, write what the broker holds for this client id, "
            "end its session (scaling a shared subscription down).",
        ),
    ] = False,
) -> None:
    """Write the live run's messages from MQTT into InfluxDB until SIGTERM or SIGINT (then flush, exit 0).

    The token comes from POSTURE_INFLUX_TOKEN."""
    settings: Settings = ctx.obj.settings if ctx.obj is not None else load_settings()
    secrets = secrets_from_env()
    mqtt_url = mqtt or settings.mqtt_url
    url = influx_url or settings.influx_url
    org = org or settings.influx_org
    bucket = bucket or settings.influx_bucket
    if not (mqtt_url and url and org and bucket):
        given = (("--mqtt", mqtt_url), ("--influx-url", url), ("--org", org), ("--bucket", bucket))
        missing = ", ".join(flag for flag, value in given if not value)
        raise typer.BadParameter(f"give {missing} (or set them in the settings)")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise typer.BadParameter(f"--influx-url must be like http://host:8086 or https://host, not {url!r}")
    try:
        broker = BrokerAddress.from_url(
            mqtt_url,
            username=secrets.mqtt_username,
            password=secrets.mqtt_password,
            ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
        )
        options = IngestOptions(
            client_id=client_id,
            share_group=share_group,
            max_unwritten=max_unwritten,
            batch_size=min(batch_size, max_unwritten),
            flush_interval_s=flush_interval,
            keepalive_s=settings.mqtt_keepalive_s,
            retire=retire,
        )
    except IngestConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if secrets.influx_token is None:
        logger.warning("POSTURE_INFLUX_TOKEN is not set: writing without a token")
    with InfluxWriter(url, org=org, bucket=bucket, token=secrets.influx_token or "") as writer:
        stats = run_ingest(broker, writer, options)
    err.print(
        f"ingest stopped: received {stats.received}, written {stats.written}, retried {stats.retried}, "
        f"dead-lettered {stats.dead_lettered}, duplicates {stats.duplicates}, unwritten {stats.unwritten}"
    )


def register(app: typer.Typer) -> None:
    """Add `posture ingest` to the CLI."""
    app.command("ingest")(ingest_command)


def main() -> None:
    """`python -m posture.commands.ingest`: the command alone, logging at INFO to stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    app()


if __name__ == "__main__":
    main()
