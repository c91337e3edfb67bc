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
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from swingml.config import Config
from swingml.features.matrix import load_matrix, symbol_timestamps
from swingml.inference.champions import Champion, ChampionCache
from swingml.inference.live import variant_events
from swingml.inference.store import PROBA, PredictionStore, stamps_ms
from swingml.io import parted
from swingml.io.store import RunStore, read_json, write_json_atomic, write_parquet_atomic
from swingml.modeling.splits import holdout_cutoff
from swingml.monitoring.assess import RANK, ModelFigures, assess
from swingml.monitoring.drift import ColumnReference
from swingml.monitoring.reference import build_reference, read_reference
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
    first = pd.Timestamp(int(stamps[0]), unit="ms", tz="UTC")
    last = pd.Timestamp(int(stamps[-1]), unit="ms", tz="UTC")
    cutoff = holdout_cutoff(first, last, config.split.holdout_fraction)
    dev = events[events["timestamp"] < cutoff].tail(config.monitoring.reference_rows)
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
        if old is not None and list(old.columns) == list(rows.columns):
            merged = pd.concat([old, rows], ignore_index=True)
        else:  # first rows, or a new version with other inputs: start the window again
            merged = rows.reset_index(drop=True)
        key = (
            merged["version"].astype(str)
            + "@"
            + pd.Series(stamps_ms(merged["timestamp"])).astype(str)
        )
        merged = merged.loc[~key.duplicated(keep="first").to_numpy()].tail(keep)
        write_parquet_atomic(path, merged.reset_index(drop=True))


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
    label = rows["label"].astype("Int8").reset_index(drop=True)
    if len(rows) == 0 or not bool(label.isna().any()):
        return label
    if candles is None:
        candles = parted.read_frame(store.candles_path(champion.variant.symbol))
    stamps = stamps_ms(candles["timestamp"])
    first = int(stamps_ms(rows["timestamp"]).min())
    horizon = champion.horizon(config.targets)
    back = 8 * (max(champion.variant.w, config.targets.vol_window) + horizon) + 256
    start = max(int(np.searchsorted(stamps, first)) - back, 0)
    events = variant_events(
        candles.iloc[start:].reset_index(drop=True), champion.variant, config.targets
    )
    known = pd.Series(
        events["label"].astype("Int8").to_numpy(), index=stamps_ms(events["timestamp"])
    )
    known = known[~known.index.duplicated()]
    found = known.reindex(stamps_ms(rows["timestamp"]))
    return label.fillna(pd.Series(found.to_numpy(), dtype="Int8"))


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


def _status(models: Mapping[str, Mapping[str, Any]], operational: Mapping[str, Any]) -> str:
    worst = max((RANK.get(str(m.get("status")), 0) for m in models.values()), default=0)
    if operational.get("stalled_symbols") or operational.get("stale_champions"):
        worst = 2
    return ("ok", "warn", "alert")[worst]


def _history_rows(
    now: pd.Timestamp, models: Mapping[str, ModelFigures], operational: Mapping[str, Any]
) -> pd.DataFrame:
    rows: list[tuple[str, str, str, str, float]] = []
    for name, fig in models.items():
        s = fig.summary()
        for metric in ("rows", "max_feature_psi", "max_feature_ks", "realised_macro_ap"):
            if s[metric] is not None:
                rows.append((name, fig.version, metric, "", float(s[metric])))
        rows.append((name, fig.version, "features_alert", "", float(len(fig.features_alert))))
        for p, v in fig.prediction_psi.items():
            rows.append((name, fig.version, "prediction_psi", p, v))
        for f in fig.features_warn + fig.features_alert:
            rows.append((name, fig.version, "feature_psi", f, fig.feature_psi[f]))
            rows.append((name, fig.version, "feature_ks", f, fig.feature_ks[f]))
    for symbol, behind in operational.get("bars_behind", {}).items():
        rows.append(("", "", "bars_behind", symbol, float(behind)))
    for key in ("cycle_s", "failures", "new_bars"):
        if operational.get(key) is not None:
            rows.append(("", "", key, "", float(operational[key])))
    frame = pd.DataFrame(rows, columns=["model", "version", "metric", "name", "value"])
    frame.insert(0, "time", now)
    return frame


