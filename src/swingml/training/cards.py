"""What each registered version records: the evaluated and served models ``train`` registers, and
the challenger a ``retrain`` registers (its recipe, scores, the data it saw, the gate's ruling)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from swingml.registry.mlflow_registry import DATA_TAGS, ModelCard
from swingml.training.gate import GateDecision
from swingml.training.holdout import METRIC_COLUMNS
from swingml.training.model import booster_from_text


def train_card(
    item: Mapping[str, Any],
    served: str | None,
    *,
    name: str,
    features: tuple[str, ...],
    cutoff: pd.Timestamp,
    fingerprint: str,
    interval: str,
) -> ModelCard:
    """The card of a train task's evaluated model (``served`` None), or of its served model
    refit on all data, which records ``served`` (its evaluated version) and that one's scores."""
    metrics = {k: float(item[k]) for k in METRIC_COLUMNS}
    metrics["holdout_rows"] = float(item["holdout_rows"])
    if served is None:
        text, saw = str(item["model"]), {"data_role": "evaluated"}
        saw.update(trained_rows=item["train_rows"], trained_through=str(cutoff))
        saw["trained_last_event"] = item["dev_last_event"]
    else:
        text, saw = str(item["served_model"]), {"data_role": "served", "evaluated_version": served}
        saw.update(trained_rows=item["served_rows"], trained_through=item["served_through"])
        saw["trained_last_event"] = item["served_last_event"]
    return ModelCard(
        name=name,
        booster=booster_from_text(text),
        variant_id=str(item["variant_id"]),
        params=json.loads(str(item["params"])),
        features=features,
        data_fingerprint=fingerprint,
        metrics=metrics,
        input_example=pd.DataFrame(item["example"], columns=list(features)),
        interval=interval,
        tags={k: str(v) for k, v in saw.items()},
        serve=served is not None,
    )


def challenger_card(
    item: Mapping[str, Any],
    name: str,
    champion_tags: Mapping[str, str],
    champion_version: str,
    ruling: GateDecision,
    features: tuple[str, ...],
) -> ModelCard:
    """A retrain challenger's card: the champion's recipe and scores, what it saw, the gate."""
    metrics = {k: float(v) for k, v in champion_tags.items() if _is_metric(k, v)}
    metrics.update(ruling.figures)
    saw = {
        "data_role": "served",
        "trained_through": item["last_event"],
        "trained_last_event": item["last_event"],
        "trained_rows": str(item["rows"]),
        "evaluated_version": champion_tags.get("evaluated_version", champion_version),
        "gate_decision": "promoted" if ruling.promote else "refused",
        "gate_reason": ruling.reason,
        "retrained_from": champion_version,
    }
    return ModelCard(
        name=name,
        booster=booster_from_text(str(item["model"])),
        variant_id=champion_tags["variant_id"],
        params=json.loads(champion_tags.get("params", "{}")),
        features=features,
        data_fingerprint=champion_tags.get("data_fingerprint", ""),
        metrics=metrics,
        input_example=pd.DataFrame(item["example"], columns=list(features)),
        interval=champion_tags.get("interval", ""),
        tags={k: v for k, v in saw.items() if k in DATA_TAGS or k == "retrained_from"},
        serve=False,
    )


def _is_metric(key: str, value: str) -> bool:
    """A champion tag that is one of its hold-out scores (a number), which challengers carry."""
    if not key.startswith(("holdout_", "prior_", "random_", "stage1_")):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True
