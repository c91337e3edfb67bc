"""Feature generation settings (SPEC §3)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from swingml.config._model import Section


class GeneratorSpec(Section):
    """One generator to run: its registered name and the parameters it takes."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class FeaturesConfig(Section):
    """Which generators run with which parameters, and how the store is written."""

    profile: Literal["tiny", "small", "full"] = "small"
    generators: tuple[GeneratorSpec, ...] | None = None
    timeframes: tuple[str, ...] = ("4h", "1d")
    cross_coin: bool = True
    block_columns: int = Field(default=256, ge=1)
    memory_budget_mb: int = Field(default=2048, ge=64)
