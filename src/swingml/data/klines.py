"""Closed bars from the exchange's REST API: ``GET /api/v3/klines``, paged, closed bars only.

The source asks the exchange for its clock (``GET /api/v3/time``) once per fetch and keeps only
bars whose close time is before it, so a bar still in progress never leaves this module, however
far the local clock drifts. It pages from the last stored bar (inclusive: that bar comes back and
is compared with the stored one by the caller) with ``startTime`` and ``limit`` until the answer
is short or reaches the present. Transient failures (5xx, 429 honouring ``Retry-After``, resets)
are retried with backoff by ``data.http``. The rows are parsed exactly as a Binance kline JSON
file is, so a bar fetched here and the same bar read from a downloaded file are bit-identical.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from swingml.config.data import DataConfig
from swingml.data.frame import FilePart, LoadedCandles, build_frame
from swingml.data.http import DownloadError, NotFoundError, Retry, get_bytes
from swingml.data.sources.binance_json import columns_from_rows
from swingml.errors import BadInputError, StageFailedError

KLINES_PATH = "/api/v3/klines"
TIME_PATH = "/api/v3/time"


@dataclass(frozen=True)
class ClosedBars:
    """One symbol's closed bars since a time: the candles (with row provenance) and raw rows.

    ``rows`` are the API's kline arrays as received (a JSON candle file appends them verbatim);
    ``server_ms`` is the exchange clock the closed-bar cut used; ``pages`` the requests made.
    """

    loaded: LoadedCandles
    rows: list[list[Any]]
    server_ms: int
    pages: int


def policy_of(config: DataConfig, sleep: Callable[[float], None] | None = None) -> Retry:
    """The retry policy of ``data.fetch`` (``sleep`` replaceable for tests)."""
    fetch = config.fetch
    if sleep is None:
        return Retry(fetch.retries, fetch.backoff_s, fetch.timeout_s)
    return Retry(fetch.retries, fetch.backoff_s, fetch.timeout_s, sleep)


def _get_json(url: str, policy: Retry) -> Any:
    try:
        body = get_bytes(url, policy)
    except NotFoundError:
        raise BadInputError(
            url, "404 not found", "check data.fetch.rest_url (the exchange's REST base URL)"
        ) from None
    except DownloadError as exc:
        raise StageFailedError(f"exchange API unreachable: {exc}") from None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StageFailedError(f"{url}: the answer is not JSON ({exc})") from None


def server_time_ms(base_url: str, policy: Retry) -> int:
    """The exchange's clock (epoch ms)."""
    url = base_url.rstrip("/") + TIME_PATH
    answer = _get_json(url, policy)
    if not isinstance(answer, dict) or not isinstance(answer.get("serverTime"), int):
        raise StageFailedError(f"{url}: expected {{'serverTime': <ms>}}, got {answer!r:.200}")
    return int(answer["serverTime"])


def klines_url(base_url: str, symbol: str, interval: str, start_ms: int, limit: int) -> str:
    """The klines request of one page."""
    query = urllib.parse.urlencode(
        {"symbol": symbol, "interval": interval, "startTime": start_ms, "limit": limit}
    )
    return f"{base_url.rstrip('/')}{KLINES_PATH}?{query}"


def fetch_closed(
    config: DataConfig, symbol: str, since_ms: int, policy: Retry, now_ms: int | None = None
) -> ClosedBars:
    """Every closed bar of ``symbol`` whose open time is at or after ``since_ms``.

    ``now_ms`` defaults to the exchange's clock (``/api/v3/time``). Not validated here: the
    caller validates (SPEC §2) and compares the overlap with its stored bars.
    """
    base, limit = config.fetch.rest_url, config.fetch.page_limit
    now = server_time_ms(base, policy) if now_ms is None else now_ms
    rows: list[list[Any]] = []
    start, pages = since_ms, 0
    while True:
        url = klines_url(base, symbol, config.interval, start, limit)
        page = _get_json(url, policy)
        pages += 1
        if not isinstance(page, list):
            raise StageFailedError(f"{url}: expected a JSON array of klines, got {page!r:.200}")
        closed = [r for r in page if isinstance(r, list) and len(r) > 6 and _closed(r[6], now)]
        rows.extend(closed)
        if len(page) < limit or len(closed) < len(page) or not closed:
            break
        nxt = int(closed[-1][0]) + 1
        if nxt <= start:
            break
        start = nxt
    return ClosedBars(_loaded(base, symbol, config.interval, rows), rows, now, pages)


def _closed(close_time: Any, now_ms: int) -> bool:
    try:
        return int(close_time) < now_ms
    except (TypeError, ValueError):
        return True  # malformed: let validation name the row


def _loaded(base: str, symbol: str, interval: str, rows: list[list[Any]]) -> LoadedCandles:
    host = urllib.parse.urlsplit(base).netloc or base
    where = Path(f"{host} klines {symbol} {interval}")
    if not rows:
        frame = build_frame(np.empty(0, np.int64), {})
        return LoadedCandles(symbol, frame, (FilePart(where, 0, 0),), np.empty(0, np.int64))
    open_time, close_time, floats = columns_from_rows(rows, where, "row", 1)
    frame = build_frame(open_time, floats)
    return LoadedCandles(
        symbol, frame, (FilePart(where, 0, len(frame), 1, "row"),), close_time_ms=close_time
    )
