"""gs:// run directories keep the store's guarantees, against a real Cloud Storage API (emulator).

No reader sees a stage's files before its commit marker; a killed publish leaves the previous commit
intact; a killed writer's stage can be claimed again at once; two live writers never both own a
stage; large files stream.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from swingml.io.gcs import (
    COMMITS,
    CommitMismatchError,
    RemoteRunStore,
    StageBusyError,
    md5_of,
)
from swingml.io.store import write_bytes_atomic

URI = "gs://swingml-test/runs"


def _store(tmp_path: Path, name: str, uri: str) -> RemoteRunStore:
    return RemoteRunStore(uri, str(tmp_path / name))


def _run_stage(store: RemoteRunStore, stage: str, files: dict[str, bytes]) -> None:
    store.begin_stage(stage)
    for rel, data in files.items():
        write_bytes_atomic(store.path(*rel.split("/")), data)
    store.record_stage(stage, {"status": "done", "wall_s": 0.1})


def test_committed_stage_reaches_another_machine(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/reach"
    writer = _store(tmp_path, "a", uri)
    writer.pull()
    _run_stage(writer, "features", {"features/x.parquet": b"x" * 1000, "features/m.json": b"{}"})
    reader = _store(tmp_path, "b", uri)
    assert reader.pull() == 2
    assert reader.path("features", "x.parquet").read_bytes() == b"x" * 1000
    assert reader.read_summary()["stages"]["features"]["status"] == "done"
    assert reader.pull() == 0  # already current: nothing comes down twice


def test_killed_publish_is_invisible_and_keeps_the_previous_commit(
    gcs_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"{URI}/killed"
    writer = _store(tmp_path, "a", uri)
    _run_stage(writer, "targets", {"targets/BTC.parquet": b"old"})
    writer2 = _store(tmp_path, "a", uri)
    writer2.begin_stage("targets")
    write_bytes_atomic(writer2.path("targets", "BTC.parquet"), b"new-bytes")
    write_bytes_atomic(writer2.path("targets", "ETH.parquet"), b"eth")
    real_put = writer2.fs.put_file
    calls = []

    def killed_after_first(lpath: str, rpath: str, **kwargs: object) -> None:
        calls.append(rpath)
        if len(calls) > 1:
            raise KeyboardInterrupt("killed mid-publish")
        real_put(lpath, rpath, **kwargs)

    monkeypatch.setattr(writer2.fs, "put_file", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        writer2.record_stage("targets", {"status": "done"})
    # The marker went first, so a reader sees no half-published stage: nothing of it at all.
    reader = _store(tmp_path, "b", uri)
    reader.pull()
    assert not reader.path("targets").exists()
    # Re-running the killed stage publishes it whole.
    monkeypatch.setattr(writer2.fs, "put_file", real_put)
    again = _store(tmp_path, "a", uri)
    _run_stage(again, "targets", {"targets/ETH.parquet": b"eth2"})
    reader.pull()
    assert reader.path("targets", "BTC.parquet").read_bytes() == b"new-bytes"
    assert reader.path("targets", "ETH.parquet").read_bytes() == b"eth2"


def test_bytes_that_differ_from_the_marker_are_refused(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/mismatch"
    writer = _store(tmp_path, "a", uri)
    _run_stage(writer, "prep", {"prep/kept.json": b"[1, 2]"})
    writer.fs.pipe_file(writer.remote("prep/kept.json"), b"[1, 2, 3]")  # a re-publish under way
    with pytest.raises(CommitMismatchError, match=r"prep/kept.json"):
        _store(tmp_path, "b", uri).pull()
    reader_copy = (tmp_path / "b").joinpath("swingml-test", "runs", "mismatch")
    assert not (reader_copy / "prep" / "kept.json").exists()
    assert list((reader_copy / "prep").iterdir()) == []  # no temporary file left either


def test_two_live_writers_never_both_own_a_stage(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/lease"
    first, second = _store(tmp_path, "a", uri), _store(tmp_path, "b", uri)
    first.begin_stage("tune")
    with pytest.raises(StageBusyError, match=first.owner):
        second.begin_stage("tune")
    second.begin_stage("train")  # other stages stay free
    first.record_stage("tune", {"status": "done"})
    second.begin_stage("tune")  # released on commit
    with pytest.raises(StageBusyError):
        first.begin_stage("tune")


def test_claim_of_a_killed_process_is_taken_over_at_once(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/dead"
    code = (
        "import sys, os\n"
        "from swingml.io.gcs import RemoteRunStore\n"
        f"s = RemoteRunStore({uri!r}, sys.argv[1])\n"
        "s.begin_stage('select')\n"
        "os._exit(0)\n"  # dies holding the claim, as a SIGKILL would leave it
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "a")], check=True, timeout=120)
    survivor = _store(tmp_path, "b", uri)
    claims = survivor.fs.ls(survivor.remote("_leases/select"), detail=False)
    assert len(claims) == 1
    survivor.begin_stage("select")
    survivor.record_stage("select", {"status": "done"})
    assert survivor.fs.exists(survivor.remote(f"{COMMITS}/select.json"))


def test_large_files_stream(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/large"
    writer = _store(tmp_path, "a", uri)
    big = writer.path("features", "big.parquet")
    big.parent.mkdir(parents=True)
    size = 96 << 20
    with big.open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(os.urandom(1 << 20))
    tracemalloc.start()
    _run_stage(writer, "features", {})
    reader = _store(tmp_path, "b", uri)
    reader.pull()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert md5_of(reader.path("features", "big.parquet")) == md5_of(big)
    assert peak < size / 4, f"peak Python allocation {peak / 2**20:.0f} MiB for a 96 MiB file"


def test_writers_racing_for_a_stage_get_at_most_one_owner(gcs_env: str, tmp_path: Path) -> None:
    uri = f"{URI}/race"
    stores = [_store(tmp_path, f"w{i}", uri) for i in range(4)]
    start = threading.Barrier(len(stores))
    owners: list[str] = []

    def contend(store: RemoteRunStore) -> None:
        start.wait()
        try:
            store.begin_stage("tune")
        except StageBusyError:
            return
        owners.append(store.owner)

    threads = [threading.Thread(target=contend, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(owners) <= 1, owners
