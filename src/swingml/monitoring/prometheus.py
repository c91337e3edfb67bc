"""The latest monitoring state as Prometheus gauges (pure: a registry the caller writes or pushes).

Status (0 ok, 1 warn, 2 alert); per model the largest feature PSI and KS, realised and hold-out
macro AP, rows in the drift window, features alerting, prediction PSI and predicted class share
per class, and whether the champion is stale; per symbol the bars behind the leader; and the last
live cycle's latency, failures and new bars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from swingml.monitoring.assess import RANK

MODEL_GAUGES = (
    ("max_feature_psi", "largest feature PSI vs the training reference"),
    ("max_feature_ks", "largest feature KS statistic vs the training reference"),
    ("realised_macro_ap", "macro AP of resolved live predictions"),
    ("holdout_macro_ap", "macro AP of the champion on the hold-out"),
    ("rows", "live rows in the drift window"),
)
LIVE_GAUGES = (
    ("cycle_s", "latest live cycle latency (s)"),
    ("failures", "failed live cycles since the service started"),
    ("new_bars", "bars appended by the latest cycle"),
)


def _model_gauges(reg: CollectorRegistry, models: Mapping[str, Mapping[str, Any]]) -> None:
    gauges = {k: Gauge(f"swingml_{k}", h, ["model"], registry=reg) for k, h in MODEL_GAUGES}
    alerting = Gauge(
        "swingml_features_alerting", "features at alert level", ["model"], registry=reg
    )
    pred = Gauge("swingml_prediction_psi", "class probability PSI", ["model", "cls"], registry=reg)
    share = Gauge(
        "swingml_predicted_class_share", "share of predicted class", ["model", "cls"], registry=reg
    )
    for name, m in models.items():
        for k, g in gauges.items():
            if m.get(k) is not None:
                g.labels(name).set(float(m[k]))
        alerting.labels(name).set(len(m.get("features_alert", [])))
        for p, v in (m.get("prediction_psi") or {}).items():
            pred.labels(name, p).set(v)
        for p, v in (m.get("class_share") or {}).items():
            share.labels(name, p).set(v)


def _operational_gauges(reg: CollectorRegistry, op: Mapping[str, Any]) -> None:
    stale = Gauge("swingml_champion_stale", "1 when the champion is stale", ["model"], registry=reg)
    for name, item in op.get("champions", {}).items():
        stale.labels(name).set(1.0 if item.get("stale") else 0.0)
    behind = Gauge("swingml_bars_behind", "bars a symbol lags the leader", ["symbol"], registry=reg)
    for symbol, value in op.get("bars_behind", {}).items():
        behind.labels(symbol).set(value)
    for key, help_text in LIVE_GAUGES:
        if op.get(key) is not None:
            Gauge(f"swingml_live_{key}", help_text, registry=reg).set(float(op[key]))


def metrics_registry(latest: Mapping[str, Any]) -> CollectorRegistry:
    """The gauges of ``latest`` (the ``latest.json`` state) in a registry of their own."""
    reg = CollectorRegistry()
    status = Gauge("swingml_monitor_status", "0 ok, 1 warn, 2 alert", registry=reg)
    status.set(RANK[str(latest["status"])])
    _model_gauges(reg, latest["models"])
    _operational_gauges(reg, latest.get("operational", {}))
    return reg
