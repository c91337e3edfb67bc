"""Secrets out of everything swingml writes or prints: one function, :func:`redact` (SPEC §11).

Credentials reach swingml through the environment (``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``, ``MLFLOW_TRACKING_TOKEN``, Application Default Credentials), never
through config: :func:`credential_in` finds one in a config value and the loader refuses it
(exit 2). Redaction is the second line: every JSON file of a run (``store.write_json_atomic``),
every line a command prints (the CLI wraps ``sys.stdout`` / ``sys.stderr`` in
:class:`RedactingStream` while a command runs), worker logs, registry tags and compiled pipelines
pass through :func:`redact`, which masks

- the user info of a URL (``https://bob:pw@host`` → ``https://***@host``),
- credential-like query parameters and ``NAME=value`` pairs (``?token=…``, ``api_key=…``,
  ``MLFLOW_TRACKING_PASSWORD=…``),
- the value of any environment variable whose name says it holds a secret (``*PASSWORD*``,
  ``*TOKEN*``, ``*SECRET*``, ``*API_KEY*`` …), wherever it appears.

This module imports nothing of swingml, so the store, the CLI and the registry can all use it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
_SECRET_NAME = (
    r"(?:password|passwd|pwd|secret|token|api_?key|apikey|access_?key|private_?key|key|"
    r"signature|sig|auth|credentials?)"
)
"""A query parameter or ``name=`` that holds a secret ends in one of these words (``token``,
``access_token``, ``X-Amz-Signature``, ``key``), so ``design=`` or ``tokens=`` are not masked."""
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s?#\"'<>]+)@")
_QUERY = re.compile(
    rf"(?P<name>[?&;](?:[A-Za-z0-9_.\-]*[_.\-])?{_SECRET_NAME}=)(?P<value>[^&#\s\"'<>]+)",
    re.IGNORECASE,
)
_ASSIGNMENT = re.compile(
    r"(?P<name>\b(?:[A-Za-z0-9_.\-]*[_.\-])?(?:password|passwd|secret|token|api_?key)=)"
    r"(?P<value>[^\s&\"'<>]+)",
    re.IGNORECASE,
)
_SECRET_ENV = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)
_SECRET_KEY = re.compile(
    r"(?:^|[_.\-])(?:password|passwd|secret|token|api_?key|access_?key|private_?key)$",
    re.IGNORECASE,
)
_QUERY_NAME = re.compile(rf"^(?:.*[_.\-])?{_SECRET_NAME}$", re.IGNORECASE)
MIN_ENV_SECRET = 6
"""Shorter environment values (``1``, ``true``) are not masked: they would mask ordinary text."""


def secret_env_values() -> list[str]:
    """The values of the environment variables whose names say they hold a secret, longest first."""
    values = {
        value
        for name, value in os.environ.items()
        if _SECRET_ENV.search(name) and len(value) >= MIN_ENV_SECRET
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every credential it holds replaced by ``***`` (see the module docstring);
    ``secrets``: :func:`secret_env_values`, when the caller has them already."""
    for value in secret_env_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    if "@" in text:
        text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    if "=" in text:
        text = _QUERY.sub(rf"\g<name>{MASK}", text)
        text = _ASSIGNMENT.sub(rf"\g<name>{MASK}", text)
    return text


def redact_value(value: Any, secrets: list[str] | None = None) -> Any:
    """A JSON-like value with every string redacted, and the whole value of a key that names a
    secret (``password``, ``token``, ``api_key`` …) masked; other values unchanged."""
    found = secret_env_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact(value, found)
    if isinstance(value, Mapping):
        return {
            key: MASK if _secret_key(key) and value[key] else redact_value(value[key], found)
            for key in value
        }
    if isinstance(value, list | tuple):
        return [redact_value(item, found) for item in value]
    return value


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and _secret_name(key)


@functools.lru_cache(maxsize=4096)
def _secret_name(key: str) -> bool:
    """Whether a mapping key names a secret (cached: a run's JSON repeats a few keys often)."""
    return bool(_SECRET_KEY.search(key))


def credential_in(value: str) -> str | None:
    """What kind of credential a config value holds (``None``: none), without repeating it."""
    for match in re.finditer(r"\b[A-Za-z][A-Za-z0-9+.\-]*://\S+", value):
        try:
            parts = urlsplit(match.group(0))
        except ValueError:
            continue
        if "@" in parts.netloc:
            return "user info in the URL, user:password@"
        for name, _ in parse_qsl(parts.query, keep_blank_values=True):
            if _QUERY_NAME.search(name):
                return f"the query parameter {name!r}"
    if _ASSIGNMENT.search(value):
        return "a name=value pair that names a secret"
    return None


def without_credentials(value: str) -> str:
    """A URL with its user info and credential-like query parameters removed (what to use)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return redact(value)
    if not parts.scheme or not parts.netloc:
        return redact(value)
    host = parts.netloc.rpartition("@")[2]
    kept = [(n, v) for n, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{n}={v}" for n, v in kept if not _QUERY_NAME.search(n))
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written to it, then passes it on (console output)."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self.target, "errors", None) or "strict"

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """While the block runs, what is written to ``sys.stdout`` and ``sys.stderr`` is redacted
    (Rich consoles, ``typer.echo``, logging's fallback handler and tracebacks all look the
    streams up when they write)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(saved[0])
    sys.stderr = RedactingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (worker and task logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
