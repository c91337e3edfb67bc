"""The candle frame every source returns and every stage reads (the data contract).

Columns: ``timestamp`` (``datetime64[ms, UTC]``), ``open high low close volume`` (float64) and,
where the source has them, ``quote_volume trades taker_buy_base taker_buy_quote`` (float64).
A ``LoadedCandles`` keeps, beside the frame, where each row came from, so that a validation error
can name the file and the row a user can open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

TIMESTAMP = "timestamp"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
REQUIRED_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
ALL_COLUMNS: tuple[str, ...] = (TIMESTAMP, *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FilePart:
    """A run of consecutive frame rows read from one file.

    ``first_line`` is the 1-based line (text files) or row (JSON array element, Parquet row) of
    the part's first data row; ``unit`` says which of the two words to use in messages.
    """

    path: Path
    start: int
    stop: int
    first_line: int = 1
    unit: str = "row"
    member: str | None = None

    def label(self) -> str:
        """The file name a user sees (``archive.zip:member.csv`` for a zip member)."""
        return f"{self.path.name}:{self.member}" if self.member else self.path.name


@dataclass(frozen=True)
class LoadedCandles:
    """Candles of one symbol as read, before validation, with row provenance.

    ``close_time_ms`` is the bar's close time where the source records one (Binance klines);
    validation uses it to catch bars of another interval.
    """

    symbol: str
    frame: pd.DataFrame
    parts: tuple[FilePart, ...]
    close_time_ms: Int64Array | None = None
    checksums_verified: int = 0
    files: tuple[Path, ...] = field(default=())

    @property
    def source(self) -> str:
        """A short description of where the rows came from."""
        if not self.parts:
            return "synthetic"
        if len(self.parts) == 1:
            return self.parts[0].label()
        return f"{self.parts[0].label()} … {self.parts[-1].label()} ({len(self.parts)} files)"

    def locate(self, row: int) -> str:
        """Name the file and the line/row holding frame row ``row`` (0-based)."""
        for part in self.parts:
            if part.start <= row < part.stop:
                return f"{part.label()} {part.unit} {part.first_line + row - part.start}"
        return f"{self.source} row {row + 1}"


def timestamps_from_ms(values: Int64Array) -> pd.Series:
    """A ``datetime64[ms, UTC]`` series from epoch milliseconds."""
    return pd.Series(np.asarray(values, dtype=np.int64).view("M8[ms]")).dt.tz_localize("UTC")


def timestamps_ms(frame: pd.DataFrame) -> Int64Array:
    """Epoch milliseconds of a candle frame's ``timestamp`` column."""
    stamps = pd.DatetimeIndex(frame[TIMESTAMP])
    if stamps.tz is None:  # the contract is tz-aware UTC; a naive column is an error, as before
        stamps.tz_convert("UTC")
    out: Int64Array = stamps.as_unit("ms").asi8  # UTC epoch; a view when already in ms
    return out


def build_frame(timestamps_ms_: Int64Array, columns: dict[str, FloatArray]) -> pd.DataFrame:
    """Assemble a contract frame: ``timestamp`` then the known columns in contract order."""
    data: dict[str, object] = {TIMESTAMP: timestamps_from_ms(timestamps_ms_)}
    for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        if name in columns:
            data[name] = np.asarray(columns[name], dtype=np.float64)
    return pd.DataFrame(data)


def concat_loaded(symbol: str, pieces: Sequence[LoadedCandles]) -> LoadedCandles:
    """Concatenate per-file loads of one symbol (in the given order), shifting row provenance."""
    frames: list[pd.DataFrame] = []
    parts: list[FilePart] = []
    closes: list[Int64Array] = []
    offset = 0
    all_close = all(p.close_time_ms is not None for p in pieces)
    for piece in pieces:
        frames.append(piece.frame)
        for part in piece.parts:
            parts.append(
                FilePart(
                    part.path,
                    part.start + offset,
                    part.stop + offset,
                    part.first_line,
                    part.unit,
                    part.member,
                )
            )
        if all_close and piece.close_time_ms is not None:
            closes.append(piece.close_time_ms)
        offset += len(piece.frame)
    frame = (
        pd.concat(frames, ignore_index=True) if frames else build_frame(np.empty(0, np.int64), {})
    )
    return LoadedCandles(
        symbol=symbol,
        frame=frame,
        parts=tuple(parts),
        close_time_ms=np.concatenate(closes) if all_close and closes else None,
        checksums_verified=sum(p.checksums_verified for p in pieces),
        files=tuple(f for p in pieces for f in p.files),
    )


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A contract frame as an Arrow table (``timestamp[ms, tz=UTC]`` + float64 columns).

    Built column by column, so pandas' deprecated tz-dropping ``Series.values`` is never touched.
    """
    arrays = [pa.array(timestamps_ms(frame), type=pa.timestamp("ms", tz="UTC"))]
    names = [TIMESTAMP]
    for column in frame.columns:
        if column != TIMESTAMP:
            arrays.append(pa.array(frame[column].to_numpy(dtype=np.float64), type=pa.float64()))
            names.append(str(column))
    return pa.Table.from_arrays(arrays, names=names)
