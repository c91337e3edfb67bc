"""One champion's monitoring figures from its references and its recent live rows (pure).

Feature drift: PSI and KS of each input column over the live window against the training
reference; prediction drift: PSI of each class probability and the share of each predicted class;
realised performance: macro AP of the live rows whose labels have resolved, beside the hold-out AP.
A model with fewer than ``min_rows`` live rows is ``insufficient`` (no drift verdict yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from swingml.config.services import MonitoringConfig
from swingml.monitoring.drift import ColumnReference, ks, level, psi_of
from swingml.training.metrics import macro_ap

PROBA: tuple[str, ...] = ("p_neither", "p_breakout", "p_reversal")
RANK = {"ok": 0, "insufficient": 0, "warn": 1, "alert": 2}


@dataclass
class ModelFigures:
    """What ``swingml monitor`` reports for one champion version."""

    model: str
    version: str
    rows: int
    status: str = "insufficient"
    feature_psi: dict[str, float] = field(default_factory=dict)
    feature_ks: dict[str, float] = field(default_factory=dict)
    features_warn: list[str] = field(default_factory=list)
    features_alert: list[str] = field(default_factory=list)
    prediction_psi: dict[str, float] = field(default_factory=dict)
    class_share: dict[str, float] = field(default_factory=dict)
    realised_macro_ap: float | None = None
    realised_rows: int = 0
    holdout_macro_ap: float | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON-able short form (no per-feature maps, only the flagged features)."""
        return {
            "version": self.version,
            "rows": self.rows,
            "status": self.status,
            "max_feature_psi": max(self.feature_psi.values(), default=None),
            "max_feature_ks": max(self.feature_ks.values(), default=None),
            "features_warn": self.features_warn,
            "features_alert": self.features_alert,
            "prediction_psi": self.prediction_psi,
            "class_share": self.class_share,
            "realised_macro_ap": self.realised_macro_ap,
            "realised_rows": self.realised_rows,
            "holdout_macro_ap": self.holdout_macro_ap,
        }


def feature_drift(
    refs: Mapping[str, ColumnReference], window: pd.DataFrame, config: MonitoringConfig
) -> tuple[dict[str, float], dict[str, float], list[str], list[str]]:
    """PSI and KS per column of ``window`` that has a reference; the warned and alerted ones."""
    psis: dict[str, float] = {}
    kss: dict[str, float] = {}
    warned: list[str] = []
    alerted: list[str] = []
    for name, ref in refs.items():
        if name not in window.columns:
            continue
        values = window[name].to_numpy(np.float64)
        p, k = psi_of(ref, values), ks(ref, values)
        psis[name], kss[name] = round(p, 6), round(k, 6)
        worst = max(
            RANK[level(p, config.psi_warn, config.psi_alert)],
            RANK[level(k, config.ks_warn, config.ks_alert)],
        )
        if worst == 2:
            alerted.append(name)
        elif worst == 1:
            warned.append(name)
    return psis, kss, warned, alerted


def assess(
    model: str,
    version: str,
    feature_refs: Mapping[str, ColumnReference],
    proba_refs: Mapping[str, ColumnReference],
    inputs: pd.DataFrame,
    predictions: pd.DataFrame,
    labels: pd.Series,
    holdout_ap: float | None,
    config: MonitoringConfig,
) -> ModelFigures:
    """The figures of one champion version: ``inputs`` and ``predictions`` are its live rows in
    time order (last ``window`` used), ``labels`` the resolved labels of those predictions
    (nullable, aligned with ``predictions``)."""
    inputs = inputs.tail(config.window)
    recent = predictions.tail(config.window)
    out = ModelFigures(model, version, len(inputs), holdout_macro_ap=holdout_ap)
    if len(recent):
        chosen = recent[list(PROBA)].to_numpy(np.float64).argmax(axis=1)
        out.class_share = {p: round(float(np.mean(chosen == j)), 6) for j, p in enumerate(PROBA)}
    known = labels.tail(config.ap_window)
    mask = known.notna().to_numpy()
    if mask.any():
        rows = predictions.tail(config.ap_window)[list(PROBA)].to_numpy(np.float64)[mask]
        y = known.to_numpy()[mask].astype(np.int64)
        out.realised_rows = int(mask.sum())
        out.realised_macro_ap = round(float(macro_ap(y, rows)), 6)
    if len(inputs) < config.min_rows:
        return out
    psis, kss, warned, alerted = feature_drift(feature_refs, inputs, config)
    out.feature_psi, out.feature_ks = psis, kss
    out.features_warn, out.features_alert = warned, alerted
    pred_level = 0
    for name, ref in proba_refs.items():
        value = psi_of(ref, recent[name].to_numpy(np.float64))
        out.prediction_psi[name] = round(value, 6)
        pred_level = max(pred_level, RANK[level(value, config.psi_warn, config.psi_alert)])
    worst = max(pred_level, 2 if alerted else 1 if warned else 0)
    out.status = ("ok", "warn", "alert")[worst]
    return out
