"""Stage glue of ``swingml predict live [--once|--follow]`` (SPEC §9): closed bars → predictions.

A cycle, holding the prediction store's lock: append the new bars (``inference.source``), predict
the events of the due symbols' pending bars once (``inference.live_predict``), advance the
watermarks, record monitoring, print one line; the rules are ``inference.cycle``. ``--once`` runs
one cycle (cron, timers, the cloud schedule); ``--follow`` keeps a ``LiveSession`` and runs one
after each bar close. Work per cycle grows with the new bars and champions, not the history.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from swingml.data.append import Merged
from swingml.data.frame import to_arrow
from swingml.errors import BadInputError
from swingml.features.matrix import symbol_timestamps
from swingml.features.plan import FeaturePlan
from swingml.inference import cycle as rules
from swingml.inference.champions import Champion
from swingml.inference.follow import follow_loop, retrain_reason
from swingml.inference.live import pending
from swingml.inference.live_predict import predict_span
from swingml.inference.session import LiveModels
from swingml.inference.source import read_new_bars
from swingml.inference.store import AppendReport
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.workflow.loading import candles_file
from swingml.workflow.monitoring_service import References, observe_cycle
from swingml.workflow.pipeline import StageContext, StageOutcome, run_stage, stage_fn
from swingml.workflow.serving import Serving

STAGE = "predict_live"
Signature = tuple[int, tuple[str, ...]]


@dataclass
class LiveSession:
    """What a ``--follow`` server keeps between cycles (a ``--once`` run builds it afresh): the
    models, the candles as last appended, the monitoring references and its counters."""

    models: LiveModels = field(default_factory=LiveModels)
    stored: dict[str, tuple[Signature, pd.DataFrame]] = field(default_factory=dict)
    references: References = field(default_factory=dict)
    failures: int = 0
    cycles: int = 0


def _stored_candles(session: LiveSession, store: RunStore, symbol: str) -> pd.DataFrame:
    """The stored candles, re-read only when they changed since the last cycle (a ``--follow``
    cycle reads none: it holds them and appends its new bars as a part)."""
    held = session.stored.get(symbol)
    if held is not None and held[0] == parted.signature(store.candles_path(symbol)):
        return held[1]
    path = candles_file(store, symbol)
    try:
        return parted.read_frame(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInputError(
            str(path), f"not a readable Parquet file ({exc})", "run `swingml data`"
        ) from None


def _append_bars(ctx: StageContext, session: LiveSession) -> tuple[str, dict[str, Merged]]:
    """Read, check and append every symbol's new bars (nothing is appended unless all pass)."""
    store, symbols = ctx.store, ctx.config.data.symbols
    base = {s: _stored_candles(session, store, s) for s in symbols}
    source, merged = read_new_bars(ctx.config, base)  # every symbol checked before any append
    for symbol, item in merged.items():
        if item.new_rows:
            parted.append(store.candles_path(symbol), to_arrow(rules.fresh_rows(item)))
    session.stored = {
        s: (parted.signature(store.candles_path(s)), merged[s].frame) for s in symbols
    }
    return source, merged


def _predict_due(
    ctx: StageContext,
    session: LiveSession,
    serving: Serving,
    plan: FeaturePlan,
    grouped: Mapping[str, Sequence[Champion]],
    candles: Mapping[str, pd.DataFrame],
    steps: rules.CyclePlan,
) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame]]:
    """Predict the events of every due symbol and append them once (champion by champion);
    each symbol's figures and the models' input rows."""
    config = ctx.config
    figures: dict[str, dict[str, Any]] = {}
    inputs: dict[str, pd.DataFrame] = {}
    for symbol, step in steps.due():
        if not (mine := grouped[symbol]):
            continue
        columns = session.models.columns_of(symbol, Serving.columns(mine), config.data.symbols)
        history = config.inference.live_history_bars
        predicted, figures[symbol] = predict_span(
            mine, plan, columns, candles, step.span, config.targets, history
        )
        for p in predicted:
            if p.rows is None or p.inputs is None:
                serving.record(p.champion, 0, AppendReport())
                continue
            serving.append(p.champion, p.rows, p.events)
            inputs[p.champion.name] = p.inputs
    return figures, inputs


