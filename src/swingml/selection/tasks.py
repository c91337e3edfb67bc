"""Selection's worker tasks: bin a symbol's union rows once, then screen its variants on them.

``bin_symbol`` quantises the symbol's features on its union rows (a block of features at a time)
and saves the binned LightGBM Dataset with ``save_binary``; ``screen_chunk`` loads it and screens
each variant it is given on ``subset()``s, writing ``selection/variants/<slug>.json`` per variant,
so a killed run resumes per variant. Both take plain, picklable arguments: the stage (in
``swingml.stages``) builds the tasks and their keys.

With ``selection.bins: rows`` the binning task also saves the quantile codes (``select_codes``,
uint8, features x union rows) and ``screen_chunk`` screens each variant on Datasets built for its
own rows from them (``row_bins``), once per distinct row set of the task.
"""

from __future__ import annotations

import contextlib
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
from swingml.selection import row_bins, screening

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
    stats = read_json(work_path(store, symbol, "select_binned_meta"))
    if stats.get("bins") == "rows" and not work_path(store, symbol, "select_codes").is_file():
        return None
    return dict(stats, reused=True)


@contextlib.contextmanager
def _saved_codes(
    store: RunStore, symbol: str, shape: tuple[int, int], wanted: bool
) -> Iterator[npt.NDArray[np.uint8] | None]:
    """A writable uint8 memory map that becomes ``select_codes`` when the block ends; None (and
    no file) when not ``wanted``."""
    if not wanted:
        yield None
        return
    with atomic_path(work_path(store, symbol, "select_codes")) as tmp:
        codes = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        yield codes
        codes.flush()


def bin_symbol(
    job: SymbolJob, columns: tuple[str, ...], bin_key: str, read: FeatureReader
) -> dict[str, Any]:
    """Quantise the symbol's features on its union rows and save the binned Dataset once.

    One ``CODE_BLOCK`` of features is read, quantised and binned at a time. With
    ``selection.bins: rows`` the codes are saved too (``select_codes``).
    """
    start = time.perf_counter()
    store, symbol, config = RunStore(job.root), job.symbol, job.config
    stamps = pd.read_parquet(work_path(store, symbol, "select_rows"))["timestamp"]
    quantise_s = 0.0
    rows = config.bins == "rows"
    saving = _saved_codes(store, symbol, (len(columns), len(stamps)), rows)

    def blocks(
        saved: npt.NDArray[np.uint8] | None,
    ) -> Iterator[tuple[npt.NDArray[np.float32], list[str]]]:
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
            if saved is not None:
                saved[first : first + len(chunk)] = row_bins.packed(codes)
            quantise_s += time.perf_counter() - began
            yield codes, chunk

    params = screening.dataset_params(config, job.threads, job.seed)
    with saving as saved:
        dataset = screening.binned_blocks(blocks(saved), params)
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
    if rows:  # with "shared" the file stays as it always was
        stats.update(bins="rows", columns=list(columns))
    write_json_atomic(work_path(store, symbol, "select_binned_meta"), stats)
    return stats


def screen_chunk(job: SymbolJob, variants: tuple[VariantJob, ...]) -> list[dict[str, Any]]:
    """Screen each of ``variants`` on the symbol's binned Dataset; one JSON file per variant.

    A variant whose file already carries its key is read back, not re-trained.
    """
    store = RunStore(job.root)
    events = pd.read_parquet(
        work_path(store, job.symbol, "select_events"),
        filters=[("variant", "in", [v.id for v in variants])],
    )
    todo = {v.id for v in variants if not is_screened(store, v)}
    screen = _screener(store, job, events, todo) if todo else None
    out: list[dict[str, Any]] = []
    for variant in variants:
        path = variant_path(store, variant.slug)
        if screen is None or variant.id not in todo:
            out.append(_brief(read_json(path), reused=True))
            continue
        payload = {"key": variant.key, "variant": variant.id, "status": "ok", **screen(variant.id)}
        write_json_atomic(path, payload)
        out.append(_brief(payload, reused=False))
    return out


Parts = tuple[row_bins.Rows, row_bins.Rows]
"""A variant's (train, valid) rows and labels."""


def _screener(
    store: RunStore, job: SymbolJob, events: pd.DataFrame, todo: set[str]
) -> Callable[[str], dict[str, Any]]:
    """Screens one variant of ``todo`` by id: its figures and ranking, on subsets of the symbol's
    binned Dataset (``bins: shared``) or on Datasets built for its rows (``bins: rows``)."""
    config = job.config
    params = screening.train_params(config, job.threads, job.seed)
    parts = {v: _parts(events[events["variant"] == v]) for v in sorted(todo)}
    if config.bins == "rows":
        return _rows_screener(store, job, parts, params)
    parent = lgb.Dataset(
        str(work_path(store, job.symbol, "select_binned")),
        params=screening.dataset_params(config, job.threads, job.seed),
    ).construct()
    names = list(parent.get_feature_name())

    def screen(variant: str) -> dict[str, Any]:
        result = screening.screen_variant(parent, *parts[variant], params, config)
        return _figures(result, names, config)

    return screen


def _rows_screener(
    store: RunStore, job: SymbolJob, parts: Mapping[str, Parts], params: dict[str, Any]
) -> Callable[[str], dict[str, Any]]:
    """``_screener`` with ``bins: rows``: one Dataset pair per distinct row set of the task, from
    the memory-mapped codes; the figures name the binning, the codes and the features used."""
    config = job.config
    names = read_json(work_path(store, job.symbol, "select_binned_meta"))["columns"]
    codes = np.load(work_path(store, job.symbol, "select_codes"), mmap_mode="r")
    base = screening.dataset_params(config, job.threads, job.seed)
    datasets = row_bins.RowDatasets(codes, names, base, config.max_bin, CODE_BLOCK)
    for train, valid in parts.values():
        datasets.expect(train[0], valid[0])

    def screen(variant: str) -> dict[str, Any]:
        result, pair = row_bins.screen_rows(datasets, *parts[variant], params, config)
        figures = _figures(result, datasets.names, config)
        return dict(figures, bins="rows", n_codes=pair.n_codes, features_used=pair.features_used)

    return screen


def _parts(mine: pd.DataFrame) -> Parts:
    """A variant's rows of the events table as (train, valid) (rows, labels)."""
    train = mine[mine["part"] == "train"]
    valid = mine[mine["part"] == "valid"]
    return (
        (train["row"].to_numpy(np.int64), train["label"].to_numpy(np.int64)),
        (valid["row"].to_numpy(np.int64), valid["label"].to_numpy(np.int64)),
    )


def _figures(
    result: screening.Screen, names: Sequence[str], config: SelectionConfig
) -> dict[str, Any]:
    """One variant's screening figures and ranking."""
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
