"""What batch and live serving share: the run's prediction store, the registry champions are
served from, and each model's line of the stages' report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.inference.champions import Champion
from swingml.inference.store import AppendReport, PredictionStore
from swingml.pipeline import StageContext
from swingml.registry.mlflow_registry import MlflowRegistry
from swingml.store import RunStore

PREDICTIONS = "predictions"


def prediction_store(store: RunStore) -> PredictionStore:
    """The run's prediction store (``predictions/``)."""
    return PredictionStore(store.folder(PREDICTIONS))


def open_registry(config: Config, store: RunStore) -> MlflowRegistry:
    section = config.registry
    db = store.dataset("mlflow_db")
    if section.tracking_uri is None and not db.is_file():
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
