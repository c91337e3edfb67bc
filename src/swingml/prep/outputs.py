"""What prep records: the input key that decides reuse, and ``prep/report.json``.

The key covers everything prep's output depends on: the feature store, the candles (they set the
hold-out cutoff), the symbols, the ``prep`` and ``split`` config and ``PREP_VERSION``.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from typing import Any

import pandas as pd

from swingml.config import Config
from swingml.io.store import combine_fingerprints
from swingml.prep.pipeline import PrepResult

PREP_VERSION = "prep-1"
"""Part of the input key: bump it when the filters change meaning for the same inputs."""

AFTER_KEYS = {
    "missing": "after_missing",
    "nan": "after_nan",
    "quasi_constant": "after_quasi_constant",
    "low_variance": "after_low_variance",
    "correlation": "features_out",
}
"""The summary key of the feature count left after each filter."""


def input_key(config: Config, candles: Mapping[str, str], features: str) -> str:
    """What determines prep's output: features, candles (cutoff), symbols, prep + split config."""
    parts = dict(candles)
    parts.update(
        version=PREP_VERSION,
        features=features,
        symbols=",".join(config.data.symbols),
        config=config.slice_hash("prep", "split"),
    )
    return combine_fingerprints(parts)


def report(result: PrepResult, cutoff: pd.Timestamp, load_s: float, wall: float) -> dict[str, Any]:
    """``prep/report.json``: per filter dropped count, examples and reason, plus the summary."""
    summary: dict[str, Any] = {"features_in": result.features_in}
    for item in result.reports:
        summary[AFTER_KEYS[item.rule]] = item.features_in - item.dropped
    summary.update(
        sample_rows=result.rows,
        cutoff=str(cutoff),
        load_s=round(load_s, 3),
        compute_s=round(wall - load_s, 3),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return {
        "summary": summary,
        "features_out": len(result.kept),
        "filters": [item.as_dict() for item in result.reports],
    }
