"""The workflow as pipeline steps: which command each stage runs and which stages it reads.

Step order in the compiled pipeline comes from ``inputs`` (a step waits for the steps whose outputs
it reads), not from the position in the table, so ``features`` and ``targets`` run side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One container step: the stage it runs, its ``swingml`` sub-command and its inputs."""

    stage: str
    command: tuple[str, ...]
    inputs: tuple[str, ...]
    variant_heavy: bool = False

    @property
    def task_name(self) -> str:
        """The step's name in the compiled pipeline (Kubeflow names allow no underscores)."""
        return self.stage.replace("_", "-")


TRAINING_STEPS: tuple[Step, ...] = (
    Step("data", ("data", "prepare"), ()),
    Step("features", ("features",), ("data",)),
    Step("targets", ("targets",), ("data",)),
    Step("prep", ("prep",), ("data", "features")),
    Step("select", ("select",), ("prep", "targets"), variant_heavy=True),
    Step("tune", ("tune",), ("select", "targets", "features"), variant_heavy=True),
    Step("train", ("train",), ("tune",), variant_heavy=True),
    Step("predict_batch", ("predict", "batch"), ("train", "features", "targets")),
)

LIVE_STEPS: tuple[Step, ...] = (
    Step("data_fetch", ("data", "fetch"), ()),
    Step("predict_live", ("predict", "live"), ("data_fetch",)),
)

RETRAIN_STEPS: tuple[Step, ...] = (
    Step("data_fetch", ("data", "fetch", "--recent"), ()),
    Step("retrain", ("retrain",), ("data_fetch",), variant_heavy=True),
)
"""The retraining pipeline: the closed bars since the data's end, then ``swingml retrain``."""


def topological(steps: Sequence[Step]) -> list[Step]:
    """``steps`` ordered so each comes after all of its inputs (stable for ties)."""
    placed: list[Step] = []
    done: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if set(s.inputs) <= done]
        if not ready:
            names = ", ".join(s.stage for s in pending)
            raise ValueError(f"steps with unmet or circular inputs: {names}")
        for step in ready:
            placed.append(step)
            done.add(step.stage)
            pending.remove(step)
    return placed
