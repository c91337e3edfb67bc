"""Registry operations end to end through the CLI, on both backends: predictions follow the
champion alias through promote and rollback; a champion that does not fit the run is refused;
a server that is down is named with its fix."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import backends
import inference_run
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from swingml.cli import app
from swingml.inference.store import PredictionStore
from swingml.registry.mlflow_registry import MlflowRegistry, ModelCard, model_name
from swingml.targets.grid import Variant

runner = CliRunner()
VARIANT = Variant.from_id(inference_run.MODELS[0])


@pytest.fixture
def shared_run(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> tuple[Path, Path, list[str]]:
    """A copy of the inference base run whose champions live in ``backend`` under a fresh
    prefix: version 1 of both models, then version 2 of the first (same score, so champion)."""
    base = inference_run.base_run(tmp_path_factory)
    run_dir = inference_run.copy_run(base, tmp_path / "run")
    data_dir = base.parent / "data"
    sets = [*backends.registry_sets(backend), f"registry.model_prefix={backends.unique_prefix()}"]
    config = inference_run.config_for(run_dir, data_dir, *sets)
    inference_run.register_champions(inference_run.context(config))
    registry = _registry(run_dir, data_dir, sets)
    name = _name(sets)
    first = registry.load(name)
    shorter = lgb.Booster(model_str=first.model_to_string(num_iteration=5))  # another model
    [second] = registry.register([_card(name, shorter, "inference-test", "1h")])
    assert second.version == "2" and second.champion
    return run_dir, data_dir, sets


def _registry(run_dir: Path, data_dir: Path, sets: list[str]) -> MlflowRegistry:
    section = inference_run.config_for(run_dir, data_dir, *sets).registry
    return MlflowRegistry.for_run(
        section.tracking_uri, section.registry_uri, section.experiment, run_dir
    )


def _card(name: str, booster: lgb.Booster, fingerprint: str, interval: str) -> ModelCard:
    features = booster.feature_name()
    return ModelCard(
        name=name,
        booster=booster,
        variant_id=VARIANT.id,
        params={},
        features=features,
        data_fingerprint=fingerprint,
        metrics={"holdout_macro_ap": 0.5},
        input_example=pd.DataFrame(np.zeros((1, len(features))), columns=features),
        interval=interval,
    )


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _predict(run_dir: Path, data_dir: Path, sets: list[str]) -> dict[str, Any]:
    result = _cli("predict", "batch", *inference_run.cli_args(run_dir, data_dir, *sets))
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text())
    models: dict[str, Any] = summary["stages"]["predict_batch"]["models"]
    return models


def _name(sets: list[str]) -> str:
    prefix = next(s for s in sets if s.startswith("registry.model_prefix=")).split("=", 1)[1]
    return model_name(VARIANT.main_id, "1h", prefix)


def test_predictions_follow_the_alias_through_promote_and_rollback(
    shared_run: tuple[Path, Path, list[str]],
) -> None:
    run_dir, data_dir, sets = shared_run
    args = inference_run.cli_args(run_dir, data_dir, *sets)
    name = _name(sets)
    assert _predict(run_dir, data_dir, sets)[VARIANT.main_id]["version"] == "2"
    promoted = _cli("registry", "promote", name, "1", "--reason", "v2 overfits", *args)
    assert promoted.exit_code == 0, promoted.output
    assert _predict(run_dir, data_dir, sets)[VARIANT.main_id]["version"] == "1"
    listed = _cli("registry", "versions", name, *args)
    assert listed.exit_code == 0, listed.output
    assert "v2 overfits" in listed.output and "promote" in listed.output
    rolled = _cli("registry", "rollback", name, *args)
    assert rolled.exit_code == 0, rolled.output
    assert _predict(run_dir, data_dir, sets)[VARIANT.main_id]["version"] == "2"
    stored = PredictionStore(run_dir / "predictions").read(VARIANT.main_id)
    by_version = {str(v): g for v, g in stored.groupby("version")}
    assert set(by_version) == {"1", "2"}
    p1 = by_version["1"][["p_neither", "p_breakout", "p_reversal"]].to_numpy()
    p2 = by_version["2"][["p_neither", "p_breakout", "p_reversal"]].to_numpy()
    assert p1.shape == p2.shape and (p1 != p2).any()  # two models, two sets of predictions


def test_a_champion_of_another_interval_is_refused(
    shared_run: tuple[Path, Path, list[str]],
) -> None:
    run_dir, data_dir, sets = shared_run
    name = _name(sets)
    registry = _registry(run_dir, data_dir, sets)
    card = _card(name, registry.load(name), "four-hourly-data", "4h")
    [odd] = registry.register([card])
    assert odd.champion  # other data: the rule does not compare, the newer one wins
    result = _cli("predict", "batch", *inference_run.cli_args(run_dir, data_dir, *sets))
    assert result.exit_code == 2
    assert f"model {name} version {odd.version}" in result.output
    assert "4h" in result.output and "1h" in result.output
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_server_that_is_down_is_named_with_the_fix(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{_free_port()}"
    result = _cli(
        "registry",
        "list",
        "--run-dir",
        str(tmp_path / "run"),
        "--set",
        f"registry.tracking_uri={uri}",
        "--set",
        f"registry.registry_uri={uri}",
    )
    assert result.exit_code == 1
    assert uri in result.output and "scripts/services.sh up" in result.output
    assert "Traceback" not in result.output
