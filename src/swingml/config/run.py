"""Run-level settings: where the run directory is and the global seed."""

from __future__ import annotations

from pydantic import Field

from swingml.config._model import Section


class RunConfig(Section):
    """Where a run writes and the seed every random choice derives from."""

    dir: str = "runs/default"
    seed: int = Field(default=42, ge=0)
    profile: str = "base"
    # Local working copy of a gs:// run.dir (null: <system temp>/swingml-work); see swingml.io.gcs.
    work_dir: str | None = None
