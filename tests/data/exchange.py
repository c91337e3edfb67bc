"""A loopback emulation of the exchange's REST API (``/api/v3/time``, ``/api/v3/klines``).

It holds every symbol's full kline rows and a clock (``now_ms``). Klines answers pages of the
bars opened before ``now_ms``: the closed ones as they are, and the bar in progress with
provisional values (close = open, half the volume), as the real API does; the client must never
store that bar. Scripted faults per path (``"429"`` with ``Retry-After``, ``"500"``) are served
before the real answer. With ``step_on_time`` each ``/api/v3/time`` call first moves the clock one
bar on, so a ``--follow`` loop sees exactly one newly closed bar per cycle; ``on_time`` (called
with the call count first) lets a test act between two cycles, e.g. promote a champion.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import loopback
from loopback import QuietHandler


@dataclass
class Exchange:
    """The emulated exchange's state and its request log."""

    rows: dict[str, list[list[Any]]]
    interval_ms: int
    now_ms: int
    step_on_time: bool = False
    faults: dict[str, list[str]] = field(default_factory=dict)
    retry_after_s: int = 1
    log: list[tuple[float, str, int]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_time: Callable[[int], None] | None = None
    time_calls: int = 0

    def time_answer(self) -> dict[str, int]:
        with self.lock:
            self.time_calls += 1
            if self.on_time is not None:
                self.on_time(self.time_calls)
            if self.step_on_time:
                self.now_ms += self.interval_ms
            return {"serverTime": self.now_ms}

    def last_closed_open_ms(self) -> int:
        """The open time of the last bar closed at ``now_ms``."""
        return (self.now_ms // self.interval_ms) * self.interval_ms - self.interval_ms

    def klines(self, symbol: str, start: int, limit: int) -> list[list[Any]]:
        out: list[list[Any]] = []
        for row in self.rows.get(symbol, []):
            if row[0] < start or row[0] > self.now_ms:
                continue
            if len(out) >= limit:
                break
            if row[6] >= self.now_ms:  # in progress: provisional values
                row = list(row)
                row[4] = row[1]
                row[5] = f"{float(row[5]) / 2:.8f}"
            out.append(row)
        return out

    def requests(self, path: str) -> list[tuple[float, str, int]]:
        return [entry for entry in self.log if entry[1].startswith(path)]


class _Handler(QuietHandler):
    exchange: ClassVar[Exchange]

    _send = QuietHandler.send_json

    def do_GET(self) -> None:  # noqa: N802  (the name http.server dispatches GET to)
        ex = self.exchange
        parts = urllib.parse.urlsplit(self.path)
        queued = ex.faults.get(parts.path, [])
        action = queued.pop(0) if queued else ""
        if action == "429":
            ex.log.append((time.monotonic(), self.path, 429))
            self._send(429, {"code": -1003}, {"Retry-After": str(ex.retry_after_s)})
            return
        if action == "500":
            ex.log.append((time.monotonic(), self.path, 500))
            self._send(500, {"code": -1000})
            return
        ex.log.append((time.monotonic(), self.path, 200))
        if parts.path == "/api/v3/time":
            self._send(200, ex.time_answer())
            return
        if parts.path == "/api/v3/klines":
            query = dict(urllib.parse.parse_qsl(parts.query))
            rows = ex.klines(query["symbol"], int(query["startTime"]), int(query["limit"]))
            self._send(200, rows)
            return
        self._send(404, {"code": -1})


@contextmanager
def serve(exchange: Exchange) -> Iterator[Exchange]:
    """Run the emulator on 127.0.0.1 (a free port) for the block; ``exchange.url`` is its base."""
    with loopback.serve(_Handler, "exchange", exchange):
        yield exchange


def kline_rows(frame: Any, interval_ms: int) -> list[list[Any]]:
    """A candle contract frame as the API's kline rows (floats as exact decimal strings)."""
    stamps = frame["timestamp"].astype("datetime64[ms, UTC]").astype("int64").tolist()
    columns = ("open", "high", "low", "close", "volume")
    extra = ("quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
    rows: list[list[Any]] = []
    values = {c: frame[c].tolist() if c in frame else [0.0] * len(frame) for c in columns + extra}
    for i, t in enumerate(stamps):
        rows.append(
            [
                int(t),
                *(repr(float(values[c][i])) for c in columns),
                int(t) + interval_ms - 1,
                repr(float(values["quote_volume"][i])),
                repr(float(values["trades"][i])),
                repr(float(values["taker_buy_base"][i])),
                repr(float(values["taker_buy_quote"][i])),
                "0",
            ]
        )
    return rows
