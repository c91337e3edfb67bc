"""The cross-variant aggregate: count of variants first, then mean normalised gain, then name."""

from __future__ import annotations

import pandas as pd

from swingml.selection.aggregate import aggregate, family_mix, overlap, ranking_table


def _rankings() -> pd.DataFrame:
    return pd.concat(
        [
            ranking_table("v1", [("a", 50.0), ("b", 30.0), ("c", 20.0)], total_gain=100.0),
            ranking_table("v2", [("b", 10.0), ("a", 5.0), ("d", 85.0)], total_gain=100.0),
            ranking_table("v3", [("c", 60.0), ("e", 40.0)], total_gain=200.0),
        ],
        ignore_index=True,
    )


def test_ranking_table_shares_are_gain_over_the_variant_total() -> None:
    table = ranking_table("v", [("x", 30.0), ("y", 10.0)], total_gain=200.0)
    assert table["share"].tolist() == [0.15, 0.05]
    assert table["rank"].tolist() == [1, 2]


def test_chosen_more_often_wins_then_mean_share_then_name() -> None:
    final = aggregate(_rankings(), final_size=10)
    # a: 2 variants, mean share (0.5+0.05)/2=0.275; b: 2, (0.3+0.1)/2=0.2; c: 2, (0.2+0.3)/2=0.25
    # d: 1, 0.85; e: 1, 0.2
    assert final["feature"].tolist() == ["a", "c", "b", "d", "e"]
    assert final["variants"].tolist() == [2, 2, 2, 1, 1]
    assert final["position"].tolist() == [1, 2, 3, 4, 5]


def test_ties_fall_back_to_the_name() -> None:
    rankings = pd.concat(
        [ranking_table("v1", [("zz", 1.0)], 2.0), ranking_table("v2", [("aa", 1.0)], 2.0)]
    )
    assert aggregate(rankings, 5)["feature"].tolist() == ["aa", "zz"]


def test_cut_to_final_size() -> None:
    assert aggregate(_rankings(), final_size=2)["feature"].tolist() == ["a", "c"]


def test_overlap_and_family_mix() -> None:
    rankings = _rankings()
    rankings["w"] = rankings["variant"].map({"v1": 5, "v2": 5, "v3": 10})
    result = overlap(rankings, "w")
    assert result["features"] == {"5": 4, "10": 2}
    assert result["jaccard"] == {"5|10": round(1 / 5, 4)}
    meta = {"a": {"family": "technical"}, "b": {"family": "technical"}, "c": {"family": "temporal"}}
    assert family_mix(["a", "b", "c", "q"], meta) == {"technical": 2, "temporal": 1, "unknown": 1}
