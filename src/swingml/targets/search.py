"""First-crossing search in many bar ranges at once, without a Python loop over the queries.

Both the breakout walk (first close beyond a level between two confirmations) and the triple
barrier (first high/low beyond a barrier within the horizon) ask the same question for up to
millions of ranges: the first position ``t`` in ``[start, end]`` where ``values[t]`` crosses a
threshold. A sparse table of block maxima (or minima) over power-of-two lengths answers it for all
queries together in ``O(log(range length))`` vectorised steps.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Crossing = Literal[">", ">=", "<", "<="]


class RangeTable:
    """Block extremes of one series: ``blocks[j][i]`` = max (or min) of ``values[i : i + 2**j]``.

    ``levels`` bounds the longest range a query may span (``2**levels - 1`` bars); build it with
    the longest range you will ask about, not more, to keep memory at ``levels x n`` floats.
    """

    def __init__(self, values: FloatArray, kind: Literal["max", "min"], max_span: int) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        self.kind = kind
        reduce = np.maximum if kind == "max" else np.minimum
        levels = max(1, min(int(max_span), len(self.values)).bit_length())
        blocks = [self.values]
        for level in range(1, levels):
            half = 1 << (level - 1)
            previous = blocks[-1]
            blocks.append(reduce(previous[:-half], previous[half:]))
        self.blocks: list[FloatArray] = blocks
        self.max_span = (1 << levels) - 1

    def first_crossing(
        self, starts: IntArray, ends: IntArray, thresholds: FloatArray, op: Crossing
    ) -> IntArray:
        """For each query, the first ``t`` in ``[start, end]`` with ``values[t] op threshold``.

        Returns ``-1`` where no bar of the range crosses (or the range is empty). ``op`` must
        match the table: ``>``/``>=`` on a max table, ``<``/``<=`` on a min table. Ranges must
        be no longer than the ``max_span`` the table was built for.
        """
        if (op in (">", ">=")) != (self.kind == "max"):
            raise ValueError(f"crossing {op!r} needs a {'max' if op[0] == '>' else 'min'} table")
        n = len(self.values)
        pos = np.asarray(starts, dtype=np.int64).copy()
        last = np.minimum(np.asarray(ends, dtype=np.int64), n - 1)
        limit = np.asarray(thresholds, dtype=np.float64)
        if len(pos) and int(np.max(last - pos)) >= self.max_span:
            raise ValueError(f"a range is longer than this table's span ({self.max_span} bars)")
        for level in range(len(self.blocks) - 1, -1, -1):
            size = 1 << level
            block = self.blocks[level]
            fits = pos + (size - 1) <= last
            values = block[np.minimum(pos, len(block) - 1)]
            take = fits & _clear(values, limit, op)
            pos += take.astype(np.int64) << level
        hit = pos <= last
        return np.where(hit, pos, -1)


def _clear(values: FloatArray, limit: FloatArray, op: Crossing) -> npt.NDArray[np.bool_]:
    """True where a whole block does NOT cross (the search may jump over it)."""
    if op == ">":
        return values <= limit
    if op == ">=":
        return values < limit
    if op == "<":
        return values >= limit
    return values > limit
