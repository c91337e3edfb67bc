"""The models a live server keeps between cycles: champions, feature plan, resolved columns.

A ``--follow`` server loads the feature store's metadata and plan once, opens the registry once,
and refreshes its champions each cycle (a booster is loaded only when an alias moved); the
columns a symbol's champions read are resolved once per set of names. A ``--once`` run builds
all of it afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.features.matrix import read_metadata
from swingml.features.plan import FeaturePlan, make_plan, plan_spec
from swingml.inference.champions import Champion, ChampionCache
from swingml.inference.cycle import check_cadence
from swingml.inference.live_features import ColumnPlan, resolve_columns
from swingml.registry.mlflow_registry import MlflowRegistry


@dataclass
class LiveModels:
    """The champions served, the feature plan and the column plans (loaded once, then kept)."""

    cache: ChampionCache = field(default_factory=ChampionCache)
    plan: FeaturePlan | None = None
    metadata: dict[str, Any] | None = None
    columns: dict[tuple[str, tuple[str, ...]], ColumnPlan] = field(default_factory=dict)
    registry: MlflowRegistry | None = None

    def refresh(
        self, config: Config, features_dir: Path, open_registry: Callable[[], MlflowRegistry]
    ) -> tuple[FeaturePlan, list[Champion], list[str]]:
        """The feature plan, the current champions and the names skipped (other symbols).

        Raises ``BadInputError`` when no model has a champion, or when ``inference.cadence_bars``
        is longer than the shortest champion horizon.
        """
        if self.metadata is None or self.plan is None:
            self.metadata = read_metadata(features_dir)
            self.plan = make_plan(plan_spec(config))
        if self.registry is None:
            self.registry = open_registry()
        symbols = config.data.symbols
        champions, skipped = self.cache.refresh(
            self.registry,
            symbols,
            self.metadata,
            config.data.interval,
            config.registry.model_prefix,
        )
        if not champions:
            raise BadInputError(
                self.registry.registry_uri,
                f"no model has a champion version for {', '.join(symbols)}",
                "run `swingml train` first",
            )
        check_cadence(config.inference.cadence_bars, champions, config.targets)
        return self.plan, champions, skipped

    def columns_of(self, symbol: str, names: Sequence[str], symbols: Sequence[str]) -> ColumnPlan:
        """How to compute ``names`` (the columns ``symbol``'s champions read), resolved once."""
        key = (symbol, tuple(names))
        if key not in self.columns:
            assert self.plan is not None and self.metadata is not None
            self.columns[key] = resolve_columns(self.plan, self.metadata, key[1], symbols)
        return self.columns[key]
