"""The candle rules of SPEC §2, checked before anything is computed.

Each broken rule is a ``BadInputError`` naming the symbol, the file and the first offending
row(s) with their timestamps, the rule and the fix. Rules are checked in a fixed order
(columns, types, rows, time axis, interval, prices, OHLC, volumes) and the first broken one is
reported.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.data.frame import (
    OPTIONAL_COLUMNS,
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
    TIMESTAMP,
    Int64Array,
    LoadedCandles,
    timestamps_ms,
)
from swingml.data.gaps import GapReport, gap_report, iso_ms
from swingml.errors import BadInputError

BoolArray = npt.NDArray[np.bool_]
SHOWN_ROWS = 3


def _interval_text(ms: int) -> str:
    seconds = ms // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s" if ms % 1000 == 0 else f"{ms}ms"


class _Checker:
    """Raises the first broken rule with row provenance."""

    def __init__(self, loaded: LoadedCandles, stamps: Int64Array) -> None:
        self.loaded = loaded
        self.stamps = stamps

    def fail(self, bad: BoolArray, rule: str, fix: str) -> None:
        rows = np.flatnonzero(bad)
        if len(rows) == 0:
            return
        first = int(rows[0])
        where = (
            f"{self.loaded.symbol}: {self.loaded.locate(first)} "
            f"(timestamp {iso_ms(int(self.stamps[first]))})"
        )
        others = [self.loaded.locate(int(r)) for r in rows[1:SHOWN_ROWS]]
        if others:
            rule += f"; also at {', '.join(others)}"
        if len(rows) > SHOWN_ROWS:
            rule += f" and {len(rows) - SHOWN_ROWS} more row(s)"
        raise BadInputError(where, rule, fix)


def _check_columns(loaded: LoadedCandles) -> None:
    frame = loaded.frame
    where = f"{loaded.symbol}: {loaded.source}"
    for column in (TIMESTAMP, *REQUIRED_COLUMNS):
        if column not in frame.columns:
            raise BadInputError(where, f"required column {column!r} is missing", "add it")
    ts_dtype = frame[TIMESTAMP].dtype
    if not (isinstance(ts_dtype, pd.DatetimeTZDtype) and str(ts_dtype.tz) == "UTC"):
        raise BadInputError(
            where, f"timestamp must be datetime64[ms, UTC], is {ts_dtype}", "use a reader"
        )
    for column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        if column in frame.columns and frame[column].dtype != np.float64:
            raise BadInputError(
                where,
                f"column {column!r} must be float64, is {frame[column].dtype}",
                "use a reader",
            )
    if frame.empty:
        raise BadInputError(where, "no candle rows", "check the file")


def validate_candles(loaded: LoadedCandles, interval_s: int) -> GapReport:
    """Check every SPEC §2 rule on ``loaded``; return its gap report when all hold."""
    _check_columns(loaded)
    frame = loaded.frame
    interval_ms = interval_s * 1000
    stamps = timestamps_ms(frame)
    check = _Checker(loaded, stamps)
    step = np.diff(stamps)
    fix_order = "sort the rows by time and drop duplicate bars"
    duplicate = np.concatenate([[False], step == 0])
    backwards = np.concatenate([[False], step < 0])
    first_dup = int(np.argmax(duplicate)) if duplicate.any() else len(stamps)
    first_back = int(np.argmax(backwards)) if backwards.any() else len(stamps)
    if first_dup < first_back:
        check.fail(duplicate, "duplicate timestamp (same as the row before)", fix_order)
    check.fail(
        backwards, "timestamps must be strictly increasing (earlier than the row before)", fix_order
    )
    interval = _interval_text(interval_ms)
    check.fail(
        stamps % interval_ms != 0,
        f"timestamp is not on the {interval} grid (a multiple of {interval} since the epoch)",
        "check data.interval, or resample the file to that interval",
    )
    if loaded.close_time_ms is not None:
        # Bars cut short by an exchange halt close early; a bar may never outlast the interval.
        duration = loaded.close_time_ms - stamps + 1
        wrong = (duration <= 0) | (duration > interval_ms)
        lasts = _interval_text(int(duration[np.argmax(wrong)])) if wrong.any() else interval
        check.fail(
            wrong,
            f"close_time says the bar lasts {lasts}, more than data.interval={interval} "
            "(mixed intervals) or not after open_time",
            "set data.interval to the file's interval, or remove the bars of other intervals",
        )
    if len(step) >= 2 and int(np.median(step)) != interval_ms:
        median = int(np.median(step))
        raise BadInputError(
            f"{loaded.symbol}: {loaded.source}",
            f"bars are {_interval_text(median)} apart (median), but data.interval is {interval}",
            f"set data.interval to the file's interval (e.g. --set data.interval="
            f"{_interval_text(median)})",
        )
    for column in PRICE_COLUMNS:
        values = frame[column].to_numpy()
        check.fail(np.isnan(values), f"{column} is NaN or missing", "fill or drop the bar")
        check.fail(~np.isfinite(values), f"{column} is not finite (inf)", "fix or drop the bar")
        check.fail(values <= 0, f"{column} must be > 0", "fix or drop the bar")
    o, h, lo, c = (frame[k].to_numpy() for k in PRICE_COLUMNS)
    check.fail(h < np.maximum(o, c), "high must be >= max(open, close)", "fix the bar's high")
    check.fail(lo > np.minimum(o, c), "low must be <= min(open, close)", "fix the bar's low")
    for column in ("volume", *OPTIONAL_COLUMNS):
        if column not in frame.columns:
            continue
        values = frame[column].to_numpy()
        check.fail(~np.isfinite(values), f"{column} must be finite (is NaN or inf)", "fix the bar")
        check.fail(values < 0, f"{column} must be >= 0", "fix the bar")
    return gap_report(stamps, interval_ms)
