"""A tiny real run for the inference tests (and the live == batch contract test).

The synthetic market of ``TOTAL_BARS`` bars is generated once; its first ``BASE_BARS`` bars are
served as a ``data.dir`` of Parquet files, and a run is built on them with the real stages (data,
features, targets; profile ``integration-test``). Two champions are trained on every stored
feature and registered in the run's MLflow store, so inference sees exactly what a real run
leaves behind, in seconds instead of a full tuning run. Later bars are handed to live inference
through ``inference.new_candles_dir`` folders.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console

from swingml.config import Config, load_config
from swingml.data.frame import to_arrow
from swingml.data.synthetic import generate
from swingml.features.matrix import feature_names, load_matrix, read_metadata
from swingml.io.store import RunStore
from swingml.registry.mlflow_registry import MlflowRegistry, ModelCard, model_name
from swingml.targets.grid import Variant
from swingml.targets.guard import guard_inputs
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import StageContext, run_stage

PROFILE = "integration-test"
TOTAL_BARS = 1500
BASE_BARS = 1100
MODELS: tuple[str, ...] = (
    "BTCUSDT/w3/high_breakout/s1.0/k0.5",
    "ETHUSDT/w5/low_reversion/s1.0/k1.0",
)
TEST_SETS: tuple[str, ...] = (
    "inference.live_history_bars=100",  # the floor: tails really are shorter than the history
    "executor.max_concurrent_processes=2",
)

_CACHE: dict[str, object] = {}


def market() -> dict[str, pd.DataFrame]:
    """The whole synthetic market (``TOTAL_BARS`` bars per symbol), generated once."""
    if "market" not in _CACHE:
        config = load_config(PROFILE, overrides=[f"data.synthetic.bars={TOTAL_BARS}"])
        _CACHE["market"] = generate(config.data)
    frames: dict[str, pd.DataFrame] = _CACHE["market"]  # type: ignore[assignment]
    return {s: f.copy() for s, f in frames.items()}


def write_candles(
    folder: Path, stop: int, start: int = 0, frames: dict[str, pd.DataFrame] | None = None
) -> Path:
    """Serve bars ``start..stop-1`` of every symbol as ``<SYMBOL>-1h.parquet`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for symbol, frame in (frames or market()).items():
        part = frame.iloc[start:stop].reset_index(drop=True)
        pq.write_table(to_arrow(part), folder / f"{symbol}-1h.parquet")
    return folder


def real_kline_rows(folder: Path, symbols: Sequence[str], bars: int) -> dict[str, list[list[Any]]]:
    """The last ``bars`` rows (by the first symbol's time axis) of each real ``<SYMBOL>-1h.json.gz``
    kline file in ``folder``."""
    out = {}
    for symbol in symbols:
        out[symbol] = json.loads(gzip.decompress((folder / f"{symbol}-1h.json.gz").read_bytes()))
    start = out[symbols[0]][-bars][0]
    return {s: [r for r in rows if r[0] >= start] for s, rows in out.items()}


def write_kline_rows(folder: Path, rows: dict[str, list[list[Any]]], before_ms: int) -> Path:
    """Serve the kline rows opened before ``before_ms`` as ``<SYMBOL>-1h.json.gz`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for symbol, items in rows.items():
        kept = [r for r in items if r[0] < before_ms]
        (folder / f"{symbol}-1h.json.gz").write_bytes(gzip.compress(json.dumps(kept).encode()))
    return folder


def config_for(run_dir: Path, data_dir: Path, *sets: str) -> Config:
    """The test config: integration-test profile on ``data_dir``, in ``run_dir``."""
    overrides = [f"data.dir={data_dir}", *TEST_SETS, *sets]
    return load_config(PROFILE, overrides=overrides, run_dir=run_dir)


def context(config: Config) -> StageContext:
    """A stage context with a console that keeps quiet."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    return StageContext(config, RunStore(config.run.dir), console)


def cli_args(run_dir: Path, data_dir: Path, *sets: str) -> list[str]:
    """The CLI options that select the same config as ``config_for``."""
    args = ["--profile", PROFILE, "--run-dir", str(run_dir), "--set", f"data.dir={data_dir}"]
    for item in (*TEST_SETS, *sets):
        args += ["--set", item]
    return args


def train_small(
    store: RunStore, variant: Variant, features: Sequence[str], seed: int, rows: int | None = None
) -> tuple[lgb.Booster, np.ndarray]:
    """A small LightGBM model of ``variant`` on ``features`` (its last ``rows`` labelled events)."""
    events = load_variant(store, variant)
    known = events[events["label"].notna()]
    known = known if rows is None else known.tail(rows)
    matrix = load_matrix(store.features_dir(), variant.symbol, features, known["timestamp"])
    X = matrix[list(features)].to_numpy(np.float32)
    y = known["label"].to_numpy(np.int64)
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "learning_rate": 0.1,
        "verbosity": -1,
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
    }
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=list(features)), 30)
    return booster, X


def register_champions(
    ctx: StageContext,
    variant_ids: Sequence[str] = MODELS,
    seed: int = 7,
    per_model: int | None = None,
    rows: int | None = None,
) -> int:
    """Train a small model per variant and register it as champion; the number registered.

    Each model reads every stored feature, or ``per_model`` of them drawn at random, and trains
    on its last ``rows`` labelled events (all when None). The registry adds no version for a
    model identical to the one it holds, so a test that needs a new version passes another
    ``seed``.
    """
    store = ctx.store
    fdir = store.features_dir()
    usable, _ = guard_inputs(feature_names(fdir), read_metadata(fdir))
    rng = np.random.default_rng(seed)
    cards = []
    for variant_id in variant_ids:
        variant = Variant.from_id(variant_id)
        features = usable
        if per_model is not None:
            drawn = rng.choice(usable, size=min(per_model, len(usable)), replace=False)
            features = sorted(str(name) for name in drawn)
        booster, X = train_small(store, variant, features, seed, rows)
        cards.append(
            ModelCard(
                name=model_name(
                    variant.main_id, ctx.config.data.interval, ctx.config.registry.model_prefix
                ),
                booster=booster,
                variant_id=variant.id,
                params={"num_leaves": 15},
                features=features,
                data_fingerprint="inference-test",
                metrics={"holdout_macro_ap": 0.5},
                input_example=pd.DataFrame(X[:3], columns=features),
                interval=ctx.config.data.interval,
            )
        )
    section = ctx.config.registry
    registry = MlflowRegistry.for_run(
        section.tracking_uri, section.registry_uri, section.experiment, store.root
    )
    registry.register(cards)
    return len(cards)


def build(root: Path) -> Path:
    """Build the base run in ``root/run`` on the first ``BASE_BARS`` bars; return its folder."""
    data_dir = write_candles(root / "data", BASE_BARS)
    ctx = context(config_for(root / "run", data_dir))
    for stage in ("data", "features", "targets"):
        run_stage(stage, ctx)
    register_champions(ctx)
    return root / "run"


def base_run(factory: object) -> Path:
    """The base run, built once per test session (``factory``: pytest's TempPathFactory)."""
    if "run" not in _CACHE:
        _CACHE["run"] = build(factory.mktemp("inference-base"))  # type: ignore[attr-defined]
    path: Path = _CACHE["run"]  # type: ignore[assignment]
    return path


def copy_run(base: Path, target: Path) -> Path:
    """A private copy of the base run (live inference changes its candles)."""
    shutil.copytree(base, target)
    return target
