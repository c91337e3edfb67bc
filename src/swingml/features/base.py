"""The generator contract and the registry every feature family registers into.

A generator is a named, parameterised, causal computation over one symbol's candles. It declares
its outputs (names, per-output parameters and lookback) *before* it sees data, so the feature store
can be planned, split into column blocks and fingerprinted without computing anything; then
``compute`` returns exactly those columns as float32 arrays.

Call order: ``Generator(params)`` → ``outputs()`` (any number of times) → ``compute(candles)``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from swingml.errors import BadInputError

FAMILIES: tuple[str, ...] = (
    "candlestick",
    "technical",
    "temporal",
    "market_structure",
    "volatility",
)
"""The five generator families of SPEC §3, one module each."""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""Feature and generator names: lower-case letters, digits, underscores (``__`` separates parts)."""

TRANSFORM_PATTERN = re.compile(r"^(lag|d|z|rank)_([1-9][0-9]*)$")
"""Transform specs: ``lag_K``, ``d_K`` (difference), ``z_W`` (rolling z-score), ``rank_W``."""


class GeneratorParams(BaseModel):
    """Parameters every generator takes; each generator extends it with its own.

    ``transforms`` are applied to every output (``rsi_14`` → ``rsi_14__z_50``); ``timeframes`` says
    whether the generator also runs on the higher timeframes of ``features.timeframes``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    transforms: tuple[str, ...] = ()
    timeframes: bool = True

    @field_validator("transforms")
    @classmethod
    def _known_transforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for spec in value:
            if not TRANSFORM_PATTERN.match(spec):
                raise ValueError(
                    f"unknown transform {spec!r}; use lag_K, d_K, z_W or rank_W (K, W >= 1)"
                )
            kind, n = spec.split("_")
            if kind in ("z", "rank") and int(n) < 3:
                raise ValueError(f"transform {spec!r} needs a window of at least 3 bars")
        if len(set(value)) != len(value):
            raise ValueError("transforms must be unique")
        return value


@dataclass(frozen=True)
class Output:
    """One column a generator produces: its name, the parameters that made it, its lookback.

    ``lookback`` is the number of earlier bars the value at bar t depends on: beyond it, older
    bars change nothing (for seeded recursions such as EMA, nothing at float32 precision).
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    lookback: int = 0


class Generator(ABC):
    """Base of every feature generator: subclasses set the class attributes and two methods."""

    name: ClassVar[str]
    family: ClassVar[str]
    Params: ClassVar[type[GeneratorParams]] = GeneratorParams
    split_by: ClassVar[str | None] = None
    """A tuple parameter whose values give consecutive runs of outputs (e.g. ``periods``): the
    generator can then be run in pieces, which bounds the memory of one run."""

    def __init__(self, params: GeneratorParams | None = None) -> None:
        self.params = params if params is not None else self.Params()
        if not isinstance(self.params, self.Params):
            raise TypeError(f"{self.name} takes {self.Params.__name__}, not {type(params)}")

    @abstractmethod
    def outputs(self) -> list[Output]:
        """The columns ``compute`` returns, in order, known before any data is seen."""

    @abstractmethod
    def calculate(self, candles: pd.DataFrame) -> Mapping[str, np.ndarray]:
        """Compute the declared outputs (any float dtype); only bars <= t may shape row t."""

    def compute(self, candles: pd.DataFrame) -> dict[str, np.ndarray]:
        """The declared outputs as float32 arrays, one value per candle, +-inf turned into NaN."""
        raw = self.calculate(candles)
        n = len(candles)
        out: dict[str, np.ndarray] = {}
        for item in self.outputs():
            values = raw.get(item.name)
            if values is None:
                raise RuntimeError(f"generator {self.name} did not compute {item.name}")
            arr = np.asarray(values, dtype=np.float32)
            if arr.shape != (n,):
                raise RuntimeError(f"generator {self.name}: {item.name} has shape {arr.shape}")
            arr[~np.isfinite(arr)] = np.nan
            out[item.name] = arr
        return out

    def split(self, max_outputs: int) -> list[Generator]:
        """The generator as pieces of at most ~``max_outputs`` outputs, same outputs in order."""
        if self.split_by is None:
            return [self]
        values = tuple(getattr(self.params, self.split_by))
        per_value = max(1, len(self.outputs()) // max(1, len(values)))
        size = max(1, max_outputs // per_value)
        if len(values) <= size:
            return [self]
        return [
            type(self)(self.params.model_copy(update={self.split_by: values[i : i + size]}))
            for i in range(0, len(values), size)
        ]

    @property
    def lookback(self) -> int:
        """The largest lookback of the generator's outputs."""
        return max((o.lookback for o in self.outputs()), default=0)

    def spec(self) -> dict[str, Any]:
        """The generator as config data: ``{"name", "params"}`` with every parameter spelled out."""
        return {"name": self.name, "params": self.params.model_dump(mode="json")}


REGISTRY: dict[str, type[Generator]] = {}

G = TypeVar("G", bound=type[Generator])


def register(cls: G) -> G:
    """Class decorator: make a generator available by its ``name`` in config."""
    if not NAME_PATTERN.match(cls.name):
        raise ValueError(f"bad generator name {cls.name!r}")
    if cls.family not in FAMILIES:
        raise ValueError(f"generator {cls.name}: unknown family {cls.family!r}")
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"generator name {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def registry() -> dict[str, type[Generator]]:
    """Every registered generator by name (imports the five family modules)."""
    from swingml.features import (  # noqa: F401  (imported for their registrations)
        candlestick,
        market_structure,
        technical,
        temporal,
        volatility,
    )

    return dict(REGISTRY)


def build(spec: Mapping[str, Any], where: str) -> Generator:
    """A generator from ``{"name", "params"}``; ``where`` is the config key shown in errors."""
    known = registry()
    name = spec.get("name")
    if name not in known:
        raise BadInputError(
            f"config key {where}.name",
            f"unknown generator {name!r}",
            f"use one of: {', '.join(sorted(known))}",
        )
    cls = known[str(name)]
    raw = spec.get("params") or {}
    try:
        params = cls.Params.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        key = f"{where}.params.{loc}" if loc else f"{where}.params"
        if first["type"] == "extra_forbidden":
            rule = f"unknown parameter of generator {name!r}"
        else:
            rule = f"{first['msg']} (got {first.get('input')!r})"
        allowed = ", ".join(cls.Params.model_fields)
        raise BadInputError(f"config key {key}", rule, f"{name} takes: {allowed}") from None
    return cls(params)


def positive_periods(value: tuple[int, ...], minimum: int = 1) -> tuple[int, ...]:
    """Validate a tuple of periods: non-empty, unique, each >= ``minimum``."""
    if not value:
        raise ValueError("at least one value is required")
    if len(set(value)) != len(value):
        raise ValueError("values must be unique")
    for v in value:
        if v < minimum:
            raise ValueError(f"every value must be >= {minimum} (got {v})")
    return value


def recursive_lookback(period: int) -> int:
    """Bars after which a seeded recursion with smoothing ``~1/period`` forgets its start.

    An EMA-like weight ``(1 - 1/period)^k`` is below float32 resolution (2**-24) after about
    ``17 * period`` bars.
    """
    return math.ceil(17 * period) + 1
