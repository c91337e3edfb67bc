"""Stage glue of ``swingml predict live [--once|--follow]`` (SPEC §9): closed bars → predictions.

A cycle: read new candles (``inference.source``: files in ``inference.new_candles_dir`` or
``data.dir``, or closed bars from the exchange's REST klines API), validate every symbol, append
them atomically, find the pending bars (after each symbol's watermark, up to the common last bar),
detect the new events on a bounded tail, compute the champions' features from a bounded tail,
predict, append once, advance the watermarks, then record monitoring figures. ``--once`` runs one
cycle (cron, systemd timers, the cloud schedule); ``--follow`` keeps a ``LiveSession`` (boosters,
feature plan, store metadata) and runs a cycle after each bar close. Work per cycle is
proportional to the new bars and the champions, not to the history.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from swingml.config import Config, DataConfig
from swingml.data.append import Merged, merge_new_bars
from swingml.data.frame import LoadedCandles, timestamps_ms, to_arrow
from swingml.data.gaps import iso_ms
from swingml.data.klines import fetch_closed, policy_of, server_time_ms
from swingml.data.load import load_symbol
from swingml.errors import BadInputError
from swingml.features.matrix import read_metadata, symbol_timestamps
from swingml.features.plan import FeaturePlan, make_plan, plan_spec
from swingml.inference.batch import predict_events, rows_at
from swingml.inference.champions import Champion, ChampionCache
from swingml.inference.follow import follow_loop, retrain_due
from swingml.inference.live import Pending, new_events_many, pending
from swingml.inference.live_features import ColumnPlan, compute_at, resolve_columns
from swingml.inference.store import AppendReport, PredictionStore
from swingml.io import parted
from swingml.io.store import RunStore
from swingml.registry.mlflow_registry import MlflowRegistry
from swingml.workflow.loading import candles_file
from swingml.workflow.monitoring_service import References, observe_cycle
from swingml.workflow.pipeline import StageContext, StageOutcome, run_stage, stage_fn
from swingml.workflow.serving import Serving

STAGE = "predict_live"
Signature = tuple[int, tuple[str, ...]]
DAY_MS = 86_400_000


@dataclass
class LiveSession:
    """What a ``--follow`` server keeps between cycles (a ``--once`` run builds it afresh)."""

    cache: ChampionCache = field(default_factory=ChampionCache)
    plan: FeaturePlan | None = None
    metadata: dict[str, Any] | None = None
    columns: dict[tuple[str, tuple[str, ...]], ColumnPlan] = field(default_factory=dict)
    stored: dict[str, tuple[Signature, pd.DataFrame]] = field(default_factory=dict)
    registry: MlflowRegistry | None = None
    references: References = field(default_factory=dict)
    failures: int = 0
    cycles: int = 0


def _files_source(config: Config) -> DataConfig:
    """Where a files source reads: ``inference.new_candles_dir``, else ``data.dir``."""
    folder = config.inference.new_candles_dir or config.data.dir
    if folder is None:
        raise BadInputError(
            "config key inference.new_candles_dir",
            "is null and so is data.dir (the synthetic market has no new bars to read)",
            "--set inference.new_candles_dir=<folder with <SYMBOL>-<interval>.<ext> files>, "
            "or --set inference.source=rest",
        )
    return config.data.model_copy(update={"dir": folder})


def _stored_candles(store: RunStore, symbol: str) -> pd.DataFrame:
    path = candles_file(store, symbol)
    try:
        return parted.read_frame(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInputError(
            str(path), f"not a readable Parquet file ({exc})", "run `swingml data`"
        ) from None


def _cached_candles(session: LiveSession, store: RunStore, symbol: str) -> pd.DataFrame:
    """The stored candles, re-read only when they changed since the last cycle (a ``--follow``
    cycle reads none: it holds them and appends its new bars as a part)."""
    held = session.stored.get(symbol)
    if held is not None and held[0] == parted.signature(store.candles_path(symbol)):
        return held[1]
    return _stored_candles(store, symbol)


def _incoming(config: Config, stored: Mapping[str, pd.DataFrame]) -> tuple[str, dict[str, Any]]:
    """Each symbol's new rows as read from the source (not validated), and the source's name."""
    if config.inference.source == "rest":
        policy = policy_of(config.data)
        now = server_time_ms(config.data.fetch.rest_url, policy)  # one cut for every symbol
        out: dict[str, Any] = {}
        for symbol, frame in stored.items():
            since = int(timestamps_ms(frame)[-1])
            out[symbol] = fetch_closed(config.data, symbol, since, policy, now).loaded
        return config.data.fetch.rest_url, out
    source = _files_source(config)
    return str(source.dir), {s: load_symbol(source, s) for s in stored}


def merge_sources(
    stored: Mapping[str, pd.DataFrame], loaded: Mapping[str, LoadedCandles], interval_s: int
) -> dict[str, Merged]:
    """Every symbol's new rows validated and merged (raises before anything is written)."""
    return {s: merge_new_bars(stored[s], loaded[s], interval_s) for s in stored}


