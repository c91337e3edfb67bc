"""``swingml data fetch --recent`` on the loopback exchange: closed bars only, paged, retried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import exchange as ex
import pandas as pd

from swingml.data.gaps import iso_ms

N_ROWS = 60
STORED = 30
GAP = 45  # a bar the exchange never had
IN_PROGRESS = 55  # the bar whose close has not passed yet


def _exchange(kit: Any) -> ex.Exchange:
    rows = [r for i, r in enumerate(kit.kline_rows(N_ROWS)) if i != GAP]
    now = kit.START_MS + IN_PROGRESS * kit.HOUR_MS + kit.HOUR_MS // 2
    return ex.Exchange({"BTCUSDT": rows}, kit.HOUR_MS, now)


def _args(run_dir: Path, data_dir: Path, url: str) -> list[str]:
    sets = {
        "data.dir": str(data_dir),
        "data.symbols": "[BTCUSDT]",
        "data.fetch.rest_url": url,
        "data.fetch.page_limit": "7",
        "data.fetch.backoff_s": "0.01",
        "data.fetch.retries": "3",
        "data.fetch.timeout_s": "5",
    }
    args = ["data", "fetch", "--recent", "--run-dir", str(run_dir)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return args


def _stored_rows(path: Path) -> list[list[Any]]:
    rows: list[list[Any]] = json.loads(path.read_text())
    return rows


def test_recent_appends_closed_bars_through_pages_a_gap_a_429_and_a_500(
    tmp_path: Path, data_dir: Path, kit: Any
) -> None:
    path = kit.write_json(data_dir, kit.kline_rows(STORED))
    exchange = _exchange(kit)
    exchange.faults["/api/v3/klines"] = ["429", "500"]
    with ex.serve(exchange):
        result = kit.invoke(_args(tmp_path / "run", data_dir, exchange.url))
    assert result.exit_code == 0, result.output
    rows = _stored_rows(path)
    expected = [r for i, r in enumerate(kit.kline_rows(IN_PROGRESS)) if i != GAP]
    assert rows == expected  # stored rows kept verbatim, no in-progress bar, the gap left open
    klines = exchange.requests("/api/v3/klines")
    assert [code for _, _, code in klines[:3]] == [429, 500, 200]
    assert klines[1][0] - klines[0][0] >= exchange.retry_after_s * 0.95  # Retry-After honoured
    assert len([k for k in klines if k[2] == 200]) >= 4  # 25 bars in pages of 7
    entry = json.loads((tmp_path / "run" / "summary.json").read_text())["stages"]["data_fetch"]
    item = entry["symbols"]["BTCUSDT"]
    assert item["new_bars"] == IN_PROGRESS - STORED - 1
    assert item["last_bar"] == iso_ms(kit.START_MS + (IN_PROGRESS - 1) * kit.HOUR_MS)
    assert item["missing_bars"] == 1
    sets = ["--set", f"data.dir={data_dir}", "--set", "data.symbols=[BTCUSDT]"]
    validate = kit.invoke(["data", "validate", "--run-dir", str(tmp_path / "run"), *sets])
    assert validate.exit_code == 0, validate.output


def test_a_rerun_before_the_next_close_changes_nothing(
    tmp_path: Path, data_dir: Path, kit: Any
) -> None:
    path = kit.write_json(data_dir, kit.kline_rows(STORED))
    exchange = _exchange(kit)
    with ex.serve(exchange):
        assert kit.invoke(_args(tmp_path / "run", data_dir, exchange.url)).exit_code == 0
        before = path.read_bytes()
        again = kit.invoke(_args(tmp_path / "run", data_dir, exchange.url))
    assert again.exit_code == 0, again.output
    assert path.read_bytes() == before


def test_a_bar_that_differs_from_the_stored_one_is_exit_2_naming_symbol_and_time(
    tmp_path: Path, data_dir: Path, kit: Any
) -> None:
    path = kit.write_json(data_dir, kit.kline_rows(STORED))
    before = path.read_bytes()
    exchange = _exchange(kit)
    changed = list(exchange.rows["BTCUSDT"][STORED - 1])
    changed[4] = f"{float(changed[4]) + 0.25:.8f}"
    exchange.rows["BTCUSDT"][STORED - 1] = changed
    with ex.serve(exchange):
        result = kit.invoke(_args(tmp_path / "run", data_dir, exchange.url))
    stamp = pd.Timestamp(kit.START_MS + (STORED - 1) * kit.HOUR_MS, unit="ms").strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    kit.assert_bad_input(result, "BTCUSDT", stamp, "close differs")
    assert path.read_bytes() == before
