"""Read what a run directory holds for the report, and say what it does not hold yet.

Read-only: nothing here writes to the run. Every part is optional; a stage that has not run leaves
its part empty and adds a line to ``RunData.missing``. A folder with neither ``summary.json`` nor
``manifest.json`` is not a run (exit 2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from swingml.config.redact import redact_value
from swingml.errors import BadInputError
from swingml.inference.store import PROBA, PredictionStore
from swingml.io import parted
from swingml.io.store import MANIFEST, SUMMARY, RunStore, read_json
from swingml.modeling.splits import holdout_cutoff, span_of


@dataclass
class RunData:
    """Everything the report shows, read from one run directory."""

    root: Path
    summary: dict[str, Any]
    config: dict[str, Any]
    input_fingerprint: str | None
    candles: dict[str, pd.DataFrame] = field(default_factory=dict)
    tasks: pd.DataFrame | None = None
    budget: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    cutoff: pd.Timestamp | None = None
    holdout_predictions: dict[str, pd.DataFrame] = field(default_factory=dict)
    live_predictions: pd.DataFrame | None = None
    models: dict[str, Path] = field(default_factory=dict)
    prep_report: dict[str, Any] | None = None
    selection_report: dict[str, Any] | None = None
    rankings: pd.DataFrame | None = None
    selected: list[str] = field(default_factory=list)
    feature_meta: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    walkforward: pd.DataFrame | None = None
    walkforward_trades: pd.DataFrame | None = None
    walkforward_confident: pd.DataFrame | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        """``summary.json``'s stage entries."""
        stages: dict[str, dict[str, Any]] = self.summary.get("stages", {})
        return stages

    @property
    def config_digest(self) -> str:
        """SHA-256 (16 hex digits) of the run's resolved config, as ``manifest.json`` holds it."""
        blob = json.dumps(self.config, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data: dict[str, Any] = read_json(path)
    return data


def _parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    return pd.read_parquet(path, columns=columns) if path.is_file() else None


def _tasks(store: RunStore) -> pd.DataFrame | None:
    frames = []
    for path in sorted(store.folder("tasks").glob("*/tasks.parquet")):
        frame = pd.read_parquet(
            path, columns=["label", "ok", "exit_status", "reused", "wall_s", "peak_rss_mb", "error"]
        )
        frame.insert(0, "stage", path.parent.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def _budget(tune: Mapping[str, Any]) -> pd.DataFrame | None:
    rows = []
    for number in (1, 2, 3, 4):
        entry = tune.get(f"stage{number}")
        if isinstance(entry, Mapping):
            rows.append({"stage": number, **{k: v for k, v in entry.items() if np.isscalar(v)}})
    return pd.DataFrame(rows) if rows else None


def _candles(store: RunStore, symbols: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for symbol in symbols:
        path = store.candles_path(symbol)
        if parted.exists(path):
            out[symbol] = parted.read_frame(path, ["timestamp", "close"])
    return out


def _cutoff(data: RunData) -> pd.Timestamp | None:
    """The hold-out cutoff the run used: as prep recorded it, else from the candles' span."""
    recorded = (data.prep_report or {}).get("summary", {}).get("cutoff")
    if recorded:
        return pd.Timestamp(recorded)
    if not data.candles:
        return None
    first, last = span_of(frame["timestamp"] for frame in data.candles.values())
    fraction = float(data.config.get("split", {}).get("holdout_fraction", 0.15))
    return holdout_cutoff(first, last, fraction)


def _predictions(store: RunStore, data: RunData) -> None:
    """Hold-out rows of each champion's stored batch predictions, and every live prediction.

    Only the champion version in ``holdout.parquet`` counts; all files are read in one scan.
    """
    folder = store.folder("predictions")
    if data.holdout is None or not folder.is_dir():
        return
    stored = PredictionStore(folder)
    paths = [p for name in data.holdout["main_id"] for p in stored.files(str(name))]
    if not paths:
        return
    columns = ["timestamp", "model", "version", *PROBA, "label", "source"]
    frame = (
        ds.dataset([str(p) for p in paths], format="parquet").to_table(columns=columns).to_pandas()
    )
    versions = dict(zip(data.holdout["main_id"], data.holdout.get("version", []), strict=False))
    wanted = frame["model"].map(versions)
    frame = frame[wanted.isna() | (frame["version"] == wanted)]
    live = frame[frame["source"] == "live"]
    data.live_predictions = live.reset_index(drop=True) if len(live) else None
    if data.cutoff is None or data.holdout_predictions:
        return
    held = frame[
        (frame["source"] == "batch") & (frame["timestamp"] >= data.cutoff) & frame["label"].notna()
    ]
    for name, rows in held.groupby("model", sort=False):
        data.holdout_predictions[str(name)] = rows.sort_values("timestamp").reset_index(drop=True)


def _evaluated_predictions(store: RunStore, data: RunData) -> None:
    """The evaluated models' own hold-out predictions (``train`` writes them). The served model
    was refit on the hold-out too, so its batch predictions there are in-sample; runs trained
    before served models existed fall back to the batch predictions (``_predictions``)."""
    frame = _parquet(store.dataset("holdout_predictions"))
    if frame is None or data.holdout is None:
        return
    versions = dict(
        zip(data.holdout["main_id"], data.holdout.get("evaluated_version", []), strict=False)
    )
    for name, rows in frame.groupby("main_id", sort=False):
        rows = rows.rename(columns={"main_id": "model"}).assign(source="holdout")
        rows["version"] = versions.get(name)
        data.holdout_predictions[str(name)] = rows.sort_values("timestamp").reset_index(drop=True)


def _feature_meta(store: RunStore) -> pd.DataFrame | None:
    meta = _json(store.dataset("features_metadata"))
    if meta is None:
        return None
    rows = meta.get("features", [])
    frame = pd.DataFrame(rows, columns=["name", "family", "symbol"])
    return frame.set_index("name")


def gather(root: Path) -> RunData:
    """Read the run at ``root``; a folder that is not a run is a ``BadInputError``."""
    store = RunStore(root)
    if not root.is_dir() or not (store.path(SUMMARY).is_file() or store.path(MANIFEST).is_file()):
        raise BadInputError(
            str(root),
            f"not a run directory (it has neither {SUMMARY} nor {MANIFEST})",
            "pass --run-dir of a folder made by `swingml run` or a stage command",
        )
    manifest = store.read_manifest()
    data = RunData(  # redacted: a run written before secrets were refused may hold one
        root=root,
        summary=redact_value(store.read_summary()),
        config=redact_value(dict(manifest.get("config", {}))),
        input_fingerprint=manifest.get("input_fingerprint"),
    )
    symbols = list(data.config.get("data", {}).get("symbols", []))
    data.candles = _candles(store, symbols)
    data.tasks = _tasks(store)
    data.budget = _budget(data.stages.get("tune", {}))
    data.prep_report = _json(store.dataset("prep_report"))
    data.selection_report = _json(store.dataset("select_report"))
    data.rankings = _parquet(store.dataset("select_rankings"), ["variant", "feature"])
    final = _json(store.dataset("final_features"))
    data.selected = list(final.get("features", [])) if final else []
    data.feature_meta = _feature_meta(store)
    data.targets = _parquet(store.dataset("targets_summary"))
    data.holdout = _parquet(store.dataset("holdout"))
    data.cutoff = _cutoff(data)
    if data.holdout is not None:
        for name in data.holdout["main_id"]:
            path = store.dataset("model", main_id=name)
            if path.is_file():
                data.models[str(name)] = path
    _evaluated_predictions(store, data)
    _predictions(store, data)
    data.walkforward = _parquet(store.dataset("walkforward_scores"))
    data.walkforward_trades = _parquet(store.dataset("walkforward_trades"))
    data.walkforward_confident = _parquet(store.dataset("walkforward_confident"))
    data.missing = _missing(data)
    return data


def _missing(data: RunData) -> list[str]:
    """A line per part of the report this run cannot fill yet, with the command that would."""
    checks = [
        (not data.candles, "candles", "swingml data validate"),
        (data.feature_meta is None, "the feature store", "swingml features"),
        (data.targets is None, "targets", "swingml targets"),
        (data.prep_report is None, "the prep report", "swingml prep"),
        (data.selection_report is None, "feature selection", "swingml select"),
        (data.budget is None, "tuning", "swingml tune"),
        (data.holdout is None, "trained champions (training/holdout.parquet)", "swingml train"),
        (
            data.holdout is not None and not data.holdout_predictions,
            "hold-out predictions (for curves and lift intervals)",
            "swingml predict batch",
        ),
    ]
    return [f"no {what} yet: run `{command}`" for absent, what, command in checks if absent]
