"""The prediction store: append-once by (model, version, timestamp), labels resolved, one writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swingml.errors import StageFailedError
from swingml.inference.store import COLUMNS, PredictionStore

MODEL = "BTCUSDT-w3-high"


def rows(
    version: str, hours: list[int], p_breakout: float = 0.5, label: int | None = 1
) -> pd.DataFrame:
    """Prediction rows of ``MODEL`` at the given hours of 2024-01-01."""
    n = len(hours)
    p = np.array([0.5 - p_breakout / 2, p_breakout, 0.5 - p_breakout / 2])
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(hours, unit="h"),
            "variant": "BTCUSDT/w3/high_breakout/s1.0/k0.5",
            "model": MODEL,
            "version": version,
            "p_neither": np.full(n, p[0]),
            "p_breakout": np.full(n, p[1]),
            "p_reversal": np.full(n, p[2]),
            "label": pd.array([label] * n, dtype="Int8"),
            "source": "batch",
            "in_sample": pd.array([pd.NA] * n, dtype="boolean"),
        }
    )[list(COLUMNS)]


@pytest.fixture
def store(tmp_path: Path) -> PredictionStore:
    return PredictionStore(tmp_path / "predictions")


def test_append_adds_each_key_once_and_a_repeat_leaves_the_file_untouched(
    store: PredictionStore,
) -> None:
    first = store.append(MODEL, rows("1", [0, 1, 2]))
    assert (first.written, first.present) == (3, 0)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in store.files(MODEL)}
    again = store.append(MODEL, rows("1", [0, 1, 2]))
    assert (again.written, again.present, again.differing) == (0, 3, 0)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in store.files(MODEL)} == before
    partly = store.append(MODEL, rows("1", [2, 3]))
    assert (partly.written, partly.present) == (1, 1)
    assert len(store.read(MODEL)) == 4


def test_a_new_version_adds_its_own_rows_in_time_then_version_order(
    store: PredictionStore,
) -> None:
    store.append(MODEL, rows("9", [0, 1]))
    report = store.append(MODEL, rows("10", [1, 0]))
    assert report.written == 2
    stored = store.read(MODEL)
    assert list(stored["version"]) == ["9", "10", "9", "10"]
    assert list(stored["timestamp"].dt.hour) == [0, 0, 1, 1]
    assert str(stored["timestamp"].dtype) == "datetime64[ms, UTC]"


def test_stored_probabilities_never_change_and_a_difference_is_counted(
    store: PredictionStore,
) -> None:
    store.append(MODEL, rows("1", [0, 1], p_breakout=0.5))
    report = store.append(MODEL, rows("1", [0, 1, 2], p_breakout=0.6))
    assert (report.written, report.present, report.differing) == (1, 2, 2)
    stored = store.read(MODEL)
    assert list(stored["p_breakout"]) == [0.5, 0.5, 0.6]


def test_an_unknown_label_is_filled_once_known_and_a_known_one_never_changes(
    store: PredictionStore,
) -> None:
    store.append(MODEL, rows("1", [0], label=None))
    assert store.read(MODEL)["label"].isna().all()
    resolved = store.append(MODEL, rows("1", [0], label=2))
    assert (resolved.written, resolved.labels_resolved) == (0, 1)
    again = store.append(MODEL, rows("1", [0], label=1))
    assert again.labels_resolved == 0
    assert store.read(MODEL)["label"].tolist() == [2]


def test_rows_of_another_model_or_with_repeated_keys_are_refused(store: PredictionStore) -> None:
    with pytest.raises(ValueError, match="another model"):
        store.append("ETHUSDT-w5-low", rows("1", [0]))
    with pytest.raises(ValueError, match="duplicate"):
        store.append(MODEL, rows("1", [0, 0]))
    assert not store.path(MODEL).exists()


def test_a_second_holder_of_the_lock_fails_at_once(store: PredictionStore) -> None:
    with (
        store.locked(),
        pytest.raises(StageFailedError, match="another `swingml predict`"),
        store.locked(),
    ):
        pass
    with store.locked():  # released again
        pass


def test_watermarks_round_trip(store: PredictionStore) -> None:
    assert store.watermarks() == {}
    store.folder.mkdir(parents=True)
    store.set_watermarks({"BTCUSDT": 1_704_067_200_000})
    assert store.watermarks() == {"BTCUSDT": 1_704_067_200_000}
    assert store.models() == []


def test_live_appends_leave_the_batch_file_alone_and_batch_compacts_them(
    store: PredictionStore,
) -> None:
    store.append(MODEL, rows("1", list(range(100))), compact=True)  # batch fills the store
    base = store.path(MODEL)
    before = base.read_bytes()
    for hour in range(100, 110):  # live: one new row a cycle
        live = rows("1", [hour], label=None).assign(source="live")
        assert store.append(MODEL, live).written == 1
    assert base.read_bytes() == before  # the history is never rewritten by a live append
    assert len(store.files(MODEL)) <= 1 + 4  # base + O(log appends) parts
    stored = store.read(MODEL)
    assert stored["timestamp"].dt.hour.tolist()[-10:] == [(100 + h) % 24 for h in range(10)]
    assert len(stored) == 110 and not stored.duplicated(["version", "timestamp"]).any()
    assert store.read(MODEL, since_ms=int(stored["timestamp"].iloc[105].value // 10**6)).equals(
        stored.iloc[105:].reset_index(drop=True)
    )
    again = store.append(MODEL, rows("1", list(range(110))), compact=True)
    assert (again.written, again.present, again.labels_resolved) == (0, 110, 10)
    assert store.files(MODEL) == [base] and store.models() == [MODEL]
    assert store.read(MODEL)["label"].notna().all()
