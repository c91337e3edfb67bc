"""Each reader turns its layout into the contract frame; files are found by the SPEC §11 names."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from swingml.config.data import DataConfig
from swingml.data.gaps import gap_report
from swingml.data.load import find_files, load_symbol
from swingml.data.symbols import short_name
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError


@pytest.mark.parametrize(
    ("symbol", "short"),
    [
        ("BTCUSDT", "BTC"),
        ("ETHBUSD", "ETH"),
        ("SOLUSDC", "SOL"),
        ("BNBFDUSD", "BNB"),
        ("XRPUSD", "XRP"),
        ("ETHBTC", "ETHBTC"),
        ("USDT", "USDT"),
    ],
)
def test_short_name_strips_one_quote_asset(symbol: str, short: str) -> None:
    assert short_name(symbol) == short


def test_gap_report_counts_and_locates_the_longest_gap() -> None:
    hour = 3_600_000
    stamps = np.array([0, 1, 2, 5, 6, 10, 11, 13], dtype=np.int64) * hour
    report = gap_report(stamps, hour)
    assert (report.rows, report.missing_bars, report.gaps, report.longest_gap_bars) == (8, 6, 3, 3)
    assert report.longest_gap_after == "1970-01-01T06:00:00Z"
    assert report.first == "1970-01-01T00:00:00Z" and report.last == "1970-01-01T13:00:00Z"


def test_json_and_gzip_read_the_same(data_dir: Path, kit: Any) -> None:
    rows = kit.kline_rows(24)
    kit.write_json(data_dir / "plain", rows)
    kit.write_json(data_dir / "gz", rows, "BTCUSDT-1h.json.gz")
    plain = load_symbol(DataConfig(dir=str(data_dir / "plain")), "BTCUSDT").frame
    packed = load_symbol(DataConfig(dir=str(data_dir / "gz")), "BTCUSDT").frame
    pd.testing.assert_frame_equal(plain, packed)
    assert plain["close"].iloc[3] == float(rows[3][4])
    assert plain["trades"].iloc[3] == 103.0


def _zip(folder: Path, kit: Any, month: str, rows: list[list[Any]], **kw: Any) -> Path:
    name = f"BTCUSDT-1h-{month}"
    blob = kit.monthly_zip_bytes(f"{name}.csv", kit.csv_text(rows, **kw))
    path = folder / f"{name}.zip"
    path.write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    (folder / f"{name}.zip.CHECKSUM").write_text(f"{digest}  {name}.zip\n")
    return path


def test_monthly_zips_concatenate_in_month_order(data_dir: Path, kit: Any) -> None:
    hour = kit.HOUR_MS
    jan = kit.kline_rows(5)
    feb = kit.kline_rows(5, kit.START_MS + 31 * 24 * hour)
    header = ["open_time", "open", "high", "low", "close", "volume", "close_time"] + [
        f"x{i}" for i in range(5)
    ]
    # February: newer layout, a header row and microsecond timestamps.
    feb_us = [[r[0] * 1000, *r[1:6], r[6] * 1000 + 999, *r[7:]] for r in feb]
    _zip(data_dir, kit, "2024-02", feb_us, header=header)
    _zip(data_dir, kit, "2024-01", jan)
    loaded = load_symbol(DataConfig(dir=str(data_dir)), "BTCUSDT")
    assert loaded.checksums_verified == 2
    stamps = loaded.frame["timestamp"]
    assert stamps.is_monotonic_increasing and len(stamps) == 10
    assert stamps.iloc[5] == pd.Timestamp("2024-02-01T00:00:00Z")
    report = validate_candles(loaded, 3600)
    assert report.missing_bars == 31 * 24 - 5
    assert loaded.locate(6) == "BTCUSDT-1h-2024-02.zip:BTCUSDT-1h-2024-02.csv line 3"


def test_generic_csv_with_column_mapping_and_epoch_seconds(data_dir: Path) -> None:
    lines = ["Time;O;H;L;C;Vol"]
    for i in range(6):
        lines.append(f"{1_704_067_200 + 900 * i};10;11;9;10.5;{i}")
    (data_dir / "ETHUSDT-15m.csv").write_text("\n".join(lines).replace(";", ",") + "\n")
    mapping = {"timestamp": "Time", "open": "O", "high": "H", "low": "L", "close": "C"}
    mapping["volume"] = "Vol"
    config = DataConfig(dir=str(data_dir), interval="15m", columns=mapping, timestamp_unit="s")
    frame = load_symbol(config, "ETHUSDT").frame
    assert list(frame.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert frame["timestamp"].iloc[1] == pd.Timestamp("2024-01-01T00:15:00Z")
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"


def test_csv_iso_strings_with_utc_offsets(data_dir: Path) -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += ["2024-01-01T00:00:00Z,1,2,0.5,1.5,3", "2024-01-01T01:00:00+00:00,1,2,0.5,1.5,3"]
    (data_dir / "SOLUSDT-1h.csv").write_text("\n".join(lines) + "\n")
    frame = load_symbol(DataConfig(dir=str(data_dir)), "SOLUSDT").frame
    assert list(frame["timestamp"]) == list(
        pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC")
    )


def test_parquet_with_a_time_zone_is_converted_to_utc(data_dir: Path) -> None:
    stamps = pd.date_range("2024-01-01 01:00", periods=4, freq="h", tz="Europe/Berlin")
    pd.DataFrame(
        {"timestamp": stamps, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3}
    ).to_parquet(data_dir / "SOLUSDT-1h.parquet")
    frame = load_symbol(DataConfig(dir=str(data_dir)), "SOLUSDT").frame
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-01-01T00:00:00Z")
    assert frame["volume"].dtype == np.float64


def test_two_layouts_for_one_symbol_are_ambiguous(data_dir: Path, kit: Any) -> None:
    kit.write_json(data_dir, kit.kline_rows(5))
    _zip(data_dir, kit, "2024-01", kit.kline_rows(5))
    with pytest.raises(BadInputError, match="more than one candle layout"):
        find_files(DataConfig(dir=str(data_dir)), "BTCUSDT")
    chosen = find_files(DataConfig(dir=str(data_dir), format="binance_zip"), "BTCUSDT")
    assert chosen.format == "binance_zip" and len(chosen.paths) == 1


def test_a_missing_symbol_names_what_was_looked_for(data_dir: Path, kit: Any) -> None:
    kit.write_json(data_dir, kit.kline_rows(5))
    with pytest.raises(BadInputError, match=r"no candle file for ETHUSDT at interval 1h"):
        find_files(DataConfig(dir=str(data_dir)), "ETHUSDT")
    with pytest.raises(BadInputError, match=r"data\.dir"):
        find_files(DataConfig(dir=str(data_dir / "nope")), "BTCUSDT")


def test_unknown_column_mapping_key_is_a_config_error(data_dir: Path) -> None:
    text = "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n"
    (data_dir / "BTCUSDT-1h.csv").write_text(text)
    config = DataConfig(dir=str(data_dir), columns={"opn": "Open"})
    with pytest.raises(BadInputError, match=r"data\.columns\.opn: unknown candle column"):
        load_symbol(config, "BTCUSDT")
