"""Run directories on Cloud Storage: a local working copy, committed stage by stage to ``gs://``.

Stages keep working on local files (atomic rename, ``flock``), in a working copy of the run
directory under ``run.work_dir``. The object store only ever holds committed stage outputs:

- **Commit markers.** A stage's files are uploaded first; its marker ``_commits/<stage>.json``
  (every file with its MD5 and size) is written last, as one object, and is the commit. A
  re-publish deletes the old marker before the first upload, so no marker ever names bytes that are
  still being written. A reader pulls only files named by a marker and checks each MD5, so it never
  uses half a stage.
- **Stage leases, write-then-list.** A writer writes its own claim ``_leases/<stage>/<owner>.json``
  and then lists the claims; it owns the stage only if no other live claim is listed. Listing is
  strongly consistent, so of two writers at least one sees the other and backs off: both can fail,
  never both own. Claims expire (renewed by a heartbeat); a claim of a dead process on this host is
  stale at once, so a killed step re-runs immediately.
- **Streaming.** Files go up and down with ``put_file``/``get_file`` in chunks; MD5s are computed
  over 1 MiB blocks. Nothing is read whole into memory.

``summary.json`` entries travel as one object per stage (``_stages/<stage>.json``), so steps that
run side by side never overwrite each other's entry.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from swingml.errors import BadInputError, SwingmlError
from swingml.io.backend import RunBackend
from swingml.io.store import SUMMARY, RunStore, atomic_path, read_json, write_json_atomic

COMMITS = "_commits"
LEASES = "_leases"
STAGES = "_stages"
SYNC_STATE = ".swingml-sync.json"
LEASE_TTL_S = 300.0
CLAIM_TRIES = 3
_CHUNK = 1 << 20
TRANSFER_CHUNK = 8 << 20  # upload chunk (a multiple of 256 KiB, as resumable uploads require)

FileState = tuple[int, int]  # (size, mtime_ns)


class StageBusyError(SwingmlError):
    """Another live writer owns the stage (exit code 1)."""


class CommitMismatchError(SwingmlError):
    """A committed file's bytes differ from its marker: a writer is re-publishing (exit 1)."""


def is_gcs(uri: str) -> bool:
    """Whether ``uri`` is a ``gs://`` URI."""
    return uri.startswith("gs://")


def md5_of(path: Path) -> str:
    """Base64 MD5 of a file (the form Cloud Storage reports), read in 1 MiB blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def gcs_filesystem() -> Any:
    """A ``gcsfs`` filesystem: the emulator at ``STORAGE_EMULATOR_HOST`` or Google's default login.

    The core class is used on purpose: gcsfs' default class probes each bucket over gRPC first.
    """
    try:
        from gcsfs.core import GCSFileSystem
    except ImportError:
        raise BadInputError(
            "key run.dir",
            "a gs:// run directory needs gcsfs, which is not installed",
            "pip install 'swingml[vertex]'",
        ) from None

    token = "anon" if os.environ.get("STORAGE_EMULATOR_HOST") else None
    return GCSFileSystem(token=token, consistency="md5", cache_timeout=0)


def working_copy(uri: str, work_dir: str | None) -> Path:
    """The local working copy of ``gs://bucket/path``: ``<work_dir>/<bucket>/<path>``."""
    base = Path(work_dir) if work_dir else Path(tempfile.gettempdir()) / "swingml-work"
    return base.joinpath(*uri.removeprefix("gs://").strip("/").split("/"))


def local_files(root: Path) -> dict[str, FileState]:
    """Every file of the working copy a stage can own (hidden temp/state files left out)."""
    found: dict[str, FileState] = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel == SUMMARY:
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_file():
                stat = path.stat()
                found[rel] = (stat.st_size, stat.st_mtime_ns)
    return found


@dataclass
class Claim:
    """One writer's claim on a stage."""

    owner: str
    host: str
    pid: int
    started: float
    expires: float

    def stale(self, now: float) -> bool:
        """Expired, or held by a process of this host that no longer runs."""
        if now > self.expires:
            return True
        if self.host != socket.gethostname():
            return False
        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) > 1.0
        except psutil.Error:
            return True


