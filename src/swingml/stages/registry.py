"""Stage glue of ``swingml registry list``: the registered models as a table (SPEC §8).

Shows each model's name, version count, champion version, the champion's variant and hold-out
metrics. Reads the registry only; on the embedded SQLite store it refuses to create an empty one.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from swingml.errors import BadInputError
from swingml.pipeline import StageContext, StageOutcome
from swingml.registry.mlflow_registry import MlflowRegistry


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def list_models(ctx: StageContext) -> StageOutcome:
    """Print every registered model with its champion and hold-out metrics."""
    section = ctx.config.registry
    db = ctx.store.dataset("mlflow_db")
    if section.tracking_uri is None and not db.is_file():
        raise BadInputError(str(db), "no model registry in this run", "run `swingml train` first")
    registry = MlflowRegistry.for_run(
        section.tracking_uri, section.registry_uri, section.experiment, ctx.store.root
    )
    models = registry.models()
    table = Table(title=f"models in {registry.registry_uri}")
    for column in ("name", "versions", "champion", "variant", "hold-out AP", "prior AP", "stage 1"):
        table.add_column(column, justify="right" if column != "variant" else "left")
    for m in models:
        table.add_row(
            m.name,
            str(m.versions),
            m.champion_version or "-",
            m.variant_id,
            _fmt(m.metrics.get("holdout_macro_ap")),
            _fmt(m.metrics.get("prior_macro_ap")),
            _fmt(m.metrics.get("stage1_holdout_macro_ap")),
        )
    Console(width=160).print(table)
    champions = sum(m.champion_version is not None for m in models)
    return StageOutcome(details={"models": len(models), "champions": champions})
