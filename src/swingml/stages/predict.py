"""Stage glue of ``swingml predict batch|live`` (SPEC §9): champions → the prediction store.

``batch`` predicts every event row of every champion's variant over the whole history (features
and targets are first brought up to date where the candles have grown since they were built) and
appends what is not stored yet. ``live`` (one-shot, for cron) appends new candles from
``inference.new_candles_dir`` (or ``data.dir``, re-read), computes the champions' features for the
pending bars from a tail of history, finds the events among them and appends their predictions.
Both hold the prediction store's lock; a re-run of either adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich import box
from rich.table import Table

from swingml.config import Config, DataConfig
from swingml.data.frame import timestamps_ms, to_arrow
from swingml.data.gaps import iso_ms
from swingml.data.load import load_symbol
from swingml.errors import BadInputError
from swingml.features.matrix import METADATA, load_matrix, read_metadata, symbol_timestamps
from swingml.features.plan import FeaturePlan, make_plan, plan_spec
from swingml.inference.batch import predict_events, rows_at
from swingml.inference.candles import Merged, merge_new_bars
from swingml.inference.champions import Champion, load_champions
from swingml.inference.live import Pending, new_events, pending
from swingml.inference.live_features import ColumnPlan, compute_at, resolve_columns
from swingml.inference.store import AppendReport, PredictionStore
from swingml.pipeline import StageContext, StageOutcome, run_stage
from swingml.registry.mlflow_registry import MlflowRegistry
from swingml.store import RunStore, file_fingerprint, read_json, write_parquet_atomic
from swingml.targets.grid import load_variant

PREDICTIONS = "predictions"


def prediction_store(store: RunStore) -> PredictionStore:
    """The run's prediction store (``predictions/``)."""
    return PredictionStore(store.folder(PREDICTIONS))


def _registry(config: Config, store: RunStore) -> MlflowRegistry:
    section = config.registry
    db = store.dataset("mlflow_db")
    if section.tracking_uri is None and not db.is_file():
        raise BadInputError(
            str(db), "no model registry in this run", "run `swingml train` (or `swingml run`) first"
        )
    return MlflowRegistry.for_run(
        section.tracking_uri, section.registry_uri, section.experiment, store.root
    )


def _champions(ctx: StageContext) -> tuple[list[Champion], list[str]]:
    metadata = read_metadata(ctx.store.features_dir())
    registry = _registry(ctx.config, ctx.store)
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


def _candles_current(recorded: Mapping[str, Any], store: RunStore, symbols: Sequence[str]) -> bool:
    return all(
        store.candles_path(s).is_file()
        and recorded.get(s) == file_fingerprint(store.candles_path(s))
        for s in symbols
    )


def _features_current(store: RunStore, symbols: Sequence[str]) -> bool:
    path = store.features_dir() / METADATA
    if not path.is_file():
        return False
    groups = read_json(path).get("symbols", {})
    prints = {s: groups.get(s, {}).get("candles_fingerprint") for s in symbols}
    return _candles_current(prints, store, symbols)


def _targets_current(store: RunStore, symbols: Sequence[str]) -> bool:
    path = store.dataset("targets_meta")
    if not path.is_file():
        return False
    return _candles_current(read_json(path).get("candles", {}), store, symbols)


def _refresh(ctx: StageContext) -> list[str]:
    """Run the features and targets stages where the candles changed since they were built."""
    symbols = list(ctx.config.data.symbols)
    ran: list[str] = []
    if not _features_current(ctx.store, symbols):
        ctx.console.print("predict batch: features are older than the candles; rebuilding them")
        run_stage("features", ctx)
        ran.append("features")
    if not _targets_current(ctx.store, symbols):
        ctx.console.print("predict batch: targets are older than the candles; rebuilding them")
        run_stage("targets", ctx)
        ran.append("targets")
    return ran


def _by_symbol(champions: Sequence[Champion], symbols: Sequence[str]) -> dict[str, list[Champion]]:
    return {s: [c for c in champions if c.variant.symbol == s] for s in symbols}


def _union(columns: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(name for group in columns for name in group))


def _report_dict(report: AppendReport) -> dict[str, int]:
    return {
        "rows_written": report.written,
        "rows_present": report.present,
        "rows_differing": report.differing,
        "labels_resolved": report.labels_resolved,
    }


