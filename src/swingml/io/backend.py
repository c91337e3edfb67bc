"""The protocol every run-directory backend keeps: pull, lease a stage, commit it.

A command works on local files: ``RunStore`` (``store.py``) is a run directory on local disk,
``RemoteRunStore`` (``gcs.py``) a local working copy of a ``gs://`` run directory. Code outside
``swingml.io`` sees only this protocol and the catalog's paths; a new backend (another object
store) is one module implementing it.

What a reader can rely on:

- every file is written atomically (temp file + rename): a file is its old bytes or its new
  bytes, never a part;
- after ``pull()`` the working copy holds only *committed* stages, each whole: a stage's files
  are named by one commit marker written after them (gs://), or they are local files a finished
  stage wrote; a stage that crashed leaves its previous committed outputs;
- ``summary.json`` says which stages finished; a stage's outputs carry the input key they were
  built from (``RunStore.is_current``), so a reader can tell stale outputs from current ones.

What a second writer can rely on:

- ``begin_stage(name)`` leases the stage: on gs:// a second writer of the same stage is refused
  (``StageBusyError``) while the first one's lease is live, and takes over a lease whose owner
  died; on local disk the writers of the few shared files (the model registry, the prediction
  store) take an ``flock`` (``exclusive_lock``) instead, and a stage's own files are written
  atomically, so the last writer wins and both are whole;
- ``record_stage(name, entry)`` commits the stage: its ``summary.json`` entry, and on gs:// its
  files and commit marker, then releases the lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class RunBackend(Protocol):
    """A run directory a command can read and write (see the module docstring)."""

    root: Path
    """The local directory the command reads and writes (the run, or its working copy)."""

    def pull(self) -> int:
        """Bring ``root`` up to the committed state; how many files came down."""
        ...

    def begin_stage(self, name: str) -> None:
        """Lease stage ``name`` for this writer before it writes anything."""
        ...

    def record_stage(self, name: str, entry: Mapping[str, Any]) -> None:
        """Commit stage ``name``: its ``summary.json`` entry (and files), then release it."""
        ...
