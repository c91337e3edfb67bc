"""The three real Binance hourly files validate, and their gaps are reported exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXPECTED_MISSING = {"BTCUSDT": 122, "ETHUSDT": 122, "SOLUSDT": 20}


def test_real_files_validate_and_report_missing_hours(
    tmp_path: Path, real_data: Path, kit: Any
) -> None:
    run_dir = tmp_path / "run"
    result = kit.invoke(
        [
            "data",
            "validate",
            "--run-dir",
            str(run_dir),
            "--set",
            f"data.dir={real_data}",
            "--set",
            "data.interval=1h",
        ]
    )
    assert result.exit_code == 0, result.output
    symbols = json.loads((run_dir / "summary.json").read_text())["stages"]["data_validate"][
        "symbols"
    ]
    assert {s: v["missing_bars"] for s, v in symbols.items()} == EXPECTED_MISSING
    assert symbols["BTCUSDT"]["rows"] == 72_866 and symbols["SOLUSDT"]["rows"] == 50_090
    assert symbols["BTCUSDT"]["first"] == "2018-01-01T00:00:00Z"
    for symbol, missing in EXPECTED_MISSING.items():
        assert f"{symbol}: " in result.output and f"{missing} missing bars" in result.output
    assert kit.candles_written(run_dir) == []


def test_real_file_loads_fast_into_the_contract(real_data: Path) -> None:
    import time

    from swingml.config.data import DataConfig
    from swingml.data.load import load_symbol

    start = time.perf_counter()
    frame = load_symbol(DataConfig(dir=str(real_data)), "BTCUSDT").frame
    assert time.perf_counter() - start < 2.0
    assert len(frame) == 72_866
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert frame["close"].iloc[0] == 13529.01
