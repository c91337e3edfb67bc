"""Column conversions shared by the readers: numbers and timestamps, failing on the first bad row.

Each helper takes ``where(i)``, a function naming row ``i`` (0-based) of the file for messages, so
a value that is not a number is reported at the row a user can open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from swingml.data.frame import FloatArray, Int64Array
from swingml.errors import BadInputError

Where = Callable[[int], str]

UNIT_TO_MS: dict[str, tuple[int, int]] = {
    "s": (1000, 1),
    "ms": (1, 1),
    "us": (1, 1000),
    "ns": (1, 10**6),
}
"""(multiply, divide) that turn an epoch in the unit into epoch milliseconds."""

_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*$")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def to_float(values: Sequence[Any] | np.ndarray, column: str, where: Where) -> FloatArray:
    """Convert a column to float64; text that is not a number is a ``BadInputError`` at its row."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    for i, value in enumerate(values):
        try:
            float(value)
        except (ValueError, TypeError):
            raise BadInputError(
                where(i),
                f"column {column}: {value!r} is not a number",
                "prices and volumes must be numbers (or decimal strings)",
            ) from None
    raise AssertionError("unreachable: a column failed to convert but every value converts")


def to_epoch_int(values: Sequence[Any] | np.ndarray, column: str, where: Where) -> Int64Array:
    """Convert an epoch-number column to int64; a fraction or text is a ``BadInputError``."""
    array = np.asarray(values)
    if array.dtype == object:
        try:
            inferred = np.asarray(array.tolist())
        except (ValueError, OverflowError):
            inferred = array
        if inferred.dtype.kind in "iuf":
            array = inferred
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            i = int(np.argmax(bad))
            raise BadInputError(
                where(i),
                f"column {column}: {array[i]!r} is not a whole epoch number",
                "timestamps must be integer epoch times",
            )
        return array.astype(np.int64)
    out = np.empty(len(array), dtype=np.int64)
    for i, value in enumerate(array.tolist()):
        try:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            out[i] = int(value)
        except (ValueError, TypeError, OverflowError):
            raise BadInputError(
                where(i),
                f"column {column}: {value!r} is not an integer epoch time",
                "timestamps must be integer epoch times",
            ) from None
    return out


def epoch_to_ms(values: Int64Array, unit: str, column: str, where: Where) -> Int64Array:
    """Scale epoch numbers in ``unit`` to milliseconds; sub-millisecond parts are an error."""
    mul, div = UNIT_TO_MS[unit]
    if div > 1:
        rest = values % div
        if rest.any():
            i = int(np.argmax(rest != 0))
            raise BadInputError(
                where(i),
                f"column {column}: {values[i]} {unit} is not a whole millisecond",
                "bars start on whole milliseconds; check data.timestamp_unit",
            )
        return values // div
    return values * mul


def iso_to_ms(values: Sequence[Any] | np.ndarray, column: str, where: Where) -> Int64Array:
    """Parse ISO-8601 strings that carry UTC (``Z`` or ``+00:00``) into epoch milliseconds.

    A naive string or one with another offset is a ``BadInputError``: guessing a time zone shifts
    every bar silently.
    """
    texts = pd.Series(np.asarray(values, dtype=object))
    for i, text in enumerate(texts.tolist()):
        if not isinstance(text, str):
            raise BadInputError(
                where(i),
                f"column {column}: {text!r} is not a timestamp",
                "give ISO-8601 UTC strings (e.g. 2024-01-01T00:00:00Z) or epoch numbers",
            )
        stripped = text.strip()
        if stripped.endswith(("Z", "z")):
            continue
        match = _OFFSET.search(stripped)
        if match and match.group(2) == "00" and match.group(3) == "00":
            continue
        if match:
            raise BadInputError(
                where(i),
                f"column {column}: {text!r} has a non-UTC offset",
                "write timestamps in UTC with a Z or +00:00 suffix",
            )
        raise BadInputError(
            where(i),
            f"column {column}: {text!r} has no time zone (naive timestamp)",
            "write timestamps in UTC with a Z or +00:00 suffix",
        )
    parsed = pd.to_datetime(texts, format="ISO8601", utc=True, errors="coerce")
    if parsed.isna().any():
        i = int(np.argmax(parsed.isna().to_numpy()))
        raise BadInputError(
            where(i),
            f"column {column}: {texts.iloc[i]!r} is not a valid ISO-8601 timestamp",
            "use e.g. 2024-01-01T00:00:00Z",
        )
    as_ms = parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)
    rest = as_ms % 10**6
    if rest.any():
        i = int(np.argmax(rest != 0))
        raise BadInputError(
            where(i),
            f"column {column}: {texts.iloc[i]!r} is not a whole millisecond",
            "bars start on whole milliseconds",
        )
    return as_ms // 10**6


def looks_numeric(values: Sequence[Any] | np.ndarray) -> bool:
    """True when every value is a number or a string that spells one (an epoch column)."""
    for value in values:
        if isinstance(value, str):
            if not _NUMBER.match(value):
                return False
        elif not isinstance(value, int | float | np.integer | np.floating) or isinstance(
            value, bool
        ):
            return False
    return True
