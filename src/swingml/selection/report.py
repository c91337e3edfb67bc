"""What the ``select`` stage writes after screening: the outcomes, rankings and the report.

``conclude`` reads one outcome per variant back (ok only with the key this run expects), stacks
the screened variants' top-k lists (``selection/rankings.parquet``), aggregates them into the final
list and builds ``selection/report.json`` (SPEC §6: summary, per-variant figures, overlap between
windows and kinds, family and source mix, top features).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swingml.errors import StageFailedError
from swingml.io.store import RunStore, read_json
from swingml.selection.aggregate import aggregate, family_mix, overlap, ranking_table, source_mix
from swingml.selection.tasks import VariantJob, is_screened, variant_path
from swingml.selection.union import SymbolPlan

FINAL_BOUNDS = (300, 500)
"""SPEC §6 size of the final set; outside it the stage warns and reports, it does not fail."""


@dataclass(frozen=True)
class Inputs:
    """What the report tells about the stage's inputs and binning, beside the outcomes."""

    plans: Sequence[SymbolPlan]
    columns: Sequence[str]
    guard_dropped: Mapping[str, str]
    metadata: Mapping[str, Mapping[str, Any]]
    bin_stats: Mapping[str, Mapping[str, Any]]
    tags: Mapping[str, tuple[int, str]]
    """Each variant's window and kind (for the overlap between them)."""


@dataclass(frozen=True)
class Selected:
    """The stage's outputs: the ranking rows, the report and the final feature list."""

    rankings: pd.DataFrame
    report: dict[str, Any]
    features: list[str]


def conclude(
    store: RunStore, inputs: Inputs, expected: Mapping[str, VariantJob], final_size: int
) -> Selected:
    """Collect every variant's outcome, rank and aggregate the screened ones, build the report.

    Raises ``StageFailedError`` when no variant could be screened.
    """
    outcomes = collect(store, inputs.plans, expected)
    ranked = [o for o in outcomes if o["status"] == "ok"]
    if not ranked:
        raise StageFailedError("select: no variant could be screened; see selection/report.json")
    table = rankings(ranked)
    final = aggregate(table, final_size)
    built = build_report(inputs, outcomes, table, final, final_size)
    return Selected(table, built, final["feature"].tolist())


def collect(
    store: RunStore, plans: Sequence[SymbolPlan], expected: Mapping[str, VariantJob]
) -> list[dict[str, Any]]:
    """One outcome per variant, in grid order: ok (with its ranking), skipped or failed.

    A variant is ok only if its result file carries the key this run expects for it.
    """
    outcomes: list[dict[str, Any]] = []
    for plan in plans:
        for variant_id, (n_train, n_valid) in plan.counts.items():
            base = {"variant": variant_id, "n_train": n_train, "n_valid": n_valid}
            job = expected.get(variant_id)
            if variant_id in plan.skipped:
                outcomes.append(dict(base, status="skipped", reason=plan.skipped[variant_id]))
            elif job is not None and is_screened(store, job):
                outcomes.append(read_json(variant_path(store, job.slug)))
            else:
                outcomes.append(dict(base, status="failed", reason="its task failed (see logs)"))
    return outcomes


def rankings(ranked: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The ranking rows of every screened variant (``selection/rankings.parquet``)."""
    return pd.concat(
        [
            ranking_table(o["variant"], [tuple(x) for x in o["ranking"]], o["total_gain"])
            for o in ranked
        ],
        ignore_index=True,
    )


def build_report(
    inputs: Inputs,
    outcomes: Sequence[Mapping[str, Any]],
    ranked: pd.DataFrame,
    final: pd.DataFrame,
    final_size: int,
) -> dict[str, Any]:
    """``selection/report.json``: summary, per-variant figures, overlap, mixes, top features."""
    features = final["feature"].tolist()
    tagged = ranked.copy()
    tagged["w"] = tagged["variant"].map(lambda v: inputs.tags[v][0])
    tagged["kind"] = tagged["variant"].map(lambda v: inputs.tags[v][1])
    return {
        "summary": _summary(inputs, outcomes, ranked, features, final_size),
        "guard_dropped": dict(inputs.guard_dropped),
        "variants": [{k: v for k, v in o.items() if k not in ("ranking", "key")} for o in outcomes],
        "overlap": {"window": overlap(tagged, "w"), "kind": overlap(tagged, "kind")},
        "family_mix": family_mix(features, inputs.metadata),
        "source_mix": source_mix(features, inputs.metadata),
        "top_features": [
            {"feature": str(name), "variants": int(count), "mean_share": round(float(share), 6)}
            for name, count, share in zip(
                final["feature"][:20], final["variants"][:20], final["mean_share"][:20], strict=True
            )
        ],
    }


def _summary(
    inputs: Inputs,
    outcomes: Sequence[Mapping[str, Any]],
    ranked: pd.DataFrame,
    features: Sequence[str],
    final_size: int,
) -> dict[str, Any]:
    """The report's summary (also the stage's keys in ``summary.json``); a warning when the
    final set falls outside SPEC §6's bounds."""
    ok = [o for o in outcomes if o["status"] == "ok"]
    walls = [float(o["wall_s"]) for o in ok]
    bins = inputs.bin_stats
    low, high = FINAL_BOUNDS
    summary: dict[str, Any] = {
        "variants": len(outcomes),
        "screened": len(ok),
        "no_gain": sum(not o["ranking"] for o in ok),
        "skipped": sum(o["status"] == "skipped" for o in outcomes),
        "failed": sum(o["status"] == "failed" for o in outcomes),
        "columns_in": len(inputs.columns) + len(inputs.guard_dropped),
        "guard_dropped": len(inputs.guard_dropped),
        "union_rows": {p.symbol: p.rows for p in inputs.plans},
        "bin_s": {symbol: float(stats["wall_s"]) for symbol, stats in bins.items()},
        "bin_reused": sorted(symbol for symbol, stats in bins.items() if stats["reused"]),
        "train_s_total": round(sum(float(o["train_s"]) for o in ok), 3),
        "variant_wall_s_total": round(sum(walls), 3),
        "variant_wall_s_median": round(statistics.median(walls), 4) if walls else 0.0,
        "variant_wall_s_max": round(max(walls, default=0.0), 4),
        "candidates": int(ranked["feature"].nunique()),
        "final_size": len(features),
        "final_in_bounds": low <= len(features) <= high,
    }
    if not summary["final_in_bounds"]:
        summary["warning"] = (
            f"final set has {len(features)} features, outside SPEC §6's {low}-{high} "
            f"(selection.final_size={final_size}, {summary['candidates']} candidates)"
        )
    return summary


def save(store: RunStore, selected: Selected, key: str) -> None:
    """Write the rankings, the report and, last (it marks the outputs complete for ``key``),
    ``selection/final_features.json``."""
    features = selected.features
    store.save("select_rankings", selected.rankings)
    store.save("select_report", selected.report)
    final = {"key": key, "features": features, "size": len(features)}
    store.save("final_features", final)


def headline(summary: Mapping[str, Any]) -> list[str]:
    """The stage's console lines: what was screened and kept, and the bounds warning if any."""
    lines = [
        f"select: {summary['screened']} variants screened, {summary['candidates']} candidate "
        f"features → final {summary['final_size']} (lgb.train {summary['train_s_total']:.1f} s)"
    ]
    if summary.get("warning"):
        lines.append(f"[yellow]select: {summary['warning']}[/yellow]")
    return lines
