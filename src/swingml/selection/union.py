"""A symbol's screening rows: each variant's events split, and the union of their bars.

Each variant's usable events (development, known label) are split chronologically (most recent
``max_events``, last ``validation_fraction`` validates, horizon purge); a variant with too few
events is skipped. The symbol's screened variants share one row set, the union of their event
bars, written once (``select_rows``) with the event table that points into it (``select_events``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import SelectionConfig
from swingml.errors import BadInputError
from swingml.io.store import RunStore, combine_fingerprints, file_fingerprint, write_parquet_atomic
from swingml.selection import screening
from swingml.selection.tasks import work_path


@dataclass(frozen=True)
class Usable:
    """One variant's usable events: bar positions (time order), labels 0/1/2, label horizon."""

    variant: str
    positions: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    horizon: int

    @classmethod
    def of(
        cls,
        variant: str,
        positions: npt.NDArray[np.int64],
        labels: pd.Series,
        keep: npt.NDArray[np.bool_],
        horizon: int,
    ) -> Usable:
        """The events ``keep`` selects (development, known label) of a variant's events."""
        kept = labels.to_numpy()[keep].astype(np.int64)
        return cls(variant, positions[keep].astype(np.int64), kept, horizon)


@dataclass
class SymbolPlan:
    """A symbol's screening inputs: its union rows, event table, and each variant's fate."""

    symbol: str
    rows: int
    events_print: str
    screened: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def bar_positions(
    bars: pd.DatetimeIndex, stamps: pd.Series, variant: str, source: str
) -> npt.NDArray[np.int64]:
    """The bar positions of a variant's event timestamps; ``BadInputError`` (naming ``source``,
    its targets file) when one is not a candle bar."""
    positions = bars.get_indexer(pd.DatetimeIndex(stamps))
    if (positions < 0).any():
        raise BadInputError(
            source,
            f"{variant}: event timestamps that are not candle bars",
            "re-run `swingml targets` on the current candles",
        )
    return positions


def split_variants(
    symbol: str, usable: Sequence[Usable], config: SelectionConfig
) -> tuple[SymbolPlan, pd.DataFrame | None]:
    """Each variant's train/validation split; the event table (``variant, bar, label, part``)
    of the screened ones, None when there is none. The plan's rows and print are left empty."""
    plan = SymbolPlan(symbol, 0, "")
    parts: list[pd.DataFrame] = []
    for events in usable:
        train, valid = screening.split_events(
            events.positions, events.horizon, config.max_events, config.validation_fraction
        )
        plan.counts[events.variant] = (len(train), len(valid))
        if len(train) < config.min_events or len(valid) == 0:
            plan.skipped[events.variant] = (
                f"{len(train)} training / {len(valid)} validation events after the split "
                f"(selection.min_events={config.min_events})"
            )
            continue
        plan.screened.append(events.variant)
        for part, picks in (("train", train), ("valid", valid)):
            parts.append(
                pd.DataFrame(
                    {
                        "variant": events.variant,
                        "bar": events.positions[picks],
                        "label": events.labels[picks],
                        "part": part,
                    }
                )
            )
    return plan, (pd.concat(parts, ignore_index=True) if parts else None)


def save_union(
    store: RunStore, plan: SymbolPlan, table: pd.DataFrame, bars: pd.DatetimeIndex
) -> SymbolPlan:
    """Write the union rows' timestamps and the event table (rows into the union); the plan
    with its row count and the fingerprint of both files."""
    union = np.unique(table["bar"].to_numpy())
    table["row"] = np.searchsorted(union, table["bar"].to_numpy()).astype(np.int32)
    table["label"] = table["label"].astype(np.int8)
    rows_path = work_path(store, plan.symbol, "select_rows")
    events_path = work_path(store, plan.symbol, "select_events")
    write_parquet_atomic(rows_path, pd.DataFrame({"timestamp": bars[union]}))
    write_parquet_atomic(events_path, table[["variant", "row", "label", "part"]])
    prints = {"rows": file_fingerprint(rows_path), "events": file_fingerprint(events_path)}
    plan.rows, plan.events_print = len(union), combine_fingerprints(prints)
    return plan


def chunks(
    plan: SymbolPlan, tags: Mapping[str, tuple[int, str]]
) -> list[tuple[tuple[int, str], tuple[str, ...]]]:
    """The plan's screened variants grouped by (window, kind), in that order: a task each."""
    groups = sorted({tags[v] for v in plan.screened})
    return [(group, tuple(v for v in plan.screened if tags[v] == group)) for group in groups]
