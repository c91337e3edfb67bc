"""The run catalog: every dataset of a run directory, named once with its path, format and writer.

A stage never spells a path inside the run directory: it asks ``RunStore.dataset(name, **keys)``
for the dataset it reads or writes, and this table says where that is. ``owner`` maps any file of
a run back to its dataset, so a test can prove that a run writes nothing undeclared.

A dataset that a stage may reuse declares where its input key is recorded (``key``): the one
freshness rule, ``RunStore.is_current``, compares that record with the key the stage computes.
A dataset built from the candles declares where it records their fingerprints (``candles``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Literal

Format = Literal["parquet", "json", "text", "journal", "sqlite", "lightgbm", "npy"]


@dataclass(frozen=True)
class Record:
    """Where a fingerprint is recorded: at the field path ``at`` (``{key}`` fields filled in) of
    dataset ``carrier`` (JSON fields, or a Parquet file's schema metadata), the dataset itself
    when None."""

    at: tuple[str, ...]
    carrier: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``pattern`` is its path relative to the run root, with ``{key}`` fields."""

    name: str
    pattern: str
    format: Format
    writer: str
    """The stage that writes it (``run`` for the run's own bookkeeping)."""
    key: Record | None = None
    """Where the input key it was written from is recorded; None: its writer always rewrites it."""
    beside: tuple[str, ...] = ()
    """Datasets (with the same ``{key}`` fields) that must exist too for it to be current."""
    candles: Record | None = None
    """Where it records the fingerprint of each symbol's candles it was built from."""

    def relative(self, **keys: object) -> str:
        """The path relative to the run root with ``keys`` filled in."""
        return self.pattern.format(**keys)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Matches exactly the relative paths this dataset can have."""
        parts = re.split(r"(\{\w+\})", self.pattern)
        body = "".join(_field(p) if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(body)


def _field(part: str) -> str:
    """A ``{key}`` field matches one path segment; ``{path}`` any sub-path of a folder."""
    return ".+" if part == "{path}" else "[^/]+"


_KEY = Record(("key",))
"""The input key a JSON dataset carries in its own ``key`` field."""

_DATASETS = (
    Dataset("manifest", "manifest.json", "json", "run"),
    Dataset("summary", "summary.json", "json", "run"),
    Dataset(
        "candles",
        "candles/{symbol}.parquet",
        "parquet",
        "data",
        key=Record(("fingerprints", "data/{symbol}"), carrier="manifest"),
    ),
    Dataset(
        "features_metadata",
        "features/metadata.json",
        "json",
        "features",
        candles=Record(("symbols", "{symbol}", "candles_fingerprint")),
    ),
    Dataset(
        "features_block",
        "features/{group}/{block}.parquet",
        "parquet",
        "features",
        key=Record(("swingml.fingerprint",)),
    ),
    Dataset(
        "targets",
        "targets/{symbol}.parquet",
        "parquet",
        "targets",
        key=Record(("targets", "{symbol}"), carrier="targets_meta"),
    ),
    Dataset("candle_parts", "candles/{symbol}.parts/{part}.parquet", "parquet", "predict"),
    Dataset("targets_summary", "targets/summary.parquet", "parquet", "targets"),
    Dataset(
        "targets_meta",
        "targets/_meta.json",
        "json",
        "targets",
        key=Record(()),
        beside=("targets_summary",),
        candles=Record(("candles", "{symbol}")),
    ),
    Dataset("prep_kept", "prep/kept_features.json", "json", "prep", _KEY, ("prep_report",)),
    Dataset("prep_report", "prep/report.json", "json", "prep"),
    Dataset("select_rows", "selection/work/{symbol}/rows.parquet", "parquet", "select"),
    Dataset("select_events", "selection/work/{symbol}/events.parquet", "parquet", "select"),
    Dataset(
        "select_binned",
        "selection/work/{symbol}/binned.bin",
        "lightgbm",
        "select",
        key=Record(("key",), carrier="select_binned_meta"),
    ),
    Dataset("select_binned_meta", "selection/work/{symbol}/binned.json", "json", "select"),
    Dataset("select_codes", "selection/work/{symbol}/codes.npy", "npy", "select"),
    Dataset("select_variant", "selection/variants/{slug}.json", "json", "select", _KEY),
    Dataset("select_rankings", "selection/rankings.parquet", "parquet", "select"),
    Dataset("select_report", "selection/report.json", "json", "select"),
    Dataset(
        "final_features",
        "selection/final_features.json",
        "json",
        "select",
        _KEY,
        ("select_report",),
    ),
    Dataset("tune_leaderboard", "tuning/stage1/leaderboard.parquet", "parquet", "tune"),
    Dataset("tune_best", "tuning/stage1/best.parquet", "parquet", "tune"),
    Dataset("tune_results", "tuning/stage{number}/results.parquet", "parquet", "tune"),
    Dataset("tune_study", "tuning/studies/stage{number}/{study}.log", "journal", "tune"),
    Dataset("tune_folds", "tuning/folds/{main_id}.json", "json", "tune"),
    Dataset("tune_ledger", "tuning/budget.json", "json", "tune"),
    Dataset("tune_trials", "tuning/trials.json", "json", "tune"),
    Dataset("best_params", "tuning/best_params.json", "json", "tune"),
    Dataset("model", "training/models/{main_id}.txt", "lightgbm", "train"),
    Dataset("holdout", "training/holdout.parquet", "parquet", "train"),
    Dataset("holdout_predictions", "training/holdout_predictions.parquet", "parquet", "train"),
    Dataset("train_lock", "training/.lock", "text", "train"),
    Dataset("walkforward_predictions", "walkforward/predictions.parquet", "parquet", "walkforward"),
    Dataset("walkforward_scores", "walkforward/scores.parquet", "parquet", "walkforward"),
    Dataset("walkforward_trades", "walkforward/trades.parquet", "parquet", "walkforward"),
    Dataset("walkforward_confident", "walkforward/confident.parquet", "parquet", "walkforward"),
    Dataset("mlflow_db", "mlflow.db", "sqlite", "train"),
    Dataset("mlflow_artifacts", "mlartifacts/{path}", "text", "train"),
    Dataset("predictions", "predictions/{path}", "parquet", "predict"),
    Dataset("monitoring", "monitoring/{path}", "parquet", "monitor"),
    Dataset("report", "report/{path}", "text", "report"),
    Dataset("tasks", "tasks/{path}", "text", "run"),
)

CATALOG: dict[str, Dataset] = {d.name: d for d in _DATASETS}
"""Every dataset of a run by name."""

FOLDERS: dict[str, str] = {
    "features": "features",
    "predictions": "predictions",
    "monitoring": "monitoring",
    "tasks": "tasks",
}
"""Folders a component owns whole: the feature store, the prediction store, the monitoring
service's files, and the executor's task folders (``tasks/<stage>/<key>/``)."""


def relative(name: str, **keys: object) -> str:
    """The path of dataset ``name`` relative to the run root."""
    return CATALOG[name].relative(**keys)


def folder(name: str, **keys: object) -> str:
    """A folder of :data:`FOLDERS` relative to the run root."""
    return FOLDERS[name].format(**keys)


def owner(path: str | Path) -> Dataset | None:
    """The dataset a file (relative to the run root, ``/``-separated) belongs to, if any.

    A fixed path wins over a pattern (``targets/summary.parquet`` is not a symbol's targets).
    """
    text = PurePosixPath(path).as_posix()
    for dataset in sorted(_DATASETS, key=lambda d: d.pattern.count("{")):
        if dataset.regex.fullmatch(text):
            return dataset
    return None
