"""The `posture` application: settings, the command line, the wiring of sensorlink, processing, dashboards.

The packages below it stay independent: `processing` is pure, `sensorlink` is the only importer of bleak, and
only
this package (the edge) builds the real clients and passes them in.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
