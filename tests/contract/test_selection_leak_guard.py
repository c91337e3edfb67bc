"""Law (SPEC §4, §6): whatever the prep list says, no target-derived or future-reading column is
screened. The ``select`` stage runs on a tiny real run whose kept list has three leaks injected:
a target column, a column the feature store does not know, and a store entry that declares it
reads future bars. None reaches a ranking or the final list; each is reported with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.console import Console

from swingml.config import load_config
from swingml.io.store import RunStore, read_json
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

GRID = [
    "grid.windows=[3]",
    "grid.kinds=[high_breakout, low_reversion]",
    "grid.s=[1.0]",
    "grid.k=[0.5]",
    "selection.min_events=20",
]


def test_injected_leaks_never_reach_selection(tmp_path: Path) -> None:
    config = load_config("integration-test", (), GRID, tmp_path / "run")
    ctx = StageContext(config, RunStore(config.run.dir), Console(stderr=True, quiet=True))
    for stage in ("data", "features", "targets", "prep"):
        pipeline.run_stage(stage, ctx)

    meta_path = ctx.store.features_dir() / "metadata.json"
    meta = read_json(meta_path)
    honest = meta["features"][0]
    meta["features"].append(dict(honest, name="BTC__close_in_3_bars", future=True))
    meta_path.write_text(json.dumps(meta))
    kept_path = ctx.store.path("prep", "kept_features.json")
    kept = read_json(kept_path)
    leaks = ["target__high_breakout__w3__s1.0__k0.5", "BTC__unknown_origin", "BTC__close_in_3_bars"]
    kept["features"] = leaks + kept["features"]
    kept_path.write_text(json.dumps(kept))

    outcome = pipeline.run_stage("select", ctx)

    rankings = pd.read_parquet(ctx.store.path("selection", "rankings.parquet"))
    final = read_json(ctx.store.path("selection", "final_features.json"))["features"]
    report = read_json(ctx.store.path("selection", "report.json"))
    assert outcome.details["screened"] > 0 and len(rankings) > 0
    for leak in leaks:
        assert leak not in set(rankings["feature"])
        assert leak not in final
    reasons = report["guard_dropped"]
    assert set(reasons) == set(leaks)
    assert "target" in reasons[leaks[0]]
    assert "metadata" in reasons[leaks[1]]
    assert "future" in reasons[leaks[2]]
