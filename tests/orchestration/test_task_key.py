"""Task keys: stable content hashes that change exactly when what they name changes."""

from __future__ import annotations

from pathlib import Path

import orch_tasks
import pytest

from swingml.config import Config, ExecutorConfig
from swingml.orchestration import task_key
from swingml.orchestration.tasks import folder_name


def test_same_inputs_same_key_and_readable_prefix() -> None:
    key = task_key(orch_tasks.square, "BTCUSDT/w5/high", {"a": 1, "b": [1, 2]}, 3, b"\x00")
    assert key == task_key(orch_tasks.square, "BTCUSDT/w5/high", {"b": [1, 2], "a": 1}, 3, b"\x00")
    assert key.startswith("square-")
    assert folder_name(key) == key


def test_every_part_and_the_function_count() -> None:
    base = task_key(orch_tasks.square, "v1", "fp1")
    assert task_key(orch_tasks.square, "v1", "fp2") != base
    assert task_key(orch_tasks.square, "v2", "fp1") != base
    assert task_key(orch_tasks.raises, "v1", "fp1") != base
    # Part boundaries matter: ("ab", "c") is not ("a", "bc"); bytes are not the same text.
    assert task_key(orch_tasks.square, "ab", "c") != task_key(orch_tasks.square, "a", "bc")
    assert task_key(orch_tasks.square, b"v1") != task_key(orch_tasks.square, "v1")


def test_config_slice_changes_only_keys_that_include_it() -> None:
    a, b = Config(), Config(executor=ExecutorConfig(max_retries=5))
    sel_a = task_key(orch_tasks.square, "v", a.slice_hash("selection"))
    sel_b = task_key(orch_tasks.square, "v", b.slice_hash("selection"))
    exe_a = task_key(orch_tasks.square, "v", a.executor)
    exe_b = task_key(orch_tasks.square, "v", b.executor)
    assert sel_a == sel_b
    assert exe_a != exe_b


def test_paths_and_unknown_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="file_fingerprint"):
        task_key(orch_tasks.square, Path("/data/x.parquet"))
    with pytest.raises(TypeError, match="part 1"):
        task_key(orch_tasks.square, "ok", object())


def test_unsafe_keys_get_safe_distinct_folders() -> None:
    a, b = folder_name("BTCUSDT/w5/high"), folder_name("BTCUSDT/w5:high")
    assert "/" not in a and a != b
    assert folder_name("..") != ".."
