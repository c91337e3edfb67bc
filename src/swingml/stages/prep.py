"""Stage ``prep``: the five label-free filters of SPEC §5 over the feature store, dev rows only.

Reads the feature store in column blocks on a sample of development rows (bars before the global
hold-out cutoff, over every symbol's bars), runs ``swingml.prep.pipeline.run_filters`` in this
process (no tasks) and writes ``prep/report.json`` then ``prep/kept_features.json`` (the latter
last: it carries the input key and marks the stage complete). A re-run with the same inputs and
config reuses both files.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.errors import BadInputError
from swingml.features.matrix import METADATA, feature_names, load_matrix, symbol_timestamps
from swingml.io.store import read_json
from swingml.orchestration import TaskResult
from swingml.prep.outputs import input_key, report
from swingml.prep.pipeline import Block, development_rows, epoch_ms, run_filters, union_bars
from swingml.workflow.loading import development, features_fingerprint
from swingml.workflow.pipeline import StageContext
from swingml.workflow.runner import Plan, Stage


class _BlockLoader:
    """Column blocks of the feature store on the sample rows, with the source-bar masks.

    Rows are read through ``load_matrix``, anchored on the symbol that has most of them; rows only
    another symbol has (its bars where the anchor has a gap) come from that symbol.
    """

    def __init__(
        self, fdir: Path, names: Sequence[str], rows: pd.DatetimeIndex, block: int
    ) -> None:
        self.fdir = fdir
        self.names = list(names)
        self.block = block
        self.rows_ms = rows.as_unit("ms").asi8.astype(np.int64)
        self.load_s = 0.0
        meta = read_json(fdir / METADATA)
        self.group_of = {e["name"]: str(e["symbol"]) for e in meta["features"]}
        groups = list(meta["symbols"])
        bars = {g: symbol_timestamps(fdir, g) for g in groups}
        self.present = {g: np.isin(self.rows_ms, bars[g]) for g in groups}
        self.anchors = self._anchors([g for g in groups if g != "X"], bars)

    def _anchors(
        self, symbols: list[str], bars: Mapping[str, npt.NDArray[np.int64]]
    ) -> list[tuple[str, npt.NDArray[np.int64]]]:
        left = self.rows_ms
        plan: list[tuple[str, npt.NDArray[np.int64]]] = []
        while len(left):
            best = max(symbols, key=lambda s: int(np.isin(left, bars[s]).sum()))
            covered = left[np.isin(left, bars[best])]
            if len(covered) == 0:
                break
            plan.append((best, covered))
            left = left[~np.isin(left, covered)]
        return plan

    def __iter__(self) -> Iterator[Block]:
        for start in range(0, len(self.names), self.block):
            chunk = self.names[start : start + self.block]
            began = time.perf_counter()
            values = np.full((len(chunk), len(self.rows_ms)), np.nan, dtype=np.float32)
            for symbol, stamps in self.anchors:
                frame = load_matrix(self.fdir, symbol, chunk, stamps.astype("datetime64[ms]"))
                at = np.searchsorted(self.rows_ms, epoch_ms(frame["timestamp"]))
                values[:, at] = frame[chunk].to_numpy(dtype=np.float32).T
            present = np.stack([self.present[self.group_of[name]] for name in chunk])
            self.load_s += time.perf_counter() - began
            yield Block(chunk, values.T, present.T)


@dataclass(frozen=True)
class _Planned:
    key: str
    cutoff: pd.Timestamp
    start: float
    loader: _BlockLoader


def _key(ctx: StageContext) -> str:
    dev = development(ctx.config, ctx.store)
    return input_key(ctx.config, dev.fingerprints, features_fingerprint(ctx.store))


def _reuse(ctx: StageContext, key: str) -> dict[str, Any] | None:
    if not ctx.store.is_current("prep_kept", key):
        return None
    stored = ctx.store.load("prep_report")
    ctx.console.print(f"prep: reused {stored['features_out']} kept features")
    return dict(stored["summary"], reused=True)


def _plan(ctx: StageContext, key: str | None) -> Plan[_Planned]:
    """No tasks: check the feature store and the sample rows, and open the block reader."""
    config, store = ctx.config, ctx.store
    dev = development(config, store)
    start = time.perf_counter()
    fdir = store.features_dir()
    names = feature_names(fdir)
    if not names:
        raise BadInputError(str(fdir / METADATA), "the feature store lists no features", "")
    rows = development_rows(union_bars(dev.bars), dev.cutoff, config.prep.sample_rows)
    if len(rows) < 2:
        raise BadInputError(
            str(store.candles_path(config.data.symbols[0])),
            f"fewer than 2 bars before the hold-out cutoff {dev.cutoff}",
            "use more data or a smaller split.holdout_fraction",
        )
    loader = _BlockLoader(fdir, names, rows, config.prep.block_columns)
    return Plan(_Planned(str(key), dev.cutoff, start, loader))


def _finish(ctx: StageContext, planned: _Planned, results: list[TaskResult]) -> dict[str, Any]:
    """Run the filters here, write the report, then the kept list (last: it holds the key)."""
    store, loader = ctx.store, planned.loader
    result = run_filters(loader, ctx.config.prep, len(loader.names))
    wall = time.perf_counter() - planned.start
    written = report(result, planned.cutoff, loader.load_s, wall)
    store.save("prep_report", written)
    kept = {"key": planned.key, "features": result.kept, "cutoff": str(planned.cutoff)}
    store.save("prep_kept", kept)
    summary = written["summary"]
    ctx.console.print(
        f"prep: {summary['features_in']:,} → {summary['features_out']:,} features "
        f"on {result.rows:,} development rows in {wall:.1f} s"
    )
    return dict(summary, reused=False)


STAGE = Stage("prep", plan=_plan, finish=_finish, key=_key, reuse=_reuse)
"""Filter the feature store; reuse the previous result when inputs and config are unchanged."""
