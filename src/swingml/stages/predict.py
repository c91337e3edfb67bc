"""Stage glue of ``swingml predict batch|live`` (SPEC §9): champions → the prediction store.

``batch`` predicts every event row of every champion's variant over the whole history and appends
what is not stored yet. Bars in ``data.dir`` after the stored ones are first validated and
appended (as live appends them), then features and targets are brought up to date where the
candles have grown since they were built. ``live`` is in ``stages/predict_live.py``. Both hold
the prediction store's lock; a re-run of either adds nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from swingml.errors import BadInputError
from swingml.features.matrix import load_matrix, read_metadata
from swingml.inference.batch import predict_events, rows_at
from swingml.inference.champions import Champion, load_champions
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import StageContext, StageOutcome
from swingml.workflow.serving import Serving, refresh_derived, take_new_history


def _champions(ctx: StageContext, serving: Serving) -> tuple[list[Champion], list[str]]:
    metadata = read_metadata(ctx.store.features_dir())
    registry = serving.registry()
    champions, skipped = load_champions(
        registry,
        ctx.config.data.symbols,
        metadata,
        ctx.config.data.interval,
        ctx.config.registry.model_prefix,
    )
    if not champions:
        raise BadInputError(
            registry.registry_uri,
            f"no model has a champion version for {', '.join(ctx.config.data.symbols)}",
            "run `swingml train` first",
        )
    if skipped:
        ctx.console.print(f"predict: skipping champions of other symbols: {', '.join(skipped)}")
    return champions, skipped


def batch(ctx: StageContext) -> StageOutcome:
    """``swingml predict batch``: each champion on every event row of its variant, appended once."""
    store = ctx.store
    serving = Serving.of(ctx)
    with serving.predictions.locked():
        taken = take_new_history(ctx, "predict batch")
        refreshed = refresh_derived(ctx, "predict batch")
        champions, skipped = _champions(ctx, serving)
        fdir = store.features_dir()
        for symbol, mine in serving.by_symbol(champions).items():
            if not mine:
                continue
            events = {c.name: load_variant(store, c.variant) for c in mine}
            stamps = pd.concat([e["timestamp"] for e in events.values()]).drop_duplicates()
            matrix = load_matrix(fdir, symbol, serving.columns(mine), timestamps=stamps)
            for champion in mine:
                frame = events[champion.name]
                X = _rows(matrix, frame["timestamp"], champion, str(fdir))
                rows = predict_events(champion, frame["timestamp"], X, frame["label"], "batch")
                serving.append(champion, rows, len(frame), compact=True)
    details = serving.finish("batch predictions")
    total = serving.total
    ctx.console.print(
        f"predict batch: {details['models_predicted']} champion(s), {total.written:,} rows "
        f"written, {total.present:,} already stored, {total.labels_resolved:,} labels resolved"
    )
    details.update(champions_skipped=skipped, refreshed_stages=refreshed, new_bars=taken)
    return StageOutcome(tasks=details["models_predicted"], failed_tasks=0, details=details)


def _rows(matrix: pd.DataFrame, stamps: pd.Series, champion: Champion, where: str) -> np.ndarray:
    try:
        return rows_at(matrix, stamps, champion.features, where)
    except LookupError as exc:
        raise BadInputError(
            str(exc),
            f"{champion.variant.id}: an event bar has no features",
            "run `swingml features`",
        ) from None
