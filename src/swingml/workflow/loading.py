"""Reading a run's stored datasets back as the inputs of later stages: one module, every stage.

``development`` (candles → hold-out cutoff and bars), ``read_kept`` (prep's features),
``load_inputs`` (the selected features through the leak guard, the cutoff, a fingerprint),
``load_variant`` (one variant's events and labels) and ``load_events`` (its rows, development and
hold-out masks) are what prep, select, tune, train, predict and monitor read; each says which
command to run when its dataset is missing. ``production_models`` is what train, walkforward and
retrain plan their tasks from.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.features.matrix import load_matrix, read_metadata
from swingml.io import catalog, parted
from swingml.io.store import RunStore, combine_fingerprints, file_fingerprint, read_json
from swingml.modeling.rows import Events
from swingml.modeling.space import ParamValue
from swingml.modeling.splits import development_mask, holdout_cutoff, span_of
from swingml.orchestration.tasks import task_key
from swingml.targets.grid import Variant
from swingml.targets.guard import guard_inputs
from swingml.training.production import TrainPlan, production_plan
from swingml.training.tasks import ModelJob
from swingml.tuning.stages import spec


def _require(store: RunStore, name: str, what: str, command: str, **keys: object) -> Any:
    """Dataset ``name`` as parsed JSON; a missing file is bad input naming the command to run."""
    path = store.dataset(name, **keys)
    if not path.is_file():
        raise BadInputError(str(path), what, f"run `{command}` first")
    return read_json(path)


def _names(data: Any) -> list[str] | None:
    """``data["features"]`` when it is a list of names, else None."""
    names = data.get("features") if isinstance(data, dict) else None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return None


# ---- candles: the hold-out cutoff ----------------------------------------------------------------


@dataclass(frozen=True)
class Development:
    """The global hold-out cutoff and every symbol's bars (SPEC §7), from the candle files."""

    cutoff: pd.Timestamp
    bars: Mapping[str, pd.DatetimeIndex]
    fingerprints: Mapping[str, str]


def candles_file(store: RunStore, symbol: str) -> Path:
    """The path of a symbol's candles; a missing file is bad input naming the command to run."""
    path = store.candles_path(symbol)
    if not parted.exists(path):
        raise BadInputError(
            str(path),
            f"no candles for {symbol}",
            "run `swingml data prepare` (or `swingml run`) first, or check data.symbols",
        )
    return path


def built_on_current_candles(store: RunStore, name: str, symbols: Sequence[str]) -> bool:
    """Whether dataset ``name`` was built from every symbol's candle file as it is now (by the
    fingerprints it recorded, where the catalog says)."""
    record = catalog.CATALOG[name].candles
    if record is None:
        raise ValueError(f"dataset {name} records no candle fingerprints in the catalog")
    for symbol in symbols:
        path = store.candles_path(symbol)
        recorded = store.recorded(record, name, symbol=symbol)
        if not parted.exists(path) or recorded != parted.fingerprint(path):
            return False
    return True


def development(config: Config, store: RunStore) -> Development:
    """Cutoff = start of the last ``split.holdout_fraction`` of the span of all symbols' candles."""
    bars: dict[str, pd.DatetimeIndex] = {}
    prints: dict[str, str] = {}
    for symbol in config.data.symbols:
        path = candles_file(store, symbol)
        column = parted.read_frame(path, ["timestamp"])["timestamp"]
        bars[symbol] = pd.DatetimeIndex(column)
        prints[f"candles/{symbol}"] = parted.fingerprint(path)
    first, last = span_of(pd.Series(index) for index in bars.values())
    cutoff = holdout_cutoff(first, last, config.split.holdout_fraction)
    return Development(cutoff, bars, prints)


# ---- features: the store, prep's and select's choices --------------------------------------------


def features_fingerprint(store: RunStore) -> str:
    """Identity of the feature store: its metadata file, written last and naming every block."""
    path = store.dataset("features_metadata")
    if not path.is_file():
        raise BadInputError(
            str(path), "the feature store has no metadata", "run `swingml features`"
        )
    return file_fingerprint(path)


