"""The MLflow model registry, and the only module that imports mlflow (SPEC §8).

One registered model per main variant and candle interval, named
``<registry.model_prefix><symbol>-w<w>-<side>-<interval>`` (:func:`model_name`), so that runs on
different data sharing one server keep apart; each production training adds a version (unless that
exact model is already registered on the same data) carrying the variant, interval, parameters,
feature list, data fingerprint, code version and hold-out metrics as tags, a signature and an input
example. The alias ``champion`` follows :func:`should_become_champion`; every move of an alias
(training, ``promote``, ``rollback``) is recorded on the version it lands on: who, when, why and
the version it replaced. Only the parent process talks to the store (workers never write to
SQLite), in one batch per training. The store is a SQLite file in the run directory or a shared
tracking server (``scripts/services.sh``); several processes may register into a server at once.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from swingml.config.redact import redact
from swingml.errors import BadInputError, SwingmlError
from swingml.io import catalog

CHAMPION = "champion"
PRIMARY_METRIC = "holdout_macro_ap"
TAG_LIMIT = 5000
METRIC_PREFIXES = ("holdout", "prior", "stage1")
"""Version tags that hold hold-out metrics (shown by ``swingml registry list``)."""
MOVE_FIELDS = ("move", "by", "at", "reason", "previous")
"""What a version records about an alias landing on it, as tags ``<alias>_<field>``."""
HEALTH_TIMEOUT_S = 5.0


class RegistryUnavailableError(SwingmlError):
    """The tracking server cannot be reached or refuses the credentials (exit code 1)."""


def model_name(main_id: str, interval: str, prefix: str = "") -> str:
    """The registered name of a main variant's model: ``<prefix><main_id>-<interval>``."""
    return f"{prefix}{main_id}-{interval}"


def main_id_of(name: str, interval: str, prefix: str = "") -> str | None:
    """The main variant id inside a registered name of this prefix and interval (else None)."""
    suffix = f"-{interval}"
    if not name.startswith(prefix) or not name.endswith(suffix):
        return None
    return name[len(prefix) : -len(suffix)] or None


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
    interval: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Further tags of the version: what data it saw (``DATA_TAGS``)."""
    serve: bool = True
    """False: registered for the record only, never made champion (an evaluated model)."""


DATA_TAGS = (
    "data_role",
    "trained_through",
    "trained_last_event",
    "trained_rows",
    "evaluated_version",
    "gate_decision",
    "gate_reason",
)
"""Tags saying what data a version saw: ``evaluated`` (development data, scored on the hold-out)
or ``served`` (refit on everything to ``trained_through``; its metrics are its evaluated
version's)."""


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


@dataclass(frozen=True)
class VersionSummary:
    """One version as ``swingml registry versions`` shows it."""

    version: str
    variant_id: str
    interval: str
    data_fingerprint: str
    metrics: dict[str, float]
    aliases: tuple[str, ...]
    created: str
    moves: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasMove:
    """An alias moved from ``previous`` (None: it pointed nowhere) to ``version``."""

    name: str
    alias: str
    version: str
    previous: str | None


def sqlite_uri(run_dir: Path) -> str:
    """The embedded default store: ``sqlite:///<run_dir>/mlflow.db``."""
    return f"sqlite:///{run_dir.resolve() / catalog.relative('mlflow_db')}"


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
    new_score: float,
    new_fingerprint: str,
    current: Mapping[str, str] | None,
    new_interval: str | None = None,
) -> bool:
    """The champion rule: scores are compared only like with like.

    A new version becomes champion when there is no champion, when the champion was scored on
    other data (its ``data_fingerprint`` or ``interval`` differs: scores are not comparable, the
    newer data wins), or when its hold-out macro AP is at least the champion's.
    """
    if current is None:
        return True
    if current.get("data_fingerprint") != new_fingerprint:
        return True
    if new_interval is not None and current.get("interval", new_interval) != new_interval:
        return True
    try:
        old = float(current.get(PRIMARY_METRIC, "nan"))
    except ValueError:
        return True
    return bool(not np.isfinite(old) or new_score >= old)


