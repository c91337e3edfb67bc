"""``swingml data fetch --recent``: the closed bars since each symbol's last one, into ``data.dir``.

For each symbol the file ``<SYMBOL>-<interval>.json[.gz]`` or ``.parquet`` in ``data.dir`` is
read; the exchange's closed bars from its last bar on are fetched (``data.klines``); the overlap
must equal the stored bars to the last bit and the new rows must pass SPEC §2 (``merge_new_bars``);
then the file is replaced atomically: a JSON file gets the API's rows appended verbatim, a Parquet
file the merged frame. Every symbol is fetched and checked before any file is written. A symbol
without a file starts a ``.json.gz`` at ``data.fetch.start_month``. Monthly zips and CSV files are
not rewritten (exit 2 with the fix).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from swingml.config.data import DataConfig
from swingml.data.append import Merged, merge_new_bars
from swingml.data.frame import timestamps_ms, to_arrow
from swingml.data.gaps import iso_ms
from swingml.data.http import Retry
from swingml.data.klines import ClosedBars, fetch_closed
from swingml.data.load import SymbolFiles, data_dir, find_files, read_files
from swingml.data.sources.binance_json import read_bytes
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError
from swingml.io.store import write_bytes_atomic, write_parquet_atomic

WRITABLE = ("binance_json", "parquet")


@dataclass(frozen=True)
class RecentUpdate:
    """One symbol's fetch: where it goes, the merge, and what the exchange sent."""

    symbol: str
    path: Path
    format: str
    merged: Merged
    fetched: ClosedBars

    def summary(self) -> dict[str, Any]:
        """The symbol's keys in ``summary.json``: file, new bars, last bar, pages, gaps."""
        merged = self.merged
        return {
            "file": self.path.name,
            "new_bars": merged.new_rows,
            "last_bar": iso_ms(merged.last_ms) if len(merged.frame) else None,
            "pages": self.fetched.pages,
            "missing_bars": merged.gaps.missing_bars,
        }


def _start_ms(config: DataConfig) -> int:
    start = pd.Timestamp(f"{config.fetch.start_month}-01", tz="UTC")
    return int(start.value // 1_000_000)


def _target(config: DataConfig, symbol: str) -> SymbolFiles | None:
    """The symbol's one writable file, None when it has none; zips and CSV are bad input."""
    folder = data_dir(config)
    stem = f"{symbol}-{config.interval}"
    if not any(folder.glob(f"{stem}*")):
        return None
    files = find_files(config, symbol)
    if files.format not in WRITABLE:
        raise BadInputError(
            str(files.paths[0]),
            f"{symbol}'s candles are {files.format}; --recent appends to a "
            f"{stem}.json[.gz] or {stem}.parquet file only",
            f"convert them to {stem}.json.gz (or move them away to start one from "
            "data.fetch.start_month)",
        )
    return files


def plan_update(config: DataConfig, symbol: str, policy: Retry, now_ms: int) -> RecentUpdate:
    """Fetch and check one symbol's bars closed before ``now_ms`` (nothing written)."""
    files = _target(config, symbol)
    if files is None:
        path = data_dir(config) / f"{symbol}-{config.interval}.json.gz"
        fetched = fetch_closed(config, symbol, _start_ms(config), policy, now_ms)
        validate_candles(fetched.loaded, config.interval_seconds)
        merged = merge_new_bars(
            fetched.loaded.frame.iloc[0:0], fetched.loaded, config.interval_seconds
        )
        return RecentUpdate(symbol, path, "binance_json", merged, fetched)
    stored = read_files(config, files)
    validate_candles(stored, config.interval_seconds)
    stamps = timestamps_ms(stored.frame)
    since = int(stamps[-1]) if len(stamps) else _start_ms(config)
    fetched = fetch_closed(config, symbol, since, policy, now_ms)
    merged = merge_new_bars(stored.frame, fetched.loaded, config.interval_seconds)
    return RecentUpdate(symbol, files.paths[0], files.format, merged, fetched)


def write_update(update: RecentUpdate) -> None:
    """Replace the symbol's file atomically with its new bars appended (no-op when none)."""
    if update.merged.new_rows == 0:
        return
    if update.format == "parquet":
        write_parquet_atomic(update.path, to_arrow(update.merged.frame))
        return
    old: list[Any] = json.loads(read_bytes(update.path)) if update.path.is_file() else []
    last = int(old[-1][0]) if old else None
    added = [r for r in update.fetched.rows if last is None or int(r[0]) > last]
    blob = json.dumps(old + added, separators=(",", ":")).encode()
    write_bytes_atomic(
        update.path, gzip.compress(blob) if update.path.name.endswith(".gz") else blob
    )
