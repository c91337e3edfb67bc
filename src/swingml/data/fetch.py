"""``swingml data fetch``: Binance public-data monthly kline zips into ``data.dir``, verified.

Layout read: ``{base}/data/spot/monthly/klines/{SYMBOL}/{interval}/<name>`` with
``<name> = {SYMBOL}-{interval}-{YYYY-MM}.zip``, and ``<name>.CHECKSUM`` beside it. Written: the
zip and its ``.CHECKSUM`` under the same names in ``data.dir`` (which the ``binance_zip`` source
reads back, in month order). A zip reaches its final name only after its SHA-256 matched; a month
the server does not have (404) is reported and the others go on; a zip already present with a
matching checksum is not downloaded again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from swingml.config.data import DataConfig
from swingml.data.http import (
    DownloadError,
    NotFoundError,
    Retry,
    download_to_part,
    get_bytes,
)
from swingml.data.sources.binance_zip import checksum_path, parse_checksum, sha256_of
from swingml.errors import BadInputError, StageFailedError
from swingml.io.store import write_bytes_atomic

Status = Literal["downloaded", "present", "missing", "failed", "checksum_mismatch"]
STATUSES: tuple[Status, ...] = ("downloaded", "present", "missing", "failed", "checksum_mismatch")


@dataclass(frozen=True)
class MonthFile:
    """One monthly kline zip of one symbol and interval."""

    symbol: str
    interval: str
    month: str

    @property
    def name(self) -> str:
        """The zip's file name, the same on the server and in ``data.dir``."""
        return f"{self.symbol}-{self.interval}-{self.month}.zip"

    def url(self, base_url: str) -> str:
        """The zip's URL in the Binance public-data layout."""
        base = base_url.rstrip("/")
        return f"{base}/data/spot/monthly/klines/{self.symbol}/{self.interval}/{self.name}"


@dataclass(frozen=True)
class FetchResult:
    """What happened to one monthly file."""

    file: MonthFile
    status: Status
    bytes: int = 0
    attempts: int = 0
    resumed: bool = False
    error: str = ""


def months_between(start: str, end: str) -> list[str]:
    """``YYYY-MM`` months from ``start`` to ``end`` inclusive."""
    y0, m0 = (int(x) for x in start.split("-"))
    y1, m1 = (int(x) for x in end.split("-"))
    if not (1 <= m0 <= 12 and 1 <= m1 <= 12) or (y0, m0) > (y1, m1):
        raise BadInputError(
            f"config keys data.fetch.start_month={start}, end_month={end}",
            "months must be valid and start_month <= end_month",
            "e.g. --set data.fetch.start_month=2024-01 --set data.fetch.end_month=2024-03",
        )
    out: list[str] = []
    year, month = y0, m0
    while (year, month) <= (y1, m1):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def plan(config: DataConfig) -> list[MonthFile]:
    """Every (symbol, month) to fetch, symbol by symbol, months in order."""
    months = months_between(config.fetch.start_month, config.fetch.end_month)
    return [MonthFile(s, config.interval, m) for s in config.symbols for m in months]


def _present(final: Path, expected: str | None) -> bool:
    return final.is_file() and expected is not None and sha256_of(final) == expected


def _local_checksum(final: Path) -> str | None:
    check = checksum_path(final)
    if not check.is_file():
        return None
    try:
        digest, name = parse_checksum(check.read_text(encoding="utf-8"), str(check))
    except (BadInputError, UnicodeDecodeError):
        return None
    return digest if name == final.name else None


