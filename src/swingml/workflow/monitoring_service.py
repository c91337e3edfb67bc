"""The monitoring step of ``swingml monitor`` and of each live cycle: figures, files, exports.

Workflow-level (beside ``serving``): it loads the run's datasets and writes its files around the
pure ``swingml.monitoring`` computation. Reads and writes ``monitoring/`` in the run directory:

- ``reference/<model>-v<version>.parquet``: the champion's training reference (its inputs and
  class probabilities on the last ``monitoring.reference_rows`` development rows of its variant),
  built once per version;
- ``inputs/<model>.parquet``: the live input rows each cycle predicted (the drift window);
- ``history/<YYYY-MM-DD>.parquet``: one row per figure and cycle (model figures, flagged
  features, operational figures), one file a day so that an append stays small;
- ``latest.json``: the latest state and ``status`` (``ok`` | ``warn`` | ``alert``);
- ``metrics.prom`` (or ``monitoring.prometheus_textfile``): the same figures as Prometheus
  gauges, for node_exporter's textfile collector.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prometheus_client import push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from swingml.config import Config
from swingml.features.matrix import load_matrix, symbol_timestamps
from swingml.inference.champions import Champion, ChampionCache
from swingml.inference.store import PROBA, PredictionStore, stamps_ms
from swingml.io import parted
from swingml.io.store import RunStore, read_json, write_json_atomic, write_parquet_atomic
from swingml.monitoring.assess import ModelFigures, assess
from swingml.monitoring.drift import ColumnReference
from swingml.monitoring.live_rows import drift_window, labels_now, stored_labels, unresolved
from swingml.monitoring.prometheus import metrics_registry
from swingml.monitoring.reference import build_reference, development_tail, read_reference
from swingml.monitoring.state import history_rows, latest_state, operational_figures
from swingml.training.model import predict
from swingml.workflow.loading import load_variant
from swingml.workflow.pipeline import StageContext

MONITORING = "monitoring"


def _dir(store: RunStore, *parts: str) -> Path:
    return store.path(MONITORING, *parts)


def reference_tables(
    store: RunStore, config: Config, champion: Champion
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The champion's reference tables (features, probabilities), built once per version."""
    base = _dir(store, "reference", f"{champion.name}-v{champion.version}")
    fpath, ppath = base.with_suffix(".features.parquet"), base.with_suffix(".proba.parquet")
    if fpath.is_file() and ppath.is_file():
        return pd.read_parquet(fpath), pd.read_parquet(ppath)
    events = load_variant(store, champion.variant)
    stamps = symbol_timestamps(store.features_dir(), champion.variant.symbol)
    section = config.monitoring
    dev = development_tail(events, stamps, config.split.holdout_fraction, section.reference_rows)
    matrix = load_matrix(
        store.features_dir(), champion.variant.symbol, champion.features, dev["timestamp"]
    )
    X = matrix[list(champion.features)].to_numpy(np.float32)
    proba = predict(champion.booster, X) if len(X) else np.empty((0, 3))
    bins = config.monitoring.bins
    features = build_reference({n: X[:, j] for j, n in enumerate(champion.features)}, bins)
    probas = build_reference({p: proba[:, j] for j, p in enumerate(PROBA)}, bins)
    write_parquet_atomic(fpath, features)
    write_parquet_atomic(ppath, probas)
    return features, probas


def record_inputs(store: RunStore, inputs: Mapping[str, pd.DataFrame], keep: int) -> None:
    """Append each model's live input rows to its drift window (the last ``keep`` rows)."""
    for model, rows in inputs.items():
        if not len(rows):
            continue
        path = _dir(store, "inputs", f"{model}.parquet")
        old = pd.read_parquet(path) if path.is_file() else None
        write_parquet_atomic(path, drift_window(old, rows, keep))


def _read_inputs(store: RunStore, model: str, version: str) -> pd.DataFrame:
    path = _dir(store, "inputs", f"{model}.parquet")
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_parquet(path)
    return frame[frame["version"].astype(str) == version].reset_index(drop=True)


def _labels(
    store: RunStore,
    config: Config,
    champion: Champion,
    rows: pd.DataFrame,
    candles: pd.DataFrame | None = None,
) -> pd.Series:
    """The labels of ``rows`` (live predictions) as known now: stored, else from the candles
    (``candles``: the symbol's candles a live cycle holds already; read when None)."""
    if not unresolved(rows):
        return stored_labels(rows)
    if candles is None:
        candles = parted.read_frame(store.candles_path(champion.variant.symbol))
    return labels_now(rows, candles, champion, config.targets)


References = dict[tuple[str, str], tuple[dict[str, ColumnReference], dict[str, ColumnReference]]]


def references_of(
    store: RunStore, config: Config, champion: Champion, held: References | None = None
) -> tuple[dict[str, ColumnReference], dict[str, ColumnReference]]:
    """The champion's reference summaries (kept in ``held`` across cycles when given)."""
    key = (champion.name, champion.version)
    if held is not None and key in held:
        return held[key]
    features, probas = reference_tables(store, config, champion)
    refs = read_reference(features), read_reference(probas)
    if held is not None:
        held[key] = refs
    return refs


