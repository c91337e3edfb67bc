"""Law: every candle source yields the same contract frame for the same bars.

The same hourly bars (with a gap) written as Binance JSON, gzip JSON, monthly zips, CSV (ISO and
epoch timestamps) and Parquet load to identical ``timestamp`` + OHLCV frames with
``datetime64[ms, UTC]`` and float64 columns, and the same gap report; the synthetic market obeys
the same contract.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swingml.config.data import DataConfig
from swingml.data.frame import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, LoadedCandles
from swingml.data.load import load_symbol
from swingml.data.synthetic import generate
from swingml.data.validate import validate_candles

HOUR = 3_600_000
START = 1_706_659_200_000  # 2024-01-31T00:00:00Z: the bars span a month boundary
OFFSETS = [*range(0, 30), *range(33, 60)]  # a 3-bar gap


def _bars() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(OFFSETS)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "ms": START + np.asarray(OFFSETS, dtype=np.int64) * HOUR,
            "open": open_.round(4),
            "high": (np.maximum(open_, close) * 1.004).round(4),
            "low": (np.minimum(open_, close) * 0.996).round(4),
            "close": close.round(4),
            "volume": rng.uniform(1, 50, n).round(3),
        }
    )


def _klines(bars: pd.DataFrame) -> list[list[object]]:
    rows: list[list[object]] = []
    for r in bars.itertuples():
        prices = [str(r.open), str(r.high), str(r.low), str(r.close), str(r.volume)]
        rows.append([int(r.ms), *prices, int(r.ms) + HOUR - 1, "1", 5, "0.5", "0.5", "0"])
    return rows


def _json(folder: Path, bars: pd.DataFrame) -> DataConfig:
    (folder / "BTCUSDT-1h.json").write_text(json.dumps(_klines(bars)))
    return DataConfig(dir=str(folder))


def _json_gz(folder: Path, bars: pd.DataFrame) -> DataConfig:
    (folder / "BTCUSDT-1h.json.gz").write_bytes(gzip.compress(json.dumps(_klines(bars)).encode()))
    return DataConfig(dir=str(folder))


def _zips(folder: Path, bars: pd.DataFrame) -> DataConfig:
    rows = _klines(bars)
    months = pd.to_datetime(bars["ms"], unit="ms").dt.strftime("%Y-%m")
    for month in months.unique():
        name = f"BTCUSDT-1h-{month}"
        text = "".join(
            ",".join(map(str, row)) + "\n"
            for row, m in zip(rows, months, strict=True)
            if m == month
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{name}.csv", text)
        (folder / f"{name}.zip").write_bytes(buffer.getvalue())
    return DataConfig(dir=str(folder))


def _csv_iso(folder: Path, bars: pd.DataFrame) -> DataConfig:
    out = bars.drop(columns="ms")
    out.insert(
        0, "timestamp", pd.to_datetime(bars["ms"], unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    out.to_csv(folder / "BTCUSDT-1h.csv", index=False)
    return DataConfig(dir=str(folder))


def _csv_epoch(folder: Path, bars: pd.DataFrame) -> DataConfig:
    bars.rename(columns={"ms": "open_time"}).to_csv(folder / "BTCUSDT-1h.csv", index=False)
    return DataConfig(dir=str(folder), columns={"timestamp": "open_time"})


def _parquet(folder: Path, bars: pd.DataFrame) -> DataConfig:
    out = bars.drop(columns="ms")
    out.insert(0, "timestamp", pd.to_datetime(bars["ms"], unit="ms", utc=True))
    out.to_parquet(folder / "BTCUSDT-1h.parquet")
    return DataConfig(dir=str(folder))


WRITERS: dict[str, Callable[[Path, pd.DataFrame], DataConfig]] = {
    "json": _json,
    "json_gz": _json_gz,
    "monthly_zips": _zips,
    "csv_iso": _csv_iso,
    "csv_epoch": _csv_epoch,
    "parquet": _parquet,
}


def _assert_contract(frame: pd.DataFrame) -> None:
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert list(frame.columns[:6]) == ["timestamp", *REQUIRED_COLUMNS]
    assert set(frame.columns[6:]) <= set(OPTIONAL_COLUMNS)
    assert (frame.drop(columns="timestamp").dtypes == np.float64).all()


@pytest.mark.parametrize("layout", list(WRITERS))
def test_every_layout_loads_the_same_bars(layout: str, tmp_path: Path) -> None:
    bars = _bars()
    loaded = load_symbol(WRITERS[layout](tmp_path, bars), "BTCUSDT")
    frame = loaded.frame
    _assert_contract(frame)
    expected = pd.DataFrame(
        {"timestamp": pd.to_datetime(bars["ms"], unit="ms", utc=True).astype("datetime64[ms, UTC]")}
    )
    for column in REQUIRED_COLUMNS:
        expected[column] = bars[column].astype(np.float64)
    pd.testing.assert_frame_equal(frame[["timestamp", *REQUIRED_COLUMNS]], expected)
    report = validate_candles(loaded, 3600)
    assert (report.rows, report.missing_bars, report.gaps) == (57, 3, 1)


def test_synthetic_market_obeys_the_same_contract() -> None:
    for symbol, frame in generate(DataConfig(synthetic={"bars": 600})).items():
        _assert_contract(frame)
        assert validate_candles(LoadedCandles(symbol, frame, ()), 3600).rows == 600
