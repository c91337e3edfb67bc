"""How the ``data`` commands show candles: a gap table and one line per symbol.

``details`` maps each symbol to its ``GapReport.as_dict()`` keys (what ``summary.json`` holds), or
to ``{"error": ...}`` when the symbol failed validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.table import Table

Details = Mapping[str, Mapping[str, Any]]


def gap_table(details: Details, title: str) -> Table:
    """Rows, span, missing bars and gaps of every symbol; an invalid one is marked so."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("symbol", "rows", "first", "last", "missing", "gaps", "longest"):
        left = column in ("symbol", "first", "last")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for symbol, item in details.items():
        if "error" in item:
            table.add_row(symbol, "-", "-", "-", "-", "-", "[red]invalid[/red]")
            continue
        table.add_row(
            symbol,
            str(item["rows"]),
            _short_time(item["first"]),
            _short_time(item["last"]),
            str(item["missing_bars"]),
            str(item["gaps"]),
            str(item["longest_gap_bars"]),
        )
    return table


def gap_lines(details: Details) -> list[str]:
    """One plain line per symbol: its span and gaps in full, or why it is invalid."""
    lines: list[str] = []
    for symbol, item in details.items():
        if "error" in item:
            lines.append(f"{symbol}: INVALID: {item['error']}")
            continue
        longest = (
            f", longest {item['longest_gap_bars']} bars after {item['longest_gap_after']}"
            if item["longest_gap_bars"]
            else ""
        )
        lines.append(
            f"{symbol}: {item['rows']} rows {item['first']} .. {item['last']}; "
            f"{item['missing_bars']} missing bars in {item['gaps']} gaps{longest}"
        )
    return lines


def _short_time(iso: Any) -> str:
    return str(iso).replace("T", " ")[:16]
