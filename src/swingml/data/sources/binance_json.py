"""Binance kline JSON (the REST API's array layout), plain ``.json`` or ``.json.gz``.

A file is one JSON array of 12-element rows: open time (ms), open, high, low, close, volume
(decimal strings), close time (ms), quote volume, trades, taker-buy base, taker-buy quote, ignore.
Row numbers in messages are 1-based positions in that array.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from swingml.data.frame import FilePart, LoadedCandles, build_frame
from swingml.data.sources._parse import to_epoch_int, to_float
from swingml.errors import BadInputError

KLINE_FIELDS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)
"""The 12 fields of a Binance kline row, in order."""

FLOAT_FIELDS: tuple[str, ...] = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped for ``.gz``; a truncated or corrupt gzip is bad input."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputError(str(path), f"cannot read the file: {exc.strerror}", "") from None
    if path.name.endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise BadInputError(
                str(path),
                f"truncated or corrupt gzip ({exc})",
                "re-download or re-compress the file",
            ) from None
    return raw


def columns_from_rows(
    rows: list[Any], path: Path, unit: str, first_line: int, member: str | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Check 12 fields per row and convert: (open_time, close_time, float columns)."""
    name = f"{path.name}:{member}" if member else path.name

    def where(i: int) -> str:
        return f"{name} {unit} {first_line + i}"

    width = len(KLINE_FIELDS)
    if not (all(type(row) is list for row in rows) and set(map(len, rows)) == {width}):
        for i, row in enumerate(rows):
            if not isinstance(row, list | tuple) or len(row) != width:
                size = len(row) if isinstance(row, list | tuple) else type(row).__name__
                raise BadInputError(
                    where(i),
                    f"a Binance kline row has {width} fields, this one has {size}",
                    "the file must be the kline layout: open_time, open, high, low, close, "
                    "volume, close_time, quote_volume, trades, taker_buy_base, taker_buy_quote, "
                    "ignore",
                )
    table = np.empty((len(rows), width), dtype=object)
    table[:] = rows
    open_time = to_epoch_int(table[:, 0], "open_time", where)
    close_time = to_epoch_int(table[:, 6], "close_time", where)
    floats = {
        field: to_float(table[:, KLINE_FIELDS.index(field)], field, where) for field in FLOAT_FIELDS
    }
    return open_time, close_time, floats


def read_binance_json(path: Path, symbol: str) -> LoadedCandles:
    """Read one Binance kline JSON file (plain or gzip) into the contract frame."""
    text = read_bytes(path)
    if not text.strip():
        raise BadInputError(str(path), "the file is empty (no kline rows)", "check the download")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"{path} line {exc.lineno} column {exc.colno}",
            f"not valid JSON ({exc.msg})",
            "the file must be one JSON array of kline rows; re-download it",
        ) from None
    except UnicodeDecodeError:
        raise BadInputError(str(path), "not UTF-8 text", "the file must be JSON") from None
    if not isinstance(rows, list):
        raise BadInputError(
            str(path),
            f"the top level is a JSON {type(rows).__name__}, not an array of kline rows",
            "save the API's kline array as returned",
        )
    if not rows:
        raise BadInputError(str(path), "empty: the kline array has no rows", "check the download")
    open_time, close_time, floats = columns_from_rows(rows, path, "row", 1)
    frame = build_frame(open_time, floats)
    return LoadedCandles(
        symbol=symbol,
        frame=frame,
        parts=(FilePart(path, 0, len(frame), 1, "row"),),
        close_time_ms=close_time,
        files=(path,),
    )
