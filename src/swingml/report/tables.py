"""The report's tables, derived from a run's data: stages, memory, champions, funnel, targets.

Pure functions of ``RunData`` parts (frames and dicts in, frames and dataclasses out). These are
also the tables written beside the page as Parquet for notebooks.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swingml.inference.store import PROBA
from swingml.report.skill import LiftInterval, lift_interval
from swingml.training.metrics import macro_ap

STAGE_ORDER = ("data", "features", "targets", "prep", "select", "tune", "train", "predict_batch")
MISMATCH_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Champion:
    """One champion: its hold-out row, its lift over the random ranking and that lift's interval.

    ``events`` holds its hold-out predictions (timestamp, label, probabilities) when the run has
    them; ``mismatch`` is how far the macro AP recomputed from them is from the recorded one.
    """

    name: str
    row: Mapping[str, Any]
    lift: float
    interval: LiftInterval | None
    events: pd.DataFrame | None
    mismatch: float | None

    @property
    def symbol(self) -> str:
        """The champion's coin."""
        return str(self.row["variant_id"]).split("/")[0]

    @property
    def skill(self) -> bool | None:
        """Demonstrated skill: the lift interval lies above zero (None without an interval)."""
        return None if self.interval is None else self.interval.demonstrated


def stage_table(stages: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per stage recorded in ``summary.json``, in run order, then any others."""
    names = [s for s in STAGE_ORDER if s in stages] + sorted(set(stages) - set(STAGE_ORDER))
    rows = [
        {
            "stage": name,
            "status": str(stages[name].get("status", "?")),
            "wall_s": float(stages[name].get("wall_s") or 0.0),
            "tasks": int(stages[name].get("tasks") or 0),
            "failed_tasks": int(stages[name].get("failed_tasks") or 0),
            "reason": str(stages[name].get("reason") or stages[name].get("error") or ""),
        }
        for name in names
    ]
    columns = ["stage", "status", "wall_s", "tasks", "failed_tasks", "reason"]
    return pd.DataFrame(rows, columns=columns)


def missing_stages(stages: Mapping[str, Any]) -> list[str]:
    """Stages of a whole run that ``summary.json`` does not record as done."""
    return [s for s in STAGE_ORDER if stages.get(s, {}).get("status") != "done"]


def memory_table(tasks: pd.DataFrame | None) -> pd.DataFrame:
    """Peak memory of the busiest task, tasks and failures, per task group."""
    columns = ["stage", "tasks", "failed", "reused", "peak_rss_mb", "wall_s"]
    if tasks is None or tasks.empty:
        return pd.DataFrame(columns=columns)
    grouped = tasks.groupby("stage", sort=False)
    table = pd.DataFrame(
        {
            "tasks": grouped.size(),
            "failed": grouped["ok"].apply(lambda s: int((~s.astype(bool)).sum())),
            "reused": grouped["reused"].sum().astype(int),
            "peak_rss_mb": grouped["peak_rss_mb"].max(),
            "wall_s": grouped["wall_s"].sum(),
        }
    )
    return table.reset_index()[columns]


def failed_tasks(tasks: pd.DataFrame | None) -> pd.DataFrame:
    """Every failed task with its cause (the first line of its error)."""
    columns = ["stage", "label", "exit_status", "cause"]
    if tasks is None or tasks.empty:
        return pd.DataFrame(columns=columns)
    failed = tasks[~tasks["ok"].astype(bool)]
    causes = (
        failed["error"].fillna("").astype(str).map(lambda e: e.strip().splitlines()[-1:] or [""])
    )
    return pd.DataFrame(
        {
            "stage": failed["stage"],
            "label": failed["label"],
            "exit_status": failed["exit_status"],
            "cause": [c[0][:300] for c in causes],
        },
        columns=columns,
    )


def _seed(name: str, base: int) -> int:
    return (zlib.crc32(name.encode()) + base) % (2**32)


def champions(
    holdout: pd.DataFrame, predictions: Mapping[str, pd.DataFrame], seed: int
) -> list[Champion]:
    """The champions in ``holdout.parquet`` order, each with its bootstrap lift interval."""
    out = []
    for record in holdout.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        name = str(row["main_id"])
        lift = float(row["holdout_macro_ap"]) - float(row["random_macro_ap"])
        events = predictions.get(name)
        interval, mismatch = None, None
        if events is not None and len(events):
            y = events["label"].to_numpy(np.int64)
            proba = events[list(PROBA)].to_numpy(np.float64)
            interval = lift_interval(y, proba, _seed(name, seed))
            mismatch = abs(macro_ap(y, proba) - float(row["holdout_macro_ap"]))
            if len(y) != int(row["holdout_rows"]):
                mismatch = float("inf")
        else:
            events = None
        out.append(Champion(name, row, lift, interval, events, mismatch))
    return out


def champion_table(items: Sequence[Champion]) -> pd.DataFrame:
    """The champion table as shown on the page (full precision)."""
    rows = []
    for c in items:
        r = c.row
        rows.append(
            {
                "model": c.name,
                "variant": r["variant_id"],
                "train_events": int(r["train_rows"]),
                "holdout_events": int(r["holdout_rows"]),
                "holdout_classes": int(r["holdout_classes"]),
                "holdout_macro_ap": float(r["holdout_macro_ap"]),
                "prior_macro_ap": float(r["prior_macro_ap"]),
                "random_macro_ap": float(r["random_macro_ap"]),
                "stage1_holdout_macro_ap": float(r["stage1_holdout_macro_ap"]),
                "lift": c.lift,
                "lift_low": c.interval.low if c.interval else np.nan,
                "lift_high": c.interval.high if c.interval else np.nan,
                "skill": c.skill,
            }
        )
    return pd.DataFrame(rows)


def gains(model_file: Path) -> pd.Series:
    """Total split gain per feature of a LightGBM model file, read from its text (no Booster)."""
    text = model_file.read_bytes()
    header = re.search(rb"\nfeature_names=([^\n]*)", text)
    names = header.group(1).decode().split() if header else []
    features = _numbers(re.findall(rb"\nsplit_feature=([^\n]*)", text))
    split_gains = _numbers(re.findall(rb"\nsplit_gain=([^\n]*)", text))
    if not len(features) or len(features) != len(split_gains):
        return pd.Series(dtype=np.float64)
    total = np.bincount(features.astype(np.int64), weights=split_gains, minlength=len(names))
    return pd.Series(total[: len(names)], index=names).loc[lambda s: s > 0]


def _numbers(lines: list[bytes]) -> np.ndarray:
    """The space-separated numbers of ``lines``, parsed in C."""
    return np.array(b" ".join(lines).split(), dtype=np.float64)


def funnel_steps(prep: Mapping[str, Any] | None, selected: int) -> list[tuple[str, int]]:
    """(step, features left): generated, after each prep filter, selected."""
    if prep is None:
        return [("selected", selected)] if selected else []
    filters = prep.get("filters", [])
    steps = [("generated", int(filters[0]["features_in"]))] if filters else []
    steps += [(f"after {f['rule']}", int(f["features_out"])) for f in filters]
    if selected:
        steps.append(("selected", selected))
    return steps


def selected_mix(selected: Sequence[str], meta: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """Selected features counted by family and by source coin (cross-coin pairs as ``cross``)."""
    if meta is None or not selected:
        empty = pd.Series(dtype=np.int64)
        return empty, empty
    known = meta.reindex(list(selected))
    family = known["family"].fillna("unknown").value_counts()
    source = known["symbol"].fillna("cross").replace("", "cross").value_counts()
    return family, source


def selection_frequency(rankings: pd.DataFrame | None) -> tuple[pd.Series, int]:
    """How many variants ranked each feature in their top list, and how many variants there are."""
    if rankings is None or rankings.empty:
        return pd.Series(dtype=np.int64), 0
    return rankings.groupby("feature")["variant"].nunique(), int(rankings["variant"].nunique())


def target_balance(targets: pd.DataFrame | None) -> pd.DataFrame:
    """Events and labels per (symbol, window, kind), pooled over (s, k).

    Events do not depend on ``k``; they are counted at the first ``k`` and summed over ``s``.
    """
    columns = ["symbol", "w", "kind", "events", "class_0", "class_1", "class_2", "unknown"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=columns)
    keys = ["symbol", "w", "kind"]
    labels = targets.groupby(keys)[["class_0", "class_1", "class_2", "unknown"]].sum()
    first_k = targets[targets["k"] == targets["k"].min()]
    events = first_k.groupby(keys)["events"].sum()
    return labels.join(events).reset_index()[columns]


def walkforward_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per refit cadence: mean walk-forward AP and lift, models with skill, stability."""
    rows = []
    for cadence, group in scores.groupby("cadence", sort=False):
        rows.append(
            {
                "cadence": cadence,
                "models": len(group),
                "macro AP": float(group["macro_ap"].mean()),
                "random AP": float(group["random_macro_ap"].mean()),
                "lift": float(group["lift"].mean()),
                "lift > 0": int((group["lift"] > 0).sum()),
                "interval > 0": int((group["lift_low"] > 0).sum()),
                "step AP spread": float(group["step_ap_std"].mean()),
            }
        )
    return pd.DataFrame(rows)


def walkforward_models(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model, the walk-forward macro AP and lift interval of each cadence side by side."""
    wide = scores.pivot(index="main_id", columns="cadence", values=["macro_ap", "lift_low"])
    order = list(dict.fromkeys(scores["cadence"]))
    out = pd.DataFrame({"model": wide.index})
    for cadence in order:
        out[f"AP {cadence}"] = wide[("macro_ap", cadence)].to_numpy()
        out[f"lift 5 % {cadence}"] = wide[("lift_low", cadence)].to_numpy()
    return out


def confident_summary(top: pd.DataFrame) -> pd.DataFrame:
    """Top-decile calls per cadence and class: precision next to the base rate, trade net of fee."""
    table = (
        top.groupby(["cadence", "predicted"], sort=False)[
            ["count", "precision", "base_rate", "trade_mean", "hit_rate"]
        ]
        .mean()
        .reset_index()
    )
    table["predicted"] = table["predicted"].map({1: "breakout", 2: "reversal"})
    return table.rename(columns={"base_rate": "base rate", "trade_mean": "trade (net)"})
