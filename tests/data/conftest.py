"""Builders of small candle files (valid, then broken on purpose) and a CLI runner for tests/data.

Test modules cannot import conftest in importlib mode, so the helpers travel as the ``kit``
fixture (``kit.kline_rows(...)``, ``kit.invoke([...])``, ...).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from swingml.cli import app

HOUR_MS = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
REPO = Path(__file__).resolve().parents[2]
SHARED_BINANCE = REPO.parent / "shared" / "data" / "binance"

runner = CliRunner()

if str(Path(__file__).parent) not in sys.path:  # makes exchange.py importable by the tests
    sys.path.insert(0, str(Path(__file__).parent))


def kline_rows(n: int = 30, start_ms: int = START_MS, step_ms: int = HOUR_MS) -> list[list[Any]]:
    """``n`` valid Binance kline rows (decimal strings, as the REST API returns them)."""
    rows: list[list[Any]] = []
    for i in range(n):
        o = 100.0 + i
        c = o + (1.0 if i % 2 else -0.5)
        h = max(o, c) + 0.7
        lo = min(o, c) - 0.6
        t = start_ms + i * step_ms
        rows.append(
            [
                t,
                f"{o:.8f}",
                f"{h:.8f}",
                f"{lo:.8f}",
                f"{c:.8f}",
                f"{10 + i:.8f}",
                t + step_ms - 1,
                f"{(10 + i) * o:.8f}",
                100 + i,
                f"{5 + i / 2:.8f}",
                f"{(5 + i / 2) * o:.8f}",
                "0",
            ]
        )
    return rows


def write_json(folder: Path, rows: Any, name: str = "BTCUSDT-1h.json") -> Path:
    """Write kline rows as a Binance JSON file (gzip when ``name`` ends in .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = json.dumps(rows).encode()
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    return path


def csv_text(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Rows as CSV text (optionally with a header line)."""
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def monthly_zip_bytes(member: str, text: str) -> bytes:
    """A zip archive holding one CSV member, as Binance public data ships them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, text)
    return buffer.getvalue()


def candles_written(run_dir: Path) -> list[str]:
    """Names of the candle files a run directory holds."""
    folder = run_dir / "candles"
    return sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []


def invoke(args: Sequence[str]) -> Result:
    """Run the real CLI in-process."""
    return runner.invoke(app, list(args))


def squash(text: str) -> str:
    """Drop all whitespace (rich wraps long messages at the console width)."""
    return re.sub(r"\s+", "", text)


def assert_bad_input(result: Result, *needles: str) -> None:
    """Exit code 2, no traceback, and every needle in the message."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    flat = squash(result.output)
    for needle in needles:
        assert squash(needle) in flat, f"{needle!r} not in {result.output}"


class Kit:
    """The helpers of this conftest, as one fixture."""

    HOUR_MS = HOUR_MS
    START_MS = START_MS
    kline_rows = staticmethod(kline_rows)
    write_json = staticmethod(write_json)
    csv_text = staticmethod(csv_text)
    monthly_zip_bytes = staticmethod(monthly_zip_bytes)
    candles_written = staticmethod(candles_written)
    invoke = staticmethod(invoke)
    squash = staticmethod(squash)
    assert_bad_input = staticmethod(assert_bad_input)


@pytest.fixture(scope="session")
def kit() -> Kit:
    """The test helpers."""
    return Kit()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def real_data() -> Path:
    """The three real Binance hourly files (skipped cleanly where the folder is absent)."""
    if not (SHARED_BINANCE / "BTCUSDT-1h.json.gz").is_file():
        pytest.skip(f"{SHARED_BINANCE} is not present")
    return SHARED_BINANCE
