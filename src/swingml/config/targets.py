"""Swing-event target settings (SPEC §4): volatility window, horizon and the variant grid."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from swingml.config._model import Section

EventKind = Literal["high_breakout", "high_reversion", "low_breakout", "low_reversion"]


class TargetsConfig(Section):
    """How swing events are measured and labelled."""

    vol_window: int = Field(default=20, ge=2)
    horizon_factor: int = Field(default=2, ge=1)


class GridConfig(Section):
    """The variant grid: every axis is data (864 variants by default, 2160 in ``grid-2160``)."""

    windows: tuple[int, ...] = (2, 3, 5, 10, 20, 50)
    kinds: tuple[EventKind, ...] = (
        "high_breakout",
        "high_reversion",
        "low_breakout",
        "low_reversion",
    )
    s: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5)
    k: tuple[float, ...] = (0.5, 1.0, 1.5)

    @field_validator("windows", "s", "k", "kinds")
    @classmethod
    def _non_empty_unique(cls, value: tuple[object, ...]) -> tuple[object, ...]:
        if not value:
            raise ValueError("must list at least one value")
        if len(set(value)) != len(value):
            raise ValueError("values must be unique")
        return value

    @field_validator("windows")
    @classmethod
    def _windows_at_least_one_bar(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(w < 1 for w in value):
            raise ValueError("every window must be at least 1 bar (a pivot needs a bar each side)")
        return value

    @field_validator("s", "k")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not v > 0 for v in value):
            raise ValueError("every value must be greater than 0 (a multiple of the volatility)")
        return value
