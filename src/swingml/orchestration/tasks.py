"""Task identity and the per-task folder layout under the run directory.

A task key is a content hash of what determines the task's output, so a finished result can be
reused exactly when nothing it depends on changed. Each task gets ``tasks/<stage>/<key>/`` with its
log, its artifact folder and, once it succeeded, its result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from swingml.io import catalog

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def _part_bytes(index: int, part: Any) -> bytes:
    """Canonical bytes of one key part; unsupported types are an error, never a silent repr."""
    if isinstance(part, bytes):
        return b"b:" + part
    if isinstance(part, PurePath):
        raise TypeError(
            f"task_key part {index} is a path ({part}); pass its content fingerprint "
            "(swingml.io.store.file_fingerprint) so the key follows the data, not the location"
        )
    if callable(getattr(part, "model_dump", None)):  # a pydantic model, e.g. a config section
        part = part.model_dump(mode="json")
    try:
        text = json.dumps(part, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except TypeError as exc:
        raise TypeError(
            f"task_key part {index} ({type(part).__name__}) is not JSON-serialisable: {exc}; "
            "pass strings, numbers, bytes, lists/dicts of them or a pydantic model"
        ) from None
    return b"j:" + text.encode("utf-8")


def task_key(fn: Callable[..., Any], *parts: Any) -> str:
    """Content hash of ``fn``'s qualified name and ``parts`` (fingerprints, config slices, ids).

    The result reads ``<function name>-<16 hex digits>`` so folders stay recognisable. Changing any
    part (for example a config slice hash) changes the key, so exactly the affected tasks re-run.
    The function's code is not hashed: pass a version string as a part when it changes meaning.
    """
    digest = hashlib.sha256()
    name = f"{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', repr(fn))}"
    digest.update(name.encode("utf-8"))
    for index, part in enumerate(parts):
        blob = _part_bytes(index, part)
        digest.update(len(blob).to_bytes(8, "little"))
        digest.update(blob)
    short = _UNSAFE_CHARS.sub("_", getattr(fn, "__name__", "task")).strip("_.")[:40] or "task"
    return f"{short}-{digest.hexdigest()[:16]}"


def folder_name(key: str) -> str:
    """A path-safe folder name for ``key``: the key itself when safe, else a sanitised hash form."""
    if _SAFE.fullmatch(key) and key not in {".", ".."}:
        return key
    cleaned = _UNSAFE_CHARS.sub("_", key).strip("_.")[:80] or "task"
    return f"{cleaned}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"


def check_stage_name(stage: str) -> str:
    """``stage`` if it can name a folder; a ``ValueError`` otherwise (a caller's bug)."""
    if not _SAFE.fullmatch(stage):
        raise ValueError(
            f"stage name {stage!r} must be letters, digits, '.', '_' or '-' (it names a folder)"
        )
    return stage


@dataclass(frozen=True)
class TaskPaths:
    """Where one task's files live: ``tasks/<stage>/<key>/{task.log,artifacts/,result.pkl}``."""

    folder: Path

    @property
    def log(self) -> Path:
        """Everything the task printed or logged, one header line per attempt."""
        return self.folder / "task.log"

    @property
    def artifacts(self) -> Path:
        """The task's own output folder (``swingml.orchestration.task_dir()`` in the task)."""
        return self.folder / "artifacts"

    @property
    def result(self) -> Path:
        """The pickled return value, written atomically by the parent once the task succeeded."""
        return self.folder / "result.pkl"

    @property
    def start_marker(self) -> Path:
        """Written by a Ray attempt as it starts, so its time limit counts from then."""
        return self.folder / "started"

    @property
    def kill_marker(self) -> Path:
        """Written by a task's own memory watchdog (Ray) just before it ends its process."""
        return self.folder / "killed.json"


def stage_dir(root: Path, stage: str) -> Path:
    """``tasks/<stage>`` under the run directory ``root``."""
    return root / catalog.folder("tasks") / check_stage_name(stage)


def task_paths(root: Path, stage: str, key: str) -> TaskPaths:
    """The folder layout of task ``key`` of ``stage`` under the run directory ``root``."""
    return TaskPaths(stage_dir(root, stage) / folder_name(key))
