"""Plain-HTTP downloads with retries, exponential backoff and ``Range`` resume (stdlib only).

A download goes to a temporary ``.part`` file; when interrupted, the next attempt asks for the
remaining bytes with ``Range`` and appends if the server answers 206, else starts over. The caller
verifies and renames the finished part: nothing unverified ever sits under the final name.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 16
USER_AGENT = "swingml-data-fetch/1"


class NotFoundError(Exception):
    """The server answered 404: the file does not exist (e.g. a month not published yet)."""


class DownloadError(Exception):
    """The download failed for good (retries spent, or a non-retryable HTTP status)."""


@dataclass(frozen=True)
class Retry:
    """Retry policy: ``retries`` extra attempts, sleeping ``backoff_s * 2**k`` before retry k."""

    retries: int
    backoff_s: float
    timeout_s: float
    sleep: Callable[[float], None] = time.sleep

    max_wait_s: float = 300.0

    def pause(self, attempt: int, retry_after_s: float | None = None) -> None:
        """Sleep before retry number ``attempt`` (0-based): the server's ``Retry-After`` when it
        sent one (capped at ``max_wait_s``), else ``backoff_s * 2**attempt``."""
        if retry_after_s is not None:
            self.sleep(min(max(retry_after_s, 0.0), self.max_wait_s))
        else:
            self.sleep(self.backoff_s * (2**attempt))


def retry_after(exc: BaseException) -> float | None:
    """The seconds of an HTTP 429/503 answer's ``Retry-After`` header (None if absent)."""
    if not isinstance(exc, urllib.error.HTTPError) or exc.headers is None:
        return None
    value = exc.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(
        exc, urllib.error.URLError | http.client.HTTPException | ConnectionError | TimeoutError
    )


def get_bytes(url: str, policy: Retry) -> bytes:
    """GET a small resource whole, retrying transient failures (429 waits its ``Retry-After``)."""
    last: BaseException | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            policy.pause(attempt - 1, retry_after(last) if last is not None else None)
        try:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=policy.timeout_s) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFoundError(url) from None
            if not _transient(exc):
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last = exc
        except Exception as exc:
            if not _transient(exc):
                raise
            last = exc
    raise DownloadError(f"{url}: gave up after {policy.retries + 1} attempts ({last})")


@dataclass(frozen=True)
class Downloaded:
    """A finished ``.part`` file and how it got there."""

    path: Path
    size: int
    attempts: int
    resumed: bool


def _copy_body(response: http.client.HTTPResponse, part: Path, append: bool, expect: int) -> int:
    """Stream the body into ``part``; return the bytes written; short bodies raise."""
    written = 0
    with part.open("ab" if append else "wb") as handle:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            handle.write(chunk)
            written += len(chunk)
    if expect >= 0 and written < expect:
        raise http.client.IncompleteRead(b"", expect - written)
    return written


def download_to_part(url: str, part: Path, policy: Retry) -> Downloaded:
    """Download ``url`` into ``part``, resuming a partial one with ``Range`` where possible."""
    last: BaseException | None = None
    resumed = False
    for attempt in range(policy.retries + 1):
        if attempt:
            policy.pause(attempt - 1)
        have = part.stat().st_size if part.is_file() else 0
        headers = {"User-Agent": USER_AGENT}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=policy.timeout_s) as response:
                length = int(response.headers.get("Content-Length", "-1"))
                append = have > 0 and response.status == 206
                if append:
                    start = response.headers.get("Content-Range", "").split(" ")[-1].split("-")[0]
                    append = start == str(have)
                    resumed = resumed or append
                if not append and response.status == 206:
                    raise DownloadError(f"{url}: unexpected Content-Range, restarting")
                _copy_body(response, part, append, length)
            return Downloaded(part, part.stat().st_size, attempt + 1, resumed)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                part.unlink(missing_ok=True)
                raise NotFoundError(url) from None
            if exc.code == 416 and have:
                part.unlink(missing_ok=True)  # our partial is stale; start over
                last = exc
                continue
            if not _transient(exc):
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last = exc
        except DownloadError as exc:
            part.unlink(missing_ok=True)
            last = exc
        except Exception as exc:
            if not _transient(exc):
                raise
            last = exc
    raise DownloadError(f"{url}: gave up after {policy.retries + 1} attempts ({last})")
