"""``swingml report``: the HTML page, its data for notebooks and a terminal summary; or JSON.

Read-only on the run: it writes only the page and the folder of Parquet/JSON beside it
(``<name>_data/``), atomically. ``--format json`` prints ``summary.json`` as it is.
"""

from __future__ import annotations

import json
import time
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from swingml.errors import BadInputError
from swingml.report import html, page
from swingml.report.gather import gather
from swingml.report.summary import print_summary
from swingml.store import MANIFEST, SUMMARY, RunStore, write_bytes_atomic, write_parquet_atomic

FORMATS = ("html", "json")
DEFAULT_OUTPUT = ("report", "report.html")


@dataclass(frozen=True)
class Written:
    """Where the report went and how long it took."""

    html: Path
    data_dir: Path
    bytes: int
    seconds: float


def data_dir_for(output: Path) -> Path:
    """The folder of tables beside a report page: ``<stem>_data/``."""
    return output.with_name(f"{output.stem}_data")


def write_report(root: Path, output: Path | None = None) -> tuple[Written, page.Page]:
    """Gather, build and write the report of the run at ``root``."""
    start = time.perf_counter()
    data = gather(root)
    built = page.build(data)
    target = output if output is not None else RunStore(root).path(*DEFAULT_OUTPUT)
    text = html.render(built).encode("utf-8")
    folder = data_dir_for(target)
    for name, frame in built.tables.items():
        write_parquet_atomic(folder / f"{name}.parquet", frame.reset_index(drop=True))
    figures = {"figures": built.figures, "champions": built.champions, "prices": built.prices}
    write_bytes_atomic(folder / "figures.json", json.dumps(figures, allow_nan=False).encode())
    write_bytes_atomic(target, text)
    written = Written(target, folder, len(text), time.perf_counter() - start)
    return written, built


def summary_json(root: Path) -> str:
    """``summary.json`` of a run, as ``swingml report --format json`` prints it."""
    store = RunStore(root)
    if not (store.path(SUMMARY).is_file() or store.path(MANIFEST).is_file()):
        raise BadInputError(
            str(root),
            f"not a run directory (it has neither {SUMMARY} nor {MANIFEST})",
            "pass --run-dir of a folder made by `swingml run` or a stage command",
        )
    return json.dumps(store.read_summary(), indent=2, sort_keys=True)


def run(root: Path, output: Path | None, fmt: str, open_page: bool, console: Console) -> None:
    """The command's body (the CLI maps errors to exit codes)."""
    if fmt not in FORMATS:
        raise BadInputError("--format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        print(summary_json(root))
        return
    written, built = write_report(root, output)
    print_summary(console, built, written.html, written.bytes, written.seconds)
    if open_page:
        webbrowser.open(written.html.resolve().as_uri())
