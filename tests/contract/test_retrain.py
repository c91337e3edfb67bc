"""Laws of ``swingml retrain`` (issue: regular retraining).

A run is built on the first bars of a synthetic market served as ``data.dir`` files; the retrain
then reads the same market with more bars. The served champion after a retrain was trained on
data through the last closed bar; a second retrain with no new bars registers nothing; a retrain
SIGKILLed at a random moment and run again ends with exactly one new version per model and every
model served by its old champion or wholly by the new one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from command_line import LAW_SLICE, swingml
from swingml.config import load_config
from swingml.data.frame import to_arrow
from swingml.data.synthetic import generate
from swingml.inference.store import PROBA, PredictionStore
from swingml.registry.mlflow_registry import MlflowRegistry

BARS, FIRST, MIDDLE = 3000, 2700, 2850
QUICK = (
    "tuning.budget=40",
    "tuning.max_trials_stage2=1",
    "tuning.max_trials_stage3=1",
    "tuning.max_trials_stage4=1",
)
"""A short tuning: the laws need champions to retrain, not well-tuned ones."""
SETS = [arg for item in (*LAW_SLICE, *QUICK) for arg in ("--set", item)]


def _serve(frames: dict[str, pd.DataFrame], folder: Path, bars: int) -> Path:
    folder.mkdir(parents=True)
    for symbol, frame in frames.items():
        pq.write_table(to_arrow(frame.iloc[:bars]), folder / f"{symbol}-1h.parquet")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run on the first ``FIRST`` bars (read-only), and a data.dir with all ``BARS`` (beside
    it, ``middle``: the first ``MIDDLE``)."""
    root = tmp_path_factory.mktemp("retrain")
    config = load_config("integration-test", overrides=[f"data.synthetic.bars={BARS}", *LAW_SLICE])
    frames = generate(config.data)
    early = _serve(frames, root / "early", FIRST)
    later = _serve(frames, root / "later", BARS)
    _serve(frames, root / "middle", MIDDLE)
    run_dir = root / "run"
    args = ["--profile", "integration-test", "--run-dir", str(run_dir), "--set"]
    done = swingml("run", *args, f"data.dir={early}", *SETS)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir, later


def _copy(run_dir: Path, to: Path) -> Path:
    shutil.copytree(run_dir, to)
    return to


def _registry(run_dir: Path) -> MlflowRegistry:
    return MlflowRegistry.for_run(None, None, "swingml", run_dir)


def _state(run_dir: Path) -> dict[str, tuple[int, str, dict[str, str]]]:
    """Per model: how many versions, the champion version and its tags."""
    registry = _registry(run_dir)
    out = {}
    for model in registry.models():
        tags = registry.champion_tags(model.name) or {}
        out[model.name] = (model.versions, str(model.champion_version), tags)
    return out


