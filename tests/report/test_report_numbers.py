"""The report's numbers are the run's numbers; what a run lacks is said, not crashed on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from command_line import swingml
from swingml.report.command import write_data

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from report_page import table_rows  # noqa: E402  (made importable just above)

HOLDOUT_COLUMNS = {
    "model": "main_id",
    "variant": "variant_id",
    "train_events": "train_rows",
    "holdout_events": "holdout_rows",
    "holdout_classes": "holdout_classes",
    "holdout_macro_ap": "holdout_macro_ap",
    "prior_macro_ap": "prior_macro_ap",
    "random_macro_ap": "random_macro_ap",
    "stage1_holdout_macro_ap": "stage1_holdout_macro_ap",
}
MEANS = (
    "holdout_macro_ap_mean",
    "prior_macro_ap_mean",
    "random_macro_ap_mean",
    "stage1_holdout_macro_ap_mean",
)


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def written(full_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = _files(full_run)
    page = tmp_path_factory.mktemp("report-out") / "report.html"
    done = swingml("report", "--run-dir", str(full_run), "--output", str(page))
    assert done.returncode == 0, done.stderr[-3000:]
    assert _files(full_run) == before  # read-only: no manifest, no summary, nothing else
    return page


@pytest.mark.slow
def test_champion_table_equals_holdout_parquet_and_summary(full_run: Path, written: Path) -> None:
    holdout = pd.read_parquet(full_run / "training" / "holdout.parquet").set_index("main_id")
    rows, items = table_rows(written, "champion-table")
    assert sorted(r["model"] for r in rows) == sorted(holdout.index)
    for row in rows:
        recorded = holdout.loc[row["model"]]
        for column, source in HOLDOUT_COLUMNS.items():
            if column == "model":
                continue
            value = recorded[source]
            if isinstance(value, str):
                assert row[column] == value, (row["model"], column)
            else:
                assert float(row[column]) == pytest.approx(float(value), rel=1e-12, abs=1e-15)
        lift = recorded["holdout_macro_ap"] - recorded["random_macro_ap"]
        assert float(row["lift"]) == pytest.approx(lift, abs=1e-12)
        low, high = float(row["lift_low"]), float(row["lift_high"])
        assert low <= high
        assert row["skill"] == str(low > 0)  # "no demonstrated skill" exactly when 0 is inside
    train = json.loads((full_run / "summary.json").read_text())["stages"]["train"]
    for key in MEANS:
        assert float(items[key]) == pytest.approx(train[key], rel=1e-12)
    assert np.mean([float(r["holdout_macro_ap"]) for r in rows]) == pytest.approx(
        train["holdout_macro_ap_mean"], rel=1e-12
    )


@pytest.mark.slow
def test_stage_table_and_notebook_data_equal_the_run(full_run: Path, written: Path) -> None:
    stages = json.loads((full_run / "summary.json").read_text())["stages"]
    rows, _ = table_rows(written, "stage-table")
    assert {r["stage"] for r in rows} == set(stages)
    for row in rows:
        assert float(row["wall_s"]) == pytest.approx(stages[row["stage"]]["wall_s"])
        assert int(row["tasks"]) == stages[row["stage"]]["tasks"]
    data = written.with_name("report_data")
    champions = pd.read_parquet(data / "champions.parquet").set_index("model")
    holdout = pd.read_parquet(full_run / "training" / "holdout.parquet").set_index("main_id")
    assert champions["holdout_macro_ap"].to_dict() == holdout["holdout_macro_ap"].to_dict()
    predictions = pd.read_parquet(data / "holdout_predictions.parquet")
    counts = predictions.groupby("model").size()
    assert counts.to_dict() == holdout["holdout_rows"].to_dict()


@pytest.mark.slow
def test_stored_predictions_reproduce_the_holdout_scores(written: Path) -> None:
    # the intervals are computed from the prediction store; it must hold the scored hold-out rows
    assert "do not reproduce the recorded hold-out score" not in written.read_text()


@pytest.mark.slow
def test_run_stopped_after_select_shows_what_exists(stopped_after_select: Path) -> None:
    done = swingml("report", "--run-dir", str(stopped_after_select))
    assert done.returncode == 0, done.stderr[-3000:]
    page = (stopped_after_select / "report" / "report.html").read_text()
    assert "no trained champions yet: run `swingml train`" in page
    assert "no tuning yet: run `swingml tune`" in page
    assert "stages not done: tune, train, predict_batch" in page
    for figure in ("stage_walls", "funnel", "by_family", "selection_frequency", "class_balance"):
        assert f'data-figure="{figure}"' in page
    assert "no trained champions" in " ".join(done.stdout.split())


def test_a_folder_that_is_not_a_run_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    done = swingml("report", "--run-dir", str(tmp_path))
    assert done.returncode == 2
    assert "not a run directory" in " ".join(done.stderr.split())  # rich wraps long lines
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_json_format_prints_summary_json(tmp_path: Path) -> None:
    summary = {"stages": {"data": {"status": "done", "wall_s": 0.5, "tasks": 3}}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    done = swingml("report", "--format", "json", "--run-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_notebook_folder_is_replaced_whole(tmp_path: Path) -> None:
    folder = tmp_path / "report_data"
    frame = pd.DataFrame({"x": [1, 2]})
    write_data(folder, {"champions": frame, "stages": frame}, b"{}")
    write_data(folder, {"champions": frame.assign(x=[3, 4])}, b'{"figures": {}}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report_data"]  # nothing half-written
    assert sorted(p.name for p in folder.iterdir()) == ["champions.parquet", "figures.json"]
    assert pd.read_parquet(folder / "champions.parquet")["x"].tolist() == [3, 4]


@pytest.mark.slow
def test_walkforward_section_shows_the_replay_of_the_run(full_run: Path, tmp_path: Path) -> None:
    import shutil

    root = Path(shutil.copytree(full_run, tmp_path / "run"))
    done = swingml("walkforward", "--run-dir", str(root))  # the run's recorded config
    assert done.returncode == 0, done.stderr[-3000:]
    page = tmp_path / "report.html"
    done = swingml("report", "--run-dir", str(root), "--output", str(page))
    assert done.returncode == 0, done.stderr[-3000:]
    scores = pd.read_parquet(root / "walkforward" / "scores.parquet")
    rows, _ = table_rows(page, "walkforward-summary")
    assert [r["cadence"] for r in rows] == ["never", "30D", "7D"]
    for row in rows:
        group = scores[scores["cadence"] == row["cadence"]]
        assert float(row["macro AP"]) == pytest.approx(group["macro_ap"].mean())
        assert int(row["interval > 0"]) == int((group["lift_low"] > 0).sum())
    models, _ = table_rows(page, "walkforward-models")
    assert len(models) == scores["main_id"].nunique()
    assert len(table_rows(page, "walkforward-confident")[0]) > 0
    assert 'id="plot-walkforward_lift"' in page.read_text(encoding="utf-8")
