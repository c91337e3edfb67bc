"""Parted Parquet tables: appends as parts read back as one table, bounded reads, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from swingml.io import parted
from swingml.io.store import file_fingerprint

HOUR_MS = 3_600_000


def bars(first: int, count: int) -> pa.Table:
    """``count`` hourly rows from hour ``first``: a timestamp and its hour number."""
    hours = np.arange(first, first + count, dtype=np.int64)
    return pa.table(
        {
            "timestamp": pa.array(hours * HOUR_MS, type=pa.timestamp("ms", tz="UTC")),
            "hour": pa.array(hours.astype(np.float64)),
        }
    )


def hours(path: Path) -> list[int]:
    return [int(h) for h in parted.read(path).column("hour").to_pylist()]


def test_appended_parts_read_back_as_one_table_in_log_many_files(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT.parquet"
    parted.write_compacted(path, bars(0, 1000))
    fingerprint = parted.fingerprint(path)
    assert fingerprint == file_fingerprint(path)  # no parts: the file's own fingerprint
    for hour in range(1000, 1100):
        parted.append(path, bars(hour, 1))
    assert hours(path) == list(range(1100))
    assert len(parted.files(path)) == 1 + bin(100).count("1")  # 100 appends: 64 + 32 + 4
    assert parted.fingerprint(path) != fingerprint
    recent = parted.read(path, ["hour"], lo_ms=1095 * HOUR_MS)
    assert recent.column("hour").to_pylist() == [float(h) for h in range(1095, 1100)]
    assert recent.schema.names == ["hour"]
    parted.write_compacted(path, parted.read(path))
    assert parted.files(path) == [path] and hours(path) == list(range(1100))
    assert not parted.parts_dir(path).exists()


def test_leftovers_of_an_interrupted_merge_or_compaction_are_never_read_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.parquet"
    for hour in range(4):  # parts 1..4 merge into part-1-4
        parted.append(path, bars(hour, 1))
    folder = parted.parts_dir(path)
    merged = folder / "part-0000000001-0000000004.parquet"
    assert [p.name for p in folder.iterdir()] == [merged.name]
    # a merge killed after writing its result and before deleting its inputs
    pq.write_table(bars(2, 1), folder / "part-0000000003-0000000003.parquet")
    assert hours(path) == [0, 1, 2, 3]
    # a compaction killed after writing the base and before deleting the parts
    parted.write_compacted(path, parted.read(path))
    folder.mkdir()
    pq.write_table(bars(0, 4), merged)
    assert hours(path) == [0, 1, 2, 3]
    parted.append(path, bars(4, 1))  # the next write deletes the leftovers
    assert sorted(p.name for p in folder.iterdir()) == ["part-0000000005-0000000005.parquet"]
    assert hours(path) == [0, 1, 2, 3, 4]


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_parted import bars
from swingml.io import parted
path = Path({path!r})
for hour in range({start}, 100000):
    parted.append(path, bars(hour, 1))
    print(hour, flush=True)
"""


def test_a_writer_killed_at_any_moment_leaves_whole_rows_once(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    start = 0
    for delay in (0.15, 0.35, 0.6):
        code = WRITER.format(tests=str(Path(__file__).parent), path=str(path), start=start)
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started appending
        assert first.strip() == str(start), first
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        done = [int(x) for x in proc.stdout.read().split()]
        proc.wait()
        got = hours(path)
        last = done[-1] if done else start
        assert got == list(range(len(got)))  # no duplicate, no gap, no half row
        assert len(got) >= last + 1  # every append that returned is there
        start = len(got)
    parted.append(path, bars(start, 1))  # the next append clears what a kill left half-written
    assert not [p.name for p in parted.parts_dir(path).iterdir() if p.name.startswith(".")]
    assert hours(path) == list(range(start + 1))


def test_rundiff_compares_a_parted_table_by_its_rows_not_its_layout(tmp_path: Path) -> None:
    from swingml.io.rundiff import differences, outputs

    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "candles").mkdir(parents=True)
    parted.write_compacted(a / "candles" / "BTCUSDT.parquet", bars(0, 50))
    parted.write_compacted(b / "candles" / "BTCUSDT.parquet", bars(0, 40))
    for hour in range(40, 50):  # the same rows, as a base and appended parts
        parted.append(b / "candles" / "BTCUSDT.parquet", bars(hour, 1))
    assert outputs(a) == outputs(b) == ["candles/BTCUSDT.parquet"]
    assert differences(a, b) == []
    parted.append(b / "candles" / "BTCUSDT.parquet", bars(50, 1))
    assert len(differences(a, b)) == 1
