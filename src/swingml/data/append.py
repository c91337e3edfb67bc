"""New candles after stored ones: validated, checked against the stored bars, then appended.

Used by ``predict live``, ``predict batch`` (a grown ``data.dir``) and ``data fetch --recent``.

The incoming rows first pass every SPEC §2 rule (``validate_candles``, which names the file and the
row). Rows at or before the last stored bar must *be* stored bars, equal in every stored column to
the last bit: stored bars never change, since predictions were made from them. Only rows after
the last stored bar are new. Pure computation: the caller reads the files and writes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from swingml.data.frame import TIMESTAMP, LoadedCandles, timestamps_ms
from swingml.data.gaps import GapReport, gap_report, iso_ms
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError

FIX_OVERLAP = (
    "stored bars never change: send only closed bars, or rebuild the run from the new data "
    "(`swingml data`, then `swingml run`)"
)


@dataclass(frozen=True)
class Merged:
    """One symbol's stored candles with the new bars appended, and what was added."""

    symbol: str
    frame: pd.DataFrame
    new_rows: int
    overlap_rows: int
    gaps: GapReport

    @property
    def last_ms(self) -> int:
        """The open time of the last bar after the merge."""
        return int(timestamps_ms(self.frame)[-1])


def _where(loaded: LoadedCandles, row: int, stamp: int) -> str:
    return f"{loaded.symbol}: {loaded.locate(row)} (timestamp {iso_ms(stamp)})"


def merge_new_bars(stored: pd.DataFrame, loaded: LoadedCandles, interval_s: int) -> Merged:
    """Validate ``loaded`` and append its rows after ``stored``'s last bar.

    Raises ``BadInputError`` (naming the file and row) when a rule of SPEC §2 breaks, when a
    stored column is missing from the new rows, or when a row inside the stored span is not a
    stored bar or differs from it.
    """
    validate_candles(loaded, interval_s)
    frame = loaded.frame
    if len(stored) == 0:
        return Merged(
            loaded.symbol,
            frame.copy(),
            len(frame),
            0,
            gap_report(timestamps_ms(frame), interval_s * 1000),
        )
    columns = [c for c in stored.columns if c != TIMESTAMP]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadInputError(
            f"{loaded.symbol}: {loaded.source}",
            f"column(s) {missing} are in the stored candles but not in the new rows",
            "send the same columns the run was built from",
        )
    old = timestamps_ms(stored)
    new = timestamps_ms(frame)
    last = int(old[-1]) if len(old) else np.iinfo(np.int64).min
    inside = np.flatnonzero(new <= last)
    at = np.searchsorted(old, new[inside])
    found = at < len(old)
    found[found] = old[at[found]] == new[inside][found]
    absent = ~found
    if bool(np.any(absent)):
        row = int(inside[np.argmax(absent)])
        raise BadInputError(
            _where(loaded, row, int(new[row])),
            "the bar lies inside the stored history but is not a stored bar "
            "(a gap is never filled, nor history extended backwards, after the fact)",
            FIX_OVERLAP,
        )
    for column in columns:
        stored_values = stored[column].to_numpy(np.float64)[at]
        incoming = frame[column].to_numpy(np.float64)[inside]
        differs = stored_values != incoming
        if bool(np.any(differs)):
            k = int(np.argmax(differs))
            row = int(inside[k])
            raise BadInputError(
                _where(loaded, row, int(new[row])),
                f"overlaps a stored bar but {column} differs "
                f"(stored {float(stored_values[k])!r}, new {float(incoming[k])!r})",
                FIX_OVERLAP,
            )
    fresh = frame.loc[new > last, [TIMESTAMP, *columns]].copy()
    fresh[TIMESTAMP] = fresh[TIMESTAMP].astype(stored[TIMESTAMP].dtype)  # one unit: concat keeps it
    parts = [f for f in (stored, fresh) if len(f)]
    merged = pd.concat(parts, ignore_index=True)
    stamps = timestamps_ms(merged)
    return Merged(
        loaded.symbol,
        merged,
        len(fresh),
        len(inside),
        gap_report(stamps, interval_s * 1000),
    )
