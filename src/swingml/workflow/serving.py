"""What batch and live serving share: the run's prediction store, the registry champions are
served from, and each model's line of the stages' report — gathered in one ``Serving`` object
that ``predict batch`` and ``predict live`` both use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich import box
from rich.table import Table

from swingml.config import Config
from swingml.data.append import Merged, merge_new_bars
from swingml.data.frame import to_arrow
from swingml.data.load import load_symbol
from swingml.errors import BadInputError
from swingml.inference.champions import Champion
from swingml.inference.store import AppendReport, PredictionStore
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.registry.mlflow_registry import MlflowRegistry
from swingml.workflow.loading import built_on_current_candles, candles_file
from swingml.workflow.pipeline import StageContext, run_stage

PREDICTIONS = "predictions"


def prediction_store(store: RunStore) -> PredictionStore:
    """The run's prediction store (``predictions/``)."""
    return PredictionStore(store.folder(PREDICTIONS))


def open_registry(config: Config, store: RunStore, create: bool = False) -> MlflowRegistry:
    """The run's MLflow registry, the one way every command opens it: ``registry.tracking_uri``,
    else the run's embedded SQLite store, which only ``train`` may create (``create``)."""
    section = config.registry
    db = store.dataset("mlflow_db")
    if section.tracking_uri is None and not create and not db.is_file():
        raise BadInputError(
            str(db), "no model registry in this run", "run `swingml train` (or `swingml run`) first"
        )
    return MlflowRegistry.for_run(
        section.tracking_uri, section.registry_uri, section.experiment, store.root
    )


def by_symbol(champions: Sequence[Champion], symbols: Sequence[str]) -> dict[str, list[Champion]]:
    return {s: [c for c in champions if c.variant.symbol == s] for s in symbols}


def union(columns: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(name for group in columns for name in group))


def report_dict(report: AppendReport) -> dict[str, int]:
    return {
        "rows_written": report.written,
        "rows_present": report.present,
        "rows_differing": report.differing,
        "labels_resolved": report.labels_resolved,
    }


def model_entry(champion: Champion, events: int, report: AppendReport) -> dict[str, Any]:
    """One model's line of the stage's ``models`` report."""
    return {
        "version": champion.version,
        "variant": champion.variant.id,
        "events": events,
        **report_dict(report),
    }


def warn_differing(ctx: StageContext, report: AppendReport) -> None:
    if report.differing:
        ctx.console.print(
            f"[red]warning[/red]: {report.differing} stored prediction(s) differ from what "
            "this run computes for the same bar and model version (live != batch); the stored "
            "rows are kept. Check that the feature config matches the one the store was built with."
        )


def print_models(ctx: StageContext, title: str, rows: Mapping[str, Mapping[str, Any]]) -> None:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("model", "version", "events", "written", "present", "differing"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for name, item in rows.items():
        table.add_row(
            name,
            str(item["version"]),
            str(item["events"]),
            str(item["rows_written"]),
            str(item["rows_present"]),
            str(item["rows_differing"]),
        )
    ctx.console.print(table)


@dataclass
class Serving:
    """One ``swingml predict`` command's serving: its store, its registry and the report of what
    it appended (per model and in total), printed and returned as the stage's details."""

    ctx: StageContext
    predictions: PredictionStore
    total: AppendReport = field(default_factory=AppendReport)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx: StageContext) -> Serving:
        return cls(ctx, prediction_store(ctx.store))

    def registry(self) -> MlflowRegistry:
        return open_registry(self.ctx.config, self.ctx.store)

    def by_symbol(self, champions: Sequence[Champion]) -> dict[str, list[Champion]]:
        """The champions of each configured symbol."""
        return by_symbol(champions, self.ctx.config.data.symbols)

    @staticmethod
    def columns(champions: Sequence[Champion]) -> list[str]:
        """Every feature any of ``champions`` reads, in first-seen order."""
        return union([c.features for c in champions])

    def append(
        self, champion: Champion, rows: pd.DataFrame, events: int, compact: bool = False
    ) -> AppendReport:
        """Append ``champion``'s prediction rows once and record them in the report."""
        report = self.predictions.append(champion.name, rows, compact=compact)
        self.record(champion, events, report)
        return report

    def record(self, champion: Champion, events: int, report: AppendReport) -> None:
        self.total += report
        self.models[champion.name] = model_entry(champion, events, report)

    def finish(self, title: str) -> dict[str, Any]:
        """Print the per-model table (and any live != batch warning); the report's details."""
        print_models(self.ctx, title, self.models)
        warn_differing(self.ctx, self.total)
        return {
            "store": str(self.predictions.folder),
            "models_predicted": len(self.models),
            **report_dict(self.total),
            "models": self.models,
        }


def refresh_derived(ctx: StageContext, who: str) -> list[str]:
    """Run the features and targets stages where the candles changed since they were built."""
    symbols = list(ctx.config.data.symbols)
    ran: list[str] = []
    if not built_on_current_candles(ctx.store, "features_metadata", symbols):
        ctx.console.print(f"{who}: features are older than the candles; rebuilding them")
        run_stage("features", ctx)
        ran.append("features")
    if not built_on_current_candles(ctx.store, "targets_meta", symbols):
        ctx.console.print(f"{who}: targets are older than the candles; rebuilding them")
        run_stage("targets", ctx)
        ran.append("targets")
    return ran


def take_new_history(ctx: StageContext, who: str) -> dict[str, int]:
    """Append the bars of ``data.dir`` after the stored candles (validated, as live does).

    A batch over a longer history so predicts it instead of ignoring it, and a retrain refits
    on it; a bar that contradicts
    a stored one is bad input (exit 2), and nothing is appended unless every symbol passes.
    Candles that live cycles appended as parts are compacted into one file here.
    """
    config, store = ctx.config, ctx.store
    if config.data.dir is None:
        return {}
    symbols = list(config.data.symbols)
    merged: dict[str, Merged] = {}
    for symbol in symbols:
        path = candles_file(store, symbol)
        stored = parted.read_frame(path)
        merged[symbol] = merge_new_bars(
            stored, load_symbol(config.data, symbol), config.data.interval_seconds
        )
    taken = {s: m.new_rows for s, m in merged.items() if m.new_rows}
    for symbol in symbols:
        path = store.candles_path(symbol)
        if symbol in taken or parted.has_parts(path):
            parted.write_compacted(path, to_arrow(merged[symbol].frame))
    if taken:
        ctx.console.print(
            f"{who}: appended new bars from data.dir: "
            + ", ".join(f"{s} +{n}" for s, n in taken.items())
        )
    return taken