def fetch_month(file: MonthFile, dest: Path, base_url: str, policy: Retry) -> FetchResult:
    """Fetch one monthly zip (and its checksum) into ``dest``; never raises for network trouble."""
    final = dest / file.name
    if _present(final, _local_checksum(final)):
        return FetchResult(file, "present")
    url = file.url(base_url)
    try:
        check_bytes = get_bytes(url + ".CHECKSUM", policy)
        expected, _ = parse_checksum(check_bytes.decode("utf-8", "replace"), url + ".CHECKSUM")
    except NotFoundError:
        return FetchResult(file, "missing", error=f"{url}.CHECKSUM: 404 not found")
    except (DownloadError, BadInputError) as exc:
        return FetchResult(file, "failed", error=str(exc))
    if _present(final, expected):
        write_bytes_atomic(checksum_path(final), check_bytes)
        return FetchResult(file, "present")
    part = dest / f".{file.name}.part"
    attempts = 0
    resumed = False
    for fresh_try in range(2):
        try:
            got = download_to_part(url, part, policy)
        except NotFoundError:
            return FetchResult(file, "missing", error=f"{url}: 404 not found")
        except DownloadError as exc:
            return FetchResult(file, "failed", attempts=attempts, error=str(exc))
        attempts += got.attempts
        resumed = resumed or got.resumed
        actual = sha256_of(part)
        if actual == expected:
            with part.open("rb") as handle:
                os.fsync(handle.fileno())
            part.replace(final)
            write_bytes_atomic(checksum_path(final), check_bytes)
            return FetchResult(file, "downloaded", got.size, attempts, resumed)
        part.unlink(missing_ok=True)
        if not got.resumed or fresh_try:
            break
    return FetchResult(
        file,
        "checksum_mismatch",
        attempts=attempts,
        resumed=resumed,
        error=f"{url}: SHA-256 {actual[:16]}… does not match the .CHECKSUM ({expected[:16]}…)",
    )


def fetch_all(
    config: DataConfig, on_result: Callable[[FetchResult], None] | None = None
) -> list[FetchResult]:
    """Fetch every planned month into ``data.dir`` (created if missing), one after another."""
    if config.dir is None:
        raise BadInputError(
            "config key data.dir",
            "is null; swingml data fetch needs a folder to download into",
            "--set data.dir=<folder>",
        )
    dest = Path(config.dir)
    dest.mkdir(parents=True, exist_ok=True)
    policy = Retry(config.fetch.retries, config.fetch.backoff_s, config.fetch.timeout_s)
    results: list[FetchResult] = []
    for file in plan(config):
        result = fetch_month(file, dest, config.fetch.base_url, policy)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def iter_status(results: list[FetchResult], status: Status) -> Iterator[FetchResult]:
    """The results with one status."""
    return (r for r in results if r.status == status)


def status_counts(results: list[FetchResult]) -> dict[str, int]:
    """How many months ended in each status, in ``STATUSES`` order."""
    return {s: len(list(iter_status(results, s))) for s in STATUSES}


def fetch_details(config: DataConfig, results: list[FetchResult]) -> dict[str, Any]:
    """The ``summary.json`` keys of a fetch: counts per status, bytes, the months missing."""
    return {
        "dir": str(config.dir),
        **status_counts(results),
        "bytes": sum(r.bytes for r in results),
        "missing_months": [r.file.name for r in iter_status(results, "missing")],
    }


def check_fetched(config: DataConfig, results: list[FetchResult]) -> None:
    """Fail a fetch with a file that failed its checksum or download, or a symbol with no month.

    A checksum mismatch is bad input (exit 2: the server's file or checksum is wrong); a failed
    download fails the stage (exit 1: worth retrying).
    """
    mismatched = list(iter_status(results, "checksum_mismatch"))
    if mismatched:
        first = mismatched[0]
        raise BadInputError(
            first.file.name,
            f"{first.error} ({len(mismatched)} file(s) failed the check; none was kept)",
            "re-run swingml data fetch; if it persists the server's file or checksum is wrong",
        )
    failed = list(iter_status(results, "failed"))
    if failed:
        raise StageFailedError(
            f"{len(failed)} download(s) failed: " + "; ".join(r.error for r in failed[:3])
        )
    for symbol in config.symbols:
        have = [r for r in results if r.file.symbol == symbol and r.status != "missing"]
        if not have:
            raise BadInputError(
                f"{symbol} {config.fetch.start_month}..{config.fetch.end_month}",
                f"no month exists on {config.fetch.base_url} for {symbol} at {config.interval}",
                "check the symbol, the interval and the months",
            )
