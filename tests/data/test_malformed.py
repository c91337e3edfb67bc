"""Every malformed candle input ends the data stage with exit 2, a message naming the file, the
row and the rule, and no candle file written (SPEC §2, §11)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

Case = Callable[[Path, Any], tuple[list[str], list[str]]]
"""(data dir, kit) -> (extra CLI args, needles the message must contain)."""

ROW5 = "2024-01-01T04:00:00Z"


def _json_with(kit: Any, folder: Path, change: Callable[[list[list[Any]]], None]) -> None:
    rows = kit.kline_rows(10)
    change(rows)
    kit.write_json(folder, rows)


def _set(index: int, field: int, value: Any) -> Callable[[list[list[Any]]], None]:
    def change(rows: list[list[Any]]) -> None:
        rows[index][field] = value

    return change


def duplicates(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4] = list(rows[3])

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "duplicate timestamp", "2024-01-01T03:00:00Z"]


def unsorted(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4], rows[5] = rows[5], rows[4]

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 6", "strictly increasing", ROW5]


def off_grid(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4][0] += 1_800_000
        rows[4][6] += 1_800_000

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "not on the 1h grid", "2024-01-01T04:30:00Z"]


def nan_price(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 4, "NaN"))
    return [], ["BTCUSDT-1h.json row 5", "close is NaN", ROW5]


def inf_price(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 2, "inf"))
    return [], ["BTCUSDT-1h.json row 5", "high is not finite", ROW5]


def zero_price(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 1, "0"))
    return [], ["BTCUSDT-1h.json row 5", "open must be > 0", ROW5]


def negative_price(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 3, "-5"))
    return [], ["BTCUSDT-1h.json row 5", "low must be > 0", ROW5]


def high_below_low(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4][1:5] = ["100", "90", "110", "100"]

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "high must be >= max(open, close)", ROW5]


def high_below_close(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4][1:5] = ["100", "101", "99", "102"]

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "high must be >= max(open, close)"]


def low_above_open(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4][1:5] = ["100", "105", "101", "104"]

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "low must be <= min(open, close)", ROW5]


def negative_volume(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 5, "-1"))
    return [], ["BTCUSDT-1h.json row 5", "volume must be >= 0", ROW5]


def nan_volume(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 5, "nan"))
    return [], ["BTCUSDT-1h.json row 5", "volume must be finite", ROW5]


def text_in_price(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _json_with(kit, d, _set(4, 4, "abc"))
    return [], ["BTCUSDT-1h.json row 5", "column close: 'abc' is not a number"]


def wrong_field_count(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    def change(rows: list[list[Any]]) -> None:
        rows[4] = rows[4][:11]

    _json_with(kit, d, change)
    return [], ["BTCUSDT-1h.json row 5", "has 12 fields, this one has 11"]


def mixed_intervals(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    rows = kit.kline_rows(6) + kit.kline_rows(4, kit.START_MS + 8 * kit.HOUR_MS, 4 * kit.HOUR_MS)
    kit.write_json(d, rows)
    return [], ["BTCUSDT-1h.json row 7", "lasts 4h", "mixed intervals"]


def empty_file(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    (d / "BTCUSDT-1h.json").write_bytes(b"")
    return [], ["BTCUSDT-1h.json", "empty"]


def empty_array(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    kit.write_json(d, [])
    return [], ["BTCUSDT-1h.json", "empty: the kline array has no rows"]


def invalid_json(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    (d / "BTCUSDT-1h.json").write_text(json.dumps(kit.kline_rows(5))[:-40])
    return [], ["BTCUSDT-1h.json line 1", "not valid JSON"]


def truncated_gzip(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    blob = gzip.compress(json.dumps(kit.kline_rows(50)).encode())
    (d / "BTCUSDT-1h.json.gz").write_bytes(blob[: len(blob) // 2])
    return [], ["BTCUSDT-1h.json.gz", "truncated or corrupt gzip"]


def corrupt_zip(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    good = kit.monthly_zip_bytes("BTCUSDT-1h-2024-01.csv", kit.csv_text(kit.kline_rows(10)))
    (d / "BTCUSDT-1h-2024-01.zip").write_bytes(good[:20] + b"\x00" * 40 + good[60:])
    return [], ["BTCUSDT-1h-2024-01.zip", "not a valid zip archive"]


def bad_checksum(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    blob = kit.monthly_zip_bytes("BTCUSDT-1h-2024-01.csv", kit.csv_text(kit.kline_rows(10)))
    (d / "BTCUSDT-1h-2024-01.zip").write_bytes(blob)
    wrong = hashlib.sha256(blob + b"x").hexdigest()
    (d / "BTCUSDT-1h-2024-01.zip.CHECKSUM").write_text(f"{wrong}  BTCUSDT-1h-2024-01.zip\n")
    return [], ["BTCUSDT-1h-2024-01.zip", "does not match BTCUSDT-1h-2024-01.zip.CHECKSUM"]


def zip_bad_row(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    rows = kit.kline_rows(10)
    rows[6][2] = "95"  # high below open and close
    blob = kit.monthly_zip_bytes("BTCUSDT-1h-2024-02.csv", kit.csv_text(rows))
    (d / "BTCUSDT-1h-2024-02.zip").write_bytes(blob)
    return [], ["BTCUSDT-1h-2024-02.zip:BTCUSDT-1h-2024-02.csv line 7", "high must be >="]


def zip_wrong_fields(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    rows: list[list[Any]] = kit.kline_rows(10)
    rows[2] = [*rows[2], "extra"]
    text = kit.csv_text(rows, header=[f"c{i}" for i in range(12)])
    (d / "BTCUSDT-1h-2024-01.zip").write_bytes(
        kit.monthly_zip_bytes("BTCUSDT-1h-2024-01.csv", text)
    )
    return [], ["BTCUSDT-1h-2024-01.csv line 4", "this one has 13"]


def _csv(d: Path, stamps: list[str], extra: str = "") -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{t},100,101,99,100.5,3{extra}" for t in stamps]
    (d / "BTCUSDT-1h.csv").write_text("\n".join(lines) + "\n")


def _iso(i: int) -> str:
    return f"2024-01-01T{i:02d}:00:00Z"


def non_utc_offset(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    stamps = [_iso(i) for i in range(8)]
    stamps[3] = "2024-01-01T05:00:00+02:00"
    _csv(d, stamps)
    return [], ["BTCUSDT-1h.csv line 5", "non-UTC offset"]


def naive_timestamp(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    stamps = [_iso(i) for i in range(8)]
    stamps[2] = "2024-01-01 02:00:00"
    _csv(d, stamps)
    return [], ["BTCUSDT-1h.csv line 4", "no time zone"]


def missing_column(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    lines = ["timestamp,open,high,low,close"] + [f"{_iso(i)},1,2,0.5,1.5" for i in range(5)]
    (d / "BTCUSDT-1h.csv").write_text("\n".join(lines) + "\n")
    return [], ["BTCUSDT-1h.csv", "required column 'volume'", "data.columns.volume"]


def csv_extra_field(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _csv(d, [_iso(i) for i in range(5)])
    path = d / "BTCUSDT-1h.csv"
    lines = path.read_text().splitlines()
    lines[3] += ",7"
    path.write_text("\n".join(lines) + "\n")
    return [], ["BTCUSDT-1h.csv line 4", "the row has 7 fields, the header has 6"]


def wrong_interval(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    _csv(d, [f"2024-01-0{1 + i // 6}T{(i % 6) * 4:02d}:00:00Z" for i in range(12)])
    return [], ["BTCUSDT-1h.csv", "4h apart (median)", "data.interval=4h"]


def parquet_naive(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=5, freq="h"),
            "open": 1.0,
            "high": 2.0,
            "low": 0.5,
            "close": 1.5,
            "volume": 3.0,
        }
    )
    frame.to_parquet(d / "BTCUSDT-1h.parquet")
    return [], ["BTCUSDT-1h.parquet row 1", "no time zone"]


def second_symbol_bad(d: Path, kit: Any) -> tuple[list[str], list[str]]:
    kit.write_json(d, kit.kline_rows(10), "BTCUSDT-1h.json")
    rows = kit.kline_rows(10)
    rows[8][5] = "-3"
    kit.write_json(d, rows, "ETHUSDT-1h.json")
    return ["--set", "data.symbols=[BTCUSDT,ETHUSDT]"], [
        "ETHUSDT-1h.json row 9",
        "volume must be >= 0",
    ]


CASES: dict[str, Case] = {
    f.__name__: f
    for f in (
        duplicates,
        unsorted,
        off_grid,
        nan_price,
        inf_price,
        zero_price,
        negative_price,
        high_below_low,
        high_below_close,
        low_above_open,
        negative_volume,
        nan_volume,
        text_in_price,
        wrong_field_count,
        mixed_intervals,
        empty_file,
        empty_array,
        invalid_json,
        truncated_gzip,
        corrupt_zip,
        bad_checksum,
        zip_bad_row,
        zip_wrong_fields,
        non_utc_offset,
        naive_timestamp,
        missing_column,
        csv_extra_field,
        wrong_interval,
        parquet_naive,
        second_symbol_bad,
    )
}


@pytest.mark.parametrize("name", list(CASES))
def test_data_stage_rejects_malformed_input(
    name: str, data_dir: Path, tmp_path: Path, kit: Any
) -> None:
    extra, needles = CASES[name](data_dir, kit)
    run_dir = tmp_path / "run"
    args = ["run", "--run-dir", str(run_dir), "--set", f"data.dir={data_dir}"]
    args += ["--set", "data.symbols=[BTCUSDT]", *extra]
    result = kit.invoke(args)
    kit.assert_bad_input(result, *needles)
    assert kit.candles_written(run_dir) == []
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stages"]["data"]["status"] == "failed"
    assert list(summary["stages"]) == ["data"]


@pytest.mark.parametrize("name", ["off_grid", "truncated_gzip", "naive_timestamp", "bad_checksum"])
def test_validate_command_rejects_malformed_input(
    name: str, data_dir: Path, tmp_path: Path, kit: Any
) -> None:
    _, needles = CASES[name](data_dir, kit)
    run_dir = tmp_path / "run"
    args = ["data", "validate", "--run-dir", str(run_dir), "--set", f"data.dir={data_dir}"]
    result = kit.invoke([*args, "--set", "data.symbols=[BTCUSDT]"])
    kit.assert_bad_input(result, *needles)
    assert kit.candles_written(run_dir) == []