def _model_entry(champion: Champion, events: int, report: AppendReport) -> dict[str, Any]:
    """One model's line of the stage's ``models`` report."""
    return {
        "version": champion.version,
        "variant": champion.variant.id,
        "events": events,
        **_report_dict(report),
    }


def _warn_differing(ctx: StageContext, report: AppendReport) -> None:
    if report.differing:
        ctx.console.print(
            f"[red]warning[/red]: {report.differing} stored prediction(s) differ from what "
            "this run computes for the same bar and model version (live != batch); the stored "
            "rows are kept. Check that the feature config matches the one the store was built with."
        )


def _print_models(ctx: StageContext, title: str, rows: Mapping[str, Mapping[str, Any]]) -> None:
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


def batch(ctx: StageContext) -> StageOutcome:
    """``swingml predict batch``: each champion on every event row of its variant, appended once."""
    config, store = ctx.config, ctx.store
    predictions = prediction_store(store)
    with predictions.locked():
        refreshed = _refresh(ctx)
        champions, skipped = _champions(ctx)
        total = AppendReport()
        models: dict[str, dict[str, Any]] = {}
        fdir = store.features_dir()
        for symbol, mine in _by_symbol(champions, config.data.symbols).items():
            if not mine:
                continue
            events = {c.name: load_variant(store, c.variant) for c in mine}
            stamps = pd.concat([e["timestamp"] for e in events.values()]).drop_duplicates()
            columns = _union([c.features for c in mine])
            matrix = load_matrix(fdir, symbol, columns, timestamps=stamps)
            for champion in mine:
                frame = events[champion.name]
                X = _rows(matrix, frame["timestamp"], champion, str(fdir))
                rows = predict_events(champion, frame["timestamp"], X, frame["label"], "batch")
                report = predictions.append(champion.name, rows)
                total += report
                models[champion.name] = _model_entry(champion, len(frame), report)
    _print_models(ctx, "batch predictions", models)
    _warn_differing(ctx, total)
    ctx.console.print(
        f"predict batch: {len(models)} champion(s), {total.written:,} rows written, "
        f"{total.present:,} already stored, {total.labels_resolved:,} labels resolved"
    )
    details: dict[str, Any] = {
        "store": str(predictions.folder),
        "models_predicted": len(models),
        "champions_skipped": skipped,
        "refreshed_stages": refreshed,
        **_report_dict(total),
        "models": models,
    }
    return StageOutcome(tasks=len(models), failed_tasks=0, details=details)


def _rows(matrix: pd.DataFrame, stamps: pd.Series, champion: Champion, where: str) -> np.ndarray:
    try:
        return rows_at(matrix, stamps, champion.features, where)
    except LookupError as exc:
        raise BadInputError(
            str(exc),
            f"{champion.variant.id}: an event bar has no features",
            "run `swingml features`",
        ) from None


# ---- live -------------------------------------------------------------------------------------


def _source(config: Config) -> DataConfig:
    """Where live reads new candles: ``inference.new_candles_dir``, else ``data.dir``."""
    folder = config.inference.new_candles_dir or config.data.dir
    if folder is None:
        raise BadInputError(
            "config key inference.new_candles_dir",
            "is null and so is data.dir (the synthetic market has no new bars to read)",
            "--set inference.new_candles_dir=<folder with <SYMBOL>-<interval>.<ext> files>",
        )
    return config.data.model_copy(update={"dir": folder})


