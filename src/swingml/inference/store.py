"""The prediction store: one append-once table per model, keyed by (model, version, time).

Per registered model a parted Parquet table (``swingml.io.parted``): ``<model>.parquet`` plus the
parts live cycles append in ``<model>.parts/``; columns ``COLUMNS``. A row is written once and its
probabilities never change: appending a row whose key is stored already adds nothing; its
probabilities are compared with the stored ones and a difference is counted (that is how a batch
run checks the live == batch law on real data). The one thing a later append may fill in is a
label that was unknown when the row was written (a live prediction is made before its horizon has
passed). A live append reads only the stored rows in its own time span and writes its new rows
as a part, so its cost does not grow with the history; ``predict batch`` compacts each table to
one file. ``locked()`` keeps two ``swingml predict`` commands off one store at the same time;
``_live.json`` holds live's per-symbol watermarks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from swingml.errors import StageFailedError
from swingml.io import parted
from swingml.io.store import exclusive_lock, read_json, write_json_atomic

PROBA: tuple[str, ...] = ("p_neither", "p_breakout", "p_reversal")
"""Class probabilities in class order: 0 neither, 1 breakout, 2 reversal."""

COLUMNS: tuple[str, ...] = (
    "timestamp",
    "variant",
    "model",
    "version",
    *PROBA,
    "label",
    "source",
    "in_sample",
)
"""``in_sample``: the event was a training row of the version that predicted it (NA: the version
does not record what it trained on)."""
SOURCES: tuple[str, ...] = ("batch", "live")

SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("variant", pa.string()),
        ("model", pa.string()),
        ("version", pa.string()),
        *((name, pa.float64()) for name in PROBA),
        ("label", pa.int8()),
        ("source", pa.string()),
        ("in_sample", pa.bool_()),
    ]
)

LOCK_FILE = ".lock"
LIVE_STATE = "_live.json"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class AppendReport:
    """What an append did: rows written, rows already stored (and how many of those differ in
    their probabilities), and stored unknown labels it filled in."""

    written: int = 0
    present: int = 0
    differing: int = 0
    labels_resolved: int = 0

    def __add__(self, other: AppendReport) -> AppendReport:
        return AppendReport(
            self.written + other.written,
            self.present + other.present,
            self.differing + other.differing,
            self.labels_resolved + other.labels_resolved,
        )


def stamps_ms(column: pd.Series) -> np.ndarray:
    """A timestamp column as int64 epoch milliseconds (UTC)."""
    stamps = pd.DatetimeIndex(column)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.as_unit("ms").asi8.astype(np.int64)


def empty_frame() -> pd.DataFrame:
    """A store frame with no rows and the store's dtypes."""
    return _from_arrow(SCHEMA.empty_table())


