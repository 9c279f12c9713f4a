#!/bin/bash
# Run once by the influxdb:2 image, right after its first setup (DOCKER_INFLUXDB_INIT_MODE=setup in
# compose.yaml), with the `influx` CLI already logged in as the admin.
#
# Grafana's dashboards and alert rules query in InfluxQL, which InfluxDB 2 answers through its v1 API for a
# database and retention policy mapped to a bucket (a DBRP mapping). InfluxDB 2.7 already answers with a
# "virtual" mapping named after the bucket; this makes it an explicit one (database = the bucket's name,
# retention policy autogen, the default), which `influx v1 dbrp list` shows and which survives a rename.
# DOCKER_INFLUXDB_INIT_BUCKET_ID is set by the image for these scripts.
set -euo pipefail

influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${DOCKER_INFLUXDB_INIT_BUCKET}" \
  --rp autogen \
  --default
