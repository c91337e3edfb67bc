"""The worker task of stage ``targets``: one symbol's candles → its target table on disk."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pandas.errors import Pandas4Warning

from swingml.config import GridConfig, TargetsConfig
from swingml.io import parted
from swingml.io.store import atomic_path, file_fingerprint
from swingml.targets.table import build_symbol_targets

ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group: small enough that reading one variant skips most of the file."""


def build_symbol_file(
    candles_path: str, targets_path: str, symbol: str, targets: TargetsConfig, grid: GridConfig
) -> dict[str, Any]:
    """Task body: one symbol's candles → its target table (atomic write) + per-variant summary."""
    candles = parted.read_frame(Path(candles_path), ["timestamp", "high", "low", "close"])
    built = build_symbol_targets(symbol, candles, targets, grid)
    target = Path(targets_path)
    with warnings.catch_warnings():
        # pyarrow's pandas bridge reads Series.values of the tz-aware timestamp (pandas 3.1
        # deprecation inside pyarrow, not here); the stored column keeps its UTC time zone.
        warnings.simplefilter("ignore", Pandas4Warning)
        table = pa.Table.from_pandas(built.frame, preserve_index=False)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return {
        "fingerprint": file_fingerprint(target),
        "rows": len(built.frame),
        "events": int(built.summary["events"].sum() // max(len(grid.k), 1)),
        "summary": built.summary.to_dict(orient="records"),
    }
