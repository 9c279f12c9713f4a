"""Left/right asymmetry (symmetry index, right-minus-left, the worse side) and drift against the baseline."""

from processing.asymmetry.indices import (
    ASYMMETRY_METRICS,
    BASELINE_S,
    HOP_STRIDES,
    METRIC_DIRECTIONS,
    WINDOW_STRIDES,
    AsymmetryWindow,
    MetricAsymmetry,
    MetricDrift,
    WindowMetric,
    asymmetry_timeline,
    drift_against_baseline,
    rolling_asymmetry,
    summarize_asymmetry,
    symmetry_index_pct,
)

__all__ = [
    "ASYMMETRY_METRICS",
    "BASELINE_S",
    "HOP_STRIDES",
    "METRIC_DIRECTIONS",
    "WINDOW_STRIDES",
    "AsymmetryWindow",
    "MetricAsymmetry",
    "MetricDrift",
    "WindowMetric",
    "asymmetry_timeline",
    "drift_against_baseline",
    "rolling_asymmetry",
    "summarize_asymmetry",
    "symmetry_index_pct",
]
