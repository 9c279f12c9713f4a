"""MQTT-to-InfluxDB ingest and Grafana provisioning (see docs/design.md "Data flow" and docs/ingest.md).

Modules: `schema` (every measurement, tag and field name, and the idempotency rule; used by the ingest, the
dashboards and the alert rules), `line_protocol` (InfluxDB line protocol by hand), `influx_writer` (the only
importer of influxdb-client), `ingest` (the paho-mqtt consumer: acknowledge after write, backpressure,
retries, dead letters), `errors`, and `grafana` (generated provisioning).

Nothing is re-exported here, so that `import dashboards.schema` does not load paho-mqtt or influxdb-client.
"""

__all__: list[str] = []
