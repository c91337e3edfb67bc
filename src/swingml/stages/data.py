"""Stage ``data`` and the ``swingml data validate|synth|fetch`` commands.

``prepare`` reads every symbol (from ``data.dir``, or the synthetic market when it is null),
validates them all, and only then writes ``candles/<SYMBOL>.parquet`` (atomically), so a bad file
leaves nothing behind. The input fingerprint of each symbol (its files' hashes, or the synthetic
config hash) goes into ``manifest.json`` under ``data/<SYMBOL>``; a re-run whose inputs match
reuses the candles already written. Reading, validating and fingerprinting live in
``swingml.data``; this module loads, writes and reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from swingml.data.fetch import (
    FetchResult,
    check_fetched,
    fetch_all,
    fetch_details,
    plan,
    status_counts,
)
from swingml.data.frame import timestamps_ms, to_arrow
from swingml.data.gaps import GapReport, gap_report
from swingml.data.inputs import Checked, load_checked, wanted_fingerprints
from swingml.data.klines import policy_of, server_time_ms
from swingml.data.load import data_dir, find_files, read_files
from swingml.data.recent import plan_update, write_update
from swingml.data.report import Details, gap_lines, gap_table
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError
from swingml.io import parted
from swingml.workflow.pipeline import StageContext, StageOutcome

FINGERPRINT_PREFIX = "data/"


def _write_candles(ctx: StageContext, checked: Mapping[str, Checked]) -> None:
    for symbol, item in checked.items():
        parted.write_compacted(ctx.store.candles_path(symbol), to_arrow(item.loaded.frame))
    ctx.store.write_manifest(
        ctx.config.model_dump(mode="json"),
        {f"{FINGERPRINT_PREFIX}{s}": item.fingerprint for s, item in checked.items()},
    )


def _stored_gaps(ctx: StageContext, symbol: str) -> GapReport:
    frame = parted.read_frame(ctx.store.candles_path(symbol), ["timestamp"])
    return gap_report(timestamps_ms(frame), ctx.config.data.interval_seconds * 1000)


def _symbol_details(gaps: GapReport, fingerprint: str, reused: bool) -> dict[str, Any]:
    return {**gaps.as_dict(), "fingerprint": fingerprint, "reused": reused}


def _materialise(ctx: StageContext, synthetic: bool) -> StageOutcome:
    """Reuse, or load + validate + write, the candles of every symbol."""
    config = ctx.config.data
    symbols = list(config.symbols)
    wanted = wanted_fingerprints(config, synthetic)
    reuse = [s for s in symbols if ctx.store.is_current("candles", wanted[s], symbol=s)]
    todo = [s for s in symbols if s not in reuse]
    if synthetic and todo:
        todo, reuse = symbols, []  # the coins share one draw: regenerate all or none
    checked = load_checked(config, todo, synthetic) if todo else {}
    if checked:
        _write_candles(ctx, checked)
    details: dict[str, Any] = {}
    for symbol in symbols:
        if symbol in checked:
            details[symbol] = _symbol_details(checked[symbol].gaps, wanted[symbol], False)
        else:
            details[symbol] = _symbol_details(_stored_gaps(ctx, symbol), wanted[symbol], True)
    if reuse:
        ctx.console.print(f"data: inputs unchanged, reusing candles of {', '.join(reuse)}")
    _print_table(ctx, details, "candles written" if checked else "candles reused")
    return StageOutcome(
        tasks=len(symbols),
        failed_tasks=0,
        details={
            "source": "synthetic" if synthetic else str(config.dir),
            "interval": config.interval,
            "symbols": details,
        },
    )


def _print_table(ctx: StageContext, details: Details, title: str) -> None:
    ctx.console.print(gap_table(details, title))
    for line in gap_lines(details):
        ctx.console.print(line, highlight=False, markup=False, soft_wrap=True)


def prepare(ctx: StageContext) -> StageOutcome:
    """Stage ``data``: validated candles of every symbol in ``candles/`` (reused when unchanged)."""
    return _materialise(ctx, synthetic=ctx.config.data.dir is None)


def synth(ctx: StageContext) -> StageOutcome:
    """``swingml data synth``: write the synthetic market into ``candles/`` whatever data.dir is."""
    return _materialise(ctx, synthetic=True)


def validate(ctx: StageContext) -> StageOutcome:
    """``swingml data validate``: check every symbol of data.dir, report gaps, write no candles."""
    config = ctx.config.data
    data_dir(config)
    details: dict[str, dict[str, Any]] = {}
    errors: list[BadInputError] = []
    for symbol in config.symbols:
        try:
            files = find_files(config, symbol)
            loaded = read_files(config, files)
            gaps = validate_candles(loaded, config.interval_seconds)
        except BadInputError as exc:
            errors.append(exc)
            details[symbol] = {"error": str(exc)}
            continue
        details[symbol] = {**gaps.as_dict(), "files": len(files.paths), "format": files.format}
        if loaded.checksums_verified:
            details[symbol]["checksums_verified"] = loaded.checksums_verified
    _print_table(ctx, details, f"candles in {config.dir} ({config.interval})")
    if errors:
        raise errors[0]
    return StageOutcome(
        tasks=len(details),
        details={"source": str(config.dir), "interval": config.interval, "symbols": details},
    )


def fetch(ctx: StageContext) -> StageOutcome:
    """``swingml data fetch``: download, verify and keep the monthly zips of every symbol."""
    config = ctx.config.data
    planned = plan(config)
    columns = (
        TextColumn("fetch {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=ctx.console, transient=True) as progress:
        bar = progress.add_task("monthly zips", total=len(planned))

        def done(result: FetchResult) -> None:
            progress.update(bar, advance=1, description=result.file.name)
            if result.status == "missing":
                progress.console.print(f"missing (404): {result.file.name}", highlight=False)

        results = fetch_all(config, done)
    counts = status_counts(results)
    ctx.console.print(
        ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to fetch",
        highlight=False,
    )
    details = fetch_details(config, results)
    check_fetched(config, results)
    return StageOutcome(tasks=len(results), failed_tasks=0, details=details)


def fetch_recent(ctx: StageContext) -> StageOutcome:
    """``swingml data fetch --recent``: closed bars since each file's last bar (REST klines)."""
    config = ctx.config.data
    policy = policy_of(config)
    now = server_time_ms(config.fetch.rest_url, policy)  # one closed-bar cut for every symbol
    updates = [plan_update(config, s, policy, now) for s in config.symbols]  # all checked ...
    for update in updates:  # ... before any file is written
        write_update(update)
    for u in updates:
        ctx.console.print(
            f"{u.symbol}: {u.merged.new_rows} new closed bar(s) -> {u.path.name}", highlight=False
        )
    details: dict[str, Any] = {
        "dir": str(config.dir),
        "recent": True,
        "source": config.fetch.rest_url,
        "new_bars": sum(u.merged.new_rows for u in updates),
        "symbols": {u.symbol: u.summary() for u in updates},
    }
    return StageOutcome(tasks=len(updates), failed_tasks=0, details=details)
