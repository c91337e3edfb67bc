"""Generic CSV and Parquet candles with a column mapping (``data.columns``: ours → theirs).

Timestamps may be epoch numbers (unit ``data.timestamp_unit``), ISO-8601 strings that carry UTC
(``Z`` or ``+00:00``), or a time-zone-aware timestamp type (Parquet); a naive timestamp or a
non-UTC offset string is rejected. Column names match exactly, else case-insensitively.
Line numbers in CSV messages count the header as line 1; Parquet messages use 1-based rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from swingml.data.frame import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TIMESTAMP,
    FilePart,
    Int64Array,
    LoadedCandles,
    build_frame,
)
from swingml.data.sources._parse import (
    Where,
    epoch_to_ms,
    iso_to_ms,
    looks_numeric,
    to_epoch_int,
    to_float,
)
from swingml.errors import BadInputError

OUR_COLUMNS: tuple[str, ...] = (TIMESTAMP, *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)


def check_mapping(columns: Mapping[str, str]) -> None:
    """``data.columns`` keys must be our column names."""
    for ours in columns:
        if ours not in OUR_COLUMNS:
            raise BadInputError(
                f"config key data.columns.{ours}",
                "unknown candle column",
                f"keys are our names: {', '.join(OUR_COLUMNS)}",
            )


def _pick(available: list[str], wanted: str) -> str | None:
    if wanted in available:
        return wanted
    folded = [c for c in available if c.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _map_columns(frame: pd.DataFrame, mapping: Mapping[str, str], source: str) -> dict[str, str]:
    """Our name → the file's column, for every column found; required ones must exist."""
    check_mapping(mapping)
    available = [str(c) for c in frame.columns]
    found: dict[str, str] = {}
    for ours in OUR_COLUMNS:
        theirs = mapping.get(ours, ours)
        column = _pick(available, theirs)
        if column is not None:
            found[ours] = column
        elif ours in (TIMESTAMP, *REQUIRED_COLUMNS):
            raise BadInputError(
                source,
                f"required column {ours!r} (file column {theirs!r}) is missing; "
                f"the file has {available}",
                f"rename the column or map it: --set data.columns.{ours}=<file column>",
            )
    return found


def _timestamps(series: pd.Series, unit: str, column: str, where: Where) -> Int64Array:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        if utc.isna().any():
            i = int(np.argmax(utc.isna().to_numpy()))
            raise BadInputError(where(i), f"column {column}: missing timestamp", "fill it")
        ns = utc.astype("datetime64[ns]").to_numpy().view(np.int64)
        return epoch_to_ms(ns, "ns", column, where)
    if pd.api.types.is_datetime64_dtype(dtype):
        raise BadInputError(
            where(0),
            f"column {column}: timestamps have no time zone (naive timestamp type)",
            "store time-zone-aware UTC timestamps, epoch numbers or ISO strings ending in Z",
        )
    values = series.to_numpy()
    if pd.api.types.is_numeric_dtype(dtype) or looks_numeric(values):
        if not pd.api.types.is_numeric_dtype(dtype):
            values = pd.to_numeric(series).to_numpy()
        return epoch_to_ms(to_epoch_int(values, column, where), unit, column, where)
    return iso_to_ms(values, column, where)


def frame_from_table(
    frame: pd.DataFrame,
    path: Path,
    symbol: str,
    mapping: Mapping[str, str],
    unit: str,
    line_unit: str,
    first_line: int,
) -> LoadedCandles:
    """Map, type-check and convert a read table into the contract frame."""

    def where(i: int) -> str:
        return f"{path.name} {line_unit} {first_line + i}"

    if frame.empty:
        raise BadInputError(str(path), "empty: the file has no candle rows", "check the export")
    found = _map_columns(frame, mapping, str(path))
    stamps = _timestamps(frame[found[TIMESTAMP]], unit, found[TIMESTAMP], where)
    floats = {
        ours: to_float(frame[theirs].to_numpy(dtype=object), theirs, where)
        if frame[theirs].dtype == object or pd.api.types.is_string_dtype(frame[theirs].dtype)
        else to_float(frame[theirs].to_numpy(), theirs, where)
        for ours, theirs in found.items()
        if ours != TIMESTAMP
    }
    out = build_frame(stamps, floats)
    return LoadedCandles(
        symbol=symbol,
        frame=out,
        parts=(FilePart(path, 0, len(out), first_line, line_unit),),
        files=(path,),
    )


def read_csv(path: Path, symbol: str, mapping: Mapping[str, str], unit: str) -> LoadedCandles:
    """Read a generic CSV (header row, then one bar per line)."""
    if path.stat().st_size == 0:
        raise BadInputError(str(path), "the file is empty", "export the candles with a header row")
    try:
        frame = pd.read_csv(path, dtype=str, skip_blank_lines=False, keep_default_na=False)
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            raise BadInputError(
                f"{path.name} line {match.group(2)}",
                f"the row has {match.group(3)} fields, the header has {match.group(1)}",
                "every row needs one value per header column",
            ) from None
        raise BadInputError(str(path), f"not valid CSV ({exc})", "fix the file") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadInputError(str(path), f"not readable as CSV ({exc})", "fix the file") from None
    frame = frame.replace("", np.nan)
    return frame_from_table(frame, path, symbol, mapping, unit, "line", 2)


def read_parquet(path: Path, symbol: str, mapping: Mapping[str, str], unit: str) -> LoadedCandles:
    """Read a generic Parquet file of candles."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise BadInputError(
            str(path), f"not a readable Parquet file ({type(exc).__name__}: {exc})", "rewrite it"
        ) from None
    return frame_from_table(frame, path, symbol, mapping, unit, "row", 1)
