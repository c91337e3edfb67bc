"""The policy of one live cycle (pure): which symbols are due, watermarks, stall, staleness, health.

After the new bars are merged, each symbol has a :class:`~swingml.inference.live.Pending` span
(its bars after the watermark, up to the common last bar). A symbol is *due* when the span holds
at least ``inference.cadence_bars`` bars: its events are predicted and its watermark moves to the
span's end; with fewer it *waits* (the bars stay pending). A symbol *stalls* when its last bar is
more than ``inference.stall_limit_bars`` behind the leader's. A champion is *stale* when its
version is older than ``champion_max_age_days`` (wall clock) or ``champion_data_max_age_days``
(the leader's last bar). The stage does the reading, appending, writing and printing around
these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swingml.config import InferenceConfig, TargetsConfig
from swingml.data.append import Merged
from swingml.data.gaps import iso_ms
from swingml.errors import BadInputError
from swingml.inference.champions import Champion
from swingml.inference.live import Pending

DAY_MS = 86_400_000


def fresh_rows(merged: Merged) -> pd.DataFrame:
    """The rows a merge added after the stored candles (what the cycle appends)."""
    return merged.frame.iloc[len(merged.frame) - merged.new_rows :]


def check_cadence(cadence: int, champions: Sequence[Champion], targets: TargetsConfig) -> None:
    """A cadence longer than the shortest horizon would predict events whose outcome is known."""
    shortest = min(champions, key=lambda c: c.horizon(targets))
    horizon = shortest.horizon(targets)
    if cadence > horizon:
        raise BadInputError(
            f"config key inference.cadence_bars={cadence}",
            f"is longer than the shortest champion horizon ({horizon} bars, {shortest.name}): "
            "events would be predicted after their outcome is known",
            f"set it to at most {horizon}",
        )


def start_marks(
    stored: Mapping[str, int], symbols: Sequence[str], last_feature_ms: Callable[[str], int]
) -> dict[str, int]:
    """Each symbol's watermark: the stored one, else the feature store's last bar (the batch's)."""
    return {s: stored[s] if s in stored else last_feature_ms(s) for s in symbols}


@dataclass(frozen=True)
class SymbolStep:
    """One symbol in a cycle: its pending span, the bars it got, how far it lags the leader."""

    span: Pending
    new_bars: int
    last_ms: int
    behind: int
    stalled: bool
    due: bool
    waiting: bool

    def entry(self) -> dict[str, Any]:
        """The symbol's line of the stage's ``symbols`` report before any prediction."""
        return {
            "new_bars": self.new_bars,
            "pending_bars": self.span.bars,
            "last_bar": iso_ms(self.last_ms),
            "bars_behind": self.behind,
            "events": 0,
        }


@dataclass(frozen=True)
class CyclePlan:
    """Every symbol's step (in config order) and the leader's last bar."""

    steps: dict[str, SymbolStep]
    leader_ms: int

    @property
    def stalled(self) -> list[str]:
        return [s for s, step in self.steps.items() if step.stalled]

    @property
    def waiting(self) -> list[str]:
        return [s for s, step in self.steps.items() if step.waiting]

    def due(self) -> Iterator[tuple[str, SymbolStep]]:
        """The symbols whose events this cycle predicts, with their steps."""
        return ((s, step) for s, step in self.steps.items() if step.due)

    def symbols(self, figures: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Every symbol's line of the stage's report, with the ``figures`` of those predicted
        and the new watermark of the due ones."""
        out: dict[str, dict[str, Any]] = {}
        for symbol, step in self.steps.items():
            entry = out[symbol] = step.entry()
            if step.due:
                entry.update(figures.get(symbol, {}))
                entry["watermark"] = iso_ms(step.span.until_ms)
        return out

    def advance(self, marks: Mapping[str, int]) -> dict[str, int]:
        """The watermarks after the cycle: a due symbol's moves to its span's end."""
        return {
            s: self.steps[s].span.until_ms if s in self.steps and self.steps[s].due else mark
            for s, mark in marks.items()
        }


def plan_cycle(
    spans: Mapping[str, Pending],
    merged: Mapping[str, Merged],
    section: InferenceConfig,
    interval_s: int,
) -> CyclePlan:
    """Each symbol's step from its pending span and merged candles (``spans``' order)."""
    interval_ms = interval_s * 1000
    leader = max(merged[s].last_ms for s in spans)
    steps: dict[str, SymbolStep] = {}
    for symbol, span in spans.items():
        behind = int((leader - merged[symbol].last_ms) // interval_ms)
        due = not (span.bars == 0 or span.bars < section.cadence_bars)
        steps[symbol] = SymbolStep(
            span=span,
            new_bars=merged[symbol].new_rows,
            last_ms=merged[symbol].last_ms,
            behind=behind,
            stalled=behind > section.stall_limit_bars,
            due=due,
            waiting=not due and span.bars > 0,
        )
    return CyclePlan(steps, leader)


def staleness(
    champions: Sequence[Champion],
    created_ms: Mapping[str, int],
    last_ms: int,
    now_ms: int,
    section: InferenceConfig,
) -> dict[str, dict[str, Any]]:
    """Per champion: its age (to ``now_ms``), its data age (to ``last_ms``) and whether stale."""
    out: dict[str, dict[str, Any]] = {}
    for c in champions:
        created = created_ms.get(c.name, 0)
        age_days = (now_ms - created) / DAY_MS if created else None
        data_age = (last_ms - created) / DAY_MS if created else None
        stale = bool(
            (age_days is not None and age_days > section.champion_max_age_days)
            or (data_age is not None and data_age > section.champion_data_max_age_days)
        )
        out[c.name] = {
            "version": c.version,
            "age_days": None if age_days is None else round(age_days, 3),
            "data_age_days": None if data_age is None else round(data_age, 3),
            "stale": stale,
        }
    return out


def cycle_figures(
    steps: CyclePlan,
    per_symbol: Mapping[str, Mapping[str, Any]],
    stale: Mapping[str, Mapping[str, Any]],
    cadence: int,
) -> dict[str, Any]:
    """The cycle's totals and rule outcomes, as the stage reports them."""
    return {
        "new_bars": sum(e["new_bars"] for e in per_symbol.values()),
        "events": sum(e["events"] for e in per_symbol.values()),
        "cadence_bars": cadence,
        "waiting": steps.waiting,
        "stalled_symbols": steps.stalled,
        "stale_champions": sorted(n for n, v in stale.items() if v["stale"]),
        "champions": stale,
    }


def health(
    stalled: Sequence[str], stale: Mapping[str, Mapping[str, Any]], monitoring: str | None
) -> str:
    """``alert`` when a symbol stalls, a champion is stale or monitoring alerts; else ``ok``."""
    if stalled or any(v["stale"] for v in stale.values()) or monitoring == "alert":
        return "alert"
    return "ok"


def cycle_line(details: Mapping[str, Any], written: int, present: int, cadence: int) -> str:
    """The line a cycle prints: bars, events, rows, status, and who stalls or waits."""
    stalled, waiting = details["stalled_symbols"], details["waiting"]
    return (
        f"predict live: {details['new_bars']} new bar(s), {details['events']} event(s), "
        f"{written} prediction row(s) written, {present} already stored; "
        f"status {details['health']}"
        + (f"; stalled: {', '.join(stalled)}" if stalled else "")
        + (f"; waiting for {cadence} bars: {', '.join(waiting)}" if waiting else "")
    )