def figures_of(
    store: RunStore,
    config: Config,
    champion: Champion,
    holdout_ap: float | None,
    held: References | None = None,
    candles: Mapping[str, pd.DataFrame] | None = None,
) -> ModelFigures:
    """One champion's monitoring figures, from its stored references, inputs and predictions.

    The live predictions read are those since the first row of the model's drift window (the
    inputs of every live row are recorded there), so the read does not grow with the history.
    """
    feature_refs, proba_refs = references_of(store, config, champion, held)
    inputs = _read_inputs(store, champion.name, champion.version)
    since = int(stamps_ms(inputs["timestamp"]).min()) if len(inputs) else None
    stored = PredictionStore(store.path("predictions")).read(champion.name, since)
    mine = stored[
        (stored["version"].astype(str) == champion.version) & (stored["source"] == "live")
    ]
    mine = mine.tail(max(config.monitoring.window, config.monitoring.ap_window)).reset_index(
        drop=True
    )
    held_candles = (candles or {}).get(champion.variant.symbol)
    labels = _labels(store, config, champion, mine, held_candles)
    return assess(
        champion.name,
        champion.version,
        feature_refs,
        proba_refs,
        inputs,
        mine,
        labels,
        holdout_ap,
        config.monitoring,
    )


def holdout_ap(cache: ChampionCache, name: str) -> float | None:
    value = cache.tags.get(name, {}).get("holdout_macro_ap")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _append_history(store: RunStore, frame: pd.DataFrame, now: pd.Timestamp) -> None:
    path = _dir(store, "history", f"{now.strftime('%Y-%m-%d')}.parquet")
    if path.is_file():
        frame = pd.concat([pd.read_parquet(path), frame], ignore_index=True)
    write_parquet_atomic(path, frame)


def _prometheus(
    config: Config, store: RunStore, latest: Mapping[str, Any]
) -> tuple[Path, str | None]:
    """Write the gauges to the textfile and push them when a gateway is set; a push error."""
    path = Path(config.monitoring.prometheus_textfile or _dir(store, "metrics.prom"))
    path.parent.mkdir(parents=True, exist_ok=True)
    reg = metrics_registry(latest)
    write_to_textfile(str(path), reg)
    url = config.monitoring.pushgateway_url
    if url is None:
        return path, None
    try:  # a gateway that is down must not fail the cycle: it is reported instead
        push_to_gateway(
            url, job=config.monitoring.push_job, registry=reg, timeout=10, handler=gateway_handler()
        )
    except OSError as exc:
        return path, f"{url}: {exc}"
    return path, None


GATEWAY_USERNAME = "SWINGML_PUSHGATEWAY_USERNAME"
GATEWAY_PASSWORD = "SWINGML_PUSHGATEWAY_PASSWORD"


def gateway_handler() -> Callable[..., Any]:
    """How metrics reach the push gateway: with basic auth when ``SWINGML_PUSHGATEWAY_USERNAME``
    and ``SWINGML_PUSHGATEWAY_PASSWORD`` are set (credentials come from the environment, never
    from ``monitoring.pushgateway_url``, which the config loader refuses to hold them)."""
    username, password = os.environ.get(GATEWAY_USERNAME), os.environ.get(GATEWAY_PASSWORD)
    if not username or not password:
        return default_handler

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, username, password)

    return handler


def publish(
    ctx: StageContext,
    figures: Mapping[str, ModelFigures],
    operational: Mapping[str, Any],
    keep: Sequence[str],
) -> dict[str, Any]:
    """Merge figures into ``latest.json`` (models in ``keep`` only); write history and metrics."""
    store = ctx.store
    latest_path = _dir(store, "latest.json")
    old = read_json(latest_path) if latest_path.is_file() else {}
    now = pd.Timestamp.now(tz="UTC")
    latest = latest_state(now, old, figures, operational, keep)
    write_json_atomic(latest_path, latest)
    _append_history(store, history_rows(now, figures, operational), now)
    prom, push_error = _prometheus(ctx.config, store, latest)
    if push_error:
        ctx.console.print(f"[yellow]warning[/yellow]: push gateway: {push_error}")
    return {
        "health": latest["status"],
        "models_assessed": len(figures),
        "alerting": sorted(k for k, v in latest["models"].items() if v.get("status") == "alert"),
        "latest": str(latest_path),
        "prometheus": str(prom),
        "pushgateway": ctx.config.monitoring.pushgateway_url,
        "push_error": push_error,
    }


def observe_cycle(
    ctx: StageContext,
    cache: ChampionCache,
    champions: Sequence[Champion],
    inputs: Mapping[str, pd.DataFrame],
    details: Mapping[str, Any],
    held: References | None = None,
    candles: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """After a live cycle: record its inputs and refresh the figures of the models that got rows.

    A champion's reference is built when it is first served (not when its first event comes),
    so later cycles only read what they keep in ``held``.
    """
    config = ctx.config
    keep = 2 * max(config.monitoring.window, config.monitoring.ap_window)
    record_inputs(ctx.store, inputs, keep)
    for c in champions:
        references_of(ctx.store, config, c, held)
    figures = {
        c.name: figures_of(ctx.store, config, c, holdout_ap(cache, c.name), held, candles)
        for c in champions
        if c.name in inputs
    }
    return publish(ctx, figures, operational_figures(details), [c.name for c in champions])