def cycle(ctx: StageContext, session: LiveSession) -> StageOutcome:
    """One live cycle: append closed bars, predict the new events once, record monitoring."""
    config, store = ctx.config, ctx.store
    symbols = list(config.data.symbols)
    serving = Serving.of(ctx)
    started = time.perf_counter()
    with serving.predictions.locked():
        fdir = store.features_dir()
        plan, champions, skipped = session.models.refresh(config, fdir, serving.registry)
        source, merged = _append_bars(ctx, session)
        candles = {s: merged[s].frame for s in symbols}
        stored = serving.predictions.watermarks()
        marks = rules.start_marks(stored, symbols, lambda s: int(symbol_timestamps(fdir, s)[-1]))
        steps = rules.plan_cycle(
            pending(candles, marks), merged, config.inference, config.data.interval_seconds
        )
        grouped = serving.by_symbol(champions)
        figures, inputs = _predict_due(ctx, session, serving, plan, grouped, candles, steps)
        serving.predictions.set_watermarks(steps.advance(marks))
    cache = session.models.cache
    now_ms = int(time.time() * 1000)
    stale = rules.staleness(champions, cache.created_ms, steps.leader_ms, now_ms, config.inference)
    latency = time.perf_counter() - started
    session.cycles += 1
    per_symbol = steps.symbols(figures)
    details: dict[str, Any] = {
        **serving.finish("live predictions"),
        "source": source,
        "champions_skipped": skipped,
        **rules.cycle_figures(steps, per_symbol, stale, config.inference.cadence_bars),
        "boosters_loaded": cache.loads,
        "cycle_s": round(latency, 3),
        "cycles": session.cycles,
        "failures": session.failures,
        "symbols": per_symbol,
    }
    if config.monitoring.enabled:
        details["monitoring"] = observe_cycle(
            ctx, cache, champions, inputs, details, session.references, candles
        )
    details["health"] = rules.health(
        steps.stalled, stale, details.get("monitoring", {}).get("health")
    )
    total = serving.total
    line = rules.cycle_line(details, total.written, total.present, config.inference.cadence_bars)
    ctx.console.print(line)
    return StageOutcome(tasks=details["models_predicted"], failed_tasks=0, details=details)


def live(ctx: StageContext) -> StageOutcome:
    """``swingml predict live --once``: one cycle (cron-safe; a re-run adds nothing)."""
    return cycle(ctx, LiveSession())


def follow(ctx: StageContext) -> int:
    """``swingml predict live --follow``: a cycle after each bar close until SIGTERM; the count."""
    session = LiveSession()

    def one() -> None:
        try:
            outcome = run_stage(STAGE, ctx, lambda c: cycle(c, session))
        except Exception:
            session.failures += 1
            raise
        _retrain_if_due(ctx, outcome)

    return follow_loop(one, ctx.config.data.interval_seconds, ctx.config.inference, ctx.console)


def _retrain_if_due(ctx: StageContext, outcome: StageOutcome) -> None:
    """With ``retrain.in_follow``: run ``swingml retrain`` when it is due (``retrain_reason``).
    A failed retrain is reported and the service goes on with the champions it has."""
    if not ctx.config.retrain.in_follow:
        return
    alert = outcome.details.get("monitoring", {}).get("health") == "alert"
    stages = ctx.store.read_summary()["stages"]
    why = retrain_reason(stages, ctx.config.retrain, alert, datetime.now(UTC))
    if why is None:
        return
    ctx.console.print(f"predict live: retraining ({why})")
    try:
        run_stage("retrain", ctx, stage_fn("swingml.stages.retrain:run"))
    except Exception as exc:  # the live service outlives a failed retrain
        ctx.console.print(f"[red]retrain failed[/red]: {exc}; serving the current champions")