def _check_cadence(config: Config, champions: Sequence[Champion]) -> None:
    cadence = config.inference.cadence_bars
    shortest = min(champions, key=lambda c: c.horizon(config.targets))
    horizon = shortest.horizon(config.targets)
    if cadence > horizon:
        raise BadInputError(
            f"config key inference.cadence_bars={cadence}",
            f"is longer than the shortest champion horizon ({horizon} bars, {shortest.name}): "
            "events would be predicted after their outcome is known",
            f"set it to at most {horizon}",
        )


def _watermarks(
    predictions: PredictionStore, store: RunStore, symbols: Sequence[str]
) -> dict[str, int]:
    """Stored watermarks; a symbol without one starts after the feature store's last bar."""
    marks = predictions.watermarks()
    for symbol in symbols:
        if symbol not in marks:
            marks[symbol] = int(symbol_timestamps(store.features_dir(), symbol)[-1])
    return {s: marks[s] for s in symbols}


def _columns(
    session: LiveSession, plan: FeaturePlan, mine: Sequence[Champion], symbol: str, config: Config
) -> ColumnPlan:
    names = tuple(Serving.columns(mine))
    key = (symbol, names)
    if key not in session.columns:
        assert session.metadata is not None
        session.columns[key] = resolve_columns(plan, session.metadata, names, config.data.symbols)
    return session.columns[key]