def read_kept(store: RunStore) -> list[str]:
    """The feature names prep kept (for ``select``)."""
    names = _names(_require(store, "prep_kept", "no prep output", "swingml prep"))
    if names is None:
        path = store.dataset("prep_kept")
        raise BadInputError(str(path), 'must hold {"features": [names]}', "re-run `swingml prep`")
    return names


def read_selected(store: RunStore) -> list[str]:
    """The selected feature names: a JSON list, or a dict with key ``"features"``."""
    data = _require(store, "final_features", "no selected features", "swingml select")
    names = data.get("features") if isinstance(data, dict) else data
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInputError(
            str(store.dataset("final_features")),
            'must be a JSON list of feature names or {"features": [...]}',
            "re-run `swingml select`",
        )
    return list(names)


def read_best_params(store: RunStore) -> dict[str, dict[str, Any]]:
    """Per main variant, its variant and tuned parameters (``tuning/best_params.json``)."""
    data: dict[str, dict[str, Any]] = _require(
        store, "best_params", "no tuned parameters", "swingml tune"
    )
    return data


# ---- targets: one variant's events -------------------------------------------------------------


def load_variant(store: RunStore, variant: Variant) -> pd.DataFrame:
    """``timestamp, label`` of one variant's events in time order (label nullable Int8).

    Reads only the matching row groups of ``targets/<SYMBOL>.parquet``.
    """
    path = store.targets_path(variant.symbol)
    if not path.is_file():
        raise BadInputError(
            str(path), f"no targets for {variant.symbol}", "run `swingml targets` first"
        )
    frame = pd.read_parquet(
        path,
        columns=["timestamp", "label"],
        filters=[
            ("kind", "==", variant.kind),
            ("w", "==", variant.w),
            ("s", "==", variant.s),
            ("k", "==", variant.k),
        ],
    )
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    frame["label"] = frame["label"].astype("Int8")
    return frame


# ---- the inputs of tuning and training (parent side) ---------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What every tuning and training task reads: where, which features, the hold-out cutoff."""

    root: str
    features: tuple[str, ...]
    cutoff: pd.Timestamp
    fingerprint: str
    dropped: Mapping[str, str]


def load_inputs(config: Config, store: RunStore) -> Inputs:
    """Selected features (through the leak guard), the hold-out cutoff and an input fingerprint."""
    selected = read_selected(store)
    final = store.dataset("final_features")
    kept, dropped = guard_inputs(selected, read_metadata(store.features_dir()))
    if not kept:
        raise BadInputError(
            str(final),
            "no selected feature survives the leak guard",
            "re-run `swingml features` and `swingml select`",
        )
    stamps = []
    parts: dict[str, str] = {"final_features": file_fingerprint(final)}
    for symbol in config.data.symbols:
        candles = store.candles_path(symbol)
        targets = store.targets_path(symbol)
        for path, what in ((candles, "swingml data"), (targets, "swingml targets")):
            if not (parted.exists(path) if path == candles else path.is_file()):
                raise BadInputError(str(path), f"missing for {symbol}", f"run `{what}` first")
        stamps.append(parted.read_frame(candles, ["timestamp"])["timestamp"])
        parts[f"candles/{symbol}"] = parted.fingerprint(candles)
        parts[f"targets/{symbol}"] = file_fingerprint(targets)
    # Feature values are a function of the candles (fingerprinted above) and of the feature
    # definitions, which the metadata lists; hashing it is enough and costs nothing.
    parts["features/metadata.json"] = file_fingerprint(store.dataset("features_metadata"))
    first, last = span_of(stamps)
    cutoff = holdout_cutoff(first, last, config.split.holdout_fraction)
    return Inputs(
        str(store.root.resolve()), tuple(kept), cutoff, combine_fingerprints(parts), dropped
    )


