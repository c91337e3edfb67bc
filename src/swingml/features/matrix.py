"""Reading API of the feature store (the contract every later stage builds on).

``load_matrix(features_dir, symbol, columns, timestamps)`` returns ``timestamp`` plus the requested
float32 features of *all* coins (and the ``X__`` cross-coin features) on ``symbol``'s bars: a coin
without a bar at that time gives NaN. Only the Parquet files and columns that hold the requested
features are read.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from swingml.errors import BadInputError
from swingml.io.store import read_json

METADATA = "metadata.json"


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    data: dict[str, Any] = read_json(Path(path))
    data["by_name"] = {e["name"]: e for e in data["features"]}
    return data


def _store(features_dir: str | Path) -> dict[str, Any]:
    path = Path(features_dir) / METADATA
    if not path.is_file():
        raise BadInputError(
            str(path), "the feature store has no metadata", "run `swingml features` first"
        )
    stat = path.stat()
    return _cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def read_metadata(features_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every feature's metadata entry, by name, in store order."""
    return {name: dict(entry) for name, entry in _store(features_dir)["by_name"].items()}


def feature_names(features_dir: str | Path) -> list[str]:
    """Every feature name in store order (per symbol, then the ``X__`` cross-coin features)."""
    return [e["name"] for e in _store(features_dir)["features"]]


def symbol_timestamps(features_dir: str | Path, group: str) -> np.ndarray:
    """The bar open times (int64 ms, UTC) of a symbol (or ``X``) in the feature store."""
    store = _store(features_dir)
    info = store["symbols"].get(group)
    if info is None:
        raise BadInputError(
            str(Path(features_dir) / METADATA),
            f"symbol {group!r} is not in the feature store",
            f"use one of: {', '.join(store['symbols'])}",
        )
    return _timestamps(str(Path(features_dir) / info["index_file"]))


def _timestamps(path: str) -> np.ndarray:
    column = pq.read_table(path, columns=["timestamp"]).column("timestamp")
    stamps = pd.DatetimeIndex(column.to_pandas())
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.as_unit("ms").asi8.astype(np.int64)


def _as_ms(timestamps: Iterable[Any]) -> np.ndarray:
    values = (
        timestamps
        if isinstance(timestamps, pd.Series | pd.Index | np.ndarray)
        else list(timestamps)
    )
    stamps = pd.DatetimeIndex(values)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.as_unit("ms").asi8.astype(np.int64)


def load_matrix(
    features_dir: str | Path,
    symbol: str,
    columns: Sequence[str] | None = None,
    timestamps: Iterable[Any] | None = None,
) -> pd.DataFrame:
    """``timestamp`` + the requested features of every coin, joined on ``symbol``'s bars.

    ``columns`` None means every feature. ``timestamps`` keeps only those of ``symbol``'s bars
    (in time order; timestamps that are not a bar of ``symbol`` are ignored).
    """
    fdir = Path(features_dir)
    store = _store(fdir)
    if symbol not in store["symbols"] or symbol == "X":
        raise BadInputError(
            str(fdir / METADATA),
            f"symbol {symbol!r} is not in the feature store",
            f"use one of: {', '.join(s for s in store['symbols'] if s != 'X')}",
        )
    names = list(columns) if columns is not None else [e["name"] for e in store["features"]]
    by_name = store["by_name"]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise BadInputError(
            str(fdir / METADATA),
            f"unknown feature column(s) {unknown[:5]}" + (" …" if len(unknown) > 5 else ""),
            "use names from feature_names(); run `swingml features` after a config change",
        )
    target = symbol_timestamps(fdir, symbol)
    rows = np.arange(len(target))
    if timestamps is not None:
        rows = np.flatnonzero(np.isin(target, _as_ms(timestamps)))
    wanted = target[rows]
    out = np.empty((len(rows), len(names)), dtype=np.float32, order="F")
    position = {n: j for j, n in enumerate(names)}
    by_file: dict[str, list[str]] = {}
    for n in names:
        by_file.setdefault(by_name[n]["file"], []).append(n)
    aligned: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for file, cols in by_file.items():
        group = by_name[cols[0]]["symbol"]
        if group == symbol:
            take, hit = rows, np.ones(len(rows), dtype=bool)
        else:
            if group not in aligned:
                other = symbol_timestamps(fdir, group)
                pos = np.searchsorted(other, wanted)
                pos = np.minimum(pos, max(len(other) - 1, 0))
                hit = (other[pos] == wanted) if len(other) else np.zeros(len(wanted), bool)
                aligned[group] = (pos, hit)
            take, hit = aligned[group]
        table = pq.read_table(fdir / file, columns=cols)
        for c in cols:
            values = table.column(c).to_numpy()
            column = values[take]
            if not hit.all():
                column = np.where(hit, column, np.float32(np.nan))
            out[:, position[c]] = column
        del table
    frame = pd.DataFrame(out, columns=names, copy=False)
    stamps = pd.DatetimeIndex(wanted.astype("datetime64[ms]")).tz_localize("UTC")
    frame.insert(0, "timestamp", stamps)
    return frame
