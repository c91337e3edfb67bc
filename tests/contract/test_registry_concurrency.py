"""Law: processes registering versions of the same models into one MLflow server at once lose
nothing: every version recorded, one champion per model, no exception in any writer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REGISTRY_HELPERS = Path(__file__).resolve().parents[1] / "registry"
sys.path.insert(0, str(REGISTRY_HELPERS))

import backends  # noqa: E402  (made importable just above)

PROCESSES = 8
VERSIONS_EACH = 5
MODELS = ("BTCUSDT-w3-high", "BTCUSDT-w3-low", "ETHUSDT-w5-high", "SOLUSDT-w5-low")

WRITER = textwrap.dedent(
    """
    import json, sys, time, traceback
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    from swingml.registry.mlflow_registry import MlflowRegistry, ModelCard, model_name

    import pathlib
    uri, prefix, index, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), pathlib.Path(sys.argv[4])
    models = json.loads(sys.argv[5])
    versions_each = int(sys.argv[6])
    features = ["f0", "f1", "f2"]
    cards = []
    for j in range(versions_each):
        seed = index * versions_each + j
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(200, 3)).astype(np.float32)
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
        params = {"objective": "multiclass", "num_class": 3, "verbosity": -1,
                  "num_threads": 1, "seed": seed}
        booster = lgb.train(params, lgb.Dataset(X, y, feature_name=features), 3)
        main_id = models[seed % len(models)]
        cards.append(ModelCard(
            name=model_name(main_id, "1h", prefix), booster=booster,
            variant_id=main_id.replace("-w", "/w").replace("-high", "/high_breakout/s1.0/k1.0")
            .replace("-low", "/low_breakout/s1.0/k1.0"),
            params=params, features=features, data_fingerprint="fp-concurrency",
            metrics={"holdout_macro_ap": float(rng.uniform(0.3, 0.7))},
            input_example=pd.DataFrame(X[:2], columns=features), interval="1h"))
    registry = MlflowRegistry(uri, uri, "swingml-concurrency")
    (gate / f"ready-{index}").touch()
    while not (gate / "go").exists():  # every writer starts at once
        time.sleep(0.01)
    errors = []
    registered = []
    for card in cards:
        try:
            registered.extend(v.version for v in registry.register([card]))
        except Exception:
            errors.append(traceback.format_exc())
    print(json.dumps({"registered": registered, "errors": errors}))
    """
)


@pytest.mark.slow
def test_eight_writers_five_versions_each_four_models_lose_nothing(tmp_path: Path) -> None:
    uri = backends.require_server()
    prefix = backends.unique_prefix()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                uri,
                prefix,
                str(i),
                str(gate),
                json.dumps(MODELS),
                str(VERSIONS_EACH),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    deadline = time.time() + 300
    while len(list(gate.glob("ready-*"))) < PROCESSES and time.time() < deadline:
        assert all(p.poll() is None for p in procs), "a writer died before the start"
        time.sleep(0.05)
    (gate / "go").touch()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    errors = [e for r in reports for e in r["errors"]]
    assert errors == [], errors[0]
    assert sum(len(r["registered"]) for r in reports) == PROCESSES * VERSIONS_EACH

    from swingml.registry.mlflow_registry import CHAMPION, MlflowRegistry

    registry = MlflowRegistry(uri, uri, "swingml-concurrency")
    models = registry.models(f"{prefix}%")
    assert len(models) == len(MODELS)
    assert sum(m.versions for m in models) == PROCESSES * VERSIONS_EACH == 40
    assert all(m.champion_version is not None for m in models)  # 4 champions
    for m in models:
        versions = registry.versions(m.name)
        assert sorted(int(v.version) for v in versions) == list(range(1, len(versions) + 1))
        assert [v.version for v in versions if CHAMPION in v.aliases] == [m.champion_version]