def _retrain(run_dir: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return swingml("retrain", "--run-dir", str(run_dir), "--set", f"data.dir={data}", *extra)


def _last_labelled_event(run_dir: Path, variant_id: str) -> pd.Timestamp:
    kind_w = variant_id.split("/")
    symbol, w, kind, s, k = kind_w[0], int(kind_w[1][1:]), kind_w[2], kind_w[3][1:], kind_w[4][1:]
    table = pd.read_parquet(run_dir / "targets" / f"{symbol}.parquet")
    rows = table[
        (table["kind"] == kind)
        & (table["w"] == w)
        & (table["s"] == float(s))
        & (table["k"] == float(k))
        & table["label"].notna()
    ]
    return pd.Timestamp(rows["timestamp"].max())


@pytest.mark.slow
def test_a_forced_retrain_serves_models_trained_through_the_last_closed_bar(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    run_dir = _copy(built[0], tmp_path / "run")
    before = _state(run_dir)
    done = _retrain(run_dir, built[1], "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    after = _state(run_dir)
    assert set(after) == set(before)
    for name, (versions, champion, tags) in after.items():
        assert versions == before[name][0] + 1, name
        assert champion != before[name][1] and tags["data_role"] == "served"
        assert tags["gate_decision"] == "promoted" and tags["retrained_from"] == before[name][1]
        last = _last_labelled_event(run_dir, tags["variant_id"])
        assert pd.Timestamp(tags["trained_last_event"]) == last, name
        assert last > pd.Timestamp(before[name][2]["trained_last_event"])
    # a second retrain on the same bars has nothing to do and registers nothing
    again = _retrain(run_dir, built[1])
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing to retrain" in again.stderr
    assert _state(run_dir) == after


@pytest.mark.slow
def test_the_gate_decision_is_recorded_on_every_challenger(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    run_dir = _copy(built[0], tmp_path / "run")
    before = _state(run_dir)
    done = _retrain(run_dir, built[1])
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())["stages"]["retrain"]
    registry = _registry(run_dir)
    for outcome in summary["models"].values():
        version = registry.client.get_model_version(outcome["model"], outcome["version"])
        assert version.tags["gate_decision"] == ("promoted" if outcome["promoted"] else "refused")
        assert version.tags["gate_reason"] == outcome["reason"]
        champion = _state(run_dir)[outcome["model"]][1]
        expected = outcome["version"] if outcome["promoted"] else before[outcome["model"]][1]
        assert champion == expected


@pytest.mark.slow
def test_a_retrain_killed_at_a_random_moment_finishes_on_a_rerun(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    run_dir = _copy(built[0], tmp_path / "run")
    before = _state(run_dir)
    args = ["--run-dir", str(run_dir), "--set", f"data.dir={built[1]}", "--force"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "swingml.cli", "retrain", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(random.Random().uniform(3.0, 25.0))
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    middle = _state(run_dir)
    for name, (_, champion, tags) in middle.items():
        # served by the old champion, or wholly by a new version that records what it saw
        assert champion == before[name][1] or tags.get("gate_decision") == "promoted"
    done = _retrain(run_dir, built[1], "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    for name, (versions, champion, tags) in _state(run_dir).items():
        assert versions == before[name][0] + 1, name
        assert tags["retrained_from"] == before[name][1] and champion != before[name][1]


@pytest.mark.slow
def test_live_equals_batch_for_the_retrained_champions(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """Retrained on ``MIDDLE`` bars, the new champions serve the later bars live; a batch over
    every bar then gives bit-identical probabilities for the same versions and bars."""
    run_dir = _copy(built[0], tmp_path / "run")
    middle, later = built[1].parent / "middle", built[1]
    assert _retrain(run_dir, middle, "--force").returncode == 0
    champions = {name: version for name, (_, version, _) in _state(run_dir).items()}
    live = swingml(
        "predict", "live", "--run-dir", str(run_dir), "--set", f"data.dir={middle}",
        "--set", f"inference.new_candles_dir={later}", "--set", "inference.live_history_bars=100",
    )  # fmt: skip
    assert live.returncode == 0, live.stderr[-3000:]
    batch = swingml("predict", "batch", "--run-dir", str(run_dir), "--set", f"data.dir={later}")
    assert batch.returncode == 0, batch.stderr[-3000:]
    entry = json.loads((run_dir / "summary.json").read_text())["stages"]["predict_batch"]
    assert entry["rows_differing"] == 0  # batch into the store holding the live rows
    (run_dir / "predictions").rename(run_dir / "predictions-live")
    again = swingml("predict", "batch", "--run-dir", str(run_dir), "--set", f"data.dir={later}")
    assert again.returncode == 0, again.stderr[-3000:]

    def read(folder: Path) -> pd.DataFrame:
        store = PredictionStore(folder)
        rows = pd.concat([store.read(m) for m in store.models()], ignore_index=True)
        served = [
            champions[f"{m}-1h"] == v for m, v in zip(rows["model"], rows["version"], strict=True)
        ]
        return rows[served]

    live_rows = read(run_dir / "predictions-live")
    live_rows = live_rows[live_rows["source"] == "live"]
    assert len(live_rows) > 0
    assert not live_rows["in_sample"].any()  # bars after the data the retrain saw
    joined = live_rows.merge(
        read(run_dir / "predictions"), on=["model", "version", "timestamp"], how="left",
        suffixes=("", "_batch"),
    )  # fmt: skip
    assert joined["variant_batch"].notna().all(), "a live event the batch does not know"
    for name in PROBA:
        assert (joined[name] == joined[f"{name}_batch"]).all(), name
