"""The run directory: where every stage's files live, written atomically, read back whole.

Every write goes to a temporary file in the same folder and is renamed into place, so a reader
never sees half a file, whatever moment a run is killed at. ``summary.json`` and ``manifest.json``
are written by the parent process only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from swingml.config.redact import redact_value
from swingml.io import catalog

SUMMARY = catalog.relative("summary")
MANIFEST = catalog.relative("manifest")


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On an exception the temporary file is removed and ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(path: Path, busy: Exception) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block; raise ``busy`` at once if another
    process holds it (a second run does nothing instead of waiting or interleaving writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(target: Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON, atomically, with every secret in it
    masked (:func:`swingml.config.redact.redact_value`): ``manifest.json``, ``summary.json``
    and every other JSON file of a run go through here."""
    text = json.dumps(redact_value(payload), indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(target, text.encode("utf-8"))


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table (without its index), keeping pandas dtypes such as ``Int8``.

    Timezone-aware columns go through their UTC wall values, so pandas' deprecated tz-dropping
    ``Series.values`` path is never taken.
    """
    aware: dict[str, str] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            aware[str(name)] = dtype.unit
    naive = frame.copy(deep=False)
    for name in aware:
        naive[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
    table = pa.Table.from_pandas(naive, preserve_index=False)
    for name, unit in aware.items():
        index = table.schema.get_field_index(name)
        column = table.column(index).cast(pa.timestamp(unit, tz="UTC"))
        table = table.set_column(index, pa.field(name, column.type), column)
    return table


def write_parquet_atomic(target: Path, table: pa.Table | pd.DataFrame) -> None:
    """Write a table (or a DataFrame, without its index) as Parquet, atomically."""
    if isinstance(table, pd.DataFrame):
        table = frame_to_arrow(table)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_json(path: Path) -> Any:
    """Read a JSON file written by ``write_json_atomic``."""
    return json.loads(path.read_text(encoding="utf-8"))


def _write_text(target: Path, value: Any) -> None:
    write_bytes_atomic(target, str(value).encode())


CODECS: dict[str, tuple[Callable[[Path], Any], Callable[[Path, Any], None]]] = {
    "parquet": (pd.read_parquet, write_parquet_atomic),
    "json": (read_json, write_json_atomic),
    "text": (Path.read_text, _write_text),
    "lightgbm": (Path.read_text, _write_text),  # a booster's model text
}
"""How each catalog format is read and written (atomically): ``RunStore.load``/``save``. Optuna
journals, the MLflow database and NumPy code matrices are read and written by their owners."""


def _codec(name: str) -> tuple[Callable[[Path], Any], Callable[[Path, Any], None]]:
    form = catalog.CATALOG[name].format
    if form not in CODECS:
        raise TypeError(f"dataset {name} ({form}) is read and written by its owner, not the store")
    return CODECS[form]


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes (first 16 hex digits): cheap identity for cache keys."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def combine_fingerprints(parts: Mapping[str, str]) -> str:
    """One fingerprint for a named set of fingerprints, independent of their order."""
    blob = json.dumps(dict(sorted(parts.items())), separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class RunStore:
    """A run directory on local disk: paths from the catalog, atomic IO, ``summary.json`` and
    ``manifest.json`` (SPEC §11); the local backend of ``swingml.io.backend.RunBackend``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, *parts: str) -> Path:
        """A path inside the run directory (not created)."""
        return self.root.joinpath(*parts)

    def ensure(self, *parts: str) -> Path:
        """A folder inside the run directory, created if missing."""
        folder = self.path(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def dataset(self, name: str, **keys: object) -> Path:
        """The path of a dataset of the run catalog (``swingml.io.catalog``), e.g. ``("model",
        main_id=...)``; not created."""
        return self.root / catalog.relative(name, **keys)

    def load(self, name: str, **keys: object) -> Any:
        """Dataset ``name`` read with its format's codec (a DataFrame, a JSON value, text)."""
        reader, _ = _codec(name)
        return reader(self.dataset(name, **keys))

    def save(self, name: str, value: Any, **keys: object) -> Path:
        """Write ``value`` as dataset ``name`` with its format's codec, atomically; its path."""
        _, writer = _codec(name)
        path = self.dataset(name, **keys)
        writer(path, value)
        return path

    def folder(self, name: str, **keys: object) -> Path:
        """A folder one component owns whole (``swingml.io.catalog.FOLDERS``); not created."""
        return self.root / catalog.folder(name, **keys)

    def recorded(self, record: catalog.Record, owner: str, **keys: object) -> Any:
        """The value ``record`` points at for dataset ``owner``: None where the carrier file, a
        field on the way or the file's readability is missing."""
        carrier = record.carrier or owner
        path = self.dataset(carrier, **keys)
        fields = [part.format(**keys) for part in record.at]
        try:
            if catalog.CATALOG[carrier].format == "parquet":
                metadata = pq.read_schema(path).metadata or {}
                raw = metadata.get(fields[0].encode())
                return None if raw is None else raw.decode()
            value: Any = read_json(path)
        except (OSError, ValueError, pa.ArrowException):
            return None
        for field in fields:
            value = value.get(field) if isinstance(value, dict) else None
        return value

    def is_current(self, name: str, wanted: Any, **keys: object) -> bool:
        """The one freshness rule: dataset ``name`` (and what the catalog says lies ``beside`` it)
        exists, and the input key recorded for it equals ``wanted``, the key its writer computes
        now; a mapping ``wanted`` is compared entry by entry."""
        dataset = catalog.CATALOG[name]
        if dataset.key is None:
            raise ValueError(f"dataset {name} declares no input key in the catalog")
        if not all(self.dataset(n, **keys).is_file() for n in (name, *dataset.beside)):
            return False
        recorded = self.recorded(dataset.key, name, **keys)
        if isinstance(wanted, Mapping):
            return isinstance(recorded, dict) and all(
                recorded.get(k) == v for k, v in wanted.items()
            )
        return bool(recorded == wanted)

    def candles_path(self, symbol: str) -> Path:
        """Validated candles of one symbol, as every later stage reads them."""
        return self.dataset("candles", symbol=symbol)

    def features_dir(self) -> Path:
        """The feature store folder (Parquet + metadata)."""
        return self.folder("features")

    def targets_path(self, symbol: str) -> Path:
        """The long-form target table of one symbol."""
        return self.dataset("targets", symbol=symbol)

    def pull(self) -> int:
        """A local run directory is its own committed state: nothing comes down."""
        return 0

    def begin_stage(self, name: str) -> None:
        """Called as a stage starts; a local run directory needs no lease (see ``io.gcs``)."""

    def read_summary(self) -> dict[str, Any]:
        """The current ``summary.json`` (an empty skeleton if none exists yet)."""
        path = self.path(SUMMARY)
        if path.is_file():
            data: dict[str, Any] = read_json(path)
            data.setdefault("stages", {})
            return data
        return {"stages": {}}

    def record_stage(self, name: str, entry: Mapping[str, Any]) -> None:
        """Replace one stage's entry in ``summary.json`` (parent process only)."""
        summary = self.read_summary()
        summary["stages"][name] = dict(entry)
        summary["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_json_atomic(self.path(SUMMARY), summary)

    def write_manifest(self, config: Mapping[str, Any], fingerprints: Mapping[str, str]) -> None:
        """Record the resolved config and the fingerprints of the run's inputs."""
        manifest = self.read_manifest()
        manifest["config"] = dict(config)
        manifest.setdefault("fingerprints", {}).update(fingerprints)
        manifest["input_fingerprint"] = combine_fingerprints(manifest["fingerprints"])
        write_json_atomic(self.path(MANIFEST), manifest)

    def read_manifest(self) -> dict[str, Any]:
        """The current ``manifest.json`` (empty if none exists yet)."""
        path = self.path(MANIFEST)
        if path.is_file():
            data: dict[str, Any] = read_json(path)
            return data
        return {}
