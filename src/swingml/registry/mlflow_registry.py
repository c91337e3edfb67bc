"""The MLflow model registry, and the only module that imports mlflow (SPEC §8).

One registered model per main variant, named ``<symbol>-w<w>-<side>``; each production training adds
a version (unless that exact model is already registered on the same data) carrying the variant,
parameters, feature list, data fingerprint, code version and hold-out metrics as tags, a signature
and an input example. The alias ``champion`` follows :func:`should_become_champion`. Only the parent
process talks to the store (workers never write to SQLite), in one batch per training.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

# Usage telemetry would phone home from every run; switched off before mlflow is imported.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
import mlflow.lightgbm
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

import swingml

CHAMPION = "champion"
PRIMARY_METRIC = "holdout_macro_ap"
TAG_LIMIT = 5000
METRIC_PREFIXES = ("holdout", "prior", "stage1")
"""Version tags that hold hold-out metrics (shown by ``swingml registry list``)."""


@dataclass(frozen=True)
class ModelCard:
    """One trained model to register, with everything its version records."""

    name: str
    booster: lgb.Booster
    variant_id: str
    params: Mapping[str, Any]
    features: Sequence[str]
    data_fingerprint: str
    metrics: Mapping[str, float]
    input_example: pd.DataFrame


@dataclass(frozen=True)
class RegisteredVersion:
    """The version a card became, and whether it is now the champion."""

    name: str
    version: str
    champion: bool


@dataclass(frozen=True)
class ModelSummary:
    """A registered model as ``swingml registry list`` shows it."""

    name: str
    versions: int
    champion_version: str | None
    variant_id: str
    metrics: dict[str, float]


def sqlite_uri(run_dir: Path) -> str:
    """The embedded default store: ``sqlite:///<run_dir>/mlflow.db``."""
    return f"sqlite:///{run_dir.resolve() / 'mlflow.db'}"


