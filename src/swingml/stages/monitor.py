"""Stage glue of ``swingml monitor``: every champion's figures now (``monitoring_service``)."""

from __future__ import annotations

import time

from swingml.features.matrix import read_metadata
from swingml.inference.champions import ChampionCache
from swingml.monitoring.state import operational_figures
from swingml.workflow.monitoring_service import figures_of, holdout_ap, publish
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.serving import open_registry


def run(ctx: StageContext) -> StageOutcome:
    """``swingml monitor``: every champion's figures now, written and exported; status says it."""
    start = time.perf_counter()
    cache = ChampionCache()
    registry = open_registry(ctx.config, ctx.store)
    champions, _ = cache.refresh(
        registry,
        ctx.config.data.symbols,
        read_metadata(ctx.store.features_dir()),
        ctx.config.data.interval,
        ctx.config.registry.model_prefix,
    )
    figures = {
        c.name: figures_of(ctx.store, ctx.config, c, holdout_ap(cache, c.name)) for c in champions
    }
    summary = ctx.store.read_summary().get("stages", {}).get("predict_live", {})
    operational = operational_figures(summary)
    operational["monitor_s"] = round(time.perf_counter() - start, 3)
    result = publish(ctx, figures, operational, [c.name for c in champions])
    for name, fig in figures.items():
        ctx.console.print(
            f"{name} v{fig.version}: {fig.status}, {fig.rows} live rows, "
            f"{len(fig.features_alert)} feature(s) alerting, realised AP {fig.realised_macro_ap}",
            highlight=False,
        )
    ctx.console.print(f"monitor: status {result['health']}", highlight=False)
    return StageOutcome(
        tasks=len(figures),
        failed_tasks=0,
        details={**result, "models": {k: f.summary() for k, f in figures.items()}},
    )
