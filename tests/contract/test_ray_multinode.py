"""Law: on a Ray cluster of two raylets (``ray start --head`` + ``ray start --address``), the
integration-test profile gives the outputs of the local pool, and no node runs more tasks than
its CPUs and memory allow.

Both raylets run on this machine (loopback only, small CPU and memory each), so the run directory
is at the same path on every node, which a Ray run needs (docs/user-guide.md). The cluster's own
processes are found by its private temp folder and ended by pid when the module is done.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
import ray
from rich.console import Console

from swingml.config import load_config
from swingml.io.store import RunStore, read_json
from swingml.orchestration import Task
from swingml.orchestration.ray_executor import RayExecutor
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

HELPERS = str(Path(__file__).resolve().parents[1] / "orchestration")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
orch_tasks = importlib.import_module("orch_tasks")

MB = 1024 * 1024
TASK_MB = 1024
"""``executor.memory_limit_mb`` on the cluster: what each task reserves of its node's memory."""
NODES = {"head": (2, 3 * TASK_MB + 200), "worker": (2, TASK_MB + 200)}
"""Per raylet: CPUs and memory (MB). The worker has 2 CPUs but memory for one task only."""
STAGES = ("data", "features", "targets", "prep", "select")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ports() -> list[str]:
    names = (
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    )
    return [f"{name}={_free_port()}" for name in names]


