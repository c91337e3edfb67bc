"""The MLflow registry on both backends (the run's SQLite file and a real PostgreSQL-backed
server): tags, the champion rule, load-by-alias parity, promote and rollback, re-runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import backends
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from swingml.errors import BadInputError
from swingml.registry.mlflow_registry import (
    CHAMPION,
    MlflowRegistry,
    ModelCard,
    features_hash,
    main_id_of,
    model_name,
    should_become_champion,
)

FEATURES = [f"BTC__f{i}" for i in range(6)]
MAIN_ID = "BTCUSDT-w5-high"


def _booster(seed: int) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, len(FEATURES))).astype(np.float32)
    y = np.where(X[:, 0] > 0.4, 1, np.where(X[:, 1] > 0.4, 2, 0))
    params = {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=FEATURES), 15)
    return booster, X


def _card(
    name: str, seed: int, score: float, fingerprint: str, interval: str = "1h"
) -> tuple[ModelCard, np.ndarray, lgb.Booster]:
    booster, X = _booster(seed)
    card = ModelCard(
        name=name,
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
        interval=interval,
    )
    return card, X, booster


@pytest.fixture(scope="module", params=backends.BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowRegistry]:
    """One registry per backend for the module (creating a store costs seconds)."""
    if request.param == "sqlite":
        yield MlflowRegistry.for_run(None, None, "swingml-test", tmp_path_factory.mktemp("run"))
    else:
        uri = backends.require_server()
        yield MlflowRegistry(uri, uri, "swingml-test")


@pytest.fixture
def name() -> str:
    """A registered name no other test uses (the server outlives the test run)."""
    return model_name(MAIN_ID, "1h", backends.unique_prefix())


def test_sqlite_store_lives_in_the_run_directory(tmp_path: Path) -> None:
    registry = MlflowRegistry.for_run(None, None, "swingml-test", tmp_path)
    assert registry.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert (tmp_path / "mlflow.db").is_file()


def test_names_carry_prefix_and_interval() -> None:
    assert model_name(MAIN_ID, "4h", "team-a.") == "team-a.BTCUSDT-w5-high-4h"
    assert main_id_of("team-a.BTCUSDT-w5-high-4h", "4h", "team-a.") == MAIN_ID
    assert main_id_of("team-a.BTCUSDT-w5-high-4h", "1h", "team-a.") is None
    assert main_id_of("BTCUSDT-w5-high-4h", "4h", "team-a.") is None


def test_version_tags_and_load_by_alias_parity(registry: MlflowRegistry, name: str) -> None:
    card, X, booster = _card(name, 0, 0.6, "fp-a")
    [version] = registry.register([card])
    assert version.champion
    mv = registry.client.get_model_version(name, version.version)
    tags = mv.tags
    assert tags["variant_id"] == "BTCUSDT/w5/high_breakout/s1.0/k1.0"
    assert tags["interval"] == "1h"
    assert json.loads(tags["params"]) == {"learning_rate": 0.05, "num_leaves": 30}
    assert tags["features_sha256"] == features_hash(FEATURES)
    assert tags["feature_count"] == str(len(FEATURES))
    assert tags["data_fingerprint"] == "fp-a"
    assert tags["code_version"].startswith("0.")
    assert float(tags["holdout_macro_ap"]) == 0.6
    assert tags["champion_move"] == "train" and tags["champion_previous"] == ""
    assert tags["champion_by"] and tags["champion_at"].startswith("20")
    loaded = registry.load(name)
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))  # bit-for-bit
    artifacts = [a.path for a in registry.client.list_artifacts(mv.run_id)]
    assert "features.json" in artifacts


def test_champion_moves_only_per_the_rule(registry: MlflowRegistry, name: str) -> None:
    [first] = registry.register([_card(name, 1, 0.70, "fp-b")[0]])
    [v_worse] = registry.register([_card(name, 2, 0.65, "fp-b")[0]])
    assert not v_worse.champion
    assert str(registry.client.get_model_version_by_alias(name, CHAMPION).version) == first.version
    [v_equal] = registry.register([_card(name, 3, 0.70, "fp-b")[0]])
    assert v_equal.champion
    moved = registry.client.get_model_version(name, v_equal.version).tags
    assert moved["champion_previous"] == first.version
    [v_new_data] = registry.register([_card(name, 4, 0.10, "fp-c")[0]])
    assert v_new_data.champion
    summary = {s.name: s for s in registry.models()}[name]
    assert summary.champion_version == v_new_data.version
    assert summary.versions == 4
    assert summary.metrics["holdout_macro_ap"] == pytest.approx(0.10)
    assert summary.metrics["prior_macro_ap"] == pytest.approx(0.33)


def test_champion_rule_compares_like_with_like() -> None:
    current = {"data_fingerprint": "x", "holdout_macro_ap": "0.5", "interval": "1h"}
    assert should_become_champion(0.4, "x", None)
    assert should_become_champion(0.5, "x", current, "1h")
    assert not should_become_champion(0.49, "x", current, "1h")
    assert should_become_champion(0.1, "y", current, "1h")  # other data: not comparable
    assert should_become_champion(0.1, "x", current, "4h")  # other interval: not comparable


def test_two_intervals_keep_separate_champions(registry: MlflowRegistry) -> None:
    prefix = backends.unique_prefix()
    hourly, four_hourly = model_name(MAIN_ID, "1h", prefix), model_name(MAIN_ID, "4h", prefix)
    [a] = registry.register([_card(hourly, 5, 0.9, "fp-1h", "1h")[0]])
    [b] = registry.register([_card(four_hourly, 6, 0.1, "fp-4h", "4h")[0]])
    assert a.champion and b.champion
    listed = {s.name: s for s in registry.models(f"{prefix}%")}
    assert set(listed) == {hourly, four_hourly}
    assert registry.champion_tags(hourly)["interval"] == "1h"  # type: ignore[index]
    assert registry.champion_tags(four_hourly)["interval"] == "4h"  # type: ignore[index]


def test_a_rerun_registers_only_what_is_missing(registry: MlflowRegistry, name: str) -> None:
    a = _card(name, 7, 0.99, "fp-d")[0]
    other = model_name("ETHUSDT-w5-low", "1h", name.split("BTC")[0])
    b = _card(other, 8, 0.5, "fp-d")[0]
    [first] = registry.register([a])  # as if the first attempt stopped after one model
    again = registry.register([a, b])
    assert again[0] == first and again[0].champion
    assert again[1].champion
    assert len(registry.versions(name)) == 1 and len(registry.versions(other)) == 1


def test_promote_and_rollback_are_recorded(registry: MlflowRegistry, name: str) -> None:
    [v1] = registry.register([_card(name, 9, 0.8, "fp-e")[0]])
    [v2] = registry.register([_card(name, 10, 0.7, "fp-e")[0]])
    assert v1.champion and not v2.champion
    move = registry.promote(name, v2.version, reason="v2 is calmer in drawdowns")
    assert (move.version, move.previous) == (v2.version, v1.version)
    tags = registry.client.get_model_version(name, v2.version).tags
    assert tags["champion_move"] == "promote"
    assert tags["champion_reason"] == "v2 is calmer in drawdowns"
    assert tags["champion_previous"] == v1.version
    assert tags["champion_by"] and tags["champion_at"]
    listed = {v.version: v for v in registry.versions(name)}
    assert listed[v2.version].aliases == (CHAMPION,) and listed[v1.version].aliases == ()
    back = registry.rollback(name)
    assert (back.version, back.previous) == (v1.version, v2.version)
    assert str(registry.client.get_model_version_by_alias(name, CHAMPION).version) == v1.version
    tags = registry.client.get_model_version(name, v1.version).tags
    assert tags["champion_move"] == "rollback" and tags["champion_rolled_back_from"] == v2.version
    with pytest.raises(BadInputError, match="nothing to roll back to"):
        registry.rollback(name)  # v1 replaced nothing
    registry.promote(name, v2.version, alias="staging")
    assert str(registry.client.get_model_version_by_alias(name, "staging").version) == v2.version


def test_promoting_what_does_not_exist_is_bad_input(registry: MlflowRegistry, name: str) -> None:
    with pytest.raises(BadInputError, match="is not registered"):
        registry.promote(name, "1")
    registry.register([_card(name, 11, 0.5, "fp-f")[0]])
    with pytest.raises(BadInputError, match="version 99"):
        registry.promote(name, "99")
