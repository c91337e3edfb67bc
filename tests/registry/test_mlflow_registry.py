"""The MLflow registry on a real SQLite store: tags, the champion rule, load-by-alias parity."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from swingml.registry.mlflow_registry import (
    CHAMPION,
    MlflowRegistry,
    ModelCard,
    features_hash,
    should_become_champion,
)

FEATURES = [f"BTC__f{i}" for i in range(6)]


def _booster(seed: int) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, len(FEATURES))).astype(np.float32)
    y = np.where(X[:, 0] > 0.4, 1, np.where(X[:, 1] > 0.4, 2, 0))
    params = {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=FEATURES), 15)
    return booster, X


def _card(booster: lgb.Booster, X: np.ndarray, score: float, fingerprint: str) -> ModelCard:
    return ModelCard(
        name="BTCUSDT-w5-high",
        booster=booster,
        variant_id="BTCUSDT/w5/high_breakout/s1.0/k1.0",
        params={"num_leaves": 30, "learning_rate": 0.05},
        features=FEATURES,
        data_fingerprint=fingerprint,
        metrics={
            "holdout_macro_ap": score,
            "prior_macro_ap": 0.33,
            "stage1_holdout_macro_ap": 0.4,
        },
        input_example=pd.DataFrame(X[:3], columns=FEATURES),
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> MlflowRegistry:
    run_dir = tmp_path_factory.mktemp("run")
    return MlflowRegistry.for_run(None, None, "swingml-test", run_dir)


def test_store_lives_in_the_run_directory(registry: MlflowRegistry) -> None:
    assert registry.tracking_uri.startswith("sqlite:///")
    assert registry.tracking_uri.endswith("/mlflow.db")
    assert Path(registry.tracking_uri.removeprefix("sqlite:///")).is_file()


def test_version_tags_and_load_by_alias_parity(registry: MlflowRegistry) -> None:
    booster, X = _booster(0)
    [version] = registry.register([_card(booster, X, 0.6, "fp-a")])
    assert version.champion
    mv = registry.client.get_model_version("BTCUSDT-w5-high", version.version)
    tags = mv.tags
    assert tags["variant_id"] == "BTCUSDT/w5/high_breakout/s1.0/k1.0"
    assert json.loads(tags["params"]) == {"learning_rate": 0.05, "num_leaves": 30}
    assert tags["features_sha256"] == features_hash(FEATURES)
    assert tags["feature_count"] == str(len(FEATURES))
    assert tags["data_fingerprint"] == "fp-a"
    assert tags["code_version"].startswith("0.")
    assert float(tags["holdout_macro_ap"]) == 0.6
    loaded = registry.load("BTCUSDT-w5-high")
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))  # bit-for-bit
    run = registry.client.get_run(mv.run_id)
    artifacts = [a.path for a in registry.client.list_artifacts(run.info.run_id)]
    assert "features.json" in artifacts


def test_champion_moves_only_per_the_rule(registry: MlflowRegistry) -> None:
    name = "BTCUSDT-w5-high"
    first, X = _booster(1)
    registry.register([_card(first, X, 0.70, "fp-b")])
    champion = registry.client.get_model_version_by_alias(name, CHAMPION).version
    worse, _ = _booster(2)
    [v_worse] = registry.register([_card(worse, X, 0.65, "fp-b")])
    assert not v_worse.champion
    assert registry.client.get_model_version_by_alias(name, CHAMPION).version == champion
    equal, _ = _booster(3)
    [v_equal] = registry.register([_card(equal, X, 0.70, "fp-b")])
    assert v_equal.champion
    [v_new_data] = registry.register([_card(worse, X, 0.10, "fp-c")])
    assert v_new_data.champion
    summary = {s.name: s for s in registry.models()}[name]
    assert summary.champion_version == v_new_data.version
    assert summary.versions >= 4
    assert summary.metrics["holdout_macro_ap"] == pytest.approx(0.10)
    assert summary.metrics["prior_macro_ap"] == pytest.approx(0.33)


def test_champion_rule_is_a_pure_function() -> None:
    current = {"data_fingerprint": "x", "holdout_macro_ap": "0.5"}
    assert should_become_champion(0.4, "x", None)
    assert should_become_champion(0.5, "x", current)
    assert not should_become_champion(0.49, "x", current)
    assert should_become_champion(0.1, "y", current)


def test_registering_the_same_model_on_the_same_data_again_adds_no_version(
    registry: MlflowRegistry,
) -> None:
    booster, X = _booster(7)
    card = _card(booster, X, 0.99, "fp-d")
    [first] = registry.register([card])
    [again] = registry.register([card])
    assert again == first
    assert again.champion
