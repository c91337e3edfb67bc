"""The strict base every config section derives from: frozen, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A frozen config section; an unknown key is an error, not silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
