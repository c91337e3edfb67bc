"""The terminal side of ``swingml report``: stages and champions with their lift, in two tables."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from swingml.report.page import Page, fmt


def print_summary(console: Console, page: Page, path: Path, size: int, seconds: float) -> None:
    """Print the stage table, the champions ranked by lift, what is missing, and the page's path."""
    stages = page.tables.get("stages")
    if stages is not None and len(stages):
        table = Table(title="Stages", box=box.SIMPLE_HEAD)
        for column in ("stage", "status", "wall s", "tasks", "failed"):
            table.add_column(column, justify="left" if column in ("stage", "status") else "right")
        for row in stages.itertuples():
            status = row.status if row.status == "done" else f"[yellow]{row.status}[/yellow]"
            table.add_row(
                str(row.stage),
                str(status),
                f"{row.wall_s:.1f}",
                fmt(row.tasks),
                fmt(row.failed_tasks),
            )
        console.print(table)
    if page.ranked:
        table = Table(
            title="Champions by lift over a random ranking",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            pad_edge=False,
        )
        for column in ("model", "events", "AP", "random", "lift", "90 % CI", "skill"):
            table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
        flag = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "?"}
        for c in sorted(page.ranked, key=lambda c: -c.lift):
            interval = f"{fmt(c.interval.low)}..{fmt(c.interval.high)}" if c.interval else "—"
            table.add_row(
                c.name,
                fmt(int(c.row["holdout_rows"])),
                fmt(c.row["holdout_macro_ap"]),
                fmt(c.row["random_macro_ap"]),
                fmt(c.lift),
                interval,
                flag[c.skill],
            )
        console.print(table)
        shown = sum(1 for c in page.ranked if c.skill)
        console.print(
            f"{shown} of {len(page.ranked)} champions show skill: the 90 % interval of their lift "
            "lies above zero; 'no' = no demonstrated skill"
        )
    for line in page.missing:
        console.print(f"[yellow]{line}[/yellow]", highlight=False)
    console.print(f"report: {path} ({size / 1e6:.1f} MB, {seconds:.2f} s)", highlight=False)
