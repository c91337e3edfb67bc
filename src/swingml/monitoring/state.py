"""What a monitoring step publishes (pure): the latest state, its status and its history rows.

``latest.json`` keeps every served model's figures (the models refreshed now replace theirs,
models no longer served drop out) beside the operational figures of the last live cycle; its
status is the worst model status, or ``alert`` when a symbol stalls or a champion is stale. The
history gets one row per figure, so a day's file can be plotted without parsing JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from swingml.monitoring.assess import RANK, ModelFigures

HISTORY_COLUMNS = ["model", "version", "metric", "name", "value"]


def operational_figures(details: Mapping[str, Any]) -> dict[str, Any]:
    """The operational figures of a live cycle, from its stage details."""
    return {
        "cycle_s": details.get("cycle_s"),
        "failures": details.get("failures"),
        "new_bars": details.get("new_bars"),
        "bars_behind": {s: e["bars_behind"] for s, e in details.get("symbols", {}).items()},
        "stalled_symbols": details.get("stalled_symbols", []),
        "stale_champions": details.get("stale_champions", []),
        "champions": details.get("champions", {}),
    }


def status_of(models: Mapping[str, Mapping[str, Any]], operational: Mapping[str, Any]) -> str:
    """``ok``, ``warn`` or ``alert``: the worst model status, or ``alert`` on a stall or a stale
    champion."""
    worst = max((RANK.get(str(m.get("status")), 0) for m in models.values()), default=0)
    if operational.get("stalled_symbols") or operational.get("stale_champions"):
        worst = 2
    return ("ok", "warn", "alert")[worst]


def latest_state(
    now: pd.Timestamp,
    old: Mapping[str, Any],
    figures: Mapping[str, ModelFigures],
    operational: Mapping[str, Any],
    keep: Sequence[str],
) -> dict[str, Any]:
    """``latest.json``: ``old``'s models still in ``keep`` with ``figures`` merged in, by name."""
    models: dict[str, Any] = {
        k: v for k, v in old.get("models", {}).items() if k in keep and k not in figures
    }
    models.update({k: f.summary() for k, f in figures.items()})
    latest: dict[str, Any] = {
        "time": now.isoformat(),
        "models": dict(sorted(models.items())),
        "operational": dict(operational),
    }
    latest["status"] = status_of(models, operational)
    return latest


def history_rows(
    now: pd.Timestamp, models: Mapping[str, ModelFigures], operational: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per figure (``time, model, version, metric, name, value``)."""
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
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame.insert(0, "time", now)
    return frame
