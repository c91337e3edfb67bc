"""Stage glue of ``swingml registry list|versions|promote|rollback`` (SPEC §8).

``list`` shows each model's name, version count, champion version, the champion's variant and
hold-out metrics; ``versions`` every version of one model with the aliases on it; ``promote`` and
``rollback`` move an alias by hand, recorded on the version. On the embedded SQLite store they
refuse to create an empty one.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from swingml.registry.mlflow_registry import AliasMove, VersionSummary
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.serving import open_registry


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def list_models(ctx: StageContext) -> StageOutcome:
    """Print every registered model with its champion and hold-out metrics."""
    registry = open_registry(ctx.config, ctx.store)
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


def _saw(data: dict[str, str]) -> str:
    """What data a version trained on, from its tags (``-`` for versions older than the tags)."""
    role = data.get("data_role")
    if role is None:
        return "-"
    through = data.get("trained_through", "?")[:16]
    line = f"{role}: {data.get('trained_rows', '?')} rows to {through}"
    if data.get("evaluated_version"):
        line += f" (scored as v{data['evaluated_version']})"
    return line


def _last_move(alias: str, version: VersionSummary) -> str:
    """``champion -> v3: promote by ana at … (replaced v2): reason``, from the version tags."""
    moves = version.moves
    line = f"{alias} -> v{version.version}: {moves.get(f'{alias}_move', 'set')}"
    if moves.get(f"{alias}_by"):
        line += f" by {moves[f'{alias}_by']} at {moves.get(f'{alias}_at', '?')}"
    if moves.get(f"{alias}_previous"):
        line += f" (replaced v{moves[f'{alias}_previous']})"
    if moves.get(f"{alias}_reason"):
        line += f": {moves[f'{alias}_reason']}"
    return line


def show_versions(ctx: StageContext, name: str) -> StageOutcome:
    """``swingml registry versions NAME``: every version, its metrics, data and aliases."""
    registry = open_registry(ctx.config, ctx.store)
    versions = registry.versions(name)
    table = Table(title=f"versions of {name} in {registry.registry_uri}")
    columns = (
        "version",
        "aliases",
        "variant",
        "interval",
        "data",
        "saw",
        "hold-out AP",
        "prior AP",
    )
    for column in (*columns, "created"):
        table.add_column(column, justify="right" if column.endswith("AP") else "left")
    for v in versions:
        table.add_row(
            v.version,
            ",".join(v.aliases) or "-",
            v.variant_id,
            v.interval or "-",
            v.data_fingerprint[:12],
            _saw(v.data),
            _fmt(v.metrics.get("holdout_macro_ap")),
            _fmt(v.metrics.get("prior_macro_ap")),
            v.created,
        )
    console = Console(width=160)
    console.print(table)
    for v in versions:
        for alias in v.aliases:
            console.print(_last_move(alias, v), highlight=False, soft_wrap=True)
        if v.data.get("gate_decision"):
            line = f"retrain gate on v{v.version}: {v.data['gate_decision']}: "
            console.print(line + v.data.get("gate_reason", ""), highlight=False, soft_wrap=True)
    aliases = {a: v.version for v in versions for a in v.aliases}
    return StageOutcome(details={"model": name, "versions": len(versions), "aliases": aliases})


def promote(ctx: StageContext, name: str, version: str, alias: str, reason: str) -> StageOutcome:
    """``swingml registry promote``: point an alias at a version by hand (recorded on it)."""
    move = open_registry(ctx.config, ctx.store).promote(name, version, alias, reason)
    was = "nothing" if move.previous is None else f"version {move.previous}"
    ctx.console.print(f"{name}: {alias} -> version {move.version} (was {was})")
    return StageOutcome(details={"model": name, "alias": alias, **_move_details(move)})


def rollback(ctx: StageContext, name: str, alias: str, reason: str) -> StageOutcome:
    """``swingml registry rollback``: the alias goes back to the version it replaced."""
    move = open_registry(ctx.config, ctx.store).rollback(name, alias, reason)
    ctx.console.print(
        f"{name}: {alias} rolled back to version {move.version} (was {move.previous})"
    )
    return StageOutcome(details={"model": name, "alias": alias, **_move_details(move)})


def _move_details(move: AliasMove) -> dict[str, str | None]:
    return {"version": move.version, "previous": move.previous}