def _append_history(store: RunStore, frame: pd.DataFrame, now: pd.Timestamp) -> None:
    path = _dir(store, "history", f"{now.strftime('%Y-%m-%d')}.parquet")
    if path.is_file():
        frame = pd.concat([pd.read_parquet(path), frame], ignore_index=True)
    write_parquet_atomic(path, frame)


def _prometheus(
    config: Config, store: RunStore, latest: Mapping[str, Any]
) -> tuple[Path, str | None]:
    path = Path(config.monitoring.prometheus_textfile or _dir(store, "metrics.prom"))
    path.parent.mkdir(parents=True, exist_ok=True)
    reg = CollectorRegistry()
    status = Gauge("swingml_monitor_status", "0 ok, 1 warn, 2 alert", registry=reg)
    status.set(RANK[str(latest["status"])])
    gauges = {
        k: Gauge(f"swingml_{k}", h, ["model"], registry=reg)
        for k, h in (
            ("max_feature_psi", "largest feature PSI vs the training reference"),
            ("max_feature_ks", "largest feature KS statistic vs the training reference"),
            ("realised_macro_ap", "macro AP of resolved live predictions"),
            ("holdout_macro_ap", "macro AP of the champion on the hold-out"),
            ("rows", "live rows in the drift window"),
        )
    }
    alerting = Gauge(
        "swingml_features_alerting", "features at alert level", ["model"], registry=reg
    )
    pred = Gauge("swingml_prediction_psi", "class probability PSI", ["model", "cls"], registry=reg)
    share = Gauge(
        "swingml_predicted_class_share", "share of predicted class", ["model", "cls"], registry=reg
    )
    stale = Gauge("swingml_champion_stale", "1 when the champion is stale", ["model"], registry=reg)
    for name, m in latest["models"].items():
        for k, g in gauges.items():
            if m.get(k) is not None:
                g.labels(name).set(float(m[k]))
        alerting.labels(name).set(len(m.get("features_alert", [])))
        for p, v in (m.get("prediction_psi") or {}).items():
            pred.labels(name, p).set(v)
        for p, v in (m.get("class_share") or {}).items():
            share.labels(name, p).set(v)
    op = latest.get("operational", {})
    for name, item in op.get("champions", {}).items():
        stale.labels(name).set(1.0 if item.get("stale") else 0.0)
    behind = Gauge("swingml_bars_behind", "bars a symbol lags the leader", ["symbol"], registry=reg)
    for symbol, value in op.get("bars_behind", {}).items():
        behind.labels(symbol).set(value)
    for key, help_text in (
        ("cycle_s", "latest live cycle latency (s)"),
        ("failures", "failed live cycles since the service started"),
        ("new_bars", "bars appended by the latest cycle"),
    ):
        if op.get(key) is not None:
            Gauge(f"swingml_live_{key}", help_text, registry=reg).set(float(op[key]))
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
    models: dict[str, Any] = {
        k: v for k, v in old.get("models", {}).items() if k in keep and k not in figures
    }
    models.update({k: f.summary() for k, f in figures.items()})
    now = pd.Timestamp.now(tz="UTC")
    latest: dict[str, Any] = {
        "time": now.isoformat(),
        "models": dict(sorted(models.items())),
        "operational": dict(operational),
    }
    latest["status"] = _status(models, operational)
    write_json_atomic(latest_path, latest)
    _append_history(store, _history_rows(now, figures, operational), now)
    prom, push_error = _prometheus(ctx.config, store, latest)
    if push_error:
        ctx.console.print(f"[yellow]warning[/yellow]: push gateway: {push_error}")
    return {
        "health": latest["status"],
        "models_assessed": len(figures),
        "alerting": sorted(k for k, v in models.items() if v.get("status") == "alert"),
        "latest": str(latest_path),
        "prometheus": str(prom),
        "pushgateway": ctx.config.monitoring.pushgateway_url,
        "push_error": push_error,
    }


def operational_figures(details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "cycle_s": details.get("cycle_s"),
        "failures": details.get("failures"),
        "new_bars": details.get("new_bars"),
        "bars_behind": {s: e["bars_behind"] for s, e in details.get("symbols", {}).items()},
        "stalled_symbols": details.get("stalled_symbols", []),
        "stale_champions": details.get("stale_champions", []),
        "champions": details.get("champions", {}),
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
