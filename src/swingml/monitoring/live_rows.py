"""The live rows monitoring assesses (pure): the drift window of inputs, and the labels as known.

A model's drift window holds the input rows of its last live predictions (one per version and
bar, the first kept); a new version with other inputs starts the window again. The label of a
live prediction is stored once its outcome is known; until the store learns it, it is found on
the candles with the targets stage's rules, over a tail long enough for its horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from swingml.config import TargetsConfig
from swingml.inference.champions import Champion
from swingml.inference.live import variant_events
from swingml.inference.store import stamps_ms


def drift_window(old: pd.DataFrame | None, rows: pd.DataFrame, keep: int) -> pd.DataFrame:
    """``rows`` appended to the window ``old`` (when its columns match), its last ``keep`` rows."""
    if old is not None and list(old.columns) == list(rows.columns):
        merged = pd.concat([old, rows], ignore_index=True)
    else:  # first rows, or a new version with other inputs: start the window again
        merged = rows.reset_index(drop=True)
    key = (
        merged["version"].astype(str) + "@" + pd.Series(stamps_ms(merged["timestamp"])).astype(str)
    )
    merged = merged.loc[~key.duplicated(keep="first").to_numpy()].tail(keep)
    return merged.reset_index(drop=True)


def stored_labels(rows: pd.DataFrame) -> pd.Series:
    """The labels ``rows`` (live predictions) hold, as nullable Int8."""
    return rows["label"].astype("Int8").reset_index(drop=True)


def unresolved(rows: pd.DataFrame) -> bool:
    """Whether a row of ``rows`` still lacks its label."""
    return len(rows) > 0 and bool(stored_labels(rows).isna().any())


def labels_now(
    rows: pd.DataFrame, candles: pd.DataFrame, champion: Champion, targets: TargetsConfig
) -> pd.Series:
    """The labels of ``rows`` as known now: stored, else found on the symbol's ``candles``."""
    label = stored_labels(rows)
    stamps = stamps_ms(candles["timestamp"])
    first = int(stamps_ms(rows["timestamp"]).min())
    horizon = champion.horizon(targets)
    back = 8 * (max(champion.variant.w, targets.vol_window) + horizon) + 256
    start = max(int(np.searchsorted(stamps, first)) - back, 0)
    events = variant_events(candles.iloc[start:].reset_index(drop=True), champion.variant, targets)
    known = pd.Series(
        events["label"].astype("Int8").to_numpy(), index=stamps_ms(events["timestamp"])
    )
    known = known[~known.index.duplicated()]
    found = known.reindex(stamps_ms(rows["timestamp"]))
    return label.fillna(pd.Series(found.to_numpy(), dtype="Int8"))
