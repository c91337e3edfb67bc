"""Reading a written report back: the page's tables as plain values."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class _Cells(HTMLParser):
    """Collects ``data-value`` of every cell of one table (by id), row by row, keyed by column."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.rows: list[dict[str, str]] = []
        self.items: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.inside = found.get("id") == self.table_id
        elif self.inside and tag == "tr":
            self.rows.append({})
        elif self.inside and tag == "td":
            self.rows[-1][str(found["data-col"])] = str(found.get("data-value") or "")
        elif tag == "li" and found.get("data-key"):
            self.items[str(found["data-key"])] = str(found.get("data-value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False


def table_rows(page: Path, table_id: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The body rows of table ``table_id`` (column -> exact value) and the page's keyed items."""
    parser = _Cells(table_id)
    parser.feed(page.read_text(encoding="utf-8"))
    return [r for r in parser.rows if r], parser.items
