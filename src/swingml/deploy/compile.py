"""``swingml deploy compile``: the workflow and the live inference as Kubeflow Pipelines v2 YAML.

Each stage is one container step running ``swingml <stage> --profile P --set ...`` in
``deploy.image``; a step starts after the steps whose outputs it reads (``steps.TRAINING_STEPS``).
Every step gets the CPU and memory of ``deploy.machine_type`` and runs the local process pool
with one worker per vCPU; the variant-heavy steps also get the profile's accelerators. Steps are
retried by Vertex AI, which is safe: a stage re-run reuses what its killed attempt committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from swingml.config import Config
from swingml.config.redact import redact
from swingml.deploy.cadence import config_cron, retrain_cron
from swingml.deploy.profile_check import check_deploy_keys, is_gcs_uri
from swingml.deploy.resources import Machine, machine
from swingml.deploy.steps import LIVE_STEPS, RETRAIN_STEPS, TRAINING_STEPS, Step, topological
from swingml.errors import BadInputError

STEP_RETRIES = 2


@dataclass(frozen=True)
class Compiled:
    """The compiled pipeline files, the live schedule's cron and the retrain schedule's."""

    training: Path
    live: Path
    cron: str
    retrain: Path
    retrain_cron: str

    def path(self, kind: str) -> Path:
        """The file of pipeline ``kind`` (training, live or retrain)."""
        return {"training": self.training, "live": self.live, "retrain": self.retrain}[kind]


def step_args(step: Step, config: Config, overrides: Sequence[str], vcpus: int) -> list[str]:
    """The container arguments of one step: its command, the profile, every override."""
    args = [*step.command, "--profile", config.run.profile]
    for override in overrides:
        args += ["--set", override]
    args += ["--set", "executor.kind=local", "--set", f"executor.max_concurrent_processes={vcpus}"]
    return args


def pipeline_name(config: Config, live: bool = False, kind: str | None = None) -> str:
    """``swingml-<profile>`` (``-live`` for the live pipeline, ``-retrain`` for retraining)."""
    kind = kind or ("live" if live else "training")
    return f"swingml-{config.run.profile}" + ("" if kind == "training" else f"-{kind}")


def live_path(training: Path, kind: str = "live") -> Path:
    """Where the live (or ``kind``) pipeline is written beside the training pipeline file."""
    return training.with_name(f"{training.stem}-{kind}{training.suffix or '.yaml'}")


def check_compilable(config: Config) -> None:
    """A cloud profile, complete, whose run directory is on Cloud Storage."""
    check_deploy_keys(config)
    if not is_gcs_uri(config.run.dir):
        raise BadInputError(
            f"profile {config.run.profile}: key run.dir ({config.run.dir})",
            "pipeline steps run in separate containers, so the run directory must be on Cloud "
            "Storage",
            f"--set run.dir=gs://<bucket>/runs/{config.run.profile}",
        )
    machine(config.deploy.machine_type)


def compile_pipelines(config: Config, overrides: Sequence[str], output: Path) -> Compiled:
    """Write the training pipeline to ``output`` and the live one beside it."""
    check_compilable(config)
    compiler = _kfp_compiler()
    box = machine(config.deploy.machine_type)
    output.parent.mkdir(parents=True, exist_ok=True)
    files = {"training": output, "live": live_path(output), "retrain": live_path(output, "retrain")}
    for kind, steps in (("training", TRAINING_STEPS), ("live", LIVE_STEPS)):
        built = _pipeline(config, overrides, box, steps, kind)
        compiler.Compiler().compile(built, package_path=str(files[kind]))
    retrain = _pipeline(config, overrides, box, RETRAIN_STEPS, "retrain")
    compiler.Compiler().compile(retrain, package_path=str(files["retrain"]))
    for written in files.values():
        _scrub(written)
    return Compiled(
        output,
        files["live"],
        config_cron(config),
        files["retrain"],
        retrain_cron(config.retrain.every),
    )


def _scrub(path: Path) -> None:
    """Mask any secret in a compiled pipeline file (:func:`swingml.config.redact.redact`): the files
    are uploaded and shared, and credentials reach the steps from their environment."""
    text = path.read_text(encoding="utf-8")
    clean = redact(text)
    if clean != text:
        path.write_text(clean, encoding="utf-8")


def _kfp_compiler() -> Any:
    try:
        from kfp import compiler
    except ImportError:
        raise BadInputError(
            "swingml deploy", "needs kfp, which is not installed", "pip install 'swingml[vertex]'"
        ) from None
    return compiler


def _component(step: Step, config: Config, overrides: Sequence[str], box: Machine) -> Any:
    from kfp import components

    spec = {
        "name": f"swingml-{step.task_name}",
        "description": f"swingml {' '.join(step.command)}",
        "implementation": {
            "container": {
                "image": config.deploy.image,
                "command": ["swingml"],
                "args": step_args(step, config, overrides, box.vcpus),
            }
        },
    }
    return components.load_component_from_text(yaml.safe_dump(spec, sort_keys=False))


def _pipeline(
    config: Config, overrides: Sequence[str], box: Machine, steps: Sequence[Step], kind: str
) -> Callable[[], None]:
    from kfp import dsl

    deploy = config.deploy
    made = {step.stage: _component(step, config, overrides, box) for step in steps}
    what = {"live": "live inference", "retrain": "retraining"}.get(kind, "training workflow")

    def pipeline() -> None:
        tasks: dict[str, Any] = {}
        for step in topological(steps):
            task = made[step.stage]()
            task.set_display_name(step.task_name)
            task.set_caching_options(False)
            task.set_retry(num_retries=STEP_RETRIES)
            task.set_cpu_limit(str(box.vcpus))
            task.set_memory_limit(f"{box.memory_gb}G")
            if step.variant_heavy and deploy.accelerator_type and deploy.accelerator_count:
                task.set_accelerator_type(deploy.accelerator_type)
                task.set_accelerator_limit(deploy.accelerator_count)
            for name in step.inputs:
                task.after(tasks[name])
            tasks[step.stage] = task

    # kfp reads the return annotation as an output type; postponed annotations make it a string.
    pipeline.__annotations__.pop("return", None)
    built: Callable[[], None] = dsl.pipeline(
        name=pipeline_name(config, kind=kind),
        description=f"swingml {what}, profile {config.run.profile}, run dir {config.run.dir}",
    )(pipeline)
    return built
