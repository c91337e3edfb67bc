"""How the feature store is laid out: one prefix per symbol, block sizes within workers' memory.

Each task computes one (symbol, family) or the cross-coin features and holds one block of columns
at a time, so the memory budget (``features.memory_budget_mb``) is shared by the workers that can
run at once and a block gets as many columns as fit its share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from swingml.config.features import FeaturesConfig
from swingml.data.symbols import short_name
from swingml.errors import BadInputError
from swingml.features.generate import CROSS_GROUP, block_size
from swingml.features.plan import FeaturePlan


@dataclass(frozen=True)
class Layout:
    """The symbols the store is built from, their rows and candle fingerprints, and block sizes."""

    symbols: list[str]
    rows: Mapping[str, int]
    fingerprints: Mapping[str, str]
    blocks: Mapping[str, int]
    """Feature columns per block file, per symbol."""
    cross_block: int | None
    """Columns per cross-coin block; None when there are no cross-coin features."""


def check_short_names(symbols: Sequence[str]) -> None:
    """Feature prefixes must be unique and must not be the cross-coin prefix ``X``."""
    seen: dict[str, str] = {}
    for i, symbol in enumerate(symbols):
        short = short_name(symbol)
        if short == CROSS_GROUP or short in seen:
            other = seen.get(short, "the cross-coin features")
            raise BadInputError(
                f"config key data.symbols[{i}]",
                f"{symbol} would share the feature prefix {short}__ with {other}",
                "use symbols whose base assets differ",
            )
        seen[short] = symbol


def plan_layout(
    plan: FeaturePlan,
    rows: Mapping[str, int],
    fingerprints: Mapping[str, str],
    features: FeaturesConfig,
    max_processes: int,
) -> Layout:
    """Block sizes for ``rows`` (per symbol, in store order) when at most ``max_processes``
    workers share the memory budget."""
    symbols = list(rows)
    cross = plan.cross is not None and len(symbols) > 1
    n_tasks = len(symbols) * len(plan.families()) + int(cross)
    workers = max(1, min(max_processes, n_tasks))
    budget = features.memory_budget_mb / workers
    blocks = {s: block_size(rows[s], features.block_columns, budget) for s in symbols}
    cross_block = block_size(max(rows.values()), features.block_columns, budget)
    return Layout(symbols, rows, fingerprints, blocks, cross_block if cross else None)
