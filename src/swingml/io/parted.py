"""Parquet tables that grow by appended parts: ``<name>.parquet`` plus ``<name>.parts/``.

A live cycle adds a few rows to tables that hold the whole history (candles, predictions);
rewriting the file each time would make the cycle's cost grow with the history. So new rows go
to a small part file ``<name>.parts/part-<lo>-<hi>.parquet`` (``lo..hi``: the append sequence
numbers it holds), and the table read back is the base file followed by its parts in order.
Appends merge like a binary counter (two trailing parts of equal append counts become one), so
a table has O(log appends) parts and a row is rewritten O(log appends) times. ``write_compacted``
(the batch and data stages, which read the whole history anyway) writes everything as one base
file whose footer records the last sequence number it holds.

Every file is written atomically; a file is only deleted after the file that holds its rows is in
place. A part whose numbers the base holds already, or that lies inside another part's range, is
left over from an interrupted merge or compaction: readers skip it and the next write deletes it,
so a kill at any moment leaves neither a half-written part nor a duplicate row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from swingml.io.store import atomic_path, combine_fingerprints, file_fingerprint

THROUGH_KEY = b"swingml.parts_through"
"""Footer key of a base file: the last append sequence number whose rows it holds."""

ROW_GROUP_ROWS = 8192
"""Row group size of compacted files, so a read of the recent rows skips the old groups."""

_PART = re.compile(r"^part-(\d{10})-(\d{10})\.parquet$")
_UNIT_PER_MS = {"s": 1e-3, "ms": 1, "us": 1_000, "ns": 1_000_000}


@dataclass(frozen=True)
class Part:
    """One part file and the append sequence numbers ``lo..hi`` it holds."""

    path: Path
    lo: int
    hi: int

    @property
    def appends(self) -> int:
        return self.hi - self.lo + 1


def parts_dir(path: Path) -> Path:
    """The folder of ``path``'s parts (``BTCUSDT.parquet`` → ``BTCUSDT.parts``)."""
    return path.with_suffix(".parts")


def _all_parts(path: Path) -> list[Part]:
    folder = parts_dir(path)
    if not folder.is_dir():
        return []
    found = []
    for item in folder.iterdir():
        match = _PART.match(item.name)
        if match:
            found.append(Part(item, int(match.group(1)), int(match.group(2))))
    return sorted(found, key=lambda p: (p.lo, -p.hi))


def _through(path: Path) -> int:
    """The last sequence number the base file holds (0: none, or no base)."""
    if not path.is_file():
        return 0
    metadata = pq.read_schema(path).metadata or {}
    return int(metadata.get(THROUGH_KEY, b"0"))


def _split(path: Path) -> tuple[list[Part], list[Part]]:
    """(live parts in order, superseded parts) of the table at ``path``."""
    through = _through(path)
    live: list[Part] = []
    dead: list[Part] = []
    for part in _all_parts(path):  # by lo, the widest first among equal lo
        covered = part.hi <= through or (bool(live) and part.hi <= live[-1].hi)
        (dead if covered else live).append(part)
    return live, dead


def exists(path: Path) -> bool:
    """Whether the table has any rows stored (a base file or a part)."""
    return path.is_file() or bool(_split(path)[0])


def files(path: Path) -> list[Path]:
    """The files that make up the table, in row order: the base, then its live parts."""
    live, _ = _split(path)
    return ([path] if path.is_file() else []) + [p.path for p in live]


def signature(path: Path) -> tuple[int, tuple[str, ...]]:
    """Changes whenever the table does: the base's mtime and the part names (cheap, no reads)."""
    stamp = path.stat().st_mtime_ns if path.is_file() else -1
    return stamp, tuple(p.path.name for p in _all_parts(path))


def fingerprint(path: Path) -> str:
    """Identity of the stored bytes: the base file's fingerprint while it has no parts."""
    names = files(path)
    if names == [path]:
        return file_fingerprint(path)
    return combine_fingerprints({p.name: file_fingerprint(p) for p in names})


def _key_range(meta: pq.FileMetaData, group: int, column: int) -> tuple[int, int] | None:
    stats = meta.row_group(group).column(column).statistics
    if stats is None or not stats.has_min_max:
        return None
    return int(stats.min_raw), int(stats.max_raw)


