"""``swingml report --run-dir gs://…`` reports the committed run: it opens the run through the store
(pulling a working copy), writes the page there and writes nothing to the bucket."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from gcs_emulator import BUCKET, emulator

from command_line import swingml
from swingml.io.gcs import RemoteRunStore, working_copy

URI = f"gs://{BUCKET}/runs/report"


def _objects(store: RemoteRunStore) -> dict[str, str]:
    """Every object under the run with its MD5 (what a write would change)."""
    found = store.fs.find(store.remote(""), detail=True)
    return {name: str(info.get("md5Hash")) for name, info in found.items()}


def test_report_of_a_gs_run_writes_the_page_from_its_pulled_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(tmp_path) as url:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        made = swingml(
            "data", "prepare", "--profile", "integration-test", "--run-dir", URI,
            "--set", f"run.work_dir={tmp_path / 'writer'}",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
        watcher = RemoteRunStore(URI, str(tmp_path / "watch"))
        before = _objects(watcher)
        assert any(name.endswith("_commits/data.json") for name in before)

        reader = tmp_path / "reader"  # another machine: an empty working copy
        done = swingml("report", "--run-dir", URI, "--set", f"run.work_dir={reader}")
        assert done.returncode == 0, done.stderr[-3000:]
        as_json = swingml(
            "report", "--format", "json", "--run-dir", URI, "--set", f"run.work_dir={reader}"
        )
        assert as_json.returncode == 0, as_json.stderr[-3000:]
        after = _objects(watcher)

    copy = working_copy(URI, str(reader))
    page = (copy / "report" / "report.html").read_text()
    assert "stages not done" in page  # a run stopped after data, as the page says
    assert 'data-figure="stage_walls"' in page
    assert json.loads(as_json.stdout)["stages"]["data"]["status"] == "done"
    assert after == before  # read-only on the run: nothing written to the bucket