# ---- rows of one variant (task side) -------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _symbol_matrix(
    root: str, symbol: str, features: tuple[str, ...]
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The symbol's candle bars and the selected features on each bar (NaN rows where missing).

    Cached per worker process: consecutive tasks of one symbol read the store once.
    """
    store = RunStore(root)
    candles = pd.DatetimeIndex(
        parted.read_frame(store.candles_path(symbol), ["timestamp"])["timestamp"]
    )
    frame = load_matrix(store.features_dir(), symbol, list(features))
    at = pd.DatetimeIndex(frame["timestamp"]).get_indexer(candles)
    values = np.ascontiguousarray(frame[list(features)].to_numpy(dtype=np.float32))
    X = np.full((len(candles), len(features)), np.nan, dtype=np.float32)
    X[at >= 0] = values[at[at >= 0]]
    return candles, X


def load_events(
    root: str, variant: Variant, features: tuple[str, ...], cutoff: pd.Timestamp, horizon: int
) -> Events:
    """A variant's events with their bar positions, development and hold-out masks."""
    candles, X_bars = _symbol_matrix(root, variant.symbol, features)
    frame = load_variant(RunStore(root), variant)
    bars = candles.get_indexer(pd.DatetimeIndex(frame["timestamp"]))
    if bool(np.any(bars < 0)):
        raise BadInputError(
            str(RunStore(root).targets_path(variant.symbol)),
            f"{variant.id}: event timestamps that are not candle bars",
            "re-run `swingml targets` on the current candles",
        )
    label = frame["label"]
    known = label.notna().to_numpy()
    y = label.fillna(-1).to_numpy(dtype=np.int64)
    dev = development_mask(bars, pd.Series(candles), cutoff, horizon) & known
    holdout = np.asarray(candles[bars] >= cutoff) & known
    return Events(X_bars[bars], y, bars.astype(np.int64), candles, dev, holdout, features, horizon)


def event_counts(
    store: RunStore, symbols: Sequence[str]
) -> dict[tuple[str, str, int, float, float], int]:
    """Events per variant, keyed ``(symbol, kind, w, s, k)``, read from the targets' key columns."""
    counts: dict[tuple[str, str, int, float, float], int] = {}
    for symbol in symbols:
        table = pd.read_parquet(store.targets_path(symbol), columns=["kind", "w", "s", "k"])
        sizes = table.groupby(["kind", "w", "s", "k"], observed=True).size().reset_index()
        for row in sizes.to_dict("records"):
            key = (symbol, str(row["kind"]), int(row["w"]), float(row["s"]), float(row["k"]))
            counts[key] = int(row[0])
    return counts


# ---- the production models: what train, walkforward and retrain plan their tasks from ---------


@dataclass(frozen=True)
class Recipe:
    """One main variant's production recipe: the variant tuning chose, its parameters, horizon."""

    main_id: str
    variant: Variant
    params: dict[str, ParamValue]
    horizon: int


@dataclass(frozen=True)
class ProductionModels:
    """The run's inputs, how its production models train, and each main variant's recipe (in
    ``tuning/best_params.json`` order): what every ``swingml.training.tasks`` task starts from."""

    inputs: Inputs
    plan: TrainPlan
    recipes: tuple[Recipe, ...]

    def job(self, recipe: Recipe) -> ModelJob:
        """What every training task starts from: the row loader, where, which model, its
        features, cutoff, horizon, parameters and plan."""
        inputs = self.inputs
        return ModelJob(
            load_events,
            inputs.root,
            recipe.main_id,
            recipe.variant.id,
            inputs.features,
            inputs.cutoff,
            recipe.horizon,
            recipe.params,
            self.plan,
        )

    def task_key(self, fn: Callable[..., Any], recipe: Recipe, *parts: Any) -> str:
        """A task's key: ``fn`` and ``parts`` (versions, config hashes), then the recipe's variant
        and parameters and the inputs' fingerprint."""
        params = json.dumps(recipe.params, sort_keys=True)
        return task_key(fn, *parts, recipe.variant.id, params, self.inputs.fingerprint)


def production_models(config: Config, store: RunStore) -> ProductionModels:
    """The selected inputs, the production plan and every main variant's tuned recipe."""
    inputs = load_inputs(config, store)
    recipes = []
    for main_id, entry in read_best_params(store).items():
        variant = Variant.from_id(str(entry["variant_id"]))
        params = dict(entry.get("params") or {})
        recipes.append(Recipe(main_id, variant, params, variant.horizon(config.targets)))
    plan = production_plan(config, spec(1).early_stopping)
    return ProductionModels(inputs, plan, tuple(recipes))
