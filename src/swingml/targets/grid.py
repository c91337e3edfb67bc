"""The variant grid (SPEC §4): ``Variant(symbol, w, kind, s, k)`` and its ids; no disk.

The grid is data (config ``grid``): ``variants(config)`` enumerates symbol x window x kind x s x k
in that nested order, which every stage uses, so variant lists and task orders are deterministic.
A *main variant* is (symbol, w, side): ``main_variants(config)`` groups the variants under its id,
which is also the MLflow model name ``<symbol>-w<w>-<side>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from swingml.config import Config, TargetsConfig
from swingml.config.targets import EventKind

Side = Literal["high", "low"]
Mode = Literal["breakout", "reversion"]

KINDS: tuple[EventKind, ...] = ("high_breakout", "high_reversion", "low_breakout", "low_reversion")
"""Every event kind, in the order the store's ``kind`` column is encoded."""


def kind_side(kind: str) -> Side:
    """``"high"`` or ``"low"``: which pivots an event kind is built from."""
    side = kind.split("_", 1)[0]
    if side not in ("high", "low") or kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(KINDS)}")
    return "high" if side == "high" else "low"


def kind_mode(kind: str) -> Mode:
    """``"breakout"`` or ``"reversion"``: which event rule an event kind follows."""
    kind_side(kind)
    return "breakout" if kind.endswith("_breakout") else "reversion"


def _number(value: float) -> str:
    return str(float(value))


@dataclass(frozen=True, order=True)
class Variant:
    """One target: the events of (symbol, side, kind, w, s), labelled with barrier width k."""

    symbol: str
    w: int
    kind: EventKind
    s: float
    k: float

    @property
    def id(self) -> str:
        """``"BTCUSDT/w5/high_breakout/s2.0/k1.0"``: unique across the grid."""
        return f"{self.symbol}/w{self.w}/{self.kind}/s{_number(self.s)}/k{_number(self.k)}"

    @property
    def slug(self) -> str:
        """The id made path-safe: ``"BTCUSDT__w5__high_breakout__s2.0__k1.0"``."""
        return self.id.replace("/", "__")

    @property
    def side(self) -> Side:
        """``"high"`` or ``"low"``."""
        return kind_side(self.kind)

    @property
    def mode(self) -> Mode:
        """``"breakout"`` or ``"reversion"``."""
        return kind_mode(self.kind)

    @property
    def main_id(self) -> str:
        """The main variant (symbol, w, side), e.g. ``"BTCUSDT-w5-high"``; the MLflow model name."""
        return f"{self.symbol}-w{self.w}-{self.side}"

    @property
    def column(self) -> str:
        """The target column name ``target__<kind>__w<w>__s<s>__k<k>`` (SPEC §4)."""
        return f"target__{self.kind}__w{self.w}__s{_number(self.s)}__k{_number(self.k)}"

    def horizon(self, targets: TargetsConfig) -> int:
        """Label horizon ``H = horizon_factor x w`` in bars."""
        return targets.horizon_factor * self.w

    @classmethod
    def from_id(cls, text: str) -> Variant:
        """Parse an ``id`` (or a ``slug``) back into a ``Variant``."""
        parts = text.replace("__", "/").split("/")
        if (
            len(parts) != 5
            or not parts[1].startswith("w")
            or not parts[3].startswith("s")
            or not parts[4].startswith("k")
            or parts[2] not in KINDS
        ):
            raise ValueError(f"not a variant id: {text!r} (expected SYMBOL/w5/kind/s2.0/k1.0)")
        kind: EventKind = KINDS[KINDS.index(parts[2])]
        return cls(parts[0], int(parts[1][1:]), kind, float(parts[3][1:]), float(parts[4][1:]))


def variants(config: Config) -> list[Variant]:
    """Every variant of the grid: symbol x w x kind x s x k, in that nested order."""
    grid = config.grid
    return [
        Variant(symbol, int(w), kind, float(s), float(k))
        for symbol in config.data.symbols
        for w in grid.windows
        for kind in grid.kinds
        for s in grid.s
        for k in grid.k
    ]


def main_variants(config: Config) -> dict[str, list[Variant]]:
    """Main variant id (``"BTCUSDT-w5-high"``) → its variants, both in grid order (36 by default).

    Iterating the result gives the main ids; ``len`` is the number of main variants.
    """
    groups: dict[str, list[Variant]] = {}
    for variant in variants(config):
        groups.setdefault(variant.main_id, []).append(variant)
    return groups
