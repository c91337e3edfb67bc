"""Finished task results on disk: the resume mechanism of every executor.

Only the parent process writes a result, atomically (temporary file + rename), after the task
succeeded; a run killed at any moment leaves either the whole result or none of it.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from swingml.orchestration.tasks import TaskPaths

log = logging.getLogger(__name__)


def load_result(paths: TaskPaths) -> tuple[bool, Any]:
    """``(True, value)`` for a finished task, ``(False, None)`` when it must (re)run.

    A result that no longer unpickles (its classes changed since) counts as missing, with a
    warning, so the task simply runs again.
    """
    if not paths.result.is_file():
        return False, None
    try:
        with paths.result.open("rb") as handle:
            value = pickle.load(handle)
    except Exception as exc:
        log.warning("ignoring unreadable result %s (%s); the task runs again", paths.result, exc)
        return False, None
    return True, value


def save_result(paths: TaskPaths, payload: bytes) -> None:
    """Store a task's pickled return value atomically (parent process only)."""
    from swingml.io.store import write_bytes_atomic

    write_bytes_atomic(paths.result, payload)