class RemoteRunStore(RunStore):
    """A ``RunStore`` on a local working copy whose stages commit to a ``gs://`` run directory."""

    def __init__(self, uri: str, work_dir: str | None = None, fs: Any = None) -> None:
        super().__init__(working_copy(uri, work_dir))
        self.uri = uri.rstrip("/")
        self.fs = fs if fs is not None else gcs_filesystem()
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._started = psutil.Process().create_time()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()

    # -- object paths ----------------------------------------------------------------------

    def remote(self, rel: str) -> str:
        """The object path (``bucket/...``) of a run-relative path."""
        return f"{self.uri.removeprefix('gs://')}/{rel}"

    def _read_object(self, rel: str) -> Any:
        return json.loads(self.fs.cat_file(self.remote(rel)))

    def _write_object(self, rel: str, payload: Any) -> None:
        data = json.dumps(payload, indent=2, sort_keys=True, default=str).encode()
        self.fs.pipe_file(self.remote(rel), data)

    def _list(self, rel: str) -> list[str]:
        try:
            names = self.fs.ls(self.remote(rel), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(str(n).rsplit("/", 1)[-1] for n in names if str(n).endswith(".json"))

    # -- reading: pull what is committed ---------------------------------------------------

    def committed(self) -> dict[str, dict[str, Any]]:
        """Every committed file: path -> ``{md5, size, stage}`` of the latest marker naming it."""
        markers = [self._read_object(f"{COMMITS}/{name}") for name in self._list(COMMITS)]
        files: dict[str, dict[str, Any]] = {}
        for marker in sorted(markers, key=lambda m: (m["committed_at"], m["stage"])):
            for rel, entry in marker["files"].items():
                files[rel] = {**entry, "stage": marker["stage"]}
        return files

    def read_committed(self, rel: str) -> Any:
        """The committed JSON file ``rel`` (for example ``manifest.json``), None if none is."""
        return self._read_object(rel) if rel in self.committed() else None

    def pull(self) -> int:
        """Bring the working copy up to the committed state; returns how many files came down."""
        self.root.mkdir(parents=True, exist_ok=True)
        state = self._sync_state()
        known = state["files"]
        fetched = 0
        for rel, entry in self.committed().items():
            local = self.path(*rel.split("/"))
            if self._local_md5(rel, local, known) == entry["md5"]:
                continue
            with atomic_path(local) as tmp:
                self.fs.get_file(self.remote(rel), str(tmp), concurrency=1)
                got = md5_of(tmp)
                if got != entry["md5"]:
                    raise CommitMismatchError(
                        f"{self.uri}/{rel} differs from its commit marker (stage "
                        f"{entry['stage']}): a writer is re-publishing that stage; retry when it "
                        "is done"
                    )
            stat = local.stat()
            known[rel] = [stat.st_size, stat.st_mtime_ns, entry["md5"]]
            fetched += 1
        self._save_sync_state(state)
        self._pull_summary()
        return fetched

    def _pull_summary(self) -> None:
        remote = {
            name.removesuffix(".json"): self._read_object(f"{STAGES}/{name}")
            for name in self._list(STAGES)
        }
        if not remote:
            return
        summary = self.read_summary()
        summary["stages"].update(remote)
        write_json_atomic(self.path(SUMMARY), summary)

    # -- writing: lease, publish, commit ---------------------------------------------------

    def begin_stage(self, name: str) -> None:
        """Claim the stage before it runs (``StageBusyError`` if a live writer holds it)."""
        self._claim(name)

    def record_stage(self, name: str, entry: Mapping[str, Any]) -> None:
        """Record locally; a finished stage publishes its files and commits, then lets go."""
        super().record_stage(name, entry)
        try:
            if name in self._held and entry.get("status") == "done":
                self._publish(name)
            self._write_object(f"{STAGES}/{name}.json", dict(self.read_summary()["stages"][name]))
        finally:
            self._release(name)

    def _publish(self, name: str) -> None:
        """Upload what is new in the working copy, then write the stage's marker (the commit).

        The stage's files are its previous commit's, those of an interrupted publish (kept in
        the local ``pending`` list), and every file whose bytes no commit holds yet.
        """
        state = self._sync_state()
        known, pending = state["files"], state["pending"]
        now = local_files(self.root)
        committed = self.committed()
        previous = {rel for rel, e in committed.items() if e["stage"] == name}
        previous |= set(pending.get(name, ()))
        digests: dict[str, str] = {}
        dirty: list[str] = []
        for rel, (size, mtime) in sorted(now.items()):
            seen = known.get(rel)
            if seen is not None and (seen[0], seen[1]) == (size, mtime):
                digests[rel] = str(seen[2])
                continue
            digests[rel] = md5_of(self.path(*rel.split("/")))
            if committed.get(rel, {}).get("md5") == digests[rel]:
                known[rel] = [size, mtime, digests[rel]]
            else:
                dirty.append(rel)
        marker_rel = f"{COMMITS}/{name}.json"
        listing = sorted({rel for rel in previous if rel in now} | set(dirty))
        has_marker = any(e["stage"] == name for e in committed.values()) or self.fs.exists(
            self.remote(marker_rel)
        )
        if not dirty and has_marker and name not in pending:
            self._save_sync_state(state)
            return
        pending[name] = listing
        self._save_sync_state(state)
        self._check_owner(name)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.remote(marker_rel))
        for rel in dirty:
            local = str(self.path(*rel.split("/")))
            self.fs.put_file(local, self.remote(rel), chunksize=TRANSFER_CHUNK)
            known[rel] = [now[rel][0], now[rel][1], digests[rel]]
        self._check_owner(name)
        self._write_object(
            marker_rel,
            {
                "stage": name,
                "owner": self.owner,
                "committed_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                "files": {rel: {"md5": digests[rel], "size": now[rel][0]} for rel in listing},
            },
        )
        pending.pop(name, None)
        self._save_sync_state(state)

    def _claim_rel(self, name: str) -> str:
        return f"{LEASES}/{name}/{self.owner}.json"

    def _write_claim(self, name: str) -> None:
        now = time.time()
        self._write_object(
            self._claim_rel(name),
            {
                "owner": self.owner,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": self._started,
                "expires": now + LEASE_TTL_S,
            },
        )

    def _rivals(self, name: str) -> list[Claim]:
        """Live claims on ``name`` other than ours; stale ones are removed on the way."""
        now = time.time()
        rivals: list[Claim] = []
        for file in self._list(f"{LEASES}/{name}"):
            rel = f"{LEASES}/{name}/{file}"
            try:
                claim = Claim(**self._read_object(rel))
            except FileNotFoundError:
                continue
            if claim.owner == self.owner:
                continue
            if claim.stale(now):
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(self.remote(rel))
                continue
            rivals.append(claim)
        return rivals

    def _claim(self, name: str) -> None:
        for attempt in range(CLAIM_TRIES):
            self._write_claim(name)
            rivals = self._rivals(name)
            if not rivals:
                with self._lock:
                    self._held.add(name)
                self._start_heartbeat()
                return
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(self.remote(self._claim_rel(name)))
            if attempt + 1 < CLAIM_TRIES:
                time.sleep(random.uniform(0.5, 2.0))
        other = rivals[0]
        until = datetime.fromtimestamp(other.expires, UTC).isoformat(timespec="seconds")
        raise StageBusyError(
            f"stage {name} of {self.uri} is being written by {other.owner} (host {other.host}, "
            f"pid {other.pid}); re-run when it is done, or after {until} if that process is gone"
        )

    def _check_owner(self, name: str) -> None:
        if not self.fs.exists(self.remote(self._claim_rel(name))) or self._rivals(name):
            raise StageBusyError(
                f"stage {name} of {self.uri}: this writer lost its lease (it stalled past "
                f"{LEASE_TTL_S:.0f} s); nothing was committed, re-run the stage"
            )

    def _release(self, name: str) -> None:
        with self._lock:
            held = name in self._held
            self._held.discard(name)
        if held:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(self.remote(self._claim_rel(name)))

    def _start_heartbeat(self) -> None:
        if self._beat is not None and self._beat.is_alive():
            return
        self._beat = threading.Thread(target=self._heartbeat, name="gcs-lease", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(LEASE_TTL_S / 4):
            with self._lock:
                held = list(self._held)
            for name in held:
                with contextlib.suppress(Exception):
                    self._write_claim(name)

    # -- the working copy's record of what it already holds --------------------------------

    def _sync_state(self) -> dict[str, dict[str, Any]]:
        """``files``: path -> [size, mtime_ns, md5] of bytes a commit holds; ``pending``: stage ->
        the files of a publish that has not committed yet."""
        path = self.path(SYNC_STATE)
        data: dict[str, dict[str, Any]] = read_json(path) if path.is_file() else {}
        data.setdefault("files", {})
        data.setdefault("pending", {})
        return data

    def _save_sync_state(self, state: Mapping[str, Any]) -> None:
        write_json_atomic(self.path(SYNC_STATE), dict(state))

    def _local_md5(self, rel: str, local: Path, state: dict[str, Any]) -> str | None:
        if not local.is_file():
            return None
        stat = local.stat()
        known = state.get(rel)
        if known is not None and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return str(known[2])
        digest = md5_of(local)
        state[rel] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest


def open_store(run_dir: str, work_dir: str | None = None) -> RunStore:
    """The run store of ``run.dir``: local, or a working copy of a ``gs://`` URI, pulled."""
    if not is_gcs(run_dir):
        return RunStore(run_dir)
    store = RemoteRunStore(run_dir, work_dir)
    store.pull()
    return store


if TYPE_CHECKING:  # mypy checks that both backends keep the protocol
    _LOCAL: type[RunBackend] = RunStore
    _REMOTE: type[RunBackend] = RemoteRunStore