def _ours(folder: str) -> list[psutil.Process]:
    """The processes of the cluster whose temp folder is ``folder`` (and nobody else's)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(folder in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
    return found


def _stop(folder: str) -> None:
    procs = _ours(folder)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A head and a worker raylet on 127.0.0.1; yields the address to join."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    folder = tempfile.mkdtemp(prefix="swr-", dir="/tmp")  # short: Ray's socket paths are long
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    common = [
        "--node-ip-address=127.0.0.1",
        f"--object-store-memory={100 * MB}",
        "--disable-usage-stats",
        "--num-gpus=1",  # declared only: no task here uses a GPU for real
    ]
    cpus, memory = NODES["head"]
    head = [
        ray_cli,
        "start",
        "--head",
        f"--port={port}",
        f"--num-cpus={cpus}",
        f"--memory={memory * MB}",
        f"--temp-dir={folder}",
        "--include-dashboard=false",
        f"--dashboard-port={_free_port()}",
        f"--ray-client-server-port={_free_port()}",
        *common,
        *_ports(),
    ]
    cpus, memory = NODES["worker"]
    worker = [
        ray_cli,
        "start",
        f"--address=127.0.0.1:{port}",
        f"--num-cpus={cpus}",
        f"--memory={memory * MB}",
        *common,
        *_ports(),
    ]
    try:
        for cmd in (head, worker):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
        _stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _context(root: Path, overrides: list[str]) -> StageContext:
    config = load_config("integration-test", (), overrides, root)
    return StageContext(config, RunStore(root), Console(stderr=True, quiet=True))


@pytest.mark.ray
@pytest.mark.slow
def test_two_raylets_place_tasks_within_each_nodes_cpus_and_memory(
    cluster: str, tmp_path: Path
) -> None:
    overrides = [
        "executor.kind=ray",
        f"executor.ray_address={cluster}",
        f"executor.memory_limit_mb={TASK_MB}",
    ]
    config = load_config("integration-test", (), overrides, tmp_path)
    tasks = [Task(f"n{i}", orch_tasks.node_facts, (1.5,)) for i in range(8)]
    quiet = Console(file=None, quiet=True)
    try:
        results = RayExecutor(config.executor, RunStore(tmp_path), quiet).run("nodes", tasks)
        alive = [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
    assert len(alive) == 2
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for result in results:
        spans[result.value["node"]].append((result.value["start"], result.value["end"]))
    assert len(spans) == 2  # both nodes ran tasks
    slots = {}
    for node in alive:
        cpus = node["Resources"]["CPU"]
        memory_mb = node["Resources"]["memory"] / MB
        slots[node["NodeID"]] = min(int(cpus), int(memory_mb // TASK_MB))
    assert sorted(slots.values()) == [1, 2]  # the worker: 2 CPUs, memory for one task
    for node, node_spans in spans.items():
        events = sorted([(s, 1) for s, _ in node_spans] + [(e, -1) for _, e in node_spans])
        running = most = 0
        for _, step in events:
            running += step
            most = max(most, running)
        assert most <= slots[node], (node, most, slots[node])


@pytest.mark.ray
@pytest.mark.slow
def test_ray_gives_each_gpu_task_its_own_device(cluster: str, tmp_path: Path) -> None:
    overrides = [
        "executor.kind=ray",
        f"executor.ray_address={cluster}",
        f"executor.memory_limit_mb={TASK_MB}",
        "training.device=cuda",
    ]
    config = load_config("integration-test", (), overrides, tmp_path)
    tasks = [Task(f"g{i}", orch_tasks.device_facts, (1.0,)) for i in range(6)]
    executor = RayExecutor(
        config.executor, RunStore(tmp_path), Console(quiet=True), config.training.device
    )
    try:
        results = executor.run("gpus", tasks)
    finally:
        ray.shutdown()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for result in results:
        facts = result.value
        assert facts["cuda"] == "0"  # each node declares one GPU; Ray hands it to one task
        assert facts["params"] == {"device_type": "cuda", "gpu_device_id": 0}
    spans = sorted((r.value["start"], r.value["end"]) for r in results)
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most <= 2  # two nodes, one GPU each, gpus_per_worker 1


def _run(root: Path, overrides: list[str], stages: tuple[str, ...]) -> None:
    ctx = _context(root, overrides)
    for stage in stages:
        pipeline.run_stage(stage, ctx)


def _same_outputs(local: Path, remote: Path) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(local / "targets" / f"{symbol}.parquet"),
            pd.read_parquet(remote / "targets" / f"{symbol}.parquet"),
        )
    features = sorted(p.relative_to(local) for p in (local / "features").rglob("*.parquet"))
    assert features == sorted(
        p.relative_to(remote) for p in (remote / "features").rglob("*.parquet")
    )
    for name in features:
        pd.testing.assert_frame_equal(pd.read_parquet(local / name), pd.read_parquet(remote / name))
    for name in ("prep/kept_features.json", "selection/final_features.json"):
        assert read_json(local / name) == read_json(remote / name), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(local / "selection" / "rankings.parquet"),
        pd.read_parquet(remote / "selection" / "rankings.parquet"),
    )


@pytest.mark.ray
@pytest.mark.slow
def test_integration_profile_on_two_raylets_equals_the_local_pool(
    cluster: str, tmp_path: Path
) -> None:
    local, remote = tmp_path / "local", tmp_path / "ray"
    fast = ["tuning.budget=0.15"]
    _run(local, fast, (*STAGES, "tune", "train"))
    on_ray = [
        *fast,
        "executor.kind=ray",
        f"executor.ray_address={cluster}",
        f"executor.memory_limit_mb={TASK_MB}",
        "executor.max_concurrent_processes=null",
    ]
    try:
        _run(remote, on_ray, STAGES)
        _same_outputs(local, remote)
        # Tuning runs on a wall-clock budget; production training from the same tuned
        # parameters must give the same models on Ray as on the local pool.
        shutil.copytree(local / "tuning", remote / "tuning")
        _run(remote, on_ray, ("train",))
        alive = [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
    assert len(alive) == 2
    columns = ["main_id", "variant_id", "best_iteration", "holdout_macro_ap", "prior_macro_ap"]
    mine = pd.read_parquet(local / "training" / "holdout.parquet")[columns]
    theirs = pd.read_parquet(remote / "training" / "holdout.parquet")[columns]
    pd.testing.assert_frame_equal(
        mine.sort_values("main_id", ignore_index=True),
        theirs.sort_values("main_id", ignore_index=True),
    )
    summary = read_json(remote / "summary.json")["stages"]
    assert all(summary[name]["status"] == "done" for name in (*STAGES, "train"))
