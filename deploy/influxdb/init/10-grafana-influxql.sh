#!/bin/bash
# Run once, by the influxdb:2 image, right after its first setup (DOCKER_INFLUXDB_INIT_MODE=setup; see
# compose.yaml), with the `influx` CLI already logged in as the admin. It gives Grafana's InfluxQL datasource
# what it needs on InfluxDB 2:
# - a DBRP mapping: InfluxQL database "$DOCKER_INFLUXDB_INIT_BUCKET" (retention policy autogen) -> the bucket.
#   InfluxDB 2.7 also answers with a "virtual" mapping of the same name; an explicit one survives renames.
# - a v1 login that may only read that bucket (user and password, as InfluxDB 1.x datasources use).
# DOCKER_INFLUXDB_INIT_BUCKET_ID is set by the image for these scripts.
set -euo pipefail

influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${DOCKER_INFLUXDB_INIT_BUCKET}" \
  --rp autogen \
  --default

influx v1 auth create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --username "${GRAFANA_INFLUX_USER}" \
  --password "${GRAFANA_INFLUX_PASSWORD}" \
  --read-bucket "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --description "grafana: read-only InfluxQL"