def _read_file(
    path: Path,
    columns: Sequence[str] | None,
    key: str,
    lo_ms: int | None,
    hi_ms: int | None,
) -> pa.Table | None:
    """A file's rows (those with ``lo_ms <= key <= hi_ms`` when bounds are given)."""
    handle = pq.ParquetFile(path)
    wanted = list(columns) if columns is not None else None
    if lo_ms is None and hi_ms is None:
        return handle.read(columns=wanted)
    schema = handle.schema_arrow
    at = schema.get_field_index(key)
    field_type = schema.field(key).type
    scale = _UNIT_PER_MS[field_type.unit] if pa.types.is_timestamp(field_type) else 1
    lo = -(2**63) if lo_ms is None else int(lo_ms * scale)
    hi = 2**63 - 1 if hi_ms is None else int(hi_ms * scale)
    meta = handle.metadata
    groups = []
    for g in range(meta.num_row_groups):
        bounds = _key_range(meta, g, at)
        if bounds is None or (bounds[1] >= lo and bounds[0] <= hi):
            groups.append(g)
    if not groups:
        return None
    read = [*wanted, key] if wanted is not None and key not in wanted else wanted
    table = handle.read_row_groups(groups, columns=read)
    raw = table.column(key)
    if pa.types.is_timestamp(raw.type):
        raw = raw.cast(pa.int64())
    keep = pc.and_(pc.greater_equal(raw, lo), pc.less_equal(raw, hi))
    table = table.filter(keep)
    return table.select(wanted) if wanted is not None else table


def read(
    path: Path,
    columns: Sequence[str] | None = None,
    key: str = "timestamp",
    lo_ms: int | None = None,
    hi_ms: int | None = None,
) -> pa.Table:
    """The whole table (base, then parts), or its rows with ``lo_ms <= key <= hi_ms``.

    Bounds skip whole row groups by their statistics, so reading the recent rows of a long table
    reads only its last groups and parts. Parts take the base's schema.
    """
    names = files(path)
    if not names:
        raise FileNotFoundError(str(path))
    tables = [t for f in names if (t := _read_file(f, columns, key, lo_ms, hi_ms)) is not None]
    if not tables:
        schema = pq.read_schema(names[0])
        fields = [schema.field(c) for c in columns] if columns is not None else list(schema)
        return pa.schema(fields).empty_table()
    return _concat(tables)


def read_frame(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The whole table as a DataFrame (what ``pd.read_parquet`` gave for one file)."""
    frame: pd.DataFrame = read(path, columns).to_pandas()
    return frame


def _concat(tables: Sequence[pa.Table]) -> pa.Table:
    """One table in the first one's column order, types and schema metadata."""
    if len(tables) == 1:
        return tables[0]
    first = tables[0].schema
    same = [tables[0], *(t.select(first.names).cast(first) for t in tables[1:])]
    return pa.concat_tables(same)


def _write(target: Path, table: pa.Table, through: int | None = None) -> None:
    if through is not None:
        metadata = dict(table.schema.metadata or {})
        metadata[THROUGH_KEY] = str(through).encode()
        table = table.replace_schema_metadata(metadata)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def _part_path(path: Path, lo: int, hi: int) -> Path:
    return parts_dir(path) / f"part-{lo:010d}-{hi:010d}.parquet"


def _drop(parts: Sequence[Part]) -> None:
    for part in parts:
        part.path.unlink(missing_ok=True)


def append(path: Path, table: pa.Table) -> Path | None:
    """Add ``table``'s rows after the stored ones as a new part; merge trailing parts.

    Returns the part written (None for no rows). The caller keeps one writer per table (a lock).
    """
    if table.num_rows == 0:
        return None
    live, dead = _split(path)
    _drop(dead)
    for temporary in parts_dir(path).glob(".part-*.tmp"):  # a write killed half-way
        temporary.unlink(missing_ok=True)
    seq = max([_through(path), *(p.hi for p in live)]) + 1
    target = _part_path(path, seq, seq)
    _write(target, table)
    live.append(Part(target, seq, seq))
    while len(live) >= 2 and live[-2].appends <= live[-1].appends:
        older, newer = live[-2], live[-1]
        both = _concat([pq.read_table(older.path), pq.read_table(newer.path)])
        merged = Part(_part_path(path, older.lo, newer.hi), older.lo, newer.hi)
        _write(merged.path, both)
        _drop([older, newer])
        live[-2:] = [merged]
    return live[-1].path


def write_compacted(path: Path, table: pa.Table) -> None:
    """Replace the whole table by ``table`` as one base file (its parts are removed after)."""
    live, dead = _split(path)
    through = max([_through(path), *(p.hi for p in live), *(p.hi for p in dead)])
    _write(path, table, through)
    _drop(live + dead)
    folder = parts_dir(path)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def has_parts(path: Path) -> bool:
    """Whether rows of the table lie in parts (a compaction would fold them into the base)."""
    return bool(_split(path)[0])
