"""Stage ``prep``: the five label-free filters of SPEC §5 over the feature store, dev rows only.

Reads the feature store in column blocks on a sample of development rows (bars before the global
hold-out cutoff, over every symbol's bars), runs ``swingml.prep.pipeline.run_filters`` and writes
``prep/report.json`` then ``prep/kept_features.json`` (the latter last: it carries the input key
and marks the stage complete). A re-run with the same inputs and config reuses both files.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.features.matrix import METADATA, feature_names, load_matrix, symbol_timestamps
from swingml.io.store import combine_fingerprints, read_json, write_json_atomic
from swingml.prep.pipeline import Block, PrepResult, development_rows, run_filters
from swingml.workflow.loading import Development, development, features_fingerprint
from swingml.workflow.pipeline import StageContext, StageOutcome

PREP_VERSION = "prep-1"
"""Part of the input key: bump it when the filters change meaning for the same inputs."""

AFTER_KEYS = {
    "missing": "after_missing",
    "nan": "after_nan",
    "quasi_constant": "after_quasi_constant",
    "low_variance": "after_low_variance",
    "correlation": "features_out",
}


def union_bars(bars: Mapping[str, pd.DatetimeIndex]) -> pd.DatetimeIndex:
    """Every timestamp at which at least one symbol has a bar, sorted, UTC."""
    stamps = np.unique(np.concatenate([_ms(pd.Series(b)) for b in bars.values()]))
    return pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")


def input_key(config: Config, dev: Development, features: str) -> str:
    """What determines prep's output: features, candles (cutoff), symbols, prep + split config."""
    parts = dict(dev.fingerprints)
    parts.update(
        version=PREP_VERSION,
        features=features,
        symbols=",".join(config.data.symbols),
        config=config.slice_hash("prep", "split"),
    )
    return combine_fingerprints(parts)


def run(ctx: StageContext) -> StageOutcome:
    """Filter the feature store; reuse the previous result when inputs and config are unchanged."""
    config, store = ctx.config, ctx.store
    dev = development(config, store)
    key = input_key(config, dev, features_fingerprint(store))
    kept_path, report_path = store.dataset("prep_kept"), store.dataset("prep_report")
    if store.is_current("prep_kept", key):
        report = read_json(report_path)
        ctx.console.print(f"prep: reused {report['features_out']} kept features")
        return StageOutcome(tasks=0, failed_tasks=0, details=dict(report["summary"], reused=True))

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
    result = run_filters(loader, config.prep, len(names))
    wall = time.perf_counter() - start
    report = _report(result, dev.cutoff, loader.load_s, wall)
    write_json_atomic(report_path, report)
    write_json_atomic(kept_path, {"key": key, "features": result.kept, "cutoff": str(dev.cutoff)})
    summary = report["summary"]
    ctx.console.print(
        f"prep: {summary['features_in']:,} → {summary['features_out']:,} features "
        f"on {result.rows:,} development rows in {wall:.1f} s"
    )
    return StageOutcome(tasks=0, failed_tasks=0, details=dict(summary, reused=False))


class _BlockLoader:
    """Column blocks of the feature store on the sample rows, with the source-bar masks.

    Rows are read through ``load_matrix``, anchored on the symbol that has most of them; rows only
    another symbol has (its bars where the anchor has a gap) come from that symbol.
    """

    def __init__(self, fdir: Any, names: Sequence[str], rows: pd.DatetimeIndex, block: int) -> None:
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
                at = np.searchsorted(self.rows_ms, _ms(frame["timestamp"]))
                values[:, at] = frame[chunk].to_numpy(dtype=np.float32).T
            present = np.stack([self.present[self.group_of[name]] for name in chunk])
            self.load_s += time.perf_counter() - began
            yield Block(chunk, values.T, present.T)


def _ms(column: pd.Series) -> npt.NDArray[np.int64]:
    return pd.DatetimeIndex(column).as_unit("ms").asi8.astype(np.int64)


def _report(result: PrepResult, cutoff: pd.Timestamp, load_s: float, wall: float) -> dict[str, Any]:
    """``prep/report.json``: per filter dropped count, examples and reason, plus the summary."""
    summary: dict[str, Any] = {"features_in": result.features_in}
    for item in result.reports:
        summary[AFTER_KEYS[item.rule]] = item.features_in - item.dropped
    summary.update(
        sample_rows=result.rows,
        cutoff=str(cutoff),
        load_s=round(load_s, 3),
        compute_s=round(wall - load_s, 3),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return {
        "summary": summary,
        "features_out": len(result.kept),
        "filters": [item.as_dict() for item in result.reports],
    }
