"""The training-side worker tasks, fed rows through the loader they take (no run directory's
features or targets): what train, walk-forward and retrain return for one planted variant."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from swingml.io.store import RunStore
from swingml.modeling.rows import Events
from swingml.targets.grid import Variant
from swingml.training.cards import challenger_card, train_card
from swingml.training.gate import decide, forced
from swingml.training.holdout import BULKY, holdout_predictions, score_summary, score_table
from swingml.training.tasks import ModelJob, retrain_task, train_task, walkforward_task
from swingml.workflow.loading import load_events
from walkforward_history import HORIZON, PLAN, planted_history

VARIANT = "BTCUSDT/w2/high_breakout/s1.0/k1.0"
CUTOFF = pd.Timestamp("2024-03-20")
PARAMS = {"num_leaves": 7, "learning_rate": 0.1}


def _load(
    root: str, variant: Variant, features: tuple[str, ...], cutoff: pd.Timestamp, horizon: int
) -> Events:
    """The planted history with its development and hold-out masks around ``cutoff``."""
    events = planted_history()
    at = events.stamps[events.bars]
    known = events.y >= 0
    ends = events.stamps[np.minimum(events.bars + horizon, len(events.stamps) - 1)]
    dev = np.asarray(ends < cutoff) & known
    return replace(events, dev=dev, holdout=np.asarray(at >= cutoff) & known)


def _job(root: str = "unused") -> ModelJob:
    features = planted_history().features
    return ModelJob(
        _load, root, "BTCUSDT-w2-high", VARIANT, features, CUTOFF, HORIZON, PARAMS, PLAN
    )


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    return train_task(_job())


def test_train_task_returns_the_evaluated_and_served_models_and_hold_out_rows(
    trained: dict[str, Any],
) -> None:
    assert trained["main_id"] == "BTCUSDT-w2-high" and trained["variant_id"] == VARIANT
    assert isinstance(trained["model"], str) and isinstance(trained["served_model"], str)
    assert int(trained["served_rows"]) > int(trained["train_rows"])
    assert pd.Timestamp(str(trained["dev_last_event"])) < CUTOFF
    proba = np.asarray(trained["holdout_proba"])
    assert proba.shape == (trained["holdout_rows"], 3)
    job = replace(_job(), load=load_events)  # the stages' loader
    assert pickle.loads(pickle.dumps(job)) == job  # the task's argument crosses to a worker


def test_holdout_tables_and_cards_come_from_the_task_results(trained: dict[str, Any]) -> None:
    done = [trained]
    table = score_table(done)
    assert not set(BULKY) & set(table.columns) and table.loc[0, "main_id"] == "BTCUSDT-w2-high"
    summary = score_summary(table)
    assert list(summary)[:2] == ["beats_prior", "beats_random"]
    assert score_summary(pd.DataFrame())["holdout_macro_ap_mean"] is None
    predictions = holdout_predictions(done, ("p0", "p1", "p2"))
    assert list(predictions.columns) == ["main_id", "timestamp", "label", "p0", "p1", "p2"]
    assert len(predictions) == trained["holdout_rows"]
    features = planted_history().features
    keys = {"features": features, "cutoff": CUTOFF, "fingerprint": "f", "interval": "1h"}
    evaluated = train_card(trained, None, name="m-1h", **keys)
    served = train_card(trained, "7", name="m-1h", **keys)
    assert not evaluated.serve and evaluated.tags["data_role"] == "evaluated"
    assert served.serve and served.tags["evaluated_version"] == "7"
    assert served.tags["trained_rows"] == str(trained["served_rows"])


def test_retrain_task_refits_on_new_events_and_scores_both_on_the_gate_events(
    trained: dict[str, Any],
) -> None:
    since = "2024-03-25"
    extra = (int(trained["best_iteration"]), str(trained["served_model"]), since, 0.5)
    item = retrain_task(_job(), *extra)
    assert item["new_events"] > 0 and pd.Timestamp(item["last_event"]) > pd.Timestamp(since)
    y = np.asarray(item["y"])
    assert len(y) == item["new_events"] // 2 and np.asarray(item["champion_proba"]).shape[0] == len(
        y
    )
    ruling = forced(decide(y, item["champion_proba"], item["challenger_proba"], 0.0, 10**6))
    assert ruling.promote and ruling.reason.startswith("forced (--force); the gate said: only")
    tags = {"variant_id": VARIANT, "holdout_macro_ap": "0.5", "holdout_note": "x"}
    card = challenger_card(item, "m-1h", tags, "3", ruling, planted_history().features)
    assert card.metrics["holdout_macro_ap"] == 0.5 and "holdout_note" not in card.metrics
    assert card.tags["retrained_from"] == "3" and not card.serve
    nothing = retrain_task(_job(), *extra[:2], "2030-01-01", 0.5)
    assert nothing == {"new_events": 0}


def test_walkforward_task_replays_every_cadence_with_the_forward_moves(tmp_path: Path) -> None:
    history = planted_history()
    path = RunStore(tmp_path).candles_path("BTCUSDT")
    path.parent.mkdir(parents=True, exist_ok=True)
    close = 100 + np.cumsum(np.random.default_rng(0).normal(size=len(history.stamps)))
    pd.DataFrame({"timestamp": history.stamps, "close": close}).to_parquet(path)
    frame = walkforward_task(_job(str(tmp_path)), "7D", ("3D",))
    assert list(frame["cadence"].unique()) == ["never", "7D", "3D"]
    assert list(frame.columns[:5]) == ["main_id", "variant_id", "cadence", "timestamp", "label"]
    assert bool((frame["timestamp"] >= CUTOFF).all())
    assert {"move_1bar", "move_horizon"} <= set(frame.columns)
