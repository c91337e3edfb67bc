"""Device assignment: each worker process gets its own device, never shared unless configured.

Fake devices (``executor.gpu_devices``) show the assignment itself; the OpenCL test trains a real
LightGBM model on PoCL's OpenCL device (the CPU), which ``scripts/setup_opencl.sh`` installs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orch_tasks
import pytest

from swingml.config import ExecutorConfig, devices, load_config
from swingml.config.devices import Device, DevicePlan, least_held, plan_devices
from swingml.errors import BadInputError
from swingml.io.store import RunStore
from swingml.orchestration.executor import Task
from swingml.orchestration.local import LocalExecutor


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` spans that overlap at one moment."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def _run_facts(
    store: RunStore, console: Any, make_config: Any, plan: DevicePlan, **settings: Any
) -> list[dict[str, Any]]:
    tasks = [Task(f"d{i}", orch_tasks.device_facts, (0.4,)) for i in range(12)]
    executor = LocalExecutor(make_config(**settings), store, console, plan)
    results = executor.run("devices", tasks)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return [r.value for r in results]


def test_each_cuda_worker_sees_only_its_own_device(
    store: RunStore, console: Any, make_config: Any
) -> None:
    plan = plan_devices("cuda", 1.0, ["5", "6", "7"])
    facts = _run_facts(
        store, console, make_config, plan, max_concurrent_processes=4, recycle_after=2
    )
    by_device: dict[str, list[tuple[float, float]]] = defaultdict(list)
    device_of_pid: dict[int, set[str | None]] = defaultdict(set)
    for fact in facts:
        assert fact["cuda"] in {"5", "6", "7"}  # one device visible, never a list
        assert fact["params"] == {"device_type": "cuda", "gpu_device_id": 0}
        by_device[fact["cuda"]].append((fact["start"], fact["end"]))
        device_of_pid[fact["pid"]].add(fact["cuda"])
    assert all(len(seen) == 1 for seen in device_of_pid.values())  # a worker keeps its device
    assert len(device_of_pid) >= 6  # workers were recycled (2 tasks each) and devices handed on
    assert set(by_device) == {"5", "6", "7"}
    for spans in by_device.values():
        assert _most_at_once(spans) == 1  # never two tasks on one device at once
    spans = [(f["start"], f["end"]) for f in facts]
    assert _most_at_once(spans) <= 3  # 4 processes asked for, 3 devices: 3 workers


def test_gpus_per_worker_half_lets_two_workers_share_an_opencl_device(
    store: RunStore, console: Any, make_config: Any
) -> None:
    plan = plan_devices("gpu", 0.5, ["0:0", "0:1"])
    facts = _run_facts(store, console, make_config, plan, max_concurrent_processes=4)
    by_device: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for fact in facts:
        assert fact["cuda"] is None  # OpenCL ids pick the device
        assert fact["params"] == {
            "device_type": "gpu",
            "gpu_platform_id": 0,
            "gpu_device_id": int(fact["device"]),
            "gpu_use_dp": True,
        }
        by_device[fact["device"]].append((fact["start"], fact["end"]))
    assert set(by_device) == {"0", "1"}
    assert all(_most_at_once(spans) <= 2 for spans in by_device.values())


def test_cpu_workers_get_no_device(make_local: Any) -> None:
    [result] = make_local().run("cpu", [Task("c", orch_tasks.device_facts)])
    assert result.value["kind"] == "cpu" and result.value["params"] == {}
    assert result.value["cuda"] is None or result.value["cuda"] == ""


def test_successor_takes_over_the_retiring_workers_device() -> None:
    plan = DevicePlan("gpu", (Device(0, 0), Device(0, 1)))
    # Worker on device 1 retires: the live ones hold device 0 only, so device 1 is handed on.
    assert least_held(plan, [Device(0, 0)]) == Device(0, 1)
    assert least_held(plan, []) == Device(0, 0)
    assert least_held(DevicePlan(), []) is None


def test_device_params_follow_the_environment() -> None:
    gpu = {devices.DEVICE_ENV: "gpu", devices.PLATFORM_ENV: "1", devices.DEVICE_ID_ENV: "2"}
    assert devices.device_params(gpu) == {
        "device_type": "gpu",
        "gpu_platform_id": 1,
        "gpu_device_id": 2,
        "gpu_use_dp": True,
    }
    assert devices.device_params({devices.DEVICE_ENV: "cpu"}) == {}
    assert devices.device_params({}) == {}
    assert devices.with_device({"num_leaves": 7}, gpu)["device_type"] == "gpu"


def test_bad_device_settings_are_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInputError, match="gpu_devices"):
        plan_devices("gpu", 1.0, ["zero"])
    monkeypatch.setenv(devices.CUDA_ENV, "")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BadInputError, match="no CUDA"):
        plan_devices("cuda", 1.0, None)
    with pytest.raises(BadInputError, match="gpus_per_worker"):
        load_config(None, (), ["executor.gpus_per_worker=0.3"])
    with pytest.raises(BadInputError, match=r"training\.device"):
        load_config(None, (), ["training.device=tpu"])
    assert ExecutorConfig().gpus_per_worker == 1.0


def test_lightgbm_trains_on_the_assigned_opencl_device(
    store: RunStore, console: Any, make_config: Any
) -> None:
    plan = plan_devices("gpu", 1.0, None)  # the OpenCL devices found (PoCL on a CPU machine)
    assert plan.devices, "no OpenCL device: run scripts/setup_opencl.sh"
    tasks = [Task(f"g{seed}", orch_tasks.fit_on_device, (seed,)) for seed in range(2)]
    results = LocalExecutor(make_config(), store, console, plan).run("opencl", tasks)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for result in results:
        assert result.value["params"]["device_type"] == "gpu"
        assert result.value["model_device"] == "[device_type: gpu]"
