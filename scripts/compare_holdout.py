"""Hold-out skill of two runs' champions, model by model: ``compare_holdout.py RUN BASELINE``.

Prints Markdown: one row per model (``main_id``) with each run's champion variant and hold-out
macro AP, the class prior and the random ranking of each, then the counts that beat them and a
paired comparison over the models both runs registered (how many improved, the mean difference
with a bootstrap interval over models, and an exact two-sided sign test). Used for
``docs/results/``: did a bigger search (more features, more variants) buy hold-out skill?
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "main_id",
    "variant_id",
    "train_rows",
    "holdout_rows",
    "holdout_macro_ap",
    "prior_macro_ap",
    "random_macro_ap",
]


def holdout(run: Path) -> pd.DataFrame:
    """The run's champions' hold-out rows, one per model."""
    path = run / "training" / "holdout.parquet"
    if not path.is_file():
        raise SystemExit(f"{path}: no hold-out table (has the run finished `train`?)")
    table = pd.read_parquet(path)
    if "champion" in table:
        table = table[table["champion"]]
    return table[COLUMNS].set_index("main_id").sort_index()


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign test p-value (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def mean_interval(diff: np.ndarray, samples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of ``diff`` (models resampled)."""
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(samples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def render(run: pd.DataFrame, base: pd.DataFrame, names: tuple[str, str]) -> str:
    both = run.add_suffix("_run").join(base.add_suffix("_base"), how="inner")
    a, b = names
    lines = [
        f"| model | {a} variant | {a} AP | {b} variant | {b} AP | {a} - {b} | "
        f"random ({a}) | random ({b}) |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for model, row in both.iterrows():
        lines.append(
            f"| {model} | `{row['variant_id_run']}` ({row['train_rows_run']:,} / "
            f"{row['holdout_rows_run']:,}) | {row['holdout_macro_ap_run']:.3f} | "
            f"`{row['variant_id_base']}` ({row['train_rows_base']:,} / "
            f"{row['holdout_rows_base']:,}) | {row['holdout_macro_ap_base']:.3f} | "
            f"{row['holdout_macro_ap_run'] - row['holdout_macro_ap_base']:+.3f} | "
            f"{row['random_macro_ap_run']:.3f} | {row['random_macro_ap_base']:.3f} |"
        )
    lines.append("")
    lines.append("(variant: train rows / hold-out rows)")
    lines.append("")
    for name, table in ((a, run), (b, base)):
        ap = table["holdout_macro_ap"]
        lines.append(
            f"- {name}: {len(table)} champions; beat the class prior "
            f"{int((ap > table['prior_macro_ap']).sum())}/{len(table)}, the random ranking "
            f"{int((ap > table['random_macro_ap']).sum())}/{len(table)}; mean hold-out macro AP "
            f"{ap.mean():.3f} (random ranking {table['random_macro_ap'].mean():.3f}, lift "
            f"{(ap - table['random_macro_ap']).mean():+.3f})"
        )
    diff = (both["holdout_macro_ap_run"] - both["holdout_macro_ap_base"]).to_numpy()
    if len(diff):
        wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
        low, high = mean_interval(diff)
        same = int((both["variant_id_run"] == both["variant_id_base"]).sum())
        lines.append(
            f"- paired over {len(diff)} models: {a} higher on {wins}, lower on {losses}; mean "
            f"difference {diff.mean():+.3f} (95 % bootstrap over models {low:+.3f} to "
            f"{high:+.3f}); sign test p = {sign_test(wins, losses):.3f}; the same champion "
            f"variant in {same} of {len(diff)} (a different variant is a different hold-out "
            "event set)"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run, base = (Path(p) for p in argv)
    print(render(holdout(run), holdout(base), (run.name, base.name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
