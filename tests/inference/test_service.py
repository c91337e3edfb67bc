"""The live service: ``predict live --follow`` on the loopback exchange, a champion promoted
mid-stream, a failed cycle survived, a stalled symbol and a stale champion alerting, SIGTERM."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import exchange as ex
import inference_run
import pandas as pd
from typer.testing import CliRunner

from swingml.cli import app
from swingml.data.frame import timestamps_ms
from swingml.inference.store import PredictionStore
from swingml.io import parted

BASE = inference_run.BASE_BARS
HOUR_MS = 3_600_000
runner = CliRunner()


def _exchange(bars: int, stop: dict[str, int] | None = None) -> ex.Exchange:
    """The synthetic market up to ``BASE + bars`` (a symbol in ``stop`` ends earlier); the clock
    at the close of the base run's last bar."""
    market = inference_run.market()
    rows = {
        s: ex.kline_rows(f.iloc[: (stop or {}).get(s, BASE + bars)], HOUR_MS)
        for s, f in market.items()
    }
    last = int(timestamps_ms(market["BTCUSDT"])[BASE - 1])
    return ex.Exchange(rows, HOUR_MS, last + HOUR_MS)


def _live_args(run_dir: Path, data_dir: Path, url: str, *sets: str) -> list[str]:
    return inference_run.cli_args(
        run_dir,
        data_dir,
        "inference.source=rest",
        f"data.fetch.rest_url={url}",
        "data.fetch.backoff_s=0.01",
        "data.fetch.retries=2",
        "inference.poll_s=0",
        *sets,
    )


def _entry(run_dir: Path, stage: str = "predict_live") -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())["stages"][stage]
    return entry


def test_follow_serves_a_champion_promoted_mid_stream_and_survives_a_failed_cycle(
    run_dir: Path, data_dir: Path
) -> None:
    cycles, promote_at = 28, 3
    exchange = _exchange(cycles)
    exchange.step_on_time = True
    exchange.faults["/api/v3/klines"] = ["500"] * 3  # cycle 1 fails: retries spent
    ctx = inference_run.context(inference_run.config_for(run_dir, data_dir))

    def promote(call: int) -> None:
        if call == promote_at:  # during cycle 3: from cycle 4 on, version 2 is the champion
            inference_run.register_champions(ctx, seed=11)

    exchange.on_time = promote
    with ex.serve(exchange):
        args = _live_args(run_dir, data_dir, exchange.url, f"inference.max_cycles={cycles}")
        result = runner.invoke(app, ["predict", "live", "--follow", *args])
    assert result.exit_code == 0, result.output
    assert "cycle failed" in result.output and f"stopped after {cycles} cycle(s)" in result.output
    entry = _entry(run_dir)
    assert entry["failures"] == 1 and entry["cycles"] == cycles - 1
    assert entry["boosters_loaded"] == 4  # two at start, two at the promotion: never again
    market = inference_run.market()
    stamps = timestamps_ms(market["BTCUSDT"])
    # the clock moves a bar per cycle (cycle 1 too, though it failed): cycle c closes bar BASE+c-1
    promoted_after = int(stamps[BASE - 1 + promote_at])
    store = PredictionStore(run_dir / "predictions")
    rows = pd.concat([store.read(m) for m in store.models()], ignore_index=True)
    assert len(rows) > 0 and not rows.duplicated(["model", "timestamp"]).any()
    ms = pd.DatetimeIndex(rows["timestamp"]).as_unit("ms").asi8
    assert set(rows.loc[ms <= promoted_after, "version"]) <= {"1"}
    assert set(rows.loc[ms > promoted_after, "version"]) == {"2"}
    candles = parted.read_frame(run_dir / "candles" / "BTCUSDT.parquet")
    pd.testing.assert_frame_equal(
        candles, market["BTCUSDT"].iloc[: BASE + cycles].reset_index(drop=True)
    )  # every closed bar, never the one in progress


