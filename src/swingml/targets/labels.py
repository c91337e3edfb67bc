"""Triple-barrier labels of events (SPEC §4): 1 breakout, 2 reversal, 0 neither, unknown.

With ``d = k x std_v[t]`` at the event bar ``t`` and bars ``t+1..t+H`` looked at:

==============  ==================  ======================
event           breakout barrier    reversal barrier
==============  ==================  ======================
high_breakout   ``high >= L + d``   ``low <= L - d``
high_reversion  ``high >= L + d``   ``low <= close[t] - d``
low_breakout    ``low <= L - d``    ``high >= L + d``
low_reversion   ``low <= L - d``    ``high >= close[t] + d``
==============  ==================  ======================

The barrier touched first wins; both in the same bar, or neither within H bars, is 0. An event
with ``t + H > n - 1`` has an unknown label (``UNKNOWN`` here, null in the store).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from swingml.targets.events import Events
from swingml.targets.search import RangeTable

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]

NEITHER, BREAKOUT, REVERSAL = 0, 1, 2
UNKNOWN = -1


def triple_barrier(
    events: Events,
    std: FloatArray,
    ks: Sequence[float],
    horizon: int,
    high_table: RangeTable,
    low_table: RangeTable,
) -> Int8Array:
    """Labels of every event for every ``k``: an ``(len(ks), len(events))`` int8 array.

    ``high_table`` is a max table of ``high`` and ``low_table`` a min table of ``low``, each
    spanning at least ``horizon`` bars. Unknown labels are ``UNKNOWN`` (-1).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 bar, got {horizon}")
    n = len(high_table.values)
    count = len(events)
    labels = np.full((len(ks), count), UNKNOWN, dtype=np.int8)
    known = events.bar + horizon <= n - 1
    if not known.any() or not ks:
        return labels
    bar = events.bar[known]
    level = events.level[known]
    reference = level if events.mode == "breakout" else events.close[known]
    spread = std[bar]
    k_col = np.asarray(ks, dtype=np.float64)[:, None]
    distance = (k_col * spread[None, :]).ravel()
    starts = np.tile(bar + 1, len(ks))
    ends = starts + (horizon - 1)
    level_k = np.tile(level, len(ks))
    reference_k = np.tile(reference, len(ks))
    if events.side == "high":
        first_breakout = high_table.first_crossing(starts, ends, level_k + distance, ">=")
        first_reversal = low_table.first_crossing(starts, ends, reference_k - distance, "<=")
    else:
        first_breakout = low_table.first_crossing(starts, ends, level_k - distance, "<=")
        first_reversal = high_table.first_crossing(starts, ends, reference_k + distance, ">=")
    never = np.iinfo(np.int64).max
    breakout_at = np.where(first_breakout >= 0, first_breakout, never)
    reversal_at = np.where(first_reversal >= 0, first_reversal, never)
    label = np.full(len(starts), NEITHER, dtype=np.int8)
    label[breakout_at < reversal_at] = BREAKOUT
    label[reversal_at < breakout_at] = REVERSAL
    labels[:, known] = label.reshape(len(ks), -1)
    return labels
