"""What the event rules rely on in a candle file, and the stage's summary of the targets built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.targets.grid import variants

MAX_LISTED = 50
"""At most this many zero-event variant ids are listed in ``summary.json`` (all are counted)."""


def check_candle_rows(path: Path, candles: pd.DataFrame) -> None:
    if not pd.api.types.is_datetime64_any_dtype(candles["timestamp"]):
        raise BadInputError(str(path), "column timestamp is not a datetime", "rebuild the candles")
    stamps = candles["timestamp"].to_numpy(dtype="datetime64[ns]")
    bad = np.flatnonzero(stamps[1:] <= stamps[:-1])
    if len(bad):
        row = int(bad[0]) + 1
        raise BadInputError(
            f"{path} row {row}",
            "timestamps must be strictly increasing",
            "rebuild the candles with `swingml data prepare`",
        )
    prices = candles[["high", "low", "close"]].to_numpy(dtype=np.float64)
    broken = ~np.isfinite(prices).all(axis=1) | (prices <= 0).any(axis=1)
    broken |= prices[:, 0] < prices[:, 1]
    if broken.any():
        row = int(np.flatnonzero(broken)[0])
        raise BadInputError(
            f"{path} row {row}",
            "high, low and close must be finite and > 0, with high >= low",
            "rebuild the candles with `swingml data prepare`",
        )


def details(config: Config, summary: pd.DataFrame, reused: bool) -> dict[str, Any]:
    """The stage's keys in ``summary.json``: grid size, events and class balance."""
    grid = config.grid
    per_symbol = summary.groupby("symbol", sort=False)
    n_k = max(len(grid.k), 1)
    classes = {str(c): int(summary[f"class_{c}"].sum()) for c in range(3)}
    known = sum(classes.values())
    empty = summary.loc[summary["events"] == 0, "variant"].tolist()
    return {
        "reused": reused,
        "grid_size": len(variants(config)),
        "variants_per_window_and_symbol": len(grid.kinds) * len(grid.s) * len(grid.k),
        "symbols": list(config.data.symbols),
        "windows": list(grid.windows),
        "events": {str(s): int(g["events"].sum() // n_k) for s, g in per_symbol},
        "rows": {str(s): int(g["events"].sum()) for s, g in per_symbol},
        "class_counts": classes,
        "class_balance": {c: round(n / known, 4) if known else 0.0 for c, n in classes.items()},
        "unknown_labels": int(summary["unknown"].sum()),
        "zero_event_variants": len(empty),
        "zero_event_variant_ids": empty[:MAX_LISTED],
    }
