"""`swingml deploy compile`: the YAML, loaded by kfp and as a PipelineSpec, is the workflow.

Every stage is a step in the profile's image, in the order of the stages' inputs, with the profile
and the overrides in its arguments and the profile's machine and accelerators as its resources.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2

from swingml.config import load_config
from swingml.deploy.steps import TRAINING_STEPS
from swingml.workflow.pipeline import RUN_ORDER

OVERRIDES = (
    "tuning.budget=60",
    "deploy.accelerator_type=NVIDIA_TESLA_T4",
    "deploy.accelerator_count=2",
)
HEAVY = {"select", "tune", "train"}


def _compile(tmp_path: Path, profile: str, *sets: str) -> Path:
    output = tmp_path / f"{profile}.yaml"
    args = [arg for item in sets for arg in ("--set", item)]
    done = subprocess.run(
        [sys.executable, "-m", "swingml.cli", "deploy", "compile", "--profile", profile,
         "--output", str(output), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(output) in done.stdout
    return output


def _spec(path: Path) -> pipeline_spec_pb2.PipelineSpec:
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(yaml.safe_load(path.read_text()), spec)
    return spec


def _containers(spec: pipeline_spec_pb2.PipelineSpec) -> dict[str, dict[str, Any]]:
    """Task name -> its container (image, command, args, resources)."""
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    out = {}
    for name, task in spec.root.dag.tasks.items():
        label = spec.components[task.component_ref.name].executor_label
        out[name] = executors[label]["container"]
    return out


def test_training_steps_are_the_stages_in_run_order() -> None:
    # checked here, not at import: deploy sits below the workflow layer and never imports pipeline
    assert tuple(step.stage for step in TRAINING_STEPS) == RUN_ORDER


@pytest.fixture(scope="module")
def central_dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compile(tmp_path_factory.mktemp("compile"), "central-dev", *OVERRIDES)


def test_kfp_loads_the_compiled_pipelines(central_dev: Path) -> None:
    training = components.load_component_from_file(str(central_dev))
    assert training.name == "swingml-central-dev"
    live = components.load_component_from_file(str(central_dev.with_name("central-dev-live.yaml")))
    assert live.name == "swingml-central-dev-live"


def test_every_stage_is_a_step_in_input_order(central_dev: Path) -> None:
    spec = _spec(central_dev)
    tasks = spec.root.dag.tasks
    assert set(tasks) == {f"swingml-{stage.replace('_', '-')}" for stage in RUN_ORDER}
    for step in TRAINING_STEPS:
        depends = set(tasks[f"swingml-{step.task_name}"].dependent_tasks)
        assert depends == {f"swingml-{name.replace('_', '-')}" for name in step.inputs}
    # every step reaches back to data through its inputs: nothing can run before its inputs exist
    for step in TRAINING_STEPS:
        seen, todo = set(), list(step.inputs)
        while todo:
            name = todo.pop()
            seen.add(name)
            todo += next(s.inputs for s in TRAINING_STEPS if s.stage == name)
        assert step.stage == "data" or "data" in seen


def test_images_arguments_and_resources_come_from_the_profile(central_dev: Path) -> None:
    config = load_config("central-dev")
    containers = _containers(_spec(central_dev))
    commands = {step.task_name: list(step.command) for step in TRAINING_STEPS}
    for name, container in containers.items():
        assert container["image"] == config.deploy.image
        args = container["args"]
        stage = name.removeprefix("swingml-")
        assert container["command"] == ["swingml"]
        assert args[: len(commands[stage])] == commands[stage]
        assert args[args.index("--profile") + 1] == "central-dev"
        sets = [args[i + 1] for i, arg in enumerate(args) if arg == "--set"]
        assert set(OVERRIDES) <= set(sets)
        assert "executor.max_concurrent_processes=16" in sets  # n2-standard-16
        resources = container["resources"]
        assert resources["resourceCpuLimit"] == "16"
        assert resources["resourceMemoryLimit"] == "64G"
        accelerator = resources.get("accelerator")
        if stage in HEAVY:
            assert accelerator["resourceType"] == "NVIDIA_TESLA_T4"
            assert accelerator["resourceCount"] == "2"
        else:
            assert accelerator is None


def test_production_machine_sizes_the_steps(tmp_path: Path) -> None:
    containers = _containers(_spec(_compile(tmp_path, "production")))
    for container in containers.values():
        assert container["resources"]["resourceCpuLimit"] == "32"  # n2-highmem-32
        assert container["resources"]["resourceMemoryLimit"] == "256G"
        assert "accelerator" not in container["resources"]


def test_live_pipeline_fetches_then_predicts(central_dev: Path) -> None:
    spec = _spec(central_dev.with_name("central-dev-live.yaml"))
    tasks = spec.root.dag.tasks
    assert set(tasks) == {"swingml-data-fetch", "swingml-predict-live"}
    assert list(tasks["swingml-predict-live"].dependent_tasks) == ["swingml-data-fetch"]
    containers = _containers(spec)
    assert containers["swingml-data-fetch"]["args"][:2] == ["data", "fetch"]
    assert containers["swingml-predict-live"]["args"][:2] == ["predict", "live"]


def test_retrain_pipeline_fetches_recent_bars_then_retrains(central_dev: Path) -> None:
    spec = _spec(central_dev.with_name("central-dev-retrain.yaml"))
    tasks = spec.root.dag.tasks
    assert set(tasks) == {"swingml-data-fetch", "swingml-retrain"}
    assert list(tasks["swingml-retrain"].dependent_tasks) == ["swingml-data-fetch"]
    containers = _containers(spec)
    assert containers["swingml-data-fetch"]["args"][:3] == ["data", "fetch", "--recent"]
    assert containers["swingml-retrain"]["args"][:3] == ["retrain", "--profile", "central-dev"]
