"""The cross-variant aggregate (SPEC §6): one final feature list, identical for every variant.

Each variant contributes its top-k features. A feature ranks by how many variants chose it, then
by its mean normalised gain (a variant's gain on the feature divided by that variant's total gain,
averaged over the variants that chose it; among features chosen equally often this orders exactly
as the mean over all variants would), then by name. The list is cut to ``final_size``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import pandas as pd

RANKING_COLUMNS = ("variant", "feature", "gain", "share", "rank")
"""``selection/rankings.parquet``: one row per (variant, chosen feature)."""


def ranking_table(
    variant: str, ranked: Sequence[tuple[str, float]], total_gain: float
) -> pd.DataFrame:
    """One variant's chosen features as ranking rows (rank 1 = highest gain)."""
    total = total_gain if total_gain > 0 else 1.0
    return pd.DataFrame(
        {
            "variant": [variant] * len(ranked),
            "feature": [name for name, _ in ranked],
            "gain": [gain for _, gain in ranked],
            "share": [gain / total for _, gain in ranked],
            "rank": list(range(1, len(ranked) + 1)),
        },
        columns=list(RANKING_COLUMNS),
    )


def aggregate(rankings: pd.DataFrame, final_size: int) -> pd.DataFrame:
    """Features by (variants choosing it desc, mean share desc, name), cut to ``final_size``.

    Columns: ``feature, variants, mean_share, position`` (1-based).
    """
    if rankings.empty:
        return pd.DataFrame(columns=["feature", "variants", "mean_share", "position"])
    grouped = rankings.groupby("feature", sort=False).agg(
        variants=("variant", "nunique"), mean_share=("share", "mean")
    )
    grouped = grouped.reset_index()
    grouped = grouped.sort_values(
        ["variants", "mean_share", "feature"], ascending=[False, False, True], kind="stable"
    )
    top = grouped.head(final_size).reset_index(drop=True)
    top["position"] = range(1, len(top) + 1)
    return top[["feature", "variants", "mean_share", "position"]]


def overlap(rankings: pd.DataFrame, by: str) -> dict[str, Any]:
    """How much the groups of ``by`` (e.g. window ``w``, ``kind``) agree on their chosen features.

    For each group: the number of distinct features its variants chose; for each pair of groups:
    the Jaccard index of those sets.
    """
    sets = {str(key): set(part["feature"]) for key, part in rankings.groupby(by, sort=True)}
    return {
        "features": {key: len(chosen) for key, chosen in sets.items()},
        "jaccard": {
            f"{a}|{b}": round(len(sets[a] & sets[b]) / max(len(sets[a] | sets[b]), 1), 4)
            for a, b in combinations(sets, 2)
        },
    }


def family_mix(
    features: Sequence[str], metadata: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Count of final features per generator family (``unknown`` when metadata lacks one)."""
    counts = Counter(str(metadata.get(name, {}).get("family", "unknown")) for name in features)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def source_mix(
    features: Sequence[str], metadata: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Count of final features per source symbol (``X`` = cross-coin)."""
    counts = Counter(str(metadata.get(name, {}).get("symbol", "unknown")) for name in features)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
