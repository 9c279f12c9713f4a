"""MQTT-to-InfluxDB ingest and Grafana provisioning (the next wave of work; see shared DESIGN "Data flow").

Planned modules: `schema` (every measurement, tag and field name; used by ingest, dashboards and alert rules),
`ingest` (paho-mqtt consumer, acknowledge after write, backpressure), `grafana` (generated provisioning).
"""

__all__: list[str] = []
