"""Selection's worker tasks: bin a symbol's union rows once, then screen its variants on them.

``bin_symbol`` quantises the symbol's features on its union rows (a block of features at a time)
and saves the binned LightGBM Dataset with ``save_binary``; ``screen_chunk`` loads it and screens
each variant it is given on ``subset()``s, writing ``selection/variants/<slug>.json`` per variant,
so a killed run resumes per variant. Both take plain, picklable arguments: the stage (in
``swingml.stages``) builds the tasks and their keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import SelectionConfig
from swingml.io.store import RunStore, atomic_path, read_json, write_json_atomic
from swingml.selection import screening

CODE_BLOCK = 512
"""Features quantised per feature-store read in a binning task."""

FeatureReader = Callable[[Sequence[str], pd.Series], pd.DataFrame]
"""Reads ``timestamp`` + the named features of one symbol on the given bars: the feature store's
``load_matrix`` bound to its folder and symbol (passed in, as selection may not import features)."""


@dataclass(frozen=True)
class SymbolJob:
    """Where and how a task of one symbol runs: the run directory, the config section, the seed
    and the LightGBM threads (``executor.threads_per_worker``, a worker's budget)."""

    root: str
    symbol: str
    config: SelectionConfig
    seed: int
    threads: int


@dataclass(frozen=True)
class VariantJob:
    """A variant to screen: its id, its result file's slug and the key that result must carry."""

    id: str
    slug: str
    key: str


def work_path(store: RunStore, symbol: str, name: str) -> Path:
    """One of select's scratch files of ``symbol`` (``select_rows``, ``select_binned``, ...)."""
    return store.dataset(name, symbol=symbol)


def variant_path(store: RunStore, slug: str) -> Path:
    """``selection/variants/<slug>.json``: one variant's screening result."""
    return store.dataset("select_variant", slug=slug)


def is_screened(store: RunStore, job: VariantJob) -> bool:
    """The variant's result file exists and carries the key this run expects for it."""
    return store.is_current("select_variant", job.key, slug=job.slug)


def binned(store: RunStore, symbol: str, bin_key: str) -> dict[str, Any] | None:
    """The stats of the symbol's binned Dataset when it is current for ``bin_key`` (marked
    reused), else None."""
    if not store.is_current("select_binned", bin_key, symbol=symbol):
        return None
    return dict(read_json(work_path(store, symbol, "select_binned_meta")), reused=True)


def bin_symbol(
    job: SymbolJob, columns: tuple[str, ...], bin_key: str, read: FeatureReader
) -> dict[str, Any]:
    """Quantise the symbol's features on its union rows and save the binned Dataset once.

    One ``CODE_BLOCK`` of features is read, quantised and binned at a time.
    """
    start = time.perf_counter()
    store, symbol, config = RunStore(job.root), job.symbol, job.config
    stamps = pd.read_parquet(work_path(store, symbol, "select_rows"))["timestamp"]
    quantise_s = 0.0

    def blocks() -> Iterator[tuple[npt.NDArray[np.float32], list[str]]]:
        nonlocal quantise_s
        for first in range(0, len(columns), CODE_BLOCK):
            began = time.perf_counter()
            chunk = list(columns[first : first + CODE_BLOCK])
            frame = read(chunk, stamps)
            if len(frame) != len(stamps):
                raise RuntimeError(
                    f"{symbol}: feature store has {len(frame)} of {len(stamps)} rows"
                )
            values = frame[chunk].to_numpy(dtype=np.float32).T
            del frame
            codes = screening.quantile_codes(
                values, config.max_bin - 1, config.bin_construct_sample_cnt
            )
            quantise_s += time.perf_counter() - began
            yield codes, chunk

    params = screening.dataset_params(config, job.threads, job.seed)
    dataset = screening.binned_blocks(blocks(), params)
    with atomic_path(work_path(store, symbol, "select_binned")) as tmp:
        tmp.unlink()  # LightGBM will not save a binary over an existing (empty) file
        dataset.save_binary(str(tmp))
    stats = {
        "key": bin_key,
        "symbol": symbol,
        "rows": len(stamps),
        "features": len(columns),
        "quantise_s": round(quantise_s, 3),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    write_json_atomic(work_path(store, symbol, "select_binned_meta"), stats)
    return stats


def screen_chunk(job: SymbolJob, variants: tuple[VariantJob, ...]) -> list[dict[str, Any]]:
    """Screen each of ``variants`` on the symbol's binned Dataset; one JSON file per variant.

    A variant whose file already carries its key is read back, not re-trained.
    """
    store, config = RunStore(job.root), job.config
    parent: lgb.Dataset | None = None
    names: list[str] = []
    events = pd.read_parquet(
        work_path(store, job.symbol, "select_events"),
        filters=[("variant", "in", [v.id for v in variants])],
    )
    params = screening.train_params(config, job.threads, job.seed)
    out: list[dict[str, Any]] = []
    for variant in variants:
        path = variant_path(store, variant.slug)
        if is_screened(store, variant):
            out.append(_brief(read_json(path), reused=True))
            continue
        if parent is None:
            parent = lgb.Dataset(
                str(work_path(store, job.symbol, "select_binned")),
                params=screening.dataset_params(config, job.threads, job.seed),
            ).construct()
            names = list(parent.get_feature_name())
        payload = _screen(parent, names, events[events["variant"] == variant.id], params, config)
        payload = {"key": variant.key, "variant": variant.id, "status": "ok", **payload}
        write_json_atomic(path, payload)
        out.append(_brief(payload, reused=False))
    return out


def _screen(
    parent: lgb.Dataset,
    names: Sequence[str],
    mine: pd.DataFrame,
    params: dict[str, Any],
    config: SelectionConfig,
) -> dict[str, Any]:
    """One variant's screening figures and ranking, from its rows of the events table."""
    train = mine[mine["part"] == "train"]
    valid = mine[mine["part"] == "valid"]
    result = screening.screen_variant(
        parent,
        (train["row"].to_numpy(np.int64), train["label"].to_numpy(np.int64)),
        (valid["row"].to_numpy(np.int64), valid["label"].to_numpy(np.int64)),
        params,
        config,
    )
    return {
        "n_train": result.n_train,
        "n_valid": result.n_valid,
        "best_iteration": result.best_iteration,
        "train_s": round(result.train_s, 4),
        "wall_s": round(result.wall_s, 4),
        "total_gain": float(result.gains.sum()),
        "ranking": screening.rank_features(names, result.gains, config.top_k),
    }


def _brief(payload: Mapping[str, Any], reused: bool) -> dict[str, Any]:
    brief = {k: v for k, v in payload.items() if k != "ranking"}
    brief["reused"] = reused
    return brief
