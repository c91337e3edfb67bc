"""Benchmark of the shared registry: server start time, and registering 36 champions on the
PostgreSQL-backed MLflow server vs the run's SQLite file, side by side in one run.

A private services instance (its own folder and ports, so the one of ``make test`` is left alone)
is started cold (``initdb``, ``createdb``, ``mlflow db upgrade``, server up to ``/health``) and
then warm (data kept) by ``scripts/services.sh``. 36 cards (one per main variant of the default
grid: 3 symbols x 6 windows x 2 sides; LightGBM boosters of ``--features`` columns and
``--rounds`` rounds) are registered into each backend in one batch per round, as ``swingml train``
does, the backends alternating round by round.

Run under the machine-wide benchmark lock:
    flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_registry.py
Writes docs/benchmarks/registry.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from _bench import load_average, machine
from swingml.registry.mlflow_registry import MlflowRegistry, ModelCard, model_name

REPO = Path(__file__).resolve().parents[1]
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
WINDOWS = (3, 5, 8, 13, 21, 34)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _services(action: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(REPO / "scripts" / "services.sh"), action], env=env, check=True)
    return time.perf_counter() - start


def _cards(prefix: str, features: int, rounds: int, seed: int) -> list[ModelCard]:
    names = [f"f{i}" for i in range(features)]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, features)).astype(np.float32)
    cards = []
    for i, (symbol, w, side) in enumerate(
        (s, w, side) for s in SYMBOLS for w in WINDOWS for side in ("high", "low")
    ):
        y = (X[:, i % features] > 0.3).astype(int) + (X[:, (i + 1) % features] > 1).astype(int)
        params = {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1}
        booster = lgb.train(
            {**params, "seed": seed + i}, lgb.Dataset(X, y, feature_name=names), rounds
        )
        main_id = f"{symbol}-w{w}-{side}"
        cards.append(
            ModelCard(
                name=model_name(main_id, "1h", prefix),
                booster=booster,
                variant_id=f"{symbol}/w{w}/{side}_breakout/s1.0/k1.0",
                params=params,
                features=names,
                data_fingerprint=f"bench-{seed}",
                metrics={"holdout_macro_ap": float(rng.uniform(0.3, 0.6))},
                input_example=pd.DataFrame(X[:3], columns=names),
                interval="1h",
            )
        )
    return cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="registration rounds per backend")
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--trees", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "registry.md")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    tmp.chmod(0o755)  # PostgreSQL runs as its own user
    mlflow_port, pg_port = _port(), _port()
    env = {
        **os.environ,
        "SWINGML_SERVICES_DIR": str(tmp / "services"),
        "SWINGML_MLFLOW_PORT": str(mlflow_port),
        "SWINGML_PG_PORT": str(pg_port),
        "PYTHON": sys.executable,
    }
    uri = f"http://127.0.0.1:{mlflow_port}"
    starts: dict[str, float] = {}
    times: dict[str, list[float]] = {"server": [], "sqlite": []}
    try:
        starts["cold"] = _services("up", env)
        _services("down", env)
        starts["warm"] = _services("up", env)
        for r in range(args.rounds):
            for backend in ("server", "sqlite") if r % 2 == 0 else ("sqlite", "server"):
                cards = _cards(f"b{uuid.uuid4().hex[:8]}-", args.features, args.trees, seed=r)
                if backend == "server":
                    registry = MlflowRegistry(uri, uri, "bench-registry")
                else:
                    registry = MlflowRegistry.for_run(None, None, "bench-registry", tmp / f"run{r}")
                start = time.perf_counter()
                done = registry.register(cards)
                times[backend].append(time.perf_counter() - start)
                assert len(done) == 36 and all(v.champion for v in done)
                print(f"round {r} {backend}: {times[backend][-1]:.1f} s", flush=True)
    finally:
        _services("down", env)
    server, sqlite = statistics.median(times["server"]), statistics.median(times["sqlite"])
    lines = [
        "# Registry benchmark",
        "",
        f"Machine: {machine()}; load average at the end {load_average()} (shared machine).",
        f"36 champions (3 symbols x 6 windows x 2 sides), boosters of {args.features} features x "
        f"{args.trees} trees x 3 classes, registered in one batch per round as `swingml train` "
        f"does (log run + model + signature + input example, create version, champion alias); "
        f"{args.rounds} rounds per backend, alternating.",
        "",
        "| services.sh up | s |",
        "|---|---:|",
        "| cold: initdb, createdb, `mlflow db upgrade`, server to /health | "
        f"{starts['cold']:.1f} |",
        f"| warm: data kept, PostgreSQL + server to /health | {starts['warm']:.1f} |",
        "",
        "| register 36 champions | median s | per model s | ratio |",
        "|---|---:|---:|---:|",
        f"| SQLite file in the run directory | {sqlite:.1f} | {sqlite / 36:.2f} | 1.0 |",
        f"| MLflow server on PostgreSQL (127.0.0.1, artifacts served) | {server:.1f} | "
        f"{server / 36:.2f} | {server / sqlite:.2f} |",
        "",
        "All rounds (s): "
        + "; ".join(f"{k}: {', '.join(f'{t:.1f}' for t in v)}" for k, v in times.items()),
        "",
        "Reproduce: `flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_registry.py`.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
