"""The leak guard (SPEC §4): nothing derived from a target, and nothing that reads future bars,
reaches a model's inputs.

Every stage that builds a model input matrix passes its candidate columns through
``guard_inputs``; a column survives only if the feature metadata vouches for it as a feature that
reads bars ≤ t. Each drop is logged (logger ``swingml.guard``) with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

LOGGER = logging.getLogger("swingml.guard")

KEY_COLUMNS: frozenset[str] = frozenset({"timestamp"})
"""Join keys that travel with a feature frame; dropped quietly, they are not inputs either."""

TARGET = "derived from a target (name contains 'target')"
UNKNOWN = "not in the feature metadata (unknown origin: could be a shifted or derived copy)"
FUTURE = "its metadata says it reads future bars"


def guard_inputs(
    columns: Iterable[str], metadata: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], dict[str, str]]:
    """Split candidate input columns into the kept ones (in order) and ``{dropped: reason}``.

    Dropped: any column whose name contains ``target`` (``target__*`` included), any column
    absent from ``metadata`` (name → feature entry, as ``features.matrix.read_metadata``
    returns), and any column whose entry declares ``"future": true`` or a negative
    ``"lookback"``. A key column such as ``timestamp`` is dropped without a warning.
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for column in columns:
        reason = _reason(column, metadata)
        if reason is None:
            kept.append(column)
            continue
        dropped[column] = reason
        if column in KEY_COLUMNS:
            LOGGER.debug("guard: %s is a key column, not a model input", column)
        else:
            LOGGER.warning("guard dropped %s: %s", column, reason)
    return kept, dropped


def _reason(column: str, metadata: Mapping[str, Mapping[str, Any]]) -> str | None:
    if column in KEY_COLUMNS:
        return "key column, not a model input"
    if "target" in column.lower():
        return TARGET
    entry = metadata.get(column)
    if entry is None:
        return UNKNOWN
    if entry.get("future") is True or _negative(entry.get("lookback")):
        return FUTURE
    return None


def _negative(value: Any) -> bool:
    try:
        return value is not None and float(value) < 0
    except (TypeError, ValueError):
        return False