def _live_symbol(
    config: Config,
    champions: Sequence[Champion],
    plan: FeaturePlan,
    columns: ColumnPlan,
    candles: Mapping[str, pd.DataFrame],
    span: Pending,
    serving: Serving,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Predict the events of one symbol's pending bars with its champions (appended through
    ``serving``); the symbol's figures and each model's input rows."""
    start = time.perf_counter()
    found, event_bars = new_events_many(
        candles[span.symbol], [c.variant for c in champions], config.targets, span
    )
    events = {c.name: found[c.variant.id] for c in champions}
    events_s = time.perf_counter() - start
    stamps = np.unique(
        np.concatenate([timestamps_ms(e) for e in events.values()] + [np.empty(0, np.int64)])
    )
    start = time.perf_counter()
    values, read_bars = compute_at(
        plan, columns, candles, stamps, config.inference.live_history_bars
    )
    features_s = time.perf_counter() - start
    matrix = pd.DataFrame(values, columns=list(columns.names))
    matrix.insert(
        0, "timestamp", pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")
    )
    inputs: dict[str, pd.DataFrame] = {}
    for champion in champions:
        frame = events[champion.name]
        if len(frame) == 0:
            serving.record(champion, 0, AppendReport())
            continue
        X = rows_at(matrix, frame["timestamp"], champion.features, "live features")
        rows = predict_events(champion, frame["timestamp"], X, frame["label"], "live")
        serving.append(champion, rows, len(frame))
        got = pd.DataFrame(X, columns=list(champion.features))
        got.insert(0, "timestamp", frame["timestamp"].to_numpy())
        got.insert(1, "version", champion.version)
        inputs[champion.name] = got
    info = {
        "events": int(sum(len(e) for e in events.values())),
        "event_bars_read": event_bars,
        "history_bars_read": read_bars,
        "events_s": round(events_s, 3),
        "features_s": round(features_s, 3),
    }
    return info, inputs


def _staleness(
    config: Config,
    champions: Sequence[Champion],
    created_ms: Mapping[str, int],
    last_ms: int,
) -> dict[str, dict[str, Any]]:
    """Per champion: its age and whether it is stale (``inference.champion_*_max_age_days``)."""
    section = config.inference
    out: dict[str, dict[str, Any]] = {}
    now_ms = int(time.time() * 1000)
    for c in champions:
        created = created_ms.get(c.name, 0)
        age_days = (now_ms - created) / DAY_MS if created else None
        data_age = (last_ms - created) / DAY_MS if created else None
        stale = bool(
            (age_days is not None and age_days > section.champion_max_age_days)
            or (data_age is not None and data_age > section.champion_data_max_age_days)
        )
        out[c.name] = {
            "version": c.version,
            "age_days": None if age_days is None else round(age_days, 3),
            "data_age_days": None if data_age is None else round(data_age, 3),
            "stale": stale,
        }
    return out


def cycle(ctx: StageContext, session: LiveSession) -> StageOutcome:
    """One live cycle: append closed bars, predict the new events once, record monitoring."""
    config, store = ctx.config, ctx.store
    symbols = list(config.data.symbols)
    serving = Serving.of(ctx)
    predictions = serving.predictions
    started = time.perf_counter()
    with predictions.locked():
        if session.metadata is None:
            session.metadata = read_metadata(store.features_dir())
            session.plan = make_plan(plan_spec(config))
        plan = session.plan
        assert plan is not None
        if session.registry is None:
            session.registry = serving.registry()
        registry = session.registry
        champions, skipped = session.cache.refresh(
            registry,
            symbols,
            session.metadata,
            config.data.interval,
            config.registry.model_prefix,
        )
        if not champions:
            raise BadInputError(
                registry.registry_uri,
                f"no model has a champion version for {', '.join(symbols)}",
                "run `swingml train` first",
            )
        _check_cadence(config, champions)
        grouped = serving.by_symbol(champions)
        base = {s: _cached_candles(session, store, s) for s in symbols}
        source, loaded = _incoming(config, base)
        merged = merge_sources(base, loaded, config.data.interval_seconds)  # all checked first
        for symbol, item in merged.items():
            if item.new_rows:
                fresh = item.frame.iloc[len(item.frame) - item.new_rows :]
                parted.append(store.candles_path(symbol), to_arrow(fresh))
        candles = {s: merged[s].frame for s in symbols}
        session.stored = {s: (parted.signature(store.candles_path(s)), candles[s]) for s in symbols}
        marks = _watermarks(predictions, store, symbols)
        spans = pending(candles, marks)
        interval_ms = config.data.interval_seconds * 1000
        leader = max(merged[s].last_ms for s in symbols)
        per_symbol: dict[str, dict[str, Any]] = {}
        inputs: dict[str, pd.DataFrame] = {}
        waiting: list[str] = []
        stalled: list[str] = []
        for symbol in symbols:
            span = spans[symbol]
            behind = (leader - merged[symbol].last_ms) // interval_ms
            if behind > config.inference.stall_limit_bars:
                stalled.append(symbol)
            entry: dict[str, Any] = {
                "new_bars": merged[symbol].new_rows,
                "pending_bars": span.bars,
                "last_bar": iso_ms(merged[symbol].last_ms),
                "bars_behind": int(behind),
                "events": 0,
            }
            per_symbol[symbol] = entry
            if span.bars == 0 or span.bars < config.inference.cadence_bars:
                if span.bars:
                    waiting.append(symbol)
                continue
            if grouped[symbol]:
                columns = _columns(session, plan, grouped[symbol], symbol, config)
                info, got = _live_symbol(
                    config, grouped[symbol], plan, columns, candles, span, serving
                )
                inputs.update(got)
                entry.update(info)
            marks[symbol] = span.until_ms
            entry["watermark"] = iso_ms(span.until_ms)
        predictions.set_watermarks(marks)
    stale = _staleness(config, champions, session.cache.created_ms, leader)
    latency = time.perf_counter() - started
    session.cycles += 1
    status = "alert" if stalled or any(v["stale"] for v in stale.values()) else "ok"
    details: dict[str, Any] = {
        **serving.finish("live predictions"),
        "source": source,
        "champions_skipped": skipped,
        "new_bars": sum(e["new_bars"] for e in per_symbol.values()),
        "events": sum(e["events"] for e in per_symbol.values()),
        "cadence_bars": config.inference.cadence_bars,
        "waiting": waiting,
        "stalled_symbols": stalled,
        "stale_champions": sorted(n for n, v in stale.items() if v["stale"]),
        "champions": stale,
        "boosters_loaded": session.cache.loads,
        "cycle_s": round(latency, 3),
        "cycles": session.cycles,
        "failures": session.failures,
        "symbols": per_symbol,
    }
    if config.monitoring.enabled:
        details["monitoring"] = observe_cycle(
            ctx, session.cache, champions, inputs, details, session.references, candles
        )
        if details["monitoring"].get("health") == "alert":
            status = "alert"
    details["health"] = status
    total = serving.total
    ctx.console.print(
        f"predict live: {details['new_bars']} new bar(s), {details['events']} event(s), "
        f"{total.written} prediction row(s) written, {total.present} already stored; "
        f"status {status}"
        + (f"; stalled: {', '.join(stalled)}" if stalled else "")
        + (
            f"; waiting for {config.inference.cadence_bars} bars: {', '.join(waiting)}"
            if waiting
            else ""
        )
    )
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

    return follow_loop(
        one,
        ctx.config.data.interval_seconds,
        ctx.config.inference.follow_delay_s,
        ctx.config.inference.poll_s,
        ctx.config.inference.max_cycles,
        ctx.console,
    )


def _retrain_if_due(ctx: StageContext, outcome: StageOutcome) -> None:
    """With ``retrain.in_follow``: run ``swingml retrain`` when ``retrain.every`` has passed
    since the last (re)train, or on a drift alert with ``retrain.on_drift``. A failed retrain
    is reported and the service goes on with the champions it has."""
    section = ctx.config.retrain
    if not section.in_follow:
        return
    alert = outcome.details.get("monitoring", {}).get("health") == "alert"
    stages = ctx.store.read_summary()["stages"]
    now = datetime.now(UTC)
    if not (retrain_due(stages, section.every, now) or (section.on_drift and alert)):
        return
    why = "drift alert" if section.on_drift and alert else f"every {section.every}"
    ctx.console.print(f"predict live: retraining ({why})")
    try:
        run_stage("retrain", ctx, stage_fn("swingml.stages.retrain:run"))
    except Exception as exc:  # the live service outlives a failed retrain
        ctx.console.print(f"[red]retrain failed[/red]: {exc}; serving the current champions")