def code_version() -> str:
    """``swingml.__version__`` plus the git commit of the checkout, when there is one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return f"{swingml.__version__}+{commit}" if commit else swingml.__version__


def features_hash(features: Sequence[str]) -> str:
    """SHA-256 (16 hex digits) of the ordered feature list."""
    return hashlib.sha256("\n".join(features).encode()).hexdigest()[:16]


def should_become_champion(
    new_score: float, new_fingerprint: str, current: Mapping[str, str] | None
) -> bool:
    """The champion rule.

    A new version becomes champion when there is no champion, when the champion was scored on
    other data (its ``data_fingerprint`` differs: scores are not comparable), or when its hold-out
    macro AP is at least the champion's.
    """
    if current is None:
        return True
    if current.get("data_fingerprint") != new_fingerprint:
        return True
    try:
        old = float(current.get(PRIMARY_METRIC, "nan"))
    except ValueError:
        return True
    return bool(not np.isfinite(old) or new_score >= old)


def _tag(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:TAG_LIMIT]


class MlflowRegistry:
    """Tracking and registry client for one store; creates the store and experiment once."""

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str,
        experiment: str,
        artifact_root: Path | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(registry_uri)
        mlflow.lightgbm.autolog(disable=True)
        mlflow.disable_system_metrics_logging()  # type: ignore[no-untyped-call]
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            self.experiment_id: str = found.experiment_id
        else:
            location = artifact_root.resolve().as_uri() if artifact_root is not None else None
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=location
            )

    @classmethod
    def for_run(
        cls,
        tracking_uri: str | None,
        registry_uri: str | None,
        experiment: str,
        run_dir: Path,
    ) -> MlflowRegistry:
        """The registry of a run: configured URIs, or SQLite and artifacts in the run directory."""
        tracking = tracking_uri or sqlite_uri(run_dir)
        registry = registry_uri or tracking
        artifacts = run_dir / "mlartifacts" if tracking.startswith("sqlite:") else None
        return cls(tracking, registry, experiment, artifacts)

    def register(self, cards: Sequence[ModelCard]) -> list[RegisteredVersion]:
        """Log and register each card as a new version; move ``champion`` per the rule."""
        requirements = [f"lightgbm=={lgb.__version__}", f"numpy=={np.__version__}"]
        version = code_version()
        out: list[RegisteredVersion] = []
        for card in cards:
            out.append(self._register_one(card, requirements, version))
        return out

    def _register_one(
        self, card: ModelCard, requirements: list[str], version: str
    ) -> RegisteredVersion:
        model_hash = hashlib.sha256(card.booster.model_to_string().encode()).hexdigest()[:16]
        same = self._find_version(card.name, model_hash, card.data_fingerprint)
        if same is not None:
            return same
        example = card.input_example
        proba = card.booster.predict(example.to_numpy(dtype=np.float32))
        signature = infer_signature(example, np.asarray(proba))
        metrics = {k: float(v) for k, v in card.metrics.items() if np.isfinite(v)}
        tags = {
            "variant_id": card.variant_id,
            "params": _tag(dict(card.params)),
            "features_sha256": features_hash(card.features),
            "feature_count": str(len(card.features)),
            "data_fingerprint": card.data_fingerprint,
            "model_sha256": model_hash,
            "code_version": version,
            **{k: repr(v) for k, v in metrics.items()},
        }
        with mlflow.start_run(experiment_id=self.experiment_id, run_name=card.name) as run:
            mlflow.set_tags(tags)
            mlflow.log_params({k: _tag(v)[:500] for k, v in card.params.items()})
            mlflow.log_metrics(metrics)
            with tempfile.TemporaryDirectory() as tmp:
                listing = Path(tmp) / "features.json"
                listing.write_text(json.dumps(list(card.features)), encoding="utf-8")
                mlflow.log_artifact(str(listing))
            info = mlflow.lightgbm.log_model(
                card.booster,
                name="model",
                signature=signature,
                input_example=example,
                pip_requirements=requirements,
            )
        self._ensure_model(card.name)
        mv = self.client.create_model_version(
            card.name, info.model_uri, run_id=run.info.run_id, tags=tags
        )
        current = self.champion_tags(card.name)
        champion = should_become_champion(
            metrics.get(PRIMARY_METRIC, float("nan")), card.data_fingerprint, current
        )
        if champion:
            self.client.set_registered_model_alias(card.name, CHAMPION, mv.version)
        return RegisteredVersion(card.name, str(mv.version), champion)

    def _find_version(
        self, name: str, model_hash: str, fingerprint: str
    ) -> RegisteredVersion | None:
        """The version holding this exact model on this data already (re-runs register nothing)."""
        try:
            versions = self.client.search_model_versions(f"name='{name}'")
        except MlflowException:
            return None
        for mv in versions:
            tags = dict(mv.tags)
            if (
                tags.get("model_sha256") == model_hash
                and tags.get("data_fingerprint") == fingerprint
            ):
                current = dict(self.client.get_registered_model(name).aliases).get(CHAMPION)
                return RegisteredVersion(name, str(mv.version), str(current) == str(mv.version))
        return None

    def _ensure_model(self, name: str) -> None:
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name)

    def champion_tags(self, name: str) -> dict[str, str] | None:
        """The tags of the version the ``champion`` alias points at (None if there is none)."""
        try:
            mv = self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            return None
        return dict(mv.tags)

    def load(self, name: str, alias: str = CHAMPION) -> lgb.Booster:
        """Load ``models:/<name>@<alias>`` as a LightGBM booster."""
        booster: lgb.Booster = mlflow.lightgbm.load_model(f"models:/{name}@{alias}")
        return booster

    def load_champion(self, name: str) -> tuple[str, dict[str, str], lgb.Booster] | None:
        """The champion's version, tags and booster, resolved once (None if there is none).

        The alias is read once and the booster loaded by that version, so the three always
        belong together even if the alias moves meanwhile.
        """
        try:
            mv = self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            return None
        booster: lgb.Booster = mlflow.lightgbm.load_model(f"models:/{name}/{mv.version}")
        return str(mv.version), dict(mv.tags), booster

    def models(self) -> list[ModelSummary]:
        """Every registered model, its version count, champion and champion metrics."""
        summaries: list[ModelSummary] = []
        token: str | None = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            for rm in page:
                versions = self.client.search_model_versions(f"name='{rm.name}'")
                champion = dict(rm.aliases).get(CHAMPION)
                tags = self.champion_tags(rm.name) or {}
                metrics = {k: float(v) for k, v in tags.items() if k.startswith(METRIC_PREFIXES)}
                summaries.append(
                    ModelSummary(
                        rm.name,
                        len(versions),
                        None if champion is None else str(champion),
                        tags.get("variant_id", ""),
                        metrics,
                    )
                )
            token = page.token
            if not token:
                break
        return sorted(summaries, key=lambda s: s.name)

    def champion_versions(self) -> dict[str, str]:
        """``{model: champion version}`` in one listing.

        Cheap enough for every live cycle: a server holding boosters reloads one only when its
        alias has moved.
        """
        out: dict[str, str] = {}
        token: str | None = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            for rm in page:
                champion = dict(rm.aliases).get(CHAMPION)
                if champion is not None:
                    out[rm.name] = str(champion)
            token = page.token
            if not token:
                break
        return out

    def version_created_ms(self, name: str, version: str) -> int:
        """When a model version was registered (epoch ms)."""
        return int(self.client.get_model_version(name, version).creation_timestamp or 0)