def _from_arrow(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.int8(): pd.Int8Dtype()}.get)
    frame["label"] = frame["label"].astype("Int8")
    frame["in_sample"] = frame["in_sample"].astype("boolean")
    return frame


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    label = frame["label"].astype("Int8")
    in_sample = frame["in_sample"].astype("boolean")
    arrays = [
        pa.array(stamps_ms(frame["timestamp"]), type=pa.timestamp("ms", tz="UTC")),
        pa.array(frame["variant"].astype(str).tolist(), type=pa.string()),
        pa.array(frame["model"].astype(str).tolist(), type=pa.string()),
        pa.array(frame["version"].astype(str).tolist(), type=pa.string()),
        *(pa.array(frame[p].to_numpy(np.float64), type=pa.float64()) for p in PROBA),
        pa.array(label.fillna(0).to_numpy(np.int8), mask=label.isna().to_numpy(), type=pa.int8()),
        pa.array(frame["source"].astype(str).tolist(), type=pa.string()),
        pa.array(
            in_sample.fillna(False).to_numpy(bool),
            mask=in_sample.isna().to_numpy(),
            type=pa.bool_(),
        ),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _version_order(values: pd.Series) -> np.ndarray:
    """Sort key of MLflow versions: their number (``"10"`` after ``"9"``)."""
    numbers: np.ndarray = pd.to_numeric(values, errors="coerce").fillna(np.inf).to_numpy(float)
    return numbers


class PredictionStore:
    """The ``predictions/`` folder of a run: one append-once parted Parquet table per model."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, model: str) -> Path:
        """The base file of one model's predictions (its parts lie beside it)."""
        if not _MODEL_NAME.match(model):
            raise ValueError(f"not a model name: {model!r}")
        return self.folder / f"{model}.parquet"

    def models(self) -> list[str]:
        """Models that have predictions stored, sorted."""
        names = {p.stem for p in self.folder.glob("*.parquet") if not p.name.startswith(".")}
        names |= {p.stem for p in self.folder.glob("*.parts") if not p.name.startswith(".")}
        return sorted(n for n in names if parted.exists(self.path(n)))

    def files(self, model: str) -> list[Path]:
        """The files holding ``model``'s rows (for readers that scan many models at once)."""
        return parted.files(self.path(model))

    def read(
        self, model: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> pd.DataFrame:
        """The stored predictions of ``model`` (those at ``since_ms..until_ms`` when given), sorted
        by time then version; no rows if none."""
        path = self.path(model)
        if not parted.exists(path):
            return empty_frame()
        table = parted.read(path, lo_ms=since_ms, hi_ms=until_ms)
        frame = _from_arrow(table.cast(SCHEMA))
        order = np.lexsort((_version_order(frame["version"]), stamps_ms(frame["timestamp"])))
        return frame.iloc[order].reset_index(drop=True)

    def append(self, model: str, rows: pd.DataFrame, compact: bool = False) -> AppendReport:
        """Add the rows whose (version, timestamp) is not stored yet; fill resolved labels.

        ``rows`` has the store's ``COLUMNS``, all of ``model``, unique keys. Only the stored rows
        in the rows' time span are read; new rows go to a part. Filling labels, or ``compact``
        (batch), rewrites the model's table as one file; nothing is written when nothing changes.
        """
        missing = [c for c in COLUMNS if c not in rows.columns]
        if missing:
            raise ValueError(f"prediction rows lack columns {missing}")
        if len(rows) and not bool((rows["model"] == model).all()):
            raise ValueError(f"prediction rows of another model than {model!r}")
        if not set(rows["source"]).issubset(SOURCES):
            raise ValueError(f"source must be one of {SOURCES}")
        new_ms = stamps_ms(rows["timestamp"])
        new_keys = pd.MultiIndex.from_arrays([rows["version"].astype(str).to_numpy(), new_ms])
        if new_keys.has_duplicates:
            raise ValueError(f"duplicate (version, timestamp) keys in the rows for {model!r}")
        if len(rows) == 0:
            return AppendReport()
        span = (None, None) if compact else (int(new_ms.min()), int(new_ms.max()))
        stored = self.read(model, *span)
        old_keys = pd.MultiIndex.from_arrays(
            [stored["version"].astype(str).to_numpy(), stamps_ms(stored["timestamp"])]
        )
        at = old_keys.get_indexer(new_keys) if len(stored) else np.full(len(rows), -1)
        fresh = at < 0
        hits = at[~fresh]
        old_p = stored[list(PROBA)].to_numpy(np.float64)[hits]
        new_p = rows[list(PROBA)].to_numpy(np.float64)[~fresh]
        differing = int(np.count_nonzero((old_p != new_p).any(axis=1)))
        new_label = rows["label"].astype("Int8").to_numpy()[~fresh]
        fill = stored["label"].isna().to_numpy()[hits] & ~pd.isna(new_label)
        report = AppendReport(int(fresh.sum()), len(hits), differing, int(fill.sum()))
        path = self.path(model)
        if report.labels_resolved and not compact:
            return self.append(model, rows, compact=True)  # labels change stored rows: rewrite
        if report.written == 0 and report.labels_resolved == 0:
            if compact and parted.has_parts(path):
                parted.write_compacted(path, _to_arrow(stored))
            return report
        added = rows.loc[fresh, list(COLUMNS)]
        if not compact:
            order = np.lexsort((_version_order(added["version"]), stamps_ms(added["timestamp"])))
            parted.append(path, _to_arrow(added.iloc[order]))
            return report
        if report.labels_resolved:
            label = stored["label"].copy()
            label.iloc[hits[fill]] = new_label[fill]
            stored["label"] = label
        parts = [f for f in (stored[list(COLUMNS)], added) if len(f)]
        merged = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        order = np.lexsort((_version_order(merged["version"]), stamps_ms(merged["timestamp"])))
        parted.write_compacted(path, _to_arrow(merged.iloc[order]))
        return report

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock for the block; a second holder fails at once (cron-safe)."""
        path = self.folder / LOCK_FILE
        busy = StageFailedError(
            f"another `swingml predict` holds {path}; this run did nothing "
            "(the next scheduled run picks up where that one stops)"
        )
        with exclusive_lock(path, busy):
            yield

    def watermarks(self) -> dict[str, int]:
        """Live's last processed bar per symbol (epoch ms); empty before the first live run."""
        path = self.folder / LIVE_STATE
        if not path.is_file():
            return {}
        data = read_json(path)
        return {str(k): int(v) for k, v in data.get("watermarks_ms", {}).items()}

    def set_watermarks(self, marks: Mapping[str, int]) -> None:
        """Record live's watermarks (atomically), with their times for people reading the file."""
        payload = {
            "watermarks_ms": {k: int(v) for k, v in sorted(marks.items())},
            "watermarks": {
                k: pd.Timestamp(int(v), unit="ms", tz="UTC").isoformat()
                for k, v in sorted(marks.items())
            },
        }
        write_json_atomic(self.folder / LIVE_STATE, payload)
