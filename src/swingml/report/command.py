"""``swingml report``: the HTML page, its data for notebooks and a terminal summary; or JSON.

Read-only on the run: it writes only the page and the folder of Parquet/JSON beside it
(``<name>_data/``), each replaced as a whole. ``--format json`` prints ``summary.json`` as it is.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console

from swingml.errors import BadInputError
from swingml.io.store import MANIFEST, SUMMARY, RunStore, frame_to_arrow, write_bytes_atomic
from swingml.report import html, page
from swingml.report.gather import gather
from swingml.report.summary import print_summary

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
    figures = html.figures_json(built)
    text = html.render(built, figures).encode("utf-8")
    write_data(data_dir_for(target), built.tables, figures.encode("utf-8"))
    write_bytes_atomic(target, text)
    written = Written(target, data_dir_for(target), len(text), time.perf_counter() - start)
    return written, built


def write_data(folder: Path, tables: Mapping[str, pd.DataFrame], figures: bytes) -> None:
    """The tables (Parquet) and ``figures.json`` for notebooks, swapped in as one folder.

    They are written into a fresh folder beside ``folder`` that then replaces it, so a reader
    sees the previous set or the new one, never a mix; no file is synced on its own (the report
    can always be written again).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    staging.chmod(0o755)  # as a plain mkdir would leave it, not mkdtemp's 0700
    try:
        for name, frame in tables.items():
            table = frame_to_arrow(frame.reset_index(drop=True))
            pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
        (staging / "figures.json").write_bytes(figures)
        if folder.exists():
            previous = staging.with_name(f"{staging.name}.old")
            folder.rename(previous)
            staging.rename(folder)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # left only when writing failed


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
