"""Grafana provisioning generated from the storage schema: datasource, dashboards, alert rules, contact point.

`provisioning_files()` gives every file's text; `write()` writes them under dashboards/provisioning/ (run
``python -m dashboards.grafana`` or ``posture grafana``), `check()` raises `StaleProvisioning` when the
checked-in files differ from what the code generates. `dashboards.grafana.emulation` is our reading of
what Grafana does with the queries and rules, for the tests that run them against a real InfluxDB
(docs/grafana.md).
"""

from dashboards.grafana.provisioning import (
    DEFAULT_ROOT,
    StaleProvisioning,
    check,
    provisioning_files,
    write,
)

__all__ = ["DEFAULT_ROOT", "StaleProvisioning", "check", "provisioning_files", "write"]