def test_a_stalled_symbol_and_a_stale_champion_alert(run_dir: Path, data_dir: Path) -> None:
    exchange = _exchange(10, stop={"SOLUSDT": BASE + 2})
    exchange.now_ms += 10 * HOUR_MS
    with ex.serve(exchange):
        args = _live_args(
            run_dir,
            data_dir,
            exchange.url,
            "inference.stall_limit_bars=3",
            "inference.champion_max_age_days=0.000001",
        )
        result = runner.invoke(app, ["predict", "live", "--once", *args])
    assert result.exit_code == 0, result.output
    entry = _entry(run_dir)
    assert entry["stalled_symbols"] == ["SOLUSDT"] and entry["health"] == "alert"
    assert entry["symbols"]["SOLUSDT"]["bars_behind"] == 8
    assert entry["symbols"]["BTCUSDT"]["watermark"] == entry["symbols"]["SOLUSDT"]["last_bar"]
    assert sorted(entry["stale_champions"]) == ["BTCUSDT-w3-high", "ETHUSDT-w5-low"]
    prom = (run_dir / "monitoring" / "metrics.prom").read_text()
    assert 'swingml_bars_behind{symbol="SOLUSDT"} 8.0' in prom
    assert 'swingml_champion_stale{model="BTCUSDT-w3-high"} 1.0' in prom
    assert "swingml_monitor_status 2.0" in prom
    latest = json.loads((run_dir / "monitoring" / "latest.json").read_text())
    assert latest["status"] == "alert" and latest["operational"]["stalled_symbols"] == ["SOLUSDT"]
    monitor = runner.invoke(app, ["monitor", *inference_run.cli_args(run_dir, data_dir)])
    assert monitor.exit_code == 1 and "status alert" in monitor.output


def test_sigterm_stops_follow_between_cycles(run_dir: Path, data_dir: Path) -> None:
    exchange = _exchange(400)
    exchange.step_on_time = True
    with ex.serve(exchange):
        args = _live_args(run_dir, data_dir, exchange.url, "inference.poll_s=0.2")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "swingml.cli", "predict", "live", "--follow", *args]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        try:
            deadline = time.monotonic() + 120
            summary = run_dir / "summary.json"
            while time.monotonic() < deadline:
                if summary.is_file() and "predict_live" in summary.read_text():
                    break
                time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, output
    assert "SIGTERM" in output and "stopped after" in output
    entry = _entry(run_dir)
    store = PredictionStore(run_dir / "predictions")
    marks = store.watermarks()
    candles = parted.read_frame(run_dir / "candles" / "BTCUSDT.parquet")
    assert entry["health"] in ("ok", "alert") and marks["BTCUSDT"] == int(
        timestamps_ms(candles)[-1]
    )  # the last cycle finished: candles, predictions and watermark agree


class _Gateway(http.server.BaseHTTPRequestHandler):
    """A Prometheus push gateway stand-in: records each PUT's path and body."""

    pushed: ClassVar[list[tuple[str, bytes]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.pushed.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_monitor_reports_drift_and_realised_ap_of_live_rows(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    new_dir = inference_run.write_candles(tmp_path / "new", BASE + 300, BASE - 5)
    gateway = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=gateway.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    sets = (
        f"inference.new_candles_dir={new_dir}",
        "monitoring.min_rows=5",
        f"monitoring.pushgateway_url=http://127.0.0.1:{gateway.server_address[1]}",
    )
    args = inference_run.cli_args(run_dir, data_dir, *sets)
    try:
        assert runner.invoke(app, ["predict", "live", "--once", *args]).exit_code == 0
        result = runner.invoke(app, ["monitor", *args])
    finally:
        gateway.shutdown()
        gateway.server_close()
        thread.join()
    assert len(_Gateway.pushed) == 2  # after the cycle, and by `swingml monitor`
    assert _Gateway.pushed[-1][0] == "/metrics/job/swingml"
    assert b"swingml_max_feature_psi" in _Gateway.pushed[-1][1]
    assert result.exit_code in (0, 1), result.output
    latest = json.loads((run_dir / "monitoring" / "latest.json").read_text())
    models = latest["models"]
    assert set(models) == {"BTCUSDT-w3-high", "ETHUSDT-w5-low"}
    for name, item in models.items():
        stored = PredictionStore(run_dir / "predictions").read(name)
        assert item["rows"] == len(stored) >= 5  # every live input row is in the window
        assert item["status"] in ("ok", "warn", "alert")
        assert item["max_feature_psi"] is not None and item["max_feature_ks"] is not None
        assert set(item["prediction_psi"]) == {"p_neither", "p_breakout", "p_reversal"}
        assert abs(sum(item["class_share"].values()) - 1.0) < 1e-9
        assert item["realised_rows"] > 0 and 0.0 <= item["realised_macro_ap"] <= 1.0
        assert item["holdout_macro_ap"] == 0.5
    history = pd.concat(
        pd.read_parquet(p) for p in (run_dir / "monitoring" / "history").glob("*.parquet")
    )
    assert {"max_feature_psi", "realised_macro_ap", "cycle_s"} <= set(history["metric"])
    prom = (run_dir / "monitoring" / "metrics.prom").read_text()
    assert 'swingml_realised_macro_ap{model="ETHUSDT-w5-low"}' in prom
