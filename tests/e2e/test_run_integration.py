"""`swingml run --profile integration-test` end to end: every stage done, champions registered."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from command_line import swingml
from swingml.registry.mlflow_registry import CHAMPION, MlflowRegistry, features_hash
from swingml.workflow.pipeline import RUN_ORDER

MAIN_VARIANTS = 12  # 3 symbols x windows [3, 5] x 2 sides


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("integration") / "run"
    done = swingml("run", "--profile", "integration-test", "--run-dir", str(folder))
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.slow
def test_every_stage_is_done(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    for name in RUN_ORDER:
        assert summary["stages"][name]["status"] == "done", name
    tune = summary["stages"]["tune"]
    for number in (1, 2, 3, 4):
        entry = tune[f"stage{number}"]
        assert {"budget_s", "limit_s", "spent_s", "carried_over_s", "trials"} <= set(entry)
        assert entry["share_s"] > 0
        assert entry["budget_s"] == pytest.approx(
            max(entry["share_s"] + entry["carried_over_s"], 0.0), abs=1e-3
        )
        assert entry["limit_s"] >= entry["budget_s"]
    # what a stage leaves (or overruns) is what the next one is carried
    for number in (1, 2, 3):
        entry, after = tune[f"stage{number}"], tune[f"stage{number + 1}"]
        left = entry["share_s"] + entry["carried_over_s"] - entry["spent_s"]
        assert after["carried_over_s"] == pytest.approx(left, abs=2e-3)
    assert tune["stage1"]["models"] == MAIN_VARIANTS
    train = summary["stages"]["train"]
    assert train["models"] == train["registered"] == train["champions"] == MAIN_VARIANTS


@pytest.mark.slow
def test_tuning_and_training_files(run_dir: Path) -> None:
    board = pd.read_parquet(run_dir / "tuning" / "stage1" / "leaderboard.parquet")
    assert len(board) == 96 and board["variant_id"].is_unique
    assert len(pd.read_parquet(run_dir / "tuning" / "stage1" / "best.parquet")) == MAIN_VARIANTS
    recorded = json.loads((run_dir / "tuning" / "trials.json").read_text())
    assert set(recorded) == {"stage2", "stage3", "stage4"}  # stage 1 is never replayed
    folds = sorted((run_dir / "tuning" / "folds").glob("*.json"))
    assert len(folds) == MAIN_VARIANTS
    report = json.loads(folds[0].read_text())
    assert {"train", "validation", "purged_rows", "embargoed_rows"} <= set(report["folds"][0])
    holdout = pd.read_parquet(run_dir / "training" / "holdout.parquet")
    assert len(holdout) == MAIN_VARIANTS
    assert holdout["holdout_rows"].gt(0).all()
    assert (run_dir / "training" / "models").is_dir()


@pytest.mark.slow
def test_champions_are_registered_with_tags(run_dir: Path) -> None:
    registry = MlflowRegistry.for_run(None, None, "swingml", run_dir)
    models = registry.models()
    assert len(models) == MAIN_VARIANTS
    # version 1 is the evaluated development model, version 2 the served one refit on everything
    assert all(m.champion_version == "2" and m.versions == 2 for m in models)
    name = models[0].name
    tags = registry.client.get_model_version_by_alias(name, CHAMPION).tags
    evaluated = registry.client.get_model_version(name, "1").tags
    assert tags["data_role"] == "served" and evaluated["data_role"] == "evaluated"
    assert tags["evaluated_version"] == "1"
    assert tags["holdout_macro_ap"] == evaluated["holdout_macro_ap"]
    assert pd.Timestamp(tags["trained_last_event"]) > pd.Timestamp(evaluated["trained_last_event"])
    assert int(tags["trained_rows"]) > int(evaluated["trained_rows"])
    booster = registry.load(name)
    assert tags["features_sha256"] == features_hash(booster.feature_name())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert tags["data_fingerprint"] == manifest["input_fingerprint"]
    assert tags["variant_id"].startswith(name.split("-")[0])
    listed = swingml("registry", "list", "--profile", "integration-test", "--run-dir", str(run_dir))
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert name in listed.stdout


@pytest.mark.slow
def test_every_file_of_a_run_belongs_to_a_declared_dataset(run_dir: Path) -> None:
    from swingml.io.catalog import CATALOG, owner

    files = [p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()]
    undeclared = [f for f in files if owner(f) is None]
    assert not undeclared, undeclared[:10]
    found = {d.name for f in files if (d := owner(f)) is not None}
    # the live service, `swingml monitor` and `swingml report` write the rest, not `swingml run`
    outside_run = {"monitoring", "report", "candle_parts", "walkforward_predictions"}
    outside_run |= {"walkforward_scores", "walkforward_trades", "walkforward_confident"}
    outside_run |= {"select_codes"}  # written only with selection.bins: rows
    assert set(CATALOG) - outside_run - found == set(), "declared but never written"


@pytest.mark.slow
def test_read_only_commands_write_nothing_into_the_run(run_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from swingml.cli import app

    name = MlflowRegistry.for_run(None, None, "swingml", run_dir).models()[0].name

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            p.relative_to(run_dir).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in run_dir.rglob("*")
        }

    before = snapshot()
    commands = [
        ["report", "--format", "json"],
        ["report", "--output", str(tmp_path / "page.html")],
        ["registry", "list"],
        ["registry", "versions", name],
    ]
    for args in commands:
        done = CliRunner().invoke(app, [*args, "--run-dir", str(run_dir)])
        assert done.exit_code == 0, (args, done.output[-2000:])
        assert snapshot() == before, f"`swingml {' '.join(args)}` wrote into the run directory"


@pytest.mark.slow
def test_walkforward_replays_every_champion_out_of_sample(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    from swingml.io.catalog import owner

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    done = swingml("walkforward", "--profile", "integration-test", "--run-dir", str(copy))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "chosen on the development period" in " ".join(done.stderr.split())
    predictions = pd.read_parquet(copy / "walkforward" / "predictions.parquet")
    scores = pd.read_parquet(copy / "walkforward" / "scores.parquet")
    holdout = pd.read_parquet(copy / "training" / "holdout.parquet").set_index("main_id")
    assert set(predictions["cadence"]) == {"never", "30D", "7D"}
    assert predictions["main_id"].nunique() == MAIN_VARIANTS
    # every cadence predicts the same hold-out events, after their refit point
    rows = predictions.groupby(["main_id", "cadence"])["timestamp"].apply(tuple).unstack()
    assert (rows["never"] == rows["7D"]).all() and (rows["never"] == rows["30D"]).all()
    assert (predictions["refit_at"] <= predictions["timestamp"]).all()
    # "never" is the registered development model: its AP is the hold-out's
    never = scores[scores["cadence"] == "never"].set_index("main_id")
    assert never["events"].to_dict() == holdout["holdout_rows"].astype(float).to_dict()
    assert never["macro_ap"].to_numpy() == pytest.approx(
        holdout.loc[never.index, "holdout_macro_ap"].to_numpy()
    )
    assert ((scores["lift_low"] <= scores["lift"]) & (scores["lift"] <= scores["lift_high"])).all()
    trades = pd.read_parquet(copy / "walkforward" / "trades.parquet")
    assert set(trades["cadence"]) == {"never", "30D", "7D"}
    assert set(trades["horizon"]) == {"1bar", "half", "horizon"}
    assert (trades.loc[trades["predicted"] == 0, "hit_rate"].isna()).all()  # no trade
    top = pd.read_parquet(copy / "walkforward" / "confident.parquet")
    assert top["precision"].between(0, 1).all() and set(top["predicted"]) <= {1, 2}
    assert all(owner(p.relative_to(copy).as_posix()) for p in (copy / "walkforward").rglob("*"))
