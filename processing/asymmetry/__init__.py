"""Left/right asymmetry (symmetry index, right-minus-left, the worse side or "even") and drift against the
baseline."""

from processing.asymmetry.indices import (
    ASYMMETRY_METRICS,
    BASELINE_S,
    HOP_STRIDES,
    METRIC_DIRECTIONS,
    SIDE_CONFIDENCE_SE,
    WINDOW_STRIDES,
    AsymmetryWindow,
    MetricAsymmetry,
    MetricDrift,
    SideVerdict,
    WindowMetric,
    asymmetry_timeline,
    difference_se,
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
    "SIDE_CONFIDENCE_SE",
    "WINDOW_STRIDES",
    "AsymmetryWindow",
    "MetricAsymmetry",
    "MetricDrift",
    "SideVerdict",
    "WindowMetric",
    "asymmetry_timeline",
    "difference_se",
    "drift_against_baseline",
    "rolling_asymmetry",
    "summarize_asymmetry",
    "symmetry_index_pct",
]
