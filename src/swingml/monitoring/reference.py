"""A champion's training reference as one small wide table (a row per summary value, a column per
feature or class probability), so it is computed once per model version and stored as Parquet.

Rows: ``q000 … q100`` (quantiles), ``edge01 …`` (interior bin edges), ``share01 …`` (reference
bin shares) and ``share_nan``; column ``stat`` names the row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from swingml.modeling.splits import holdout_cutoff
from swingml.monitoring.drift import QUANTILES, ColumnReference, summarise

STAT = "stat"


def _row_names(bins: int) -> list[str]:
    return (
        [f"q{i:03d}" for i in range(QUANTILES)]
        + [f"edge{i:02d}" for i in range(1, bins)]
        + [f"share{i:02d}" for i in range(1, bins + 1)]
        + ["share_nan"]
    )


def build_reference(columns: Mapping[str, np.ndarray], bins: int) -> pd.DataFrame:
    """The reference table of every column."""
    data: dict[str, object] = {STAT: _row_names(bins)}
    for name, values in columns.items():
        ref = summarise(values, bins)
        data[name] = np.concatenate([ref.quantiles, ref.edges, ref.expected])
    return pd.DataFrame(data)


def read_reference(table: pd.DataFrame) -> dict[str, ColumnReference]:
    """The per-column summaries of a reference table."""
    bins = int(np.count_nonzero(table[STAT].str.startswith("share"))) - 1
    out: dict[str, ColumnReference] = {}
    for name in table.columns:
        if name == STAT:
            continue
        v = table[name].to_numpy(np.float64)
        out[name] = ColumnReference(
            v[:QUANTILES], v[QUANTILES : QUANTILES + bins - 1], v[QUANTILES + bins - 1 :]
        )
    return out


def development_tail(
    events: pd.DataFrame, stamps: np.ndarray, holdout_fraction: float, rows: int
) -> pd.DataFrame:
    """The last ``rows`` of ``events`` before the hold-out of a store whose bars are ``stamps``
    (ms): the rows a champion's reference describes."""
    first = pd.Timestamp(int(stamps[0]), unit="ms", tz="UTC")
    last = pd.Timestamp(int(stamps[-1]), unit="ms", tz="UTC")
    cutoff = holdout_cutoff(first, last, holdout_fraction)
    return events[events["timestamp"] < cutoff].tail(rows)
