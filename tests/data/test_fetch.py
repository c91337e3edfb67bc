"""``swingml data fetch`` against a real loopback HTTP server serving Binance-layout zips."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import loopback
import pytest
from loopback import QuietHandler

SYMBOLS = ("BTCUSDT", "ETHUSDT")
MONTHS = ("2024-01", "2024-02", "2024-03")
PREFIX = "/data/spot/monthly/klines"


@dataclass
class Served:
    """What the server holds and does: bodies by path, queued faults, and a request log."""

    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    log: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def zip_path(self, symbol: str, month: str) -> str:
        return f"{PREFIX}/{symbol}/1h/{symbol}-1h-{month}.zip"

    def zip_requests(self) -> list[tuple[str, str | None]]:
        return [entry for entry in self.log if entry[0].endswith(".zip")]


class Handler(QuietHandler):
    """GET with Range support and scripted faults: '500', 'cut' (close mid-body), 'norange'."""

    served: ClassVar[Served]

    def do_GET(self) -> None:  # noqa: N802  (the name http.server dispatches GET to)
        served = self.served
        served.log.append((self.path, self.headers.get("Range")))
        body = served.files.get(self.path)
        fault = served.faults.get(self.path, [])
        action = fault.pop(0) if fault else ""
        if body is None:
            self.send_error(404)
            return
        if action == "500":
            self.send_error(500)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and action != "norange":
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        part = body[start:]
        self.send_header("Content-Length", str(len(part)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if action == "cut":
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)


def _month_rows(real: Path, symbol: str) -> dict[str, list[list[Any]]]:
    rows = json.loads(gzip.decompress((real / f"{symbol}-1h.json.gz").read_bytes()))
    out: dict[str, list[list[Any]]] = {m: [] for m in MONTHS}
    first = {1704067200000: "2024-01", 1706745600000: "2024-02", 1709251200000: "2024-03"}
    bounds = sorted(first)
    for row in rows:
        if bounds[0] <= row[0] < 1711929600000:
            month = first[max(b for b in bounds if b <= row[0])]
            out[month].append(row)
    return out


@pytest.fixture(scope="module")
def archives() -> dict[str, bytes]:
    """Monthly zips + CHECKSUMs (path -> bytes) built from the real hourly files."""
    real = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"
    if not (real / "BTCUSDT-1h.json.gz").is_file():
        pytest.skip(f"{real} is not present")
    import io
    import zipfile

    files: dict[str, bytes] = {}
    for symbol in SYMBOLS:
        for month, rows in _month_rows(real, symbol).items():
            name = f"{symbol}-1h-{month}"
            text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{name}.csv", text)
            blob = buffer.getvalue()
            path = f"{PREFIX}/{symbol}/1h/{name}.zip"
            files[path] = blob
            digest = hashlib.sha256(blob).hexdigest()
            files[path + ".CHECKSUM"] = f"{digest}  {name}.zip\n".encode()
    return files


@pytest.fixture
def server(archives: dict[str, bytes]) -> Iterator[Served]:
    """A ThreadingHTTPServer on 127.0.0.1 (random port) serving the archives."""
    served = Served(files=dict(archives))
    with loopback.serve(Handler, "served", served):
        yield served


def _fetch_args(run_dir: Path, data_dir: Path, url: str, *extra: str) -> list[str]:
    sets = {
        "data.dir": str(data_dir),
        "data.symbols": "[BTCUSDT,ETHUSDT]",
        "data.fetch.base_url": url,
        "data.fetch.start_month": MONTHS[0],
        "data.fetch.end_month": MONTHS[-1],
        "data.fetch.backoff_s": "0.01",
        "data.fetch.timeout_s": "5",
    }
    args = ["data", "fetch", "--run-dir", str(run_dir)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return [*args, *extra]


def _entry(run_dir: Path, stage: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())["stages"][stage]
    return entry


def _zips(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir())


def test_fetch_then_validate_then_rerun_downloads_nothing(
    tmp_path: Path, server: Served, kit: Any
) -> None:
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    assert result.exit_code == 0, result.output
    assert _entry(run_dir, "data_fetch")["downloaded"] == 6
    names = _zips(data_dir)
    assert len(names) == 12 and "BTCUSDT-1h-2024-02.zip.CHECKSUM" in names
    sets = ["--set", f"data.dir={data_dir}", "--set", "data.symbols=[BTCUSDT,ETHUSDT]"]
    validate = kit.invoke(["data", "validate", "--run-dir", str(run_dir), *sets])
    assert validate.exit_code == 0, validate.output
    symbols = _entry(run_dir, "data_validate")["symbols"]
    assert symbols["BTCUSDT"]["first"] == "2024-01-01T00:00:00Z"
    assert symbols["BTCUSDT"]["last"] == "2024-03-31T23:00:00Z"
    assert symbols["BTCUSDT"]["checksums_verified"] == 3
    assert symbols["ETHUSDT"]["rows"] + symbols["ETHUSDT"]["missing_bars"] == 91 * 24
    server.log.clear()
    again = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    assert again.exit_code == 0, again.output
    assert server.log == []
    assert _entry(run_dir, "data_fetch")["present"] == 6


def test_checksum_mismatch_keeps_no_file(tmp_path: Path, server: Served, kit: Any) -> None:
    bad = server.zip_path("ETHUSDT", "2024-02")
    server.files[bad + ".CHECKSUM"] = f"{'0' * 64}  ETHUSDT-1h-2024-02.zip\n".encode()
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    kit.assert_bad_input(result, "ETHUSDT-1h-2024-02.zip", "does not match the .CHECKSUM")
    names = _zips(data_dir)
    assert "ETHUSDT-1h-2024-02.zip" not in names
    assert not [n for n in names if n.endswith(".part")]
    assert "ETHUSDT-1h-2024-03.zip" in names  # the other months went on


def test_interrupted_download_resumes_with_range(tmp_path: Path, server: Served, kit: Any) -> None:
    path = server.zip_path("BTCUSDT", "2024-01")
    server.faults[path] = ["cut"]
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    assert result.exit_code == 0, result.output
    asked = [rng for p, rng in server.zip_requests() if p == path]
    assert asked[0] is None and asked[1] is not None and asked[1].startswith("bytes=")
    local = data_dir / "BTCUSDT-1h-2024-01.zip"
    assert local.read_bytes() == server.files[path]


def test_interrupted_download_restarts_without_range_support(
    tmp_path: Path, server: Served, kit: Any
) -> None:
    path = server.zip_path("ETHUSDT", "2024-03")
    server.faults[path] = ["cut", "norange"]
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    assert result.exit_code == 0, result.output
    assert (data_dir / "ETHUSDT-1h-2024-03.zip").read_bytes() == server.files[path]


def test_transient_500_is_retried(tmp_path: Path, server: Served, kit: Any) -> None:
    path = server.zip_path("ETHUSDT", "2024-01")
    server.faults[path] = ["500", "500"]
    server.faults[path + ".CHECKSUM"] = ["500"]
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url))
    assert result.exit_code == 0, result.output
    assert len([p for p, _ in server.zip_requests() if p == path]) == 3
    assert (data_dir / "ETHUSDT-1h-2024-01.zip").read_bytes() == server.files[path]


def test_persistent_500_fails_with_exit_1_and_no_file(
    tmp_path: Path, server: Served, kit: Any
) -> None:
    path = server.zip_path("BTCUSDT", "2024-03")
    server.faults[path] = ["500"] * 10
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    result = kit.invoke(_fetch_args(run_dir, data_dir, server.url, "--set", "data.fetch.retries=2"))
    assert result.exit_code == 1, result.output
    assert "BTCUSDT-1h-2024-03.zip" not in _zips(data_dir)
    assert "BTCUSDT-1h-2024-02.zip" in _zips(data_dir)


def test_missing_month_is_reported_not_fatal(tmp_path: Path, server: Served, kit: Any) -> None:
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    args = _fetch_args(run_dir, data_dir, server.url, "--set", "data.fetch.end_month=2024-04")
    result = kit.invoke(args)
    assert result.exit_code == 0, result.output
    entry = _entry(run_dir, "data_fetch")
    assert entry["missing"] == 2 and entry["downloaded"] == 6
    assert entry["missing_months"] == ["BTCUSDT-1h-2024-04.zip", "ETHUSDT-1h-2024-04.zip"]
    assert "missing (404): BTCUSDT-1h-2024-04.zip" in result.output


def test_fetch_needs_a_data_dir(tmp_path: Path, kit: Any) -> None:
    result = kit.invoke(["data", "fetch", "--run-dir", str(tmp_path / "run")])
    kit.assert_bad_input(result, "data.dir", "--set data.dir=")
