"""Task functions for the executor tests: well-behaved ones and ones that misbehave on purpose.

They live in a plain module (put on ``sys.path`` by ``conftest.py``) because worker processes
import a task's function by its module name. Every execution leaves a marker file in the task's
artifact folder, so tests can count how often a task really ran.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from swingml.orchestration import task_dir, worker_threads


def mark() -> None:
    """Record one execution of the running task."""
    (task_dir() / f"exec-{os.getpid()}-{uuid.uuid4().hex}").touch()


def executions(artifacts: Path) -> int:
    """How many times the task whose artifact folder is ``artifacts`` ran."""
    return len(list(artifacts.glob("exec-*"))) if artifacts.is_dir() else 0


def square(x: int, sleep_s: float = 0.0) -> int:
    """``x * x`` after ``sleep_s`` seconds."""
    mark()
    time.sleep(sleep_s)
    return x * x


def raises(message: str) -> None:
    """Always raises ``ValueError(message)``."""
    mark()
    raise ValueError(message)


def hangs() -> None:
    """Sleeps far longer than any test's timeout."""
    mark()
    time.sleep(600)


def hogs_memory(step_mb: int = 16) -> None:
    """Touches more and more memory until someone stops it."""
    mark()
    blocks = []
    while True:
        blocks.append(b"\x01" * (step_mb * 1024 * 1024))
        time.sleep(0.02)


def segfaults() -> None:
    """Dereferences a null pointer."""
    mark()
    ctypes.string_at(0)


def kills_itself() -> None:
    """SIGKILLs its own process."""
    mark()
    os.kill(os.getpid(), signal.SIGKILL)


def exits_hard() -> None:
    """Leaves through ``os._exit`` without a word."""
    mark()
    os._exit(3)


def fails_once(value: int) -> int:
    """Raises on its first execution, returns ``value`` on the next."""
    first = executions(task_dir()) == 0
    mark()
    if first:
        raise RuntimeError("first attempt fails on purpose")
    return value


def worker_facts() -> dict[str, Any]:
    """What the task sees about its worker: pid, threads, env, artifact folder."""
    mark()
    return {
        "pid": os.getpid(),
        "threads": worker_threads(),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
        "mkl": os.environ.get("MKL_NUM_THREADS"),
        "task_dir": str(task_dir()),
    }


def talks(text: str) -> str:
    """Writes to stdout, stderr, the logging system and the C-level stdout."""
    mark()
    print(f"stdout says {text}")
    print(f"stderr says {text}", file=sys.stderr)
    logging.getLogger("orch_tasks").info("logging says %s", text)
    sys.stdout.flush()
    os.write(1, f"fd1 says {text}\n".encode())
    (task_dir() / "artifact.txt").write_text(text)
    return text


def burns(cpu_s: float, mb: int) -> float:
    """Holds ``mb`` MB and spins for about ``cpu_s`` seconds of CPU."""
    mark()
    block = b"\x01" * (mb * 1024 * 1024)
    start = time.process_time()
    total = 0.0
    while time.process_time() - start < cpu_s:
        total += sum(range(1000))
    return float(len(block))


def records(worker: int, count: int, sleep_s: float = 0.0) -> list[dict[str, float]]:
    """``count`` metric records of one worker, as tuning trials would return them."""
    mark()
    time.sleep(sleep_s)
    return [
        {"worker": worker, "trial": i, "score": worker + i / 1000.0, "pid": os.getpid()}
        for i in range(count)
    ]


def returns_unpicklable() -> Any:
    """Returns a value that cannot cross a process boundary."""
    mark()
    return lambda: None


def fit_lightgbm(
    seed: int, rows: int = 600, features: int = 12, rounds: int = 20
) -> dict[str, Any]:
    """A small, seeded three-class LightGBM fit; returns its predictions and model digest."""
    import hashlib

    import lightgbm as lgb
    import numpy as np

    mark()
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=rows) > 0).astype(int) + (X[:, 1] > 1.0).astype(int)
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 15,
        "learning_rate": 0.1,
        "seed": seed,
        "deterministic": True,
        "num_threads": worker_threads(),
        "verbosity": -1,
    }
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=rounds)
    proba = booster.predict(X[:50])
    return {
        "proba": proba.round(12).tolist(),
        "model_sha": hashlib.sha256(booster.model_to_string().encode()).hexdigest(),
    }


def device_facts(sleep_s: float = 0.0) -> dict[str, Any]:
    """The device this task's worker was given, and when the task held it."""
    from swingml.config import devices

    mark()
    start = time.time()
    time.sleep(sleep_s)
    return {
        "pid": os.getpid(),
        "kind": os.environ.get(devices.DEVICE_ENV),
        "platform": os.environ.get(devices.PLATFORM_ENV),
        "device": os.environ.get(devices.DEVICE_ID_ENV),
        "cuda": os.environ.get(devices.CUDA_ENV),
        "params": devices.device_params(),
        "start": start,
        "end": time.time(),
    }


def fit_on_device(seed: int) -> dict[str, Any]:
    """``fit_lightgbm`` with this worker's device parameters; says which device LightGBM used."""
    import lightgbm as lgb
    import numpy as np

    from swingml.config.devices import with_device

    mark()
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1.0).astype(int)
    params = with_device(
        {
            "objective": "multiclass",
            "num_class": 3,
            "num_leaves": 7,
            "max_bin": 63,
            "seed": seed,
            "num_threads": worker_threads(),
            "verbosity": -1,
        }
    )
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=10)
    used = [line for line in booster.model_to_string().splitlines() if "[device_type:" in line]
    return {"params": params, "model_device": used[0] if used else "", "pid": os.getpid()}


def node_facts(sleep_s: float) -> dict[str, Any]:
    """The Ray node this task ran on, and when (only for tasks run by the Ray executor)."""
    import ray

    mark()
    start = time.time()
    time.sleep(sleep_s)
    return {"node": ray.get_runtime_context().get_node_id(), "start": start, "end": time.time()}