def _stored_candles(store: RunStore, symbol: str) -> pd.DataFrame:
    path = store.candles_path(symbol)
    if not path.is_file():
        raise BadInputError(str(path), f"no candles for {symbol}", "run `swingml run` first")
    try:
        frame: pd.DataFrame = pd.read_parquet(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInputError(
            str(path), f"not a readable Parquet file ({exc})", "run `swingml data`"
        ) from None
    return frame


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


def _live_symbol(
    config: Config,
    champions: Sequence[Champion],
    plan: FeaturePlan,
    columns: ColumnPlan,
    candles: Mapping[str, pd.DataFrame],
    span: Pending,
    predictions: PredictionStore,
) -> tuple[AppendReport, dict[str, Any]]:
    """Predict the events of one symbol's pending bars with its champions."""
    events = {
        c.name: new_events(candles[span.symbol], c.variant, config.targets, span) for c in champions
    }
    stamps = np.unique(
        np.concatenate([timestamps_ms(e) for e in events.values()] + [np.empty(0, np.int64)])
    )
    start = time.perf_counter()
    values, read = compute_at(plan, columns, candles, stamps, config.inference.live_history_bars)
    features_s = time.perf_counter() - start
    matrix = pd.DataFrame(values, columns=list(columns.names))
    matrix.insert(
        0, "timestamp", pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")
    )
    total = AppendReport()
    per_model: dict[str, dict[str, Any]] = {}
    for champion in champions:
        frame = events[champion.name]
        X = rows_at(matrix, frame["timestamp"], champion.features, "live features")
        rows = predict_events(champion, frame["timestamp"], X, frame["label"], "live")
        report = predictions.append(champion.name, rows)
        total += report
        per_model[champion.name] = _model_entry(champion, len(frame), report)
    info = {
        "events": int(sum(len(e) for e in events.values())),
        "history_bars_read": read,
        "features_s": round(features_s, 3),
        "models": per_model,
    }
    return total, info


def live(ctx: StageContext) -> StageOutcome:
    """``swingml predict live``: append new candles, predict the new events once (cron-safe)."""
    config, store = ctx.config, ctx.store
    source = _source(config)
    symbols = list(config.data.symbols)
    predictions = prediction_store(store)
    with predictions.locked():
        champions, skipped = _champions(ctx)
        _check_cadence(config, champions)
        by_symbol = _by_symbol(champions, symbols)
        plan = make_plan(plan_spec(config))
        metadata = read_metadata(store.features_dir())
        columns = {  # the feature config must still compute the champions' inputs
            s: resolve_columns(plan, metadata, _union([c.features for c in mine]), symbols)
            for s, mine in by_symbol.items()
        }
        merged: dict[str, Merged] = {}
        for symbol in symbols:  # every symbol validated before anything is written
            stored = _stored_candles(store, symbol)
            merged[symbol] = merge_new_bars(
                stored, load_symbol(source, symbol), config.data.interval_seconds
            )
        for symbol, item in merged.items():
            if item.new_rows:
                write_parquet_atomic(store.candles_path(symbol), to_arrow(item.frame))
        candles = {s: merged[s].frame for s in symbols}
        marks = _watermarks(predictions, store, symbols)
        spans = pending(candles, marks)
        total = AppendReport()
        per_symbol: dict[str, dict[str, Any]] = {}
        models: dict[str, dict[str, Any]] = {}
        waiting: list[str] = []
        for symbol in symbols:
            span = spans[symbol]
            entry: dict[str, Any] = {
                "new_bars": merged[symbol].new_rows,
                "pending_bars": span.bars,
                "last_bar": iso_ms(merged[symbol].last_ms),
            }
            per_symbol[symbol] = entry
            if span.bars == 0 or span.bars < config.inference.cadence_bars:
                if span.bars:
                    waiting.append(symbol)
                entry["events"] = 0
                continue
            if by_symbol[symbol]:
                report, info = _live_symbol(
                    config, by_symbol[symbol], plan, columns[symbol], candles, span, predictions
                )
                total += report
                models.update(info.pop("models"))
                entry.update(info)
            else:
                entry["events"] = 0
            marks[symbol] = span.until_ms
            entry["watermark"] = iso_ms(span.until_ms)
        predictions.set_watermarks(marks)
    _print_models(ctx, "live predictions", models)
    _warn_differing(ctx, total)
    new_bars = sum(e["new_bars"] for e in per_symbol.values())
    ctx.console.print(
        f"predict live: {new_bars} new bar(s), {sum(e['events'] for e in per_symbol.values())} "
        f"event(s), {total.written} prediction row(s) written, {total.present} already stored"
        + (
            f"; waiting for {config.inference.cadence_bars} bars: {', '.join(waiting)}"
            if waiting
            else ""
        )
    )
    details: dict[str, Any] = {
        "store": str(predictions.folder),
        "source": str(source.dir),
        "models_predicted": len(models),
        "champions_skipped": skipped,
        "new_bars": new_bars,
        "events": sum(e["events"] for e in per_symbol.values()),
        "cadence_bars": config.inference.cadence_bars,
        "waiting": waiting,
        "symbols": per_symbol,
        **_report_dict(total),
        "models": models,
    }
    return StageOutcome(tasks=len(models), failed_tasks=0, details=details)
