"""Fixtures of the executor tests: a run store, a quiet console, small executor settings."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from swingml.config import ExecutorConfig
from swingml.io.store import RunStore
from swingml.orchestration.local import LocalExecutor

# Worker processes import task functions by module name: make orch_tasks importable here and
# (through the parent's sys.path, which workers adopt) there.
HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """An empty run directory."""
    return RunStore(tmp_path / "run")


@pytest.fixture
def console() -> Console:
    """A console that records what the executor shows (progress, failure list)."""
    return Console(file=io.StringIO(), width=200, color_system=None)


def executor_config(**overrides: Any) -> ExecutorConfig:
    """Executor settings for tests: 2 workers, quick backoff, short limits unless overridden."""
    settings: dict[str, Any] = {
        "max_concurrent_processes": 2,
        "retry_backoff_s": 0.05,
        "max_retries": 1,
        "task_timeout_s": 60.0,
        "memory_limit_mb": 2048,
    }
    settings.update(overrides)
    return ExecutorConfig(**settings)


@pytest.fixture
def make_config() -> Any:
    """``make_config(**executor_settings)`` -> test executor settings (see ``executor_config``)."""
    return executor_config


@pytest.fixture
def make_local(store: RunStore, console: Console) -> Any:
    """``make_local(**executor_settings)`` -> a LocalExecutor on the test's run directory."""

    def make(**overrides: Any) -> LocalExecutor:
        return LocalExecutor(executor_config(**overrides), store, console)

    return make
