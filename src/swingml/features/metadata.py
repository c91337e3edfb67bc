"""What a complete feature store records: ``metadata.json``, no stale blocks, its summary keys.

The metadata names every feature with its block file, per symbol and for the cross-coin group;
it is written last, so a store without it is incomplete and it never names a missing block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swingml.config.features import FeaturesConfig
from swingml.data.symbols import short_name
from swingml.features import generate
from swingml.features.layout import Layout
from swingml.features.plan import FEATURE_CODE_VERSION, FeaturePlan

Entry = dict[str, Any]


def group(name: str, entries: list[Entry], rows: int | None, fingerprint: str | None) -> Entry:
    """One group's (a symbol's, or the cross-coin) record: its files and feature count."""
    files = list(dict.fromkeys(e["file"] for e in entries))
    return {
        "short": short_name(name) if name != generate.CROSS_GROUP else name,
        "rows": rows,
        "candles_fingerprint": fingerprint,
        "files": files,
        "index_file": files[0] if files else None,
        "features": len(entries),
    }


def store_metadata(
    plan: FeaturePlan, layout: Layout, features: FeaturesConfig, interval: str
) -> dict[str, Any]:
    """The content of ``features/metadata.json``: every feature in store order, per group."""
    entries: list[Entry] = []
    groups: dict[str, Entry] = {}
    for s in layout.symbols:
        own = generate.metadata_entries(plan, s, layout.blocks[s], interval)
        entries.extend(own)
        groups[s] = group(s, own, layout.rows[s], layout.fingerprints[s])
    if layout.cross_block is not None:
        own = generate.cross_entries(plan, layout.symbols, layout.cross_block, interval)
        entries.extend(own)
        groups[generate.CROSS_GROUP] = group(generate.CROSS_GROUP, own, None, None)
    return {
        "version": FEATURE_CODE_VERSION,
        "interval": interval,
        "profile": features.profile,
        "custom_generators": features.generators is not None,
        "timeframes": list(features.timeframes),
        "symbols": groups,
        "features": entries,
    }


def remove_stale(fdir: Path, keep: set[str]) -> int:
    """Delete block files (and leftover temporaries) that the new metadata does not name."""
    removed = 0
    for path in sorted(fdir.glob("*/*")):
        rel = path.relative_to(fdir).as_posix()
        stale_block = path.suffix == ".parquet" and rel not in keep
        leftover = path.name.startswith(".") and path.name.endswith(".tmp")
        if path.is_file() and (stale_block or leftover):
            path.unlink()
            removed += 1
    return removed


def store_details(
    metadata: dict[str, Any],
    layout: Layout,
    figures: Sequence[dict[str, Any]],
    task_peaks_mb: Sequence[float],
    current: int,
    removed: int,
) -> dict[str, Any]:
    """The stage's keys in ``summary.json``: feature counts, blocks written and reused, memory.

    ``figures`` are the tasks' returned figures, ``task_peaks_mb`` their workers' peak memory and
    ``current`` the blocks found current whose tasks were not run.
    """
    entries: list[Entry] = metadata["features"]
    first = layout.symbols[0]
    per_symbol = Counter(e["symbol"] for e in entries if e["symbol"] != generate.CROSS_GROUP)
    per_family = Counter(e["family"] for e in entries if e["symbol"] == first)
    peak = max(
        [generate.peak_rss_mb(), *task_peaks_mb]
        + [float(f.get("peak_rss_mb") or 0.0) for f in figures]
    )
    return {
        "profile": metadata["profile"],
        "features_total": len(entries),
        "features_per_symbol": dict(per_symbol),
        "features_per_family": dict(per_family),
        "cross_coin_features": sum(1 for e in entries if e["family"] == "cross_coin"),
        "rows": dict(layout.rows),
        "block_columns": dict(layout.blocks),
        "blocks_written": sum(int(f.get("blocks_written", 0)) for f in figures),
        "blocks_reused": current + sum(int(f.get("blocks_reused", 0)) for f in figures),
        "stale_files_removed": removed,
        "peak_rss_mb": peak,
    }


def summary_line(details: dict[str, Any], cross: bool) -> str:
    """The line the stage prints: columns in all, per symbol and cross-coin, and peak memory."""
    per_symbol = details["features_per_symbol"]
    return (
        f"features: {details['features_total']:,} columns "
        f"({', '.join(f'{k} {v:,}' for k, v in per_symbol.items())}"
        f"{', cross ' + str(details['cross_coin_features']) if cross else ''}), "
        f"peak RSS {details['peak_rss_mb']:,.0f} MB"
    )
