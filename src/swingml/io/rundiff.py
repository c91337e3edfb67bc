"""Compare the outputs of two run directories: what the laws of determinism and resume promise.

Every Parquet output and the JSON decisions that feed later stages must be equal, apart from
columns that time how the work ran. The executor's own bookkeeping (``tasks/``) is left out: it
records how the work was done (reused, retried, where its log is), not what it produced.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from swingml.io import catalog, parted

VOLATILE_COLUMNS = frozenset({"wall_s", "spent_s", "cpu_s", "peak_rss_mb"})
"""Columns that measure time or memory: they differ between any two runs."""
BOOKKEEPING = ("tasks",)
DECISIONS = tuple(catalog.relative(n) for n in ("final_features", "best_params", "prep_kept"))


def outputs(root: Path) -> list[str]:
    """The Parquet outputs of a run, as paths relative to its root, sorted; a table stored in
    parts (``swingml.io.parted``) counts once, by its base path, whatever its layout."""
    found = {_table(p).relative_to(root).as_posix() for p in root.rglob("*.parquet")}
    return sorted(p for p in found if p.split("/", 1)[0] not in BOOKKEEPING)


def _table(path: Path) -> Path:
    folder = path.parent
    return folder.with_suffix(".parquet") if folder.suffix == ".parts" else path


def _frame(path: Path) -> pd.DataFrame:
    frame = parted.read_frame(path)
    return frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS])


def differences(a: Path, b: Path) -> list[str]:
    """What differs between runs ``a`` and ``b``, one line each; empty when they agree."""
    found: list[str] = []
    left, right = outputs(a), outputs(b)
    found += [f"only in {a}: {p}" for p in sorted(set(left) - set(right))]
    found += [f"only in {b}: {p}" for p in sorted(set(right) - set(left))]
    for name in sorted(set(left) & set(right)):
        try:
            pd.testing.assert_frame_equal(_frame(a / name), _frame(b / name), check_exact=True)
        except AssertionError as exc:
            found.append(f"{name}: {' '.join(str(exc).split())[:300]}")
    for name in DECISIONS:
        pa, pb = a / name, b / name
        if pa.is_file() != pb.is_file():
            found.append(f"{name}: present in one run only")
        elif pa.is_file() and json.loads(pa.read_text()) != json.loads(pb.read_text()):
            found.append(f"{name}: differs")
    return found
