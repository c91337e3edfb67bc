"""The feature plan: every column of the store, named and described, before anything is computed.

The plan resolves the generator list (``features.generators`` or the profile's), validates every
name and parameter (a ``BadInputError`` naming the config key), expands timeframes and transforms,
and fixes the column order. It is a pure function of the config, so a worker rebuilds exactly the
same plan from the same spec, and block fingerprints can be computed up front.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swingml.config import Config
from swingml.errors import BadInputError
from swingml.features import timeframes as tf
from swingml.features.base import FAMILIES, Generator, build
from swingml.features.cross_coin import CrossParams
from swingml.features.profiles import PROFILES
from swingml.features.transforms import Transform, parse

FEATURE_CODE_VERSION = "2"
"""Bump when a formula changes: every stored block is recomputed on the next run."""

MAX_UNIT_OUTPUTS = 32
"""A generator with a larger grid runs in pieces (``Generator.split``), so one run's outputs,
held in memory together, stay small whatever the grid."""


@dataclass(frozen=True)
class Unit:
    """One generator run on one timeframe (``timeframe`` None = the base interval)."""

    index: int
    generator: Generator
    timeframe: str | None
    tf_seconds: int | None

    @property
    def prefix(self) -> str:
        """Name prefix of the unit's features (``tf4h__`` or empty)."""
        return f"{tf.label(self.timeframe)}__" if self.timeframe else ""


@dataclass(frozen=True)
class Column:
    """One stored feature of a symbol (name without the ``<SHORT>__`` prefix)."""

    feature: str
    unit: Unit
    output: str
    transform: Transform | None
    params: Mapping[str, Any]
    lookback: int

    @property
    def family(self) -> str:
        """The generator family."""
        return self.unit.generator.family


@dataclass(frozen=True)
class FeaturePlan:
    """All per-symbol columns in store order, the units that make them, and cross-coin settings."""

    spec: Mapping[str, Any]
    units: tuple[Unit, ...]
    columns: tuple[Column, ...]
    cross: CrossParams | None
    base_seconds: int

    def family_columns(self, family: str) -> list[Column]:
        """The columns of one family, in store order."""
        return [c for c in self.columns if c.family == family]

    def families(self) -> list[str]:
        """Families that have at least one column, in ``FAMILIES`` order."""
        present = {c.family for c in self.columns}
        return [f for f in FAMILIES if f in present]

    def digest(self, *parts: Any) -> str:
        """A stable hash of the plan spec and extra parts (for cache keys)."""
        blob = json.dumps([self.spec, FEATURE_CODE_VERSION, *parts], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def plan_spec(config: Config) -> dict[str, Any]:
    """The part of the config the plan depends on, as plain data (what workers receive)."""
    features = config.features
    profile = PROFILES[features.profile]
    if features.generators is not None:
        generators = [
            {"name": s.name, "params": dict(s.params), "where": f"features.generators[{i}]"}
            for i, s in enumerate(features.generators)
        ]
    else:
        generators = [
            {
                "name": s["name"],
                "params": dict(s["params"]),
                "where": f"features.profile={profile.name} generators[{i}]",
            }
            for i, s in enumerate(profile.generators)
        ]
    cross = profile.cross.as_dict() if features.cross_coin else None
    return {
        "generators": generators,
        "timeframes": list(features.timeframes),
        "base_seconds": config.data.interval_seconds,
        "cross": cross,
    }


def make_plan(spec: Mapping[str, Any]) -> FeaturePlan:
    """Build and validate the plan from ``plan_spec`` data."""
    base_seconds = int(spec["base_seconds"])
    frames = tf.check_timeframes(spec["timeframes"], base_seconds)
    generators = [
        build(g, g.get("where", f"features.generators[{i}]"))
        for i, g in enumerate(spec["generators"])
    ]
    pieces = [
        (i, piece) for i, gen in enumerate(generators) for piece in gen.split(MAX_UNIT_OUTPUTS)
    ]
    units: list[Unit] = [Unit(i, piece, None, None) for i, piece in pieces]
    for text, seconds in frames:
        units.extend(
            Unit(i, piece, text, seconds) for i, piece in pieces if piece.params.timeframes
        )
    columns: list[Column] = []
    seen: dict[str, str] = {}
    for family in FAMILIES:
        for unit in units:
            if unit.generator.family != family:
                continue
            columns.extend(_unit_columns(unit, base_seconds, spec, seen))
    cross = spec.get("cross")
    return FeaturePlan(
        spec=dict(spec),
        units=tuple(units),
        columns=tuple(columns),
        cross=CrossParams(
            windows=tuple(cross["windows"]),
            horizons=tuple(cross["horizons"]),
            z_windows=tuple(cross["z_windows"]),
        )
        if cross
        else None,
        base_seconds=base_seconds,
    )


def _unit_columns(
    unit: Unit, base_seconds: int, spec: Mapping[str, Any], seen: dict[str, str]
) -> list[Column]:
    gen = unit.generator
    where = spec["generators"][unit.index].get("where", f"features.generators[{unit.index}]")
    ratio = (unit.tf_seconds // base_seconds) if unit.tf_seconds else 1
    transforms: Sequence[Transform | None] = [None, *(parse(t) for t in gen.params.transforms)]
    out: list[Column] = []
    for item in gen.outputs():
        for transform in transforms:
            name = unit.prefix + item.name + (f"__{transform.suffix}" if transform else "")
            if name in seen:
                raise BadInputError(
                    f"config key {where}",
                    f"feature {name!r} is also produced by {seen[name]}",
                    "remove the duplicate period or generator",
                )
            seen[name] = where
            look = item.lookback + (transform.lookback if transform else 0)
            # a higher bar in progress plus the completed ones the value reads
            lookback = look if ratio == 1 else (look + 2) * ratio
            params = dict(item.params)
            params["timeframe"] = unit.timeframe
            params["transform"] = transform.suffix if transform else None
            out.append(Column(name, unit, item.name, transform, params, lookback))
    return out


def count_per_symbol(config: Config) -> dict[str, int]:
    """Planned features per family for one symbol (no data needed)."""
    plan = make_plan(plan_spec(config))
    counts = dict.fromkeys(FAMILIES, 0)
    for column in plan.columns:
        counts[column.family] += 1
    return counts
