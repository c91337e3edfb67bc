"""Stage ``data`` and the ``swingml data validate|synth|fetch`` commands.

``prepare`` reads every symbol (from ``data.dir``, or the synthetic market when it is null),
validates them all, and only then writes ``candles/<SYMBOL>.parquet`` (atomically), so a bad file
leaves nothing behind. The input fingerprint of each symbol (its files' hashes, or the synthetic
config hash) goes into ``manifest.json`` under ``data/<SYMBOL>``; a re-run whose inputs match
reuses the candles already written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from swingml.config.data import DataConfig
from swingml.data.fetch import STATUSES, FetchResult, fetch_all, iter_status, plan
from swingml.data.frame import LoadedCandles, timestamps_ms, to_arrow
from swingml.data.gaps import GapReport, gap_report, iso_ms
from swingml.data.klines import policy_of, server_time_ms
from swingml.data.load import data_dir, find_files, read_files
from swingml.data.recent import plan_update, write_update
from swingml.data.synthetic import generate
from swingml.data.validate import validate_candles
from swingml.errors import BadInputError, StageFailedError
from swingml.io import parted
from swingml.io.store import combine_fingerprints, file_fingerprint
from swingml.workflow.pipeline import StageContext, StageOutcome

SYNTHETIC_VERSION = 1
"""Bump when the synthetic generator changes: stored synthetic candles are then regenerated."""

FINGERPRINT_PREFIX = "data/"


@dataclass(frozen=True)
class Checked:
    """One symbol's validated candles, their gap report and input fingerprint."""

    loaded: LoadedCandles
    gaps: GapReport
    fingerprint: str


def synthetic_fingerprint(config: DataConfig) -> str:
    """Identity of the synthetic inputs: generator version, settings, symbols and interval."""
    payload = {
        "version": SYNTHETIC_VERSION,
        "synthetic": config.synthetic.model_dump(mode="json"),
        "symbols": list(config.symbols),
        "interval": config.interval,
    }
    return combine_fingerprints({"synthetic": json.dumps(payload, sort_keys=True)})


def _file_fingerprints(config: DataConfig) -> dict[str, str]:
    prints: dict[str, str] = {}
    for symbol in config.symbols:
        files = find_files(config, symbol)
        parts = {p.name: file_fingerprint(p) for p in files.fingerprint_paths()}
        parts["format"] = files.format
        parts["columns"] = json.dumps(dict(config.columns), sort_keys=True)
        parts["timestamp_unit"] = config.timestamp_unit
        prints[symbol] = combine_fingerprints(parts)
    return prints


def _load_checked(config: DataConfig, symbols: list[str], synthetic: bool) -> dict[str, Checked]:
    """Read and validate ``symbols``; raise on the first one that breaks a rule."""
    out: dict[str, Checked] = {}
    if synthetic:
        frames = generate(config)
        fingerprint = synthetic_fingerprint(config)
        for symbol in symbols:
            loaded = LoadedCandles(symbol=symbol, frame=frames[symbol], parts=())
            out[symbol] = Checked(
                loaded, validate_candles(loaded, config.interval_seconds), fingerprint
            )
        return out
    prints = _file_fingerprints(config)
    for symbol in symbols:
        loaded = read_files(config, find_files(config, symbol))
        out[symbol] = Checked(
            loaded, validate_candles(loaded, config.interval_seconds), prints[symbol]
        )
    return out


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
    if synthetic:
        wanted = dict.fromkeys(symbols, synthetic_fingerprint(config))
    else:
        wanted = _file_fingerprints(config)
    reuse = [s for s in symbols if ctx.store.is_current("candles", wanted[s], symbol=s)]
    todo = [s for s in symbols if s not in reuse]
    if synthetic and todo:
        todo, reuse = symbols, []  # the coins share one draw: regenerate all or none
    checked = _load_checked(config, todo, synthetic) if todo else {}
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


def _print_table(ctx: StageContext, details: Mapping[str, Mapping[str, Any]], title: str) -> None:
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
    ctx.console.print(table)
    for symbol, item in details.items():
        if "error" in item:
            ctx.console.print(
                f"{symbol}: INVALID: {item['error']}", highlight=False, markup=False, soft_wrap=True
            )
        else:
            longest = (
                f", longest {item['longest_gap_bars']} bars after {item['longest_gap_after']}"
                if item["longest_gap_bars"]
                else ""
            )
            ctx.console.print(
                f"{symbol}: {item['rows']} rows {item['first']} .. {item['last']}; "
                f"{item['missing_bars']} missing bars in {item['gaps']} gaps{longest}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def _short_time(iso: Any) -> str:
    return str(iso).replace("T", " ")[:16]


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
    results: list[FetchResult] = []
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
    counts: dict[str, int] = {s: len(list(iter_status(results, s))) for s in STATUSES}
    ctx.console.print(
        ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to fetch",
        highlight=False,
    )
    details: dict[str, Any] = {
        "dir": str(config.dir),
        **counts,
        "bytes": int(np.sum([r.bytes for r in results])) if results else 0,
        "missing_months": [r.file.name for r in iter_status(results, "missing")],
    }
    mismatched = list(iter_status(results, "checksum_mismatch"))
    if mismatched:
        first = mismatched[0]
        raise BadInputError(
            first.file.name,
            f"{first.error} ({len(mismatched)} file(s) failed the check; none was kept)",
            "re-run swingml data fetch; if it persists the server's file or checksum is wrong",
        )
    failed = list(iter_status(results, "failed"))
    if failed:
        raise StageFailedError(
            f"{len(failed)} download(s) failed: " + "; ".join(r.error for r in failed[:3])
        )
    for symbol in config.symbols:
        have = [r for r in results if r.file.symbol == symbol and r.status != "missing"]
        if not have:
            raise BadInputError(
                f"{symbol} {config.fetch.start_month}..{config.fetch.end_month}",
                f"no month exists on {config.fetch.base_url} for {symbol} at {config.interval}",
                "check the symbol, the interval and the months",
            )
    return StageOutcome(tasks=len(results), failed_tasks=0, details=details)


def fetch_recent(ctx: StageContext) -> StageOutcome:
    """``swingml data fetch --recent``: closed bars since each file's last bar (REST klines)."""
    config = ctx.config.data
    policy = policy_of(config)
    now = server_time_ms(config.fetch.rest_url, policy)  # one closed-bar cut for every symbol
    updates = [plan_update(config, s, policy, now) for s in config.symbols]  # all checked ...
    for update in updates:  # ... before any file is written
        write_update(update)
    symbols: dict[str, Any] = {}
    for u in updates:
        symbols[u.symbol] = {
            "file": u.path.name,
            "new_bars": u.merged.new_rows,
            "last_bar": iso_ms(u.merged.last_ms) if len(u.merged.frame) else None,
            "pages": u.fetched.pages,
            "missing_bars": u.merged.gaps.missing_bars,
        }
        ctx.console.print(
            f"{u.symbol}: {u.merged.new_rows} new closed bar(s) -> {u.path.name}", highlight=False
        )
    details: dict[str, Any] = {
        "dir": str(config.dir),
        "recent": True,
        "source": config.fetch.rest_url,
        "new_bars": sum(u.merged.new_rows for u in updates),
        "symbols": symbols,
    }
    return StageOutcome(tasks=len(updates), failed_tasks=0, details=details)