def _tag(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return redact(text)[:TAG_LIMIT]


def _who() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER", "unknown")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _move_record(alias: str, move: str, reason: str, previous: str | None) -> dict[str, str]:
    """The tags that record an alias landing on a version: what, who, when, why, replacing what."""
    record = {
        "move": move,
        "by": _who(),
        "at": _now(),
        "reason": reason,
        "previous": previous or "",
    }
    return {f"{alias}_{key}": value[:TAG_LIMIT] for key, value in record.items()}


def health_url(uri: str) -> str:
    """The ``/health`` URL of a tracking server URI: user info and query left out, so that a URI
    such as ``http://bob:pw@host:5055`` probes ``http://host:5055/health``."""
    parts = urllib.parse.urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    path = f"{parts.path.rstrip('/')}/health"
    return urllib.parse.urlunsplit((parts.scheme, host, path, "", ""))


def _check_server(uri: str) -> None:
    """Fail fast, naming the URI (redacted) and the fix, when an http(s) tracking server does
    not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    shown = redact(uri)
    try:
        with urllib.request.urlopen(health_url(uri), timeout=HEALTH_TIMEOUT_S):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise _credentials_error(uri) from None
        raise RegistryUnavailableError(
            f"MLflow server {shown} answers /health with HTTP {exc.code} (fix: check the "
            "server's log; locally `scripts/services.sh status`)"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = redact(str(getattr(exc, "reason", exc)))
        raise RegistryUnavailableError(
            f"MLflow server {shown} is not reachable ({reason}) (fix: start it with "
            "`scripts/services.sh up`, or point registry.tracking_uri / registry.registry_uri at "
            "a running server; leave them null for the run's own SQLite store)"
        ) from None


def _credentials_error(uri: str) -> RegistryUnavailableError:
    return RegistryUnavailableError(
        f"MLflow server {redact(uri)} refuses the credentials (fix: set MLFLOW_TRACKING_USERNAME "
        "and MLFLOW_TRACKING_PASSWORD to an account of that server, in the environment; not in "
        "the URI)"
    )


def _translated(uri: str, exc: MlflowException) -> Exception:
    """A server's refusal of the credentials as a one-line error; anything else unchanged."""
    text = str(exc)
    if "401" in text or "403" in text or "Unauthorized" in text or "credentials" in text:
        return _credentials_error(uri)
    return exc


def _retry(call: Callable[[], Any], tries: int = 5) -> Any:
    """Run a registry write again when a concurrent writer made it fail (for example a lost
    race on creating the same registered model); the last failure propagates."""
    for attempt in range(tries):
        try:
            return call()
        except MlflowException:
            if attempt == tries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


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
        for uri in dict.fromkeys((tracking_uri, registry_uri)):
            _check_server(uri)
        self._activate()
        mlflow.lightgbm.autolog(disable=True)
        mlflow.disable_system_metrics_logging()  # type: ignore[no-untyped-call]
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        try:
            self.experiment_id: str = self._experiment(experiment, artifact_root)
        except MlflowException as exc:
            raise _translated(tracking_uri, exc) from None

    def _activate(self) -> None:
        """Point mlflow's process-wide (fluent) URIs at this store: another registry object in
        the same process may have moved them."""
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)

    def _experiment(self, experiment: str, artifact_root: Path | None) -> str:
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            return str(found.experiment_id)
        location = artifact_root.resolve().as_uri() if artifact_root is not None else None
        try:
            return str(self.client.create_experiment(experiment, artifact_location=location))
        except MlflowException:
            found = self.client.get_experiment_by_name(experiment)  # created meanwhile
            if found is None:
                raise
            return str(found.experiment_id)

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
        artifacts = (
            run_dir / catalog.relative("mlflow_artifacts", path="")
            if tracking.startswith("sqlite:")
            else None
        )
        return cls(tracking, registry, experiment, artifacts)

    def register(self, cards: Sequence[ModelCard]) -> list[RegisteredVersion]:
        """Log and register each card as a new version; move ``champion`` per the rule."""
        requirements = [f"lightgbm=={lgb.__version__}", f"numpy=={np.__version__}"]
        version = code_version()
        self._activate()
        out: list[RegisteredVersion] = []
        for card in cards:
            try:
                out.append(self._register_one(card, requirements, version))
            except MlflowException as exc:
                raise _translated(self.registry_uri, exc) from None
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
            "interval": card.interval,
            "params": _tag(dict(card.params)),
            "features_sha256": features_hash(card.features),
            "feature_count": str(len(card.features)),
            "data_fingerprint": card.data_fingerprint,
            "model_sha256": model_hash,
            "code_version": version,
            **{k: repr(v) for k, v in metrics.items()},
            **{k: _tag(v) for k, v in card.tags.items()},
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
        score = metrics.get(PRIMARY_METRIC, float("nan"))
        # The version is created with its champion move already recorded when the rule picks it
        # (one request instead of one per tag); _settle_champion re-checks after the alias write.
        current = self._alias_version(card.name, CHAMPION)
        current_tags = None if current is None else dict(current.tags)
        wins = card.serve and should_become_champion(
            score, card.data_fingerprint, current_tags, card.interval
        )
        previous = None if current is None else str(current.version)
        record = _move_record(CHAMPION, "train", self._reason(score), previous) if wins else {}
        # MLflow 3 logs a model as a LoggedModel (``models:/m-…``): a server accepts that source
        # only together with the model id that owns it.
        mv = _retry(
            lambda: self.client.create_model_version(
                card.name,
                info.model_uri,
                run_id=run.info.run_id,
                tags={**tags, **record},
                model_id=info.model_id,
            )
        )
        if wins:
            self._set_alias(card.name, CHAMPION, str(mv.version))
        if not card.serve:
            return RegisteredVersion(card.name, str(mv.version), False)
        champion = self._settle_champion(card.name, str(mv.version), score, tags)
        return RegisteredVersion(card.name, str(mv.version), champion)

    def _settle_champion(
        self, name: str, version: str, score: float, tags: Mapping[str, str]
    ) -> bool:
        """Apply the champion rule for a new version, re-checking after the write.

        Writers racing on one server may each read the old champion; each re-reads after setting
        the alias and sets it again while the rule still prefers its own version, so a version
        that lost a race to a worse one takes the alias back.
        """
        fingerprint, interval = tags["data_fingerprint"], tags["interval"] or None
        for _ in range(5):
            current = self._alias_version(name, CHAMPION)
            if current is not None and str(current.version) == version:
                return True
            current_tags = None if current is None else dict(current.tags)
            if not should_become_champion(score, fingerprint, current_tags, interval):
                return False
            previous = None if current is None else str(current.version)
            self._move(name, CHAMPION, version, "train", self._reason(score), previous)
        current = self._alias_version(name, CHAMPION)
        return current is not None and str(current.version) == version

    @staticmethod
    def _reason(score: float) -> str:
        return f"training: hold-out macro AP {score:.4f} (champion rule)"

    def _move(
        self, name: str, alias: str, version: str, move: str, reason: str, previous: str | None
    ) -> None:
        """Point ``alias`` at ``version`` and record the move on that version."""
        for key, value in _move_record(alias, move, reason, previous).items():
            self.client.set_model_version_tag(name, version, key, value)
        self._set_alias(name, alias, version)

    def _set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``. A server writes an alias by reading, then inserting or
        updating: two writers that first set the same alias at once make one insert fail on the
        alias's unique key (PostgreSQL), and written again it updates."""
        _retry(lambda: self.client.set_registered_model_alias(name, alias, version))

    def _alias_version(self, name: str, alias: str) -> Any:
        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None

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
            try:
                self.client.create_registered_model(name)
            except MlflowException:
                self.client.get_registered_model(name)  # another writer created it meanwhile

    def champion_tags(self, name: str) -> dict[str, str] | None:
        """The tags of the version the ``champion`` alias points at (None if there is none)."""
        mv = self._alias_version(name, CHAMPION)
        return None if mv is None else dict(mv.tags)

    def load(self, name: str, alias: str = CHAMPION) -> lgb.Booster:
        """Load ``models:/<name>@<alias>`` as a LightGBM booster."""
        self._activate()
        booster: lgb.Booster = mlflow.lightgbm.load_model(f"models:/{name}@{alias}")
        return booster

    def load_champion(self, name: str) -> tuple[str, dict[str, str], lgb.Booster] | None:
        """The champion's version, tags and booster, resolved once (None if there is none).

        The alias is read once and the booster loaded by that version, so the three always
        belong together even if the alias moves meanwhile.
        """
        mv = self._alias_version(name, CHAMPION)
        if mv is None:
            return None
        self._activate()
        booster: lgb.Booster = mlflow.lightgbm.load_model(f"models:/{name}/{mv.version}")
        return str(mv.version), dict(mv.tags), booster

    def models(self, like: str | None = None) -> list[ModelSummary]:
        """Every registered model (whose name matches the SQL ``LIKE`` pattern ``like``), its
        version count, champion and champion metrics."""
        summaries: list[ModelSummary] = []
        token: str | None = None
        query = None if like is None else f"name LIKE '{like}'"
        while True:
            page = self.client.search_registered_models(
                filter_string=query, max_results=1000, page_token=token
            )
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

    # ---- operations of ``swingml registry`` ------------------------------------------------

    def _registered(self, name: str) -> Any:
        try:
            return self.client.get_registered_model(name)
        except MlflowException:
            raise BadInputError(
                f"model {name}",
                f"is not registered in {self.registry_uri}",
                "`swingml registry list` shows the registered names",
            ) from None

    def versions(self, name: str) -> list[VersionSummary]:
        """Every version of ``name``, oldest first, with metrics, data and the aliases on it."""
        rm = self._registered(name)
        on: dict[str, list[str]] = {}
        for alias, version in dict(rm.aliases).items():
            on.setdefault(str(version), []).append(alias)
        out: list[VersionSummary] = []
        for mv in self.client.search_model_versions(f"name='{name}'"):
            tags = dict(mv.tags)
            metrics = {k: float(v) for k, v in tags.items() if k.startswith(METRIC_PREFIXES)}
            moves = {k: v for k, v in tags.items() if k.rsplit("_", 1)[-1] in MOVE_FIELDS}
            created = datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
            out.append(
                VersionSummary(
                    str(mv.version),
                    tags.get("variant_id", ""),
                    tags.get("interval", ""),
                    tags.get("data_fingerprint", ""),
                    metrics,
                    tuple(sorted(on.get(str(mv.version), []))),
                    created.isoformat(timespec="seconds"),
                    moves,
                    {k: tags[k] for k in DATA_TAGS if k in tags},
                )
            )
        return sorted(out, key=lambda v: int(v.version))

    def promote(
        self,
        name: str,
        version: str,
        alias: str = CHAMPION,
        reason: str = "",
        move: str = "promote",
    ) -> AliasMove:
        """Point ``alias`` of ``name`` at ``version`` (by hand, or by ``move``: ``retrain``),
        recording who, when and why."""
        self._registered(name)
        try:
            self.client.get_model_version(name, version)
        except MlflowException:
            raise BadInputError(
                f"model {name} version {version}",
                "does not exist",
                f"`swingml registry versions {name}` lists the versions",
            ) from None
        current = self._alias_version(name, alias)
        previous = None if current is None else str(current.version)
        if previous != version:
            self._move(name, alias, version, move, reason or "promoted by hand", previous)
        return AliasMove(name, alias, version, previous)

    def rollback(self, name: str, alias: str = CHAMPION, reason: str = "") -> AliasMove:
        """Point ``alias`` back at the version it replaced when it last moved."""
        self._registered(name)
        current = self._alias_version(name, alias)
        if current is None:
            raise BadInputError(
                f"model {name}", f"has no {alias!r} alias", "promote a version first"
            )
        target = dict(current.tags).get(f"{alias}_previous", "")
        if not target:
            raise BadInputError(
                f"model {name} version {current.version}",
                f"records no version that {alias!r} replaced, so there is nothing to roll back to",
                f"`swingml registry promote {name} VERSION` picks one",
            )
        held = str(current.version)
        # The target keeps its own ``previous``, so successive rollbacks walk back the history.
        kept = dict(self.client.get_model_version(name, target).tags).get(f"{alias}_previous", "")
        why = reason or f"rolled back from version {held}"
        self._move(name, alias, target, "rollback", why, kept or None)
        self.client.set_model_version_tag(name, target, f"{alias}_rolled_back_from", held)
        return AliasMove(name, alias, target, held)

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
