"""Stage ``targets``: candles → ``targets/<SYMBOL>.parquet`` for every variant of the grid.

Reads ``candles/<SYMBOL>.parquet`` for each of ``data.symbols`` (running the ``data`` stage first
where ``candles/`` lacks a symbol) and builds one long-form table per symbol, one task each. Then
it writes ``targets/summary.parquet`` (one row per variant) and, last, ``targets/_meta.json`` with
the candle fingerprints and the ``targets``+``grid`` config hash: a re-run whose candles and
config match that file reuses the store without recomputing anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from swingml.errors import BadInputError
from swingml.io import parted
from swingml.io.store import (
    RunStore,
    file_fingerprint,
)
from swingml.orchestration import Task, TaskResult
from swingml.targets.checks import check_candle_rows, details
from swingml.targets.table import SUMMARY_COLUMNS
from swingml.targets.tasks import build_symbol_file
from swingml.workflow.loading import candles_file
from swingml.workflow.pipeline import StageContext
from swingml.workflow.runner import Plan, Stage

FORMAT_VERSION = 1
"""Bump when the table layout or the event/label rules change: stored targets are then rebuilt."""


@dataclass(frozen=True)
class _Planned:
    wanted: dict[str, Any]
    tasks: list[Task]


def _key(ctx: StageContext) -> str:
    """The candles' fingerprints (after checking them), the config hash and the format."""
    config, store = ctx.config, ctx.store
    prints = {symbol: _checked_candles(store, symbol) for symbol in config.data.symbols}
    wanted = {
        "version": FORMAT_VERSION,
        "config_hash": config.slice_hash("targets", "grid"),
        "candles": prints,
    }
    return json.dumps(wanted, sort_keys=True)


def _reuse(ctx: StageContext, key: str) -> dict[str, Any] | None:
    if not _reusable(ctx.store, json.loads(key), ctx.config.data.symbols):
        return None
    ctx.console.print("targets: candles and config unchanged, reusing the stored targets")
    summary = ctx.store.load("targets_summary")
    return details(ctx.config, summary, True)


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    config, store = ctx.config, ctx.store
    wanted = json.loads(str(key))
    store.dataset("targets_meta").unlink(missing_ok=True)
    tasks = [
        Task(
            key=_task_key(symbol, wanted["candles"][symbol], wanted["config_hash"]),
            fn=build_symbol_file,
            args=(
                str(store.candles_path(symbol)),
                str(store.targets_path(symbol)),
                symbol,
                config.targets,
                config.grid,
            ),
            label=f"targets/{symbol}",
        )
        for symbol in config.data.symbols
    ]
    return Plan(_Planned(wanted, tasks), tasks)


def _finish(ctx: StageContext, planned: _Planned, results: list[TaskResult]) -> dict[str, Any]:
    """Write the summary table, then ``_meta.json`` (last: it marks the store complete)."""
    store = ctx.store
    target_prints: dict[str, str] = {}
    frames: list[pd.DataFrame] = []
    for task, result in zip(planned.tasks, results, strict=True):
        value: dict[str, Any] = result.value
        path = Path(task.args[1])
        if not path.is_file() or file_fingerprint(path) != value["fingerprint"]:
            value = build_symbol_file(*task.args)  # a reused result whose file has since gone
        target_prints[task.label.split("/", 1)[1]] = value["fingerprint"]
        frames.append(pd.DataFrame(value["summary"], columns=list(SUMMARY_COLUMNS)))
        ctx.console.print(
            f"targets {task.label}: {value['events']:,} events, {value['rows']:,} rows "
            f"({result.wall_s:.1f} s)"
        )
    summary = pd.concat(frames, ignore_index=True)
    store.save("targets_summary", summary)
    store.save("targets_meta", {**planned.wanted, "targets": target_prints})
    return details(ctx.config, summary, False)


STAGE = Stage("targets", plan=_plan, finish=_finish, key=_key, reuse=_reuse, whole=True)
"""Build (or reuse) the target store of every symbol and report the grid and class balance."""


def _task_key(symbol: str, candles_print: str, config_hash: str) -> str:
    blob = f"targets:v{FORMAT_VERSION}:{symbol}:{candles_print}:{config_hash}"
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _reusable(store: RunStore, wanted: Mapping[str, Any], symbols: Sequence[str]) -> bool:
    """The stored targets were built from these inputs, and no symbol's file changed since."""
    return store.is_current("targets_meta", wanted) and all(
        (path := store.targets_path(s)).is_file()
        and store.is_current("targets", file_fingerprint(path), symbol=s)
        for s in symbols
    )


def _checked_candles(store: RunStore, symbol: str) -> str:
    """The candle file's fingerprint, after checking what the event rules rely on."""
    path = candles_file(store, symbol)
    try:
        candles = parted.read_frame(path, ["timestamp", "high", "low", "close"])
    except (KeyError, ValueError, pa.ArrowException) as exc:
        raise BadInputError(
            str(path),
            f"cannot read timestamp/high/low/close: {exc}",
            "rebuild the candles with `swingml data prepare`",
        ) from None
    check_candle_rows(path, candles)
    return parted.fingerprint(path)
