"""Missing bars: counted and located, never filled (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from swingml.data.frame import Int64Array


def iso_ms(ms: int) -> str:
    """An epoch-millisecond time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return str(np.datetime64(int(ms), "ms").astype("datetime64[s]")) + "Z"


@dataclass(frozen=True)
class GapReport:
    """Row count, span and the missing bars of one symbol's candles."""

    rows: int
    first: str
    last: str
    missing_bars: int
    gaps: int
    longest_gap_bars: int
    longest_gap_after: str | None

    def as_dict(self) -> dict[str, Any]:
        """The summary.json form."""
        return {
            "rows": self.rows,
            "first": self.first,
            "last": self.last,
            "missing_bars": self.missing_bars,
            "gaps": self.gaps,
            "longest_gap_bars": self.longest_gap_bars,
            "longest_gap_after": self.longest_gap_after,
        }


def gap_report(stamps_ms: Int64Array, interval_ms: int) -> GapReport:
    """Report the gaps of strictly increasing, on-grid timestamps.

    ``longest_gap_after`` is the last bar before the longest gap (the earliest such gap on ties).
    """
    if len(stamps_ms) == 0:
        return GapReport(0, "", "", 0, 0, 0, None)
    steps = np.diff(stamps_ms) // interval_ms - 1
    holes = steps > 0
    longest = int(steps.max()) if holes.any() else 0
    after = iso_ms(int(stamps_ms[int(np.argmax(steps))])) if longest else None
    return GapReport(
        rows=len(stamps_ms),
        first=iso_ms(int(stamps_ms[0])),
        last=iso_ms(int(stamps_ms[-1])),
        missing_bars=int(steps[holes].sum()),
        gaps=int(holes.sum()),
        longest_gap_bars=longest,
        longest_gap_after=after,
    )
