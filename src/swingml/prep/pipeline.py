"""The five prep filters in SPEC order, run over column blocks of the development sample.

The four per-feature filters judge each feature alone, so fitting them block by block gives the
same answer as fitting them on the whole matrix while holding only one block at a time. The
survivors' values are packed into one float32 buffer (features x rows) for the correlation filter,
which needs them all. Rows: development rows only (``development_rows``), evenly spaced when there
are more than ``prep.sample_rows``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from swingml.config import PrepConfig
from swingml.prep import correlation
from swingml.prep.filters import (
    ColumnFilter,
    FilterReport,
    LowVarianceFilter,
    MissingFilter,
    NanFilter,
    QuasiConstantFilter,
)

EXAMPLES = 10
"""Dropped feature names shown per filter in the report."""


@dataclass(frozen=True)
class Block:
    """Some features on the sample rows: ``values`` is rows x len(names), float32.

    ``present`` (same shape, optional) is True where the feature's source coin has a bar; it
    separates "absent" (the coin did not trade) from "NaN" (the generator could not compute).
    """

    names: Sequence[str]
    values: npt.NDArray[np.floating]
    present: npt.NDArray[np.bool_] | None = None


@dataclass
class _Tally:
    """One filter's report, accumulated over blocks."""

    rule: str
    reason: str
    threshold: float
    features_in: int = 0
    dropped: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, part: FilterReport) -> None:
        self.features_in += part.features_in
        self.dropped += part.dropped
        room = EXAMPLES - len(self.examples)
        self.examples.extend(dict(example) for example in part.examples[: max(room, 0)])

    def freeze(self) -> FilterReport:
        return FilterReport(
            self.rule,
            self.reason,
            self.threshold,
            self.features_in,
            self.dropped,
            tuple(self.examples),
        )


@dataclass(frozen=True)
class PrepResult:
    """Kept features (input order), one report per filter (SPEC order) and the sample size."""

    kept: list[str]
    reports: list[FilterReport]
    features_in: int
    rows: int


def chain(config: PrepConfig) -> list[ColumnFilter]:
    """The four per-feature filters, in SPEC order, configured from ``prep``."""
    return [
        MissingFilter(config.max_missing),
        NanFilter(config.max_nan),
        QuasiConstantFilter(config.max_single_value),
        LowVarianceFilter(config.min_variance),
    ]


def development_rows(
    timestamps: pd.DatetimeIndex | pd.Series, cutoff: pd.Timestamp, max_rows: int
) -> pd.DatetimeIndex:
    """The sample rows: unique timestamps before ``cutoff``, evenly spaced down to ``max_rows``.

    Evenly spaced (not most recent) so that every regime of the development period is seen;
    deterministic, and always including the first and the last development row.
    """
    stamps = pd.DatetimeIndex(timestamps).unique().sort_values()
    dev = stamps[stamps < cutoff]
    if len(dev) <= max_rows:
        return dev
    picks = np.unique(np.linspace(0, len(dev) - 1, max_rows).round().astype(np.int64))
    return dev[picks]


def union_bars(bars: Mapping[str, pd.DatetimeIndex]) -> pd.DatetimeIndex:
    """Every timestamp at which at least one symbol has a bar, sorted, UTC."""
    stamps = np.unique(np.concatenate([epoch_ms(pd.Series(b)) for b in bars.values()]))
    return pd.DatetimeIndex(stamps.astype("datetime64[ms]")).tz_localize("UTC")


def epoch_ms(column: pd.Series) -> npt.NDArray[np.int64]:
    """Timestamps as epoch milliseconds."""
    return pd.DatetimeIndex(column).as_unit("ms").asi8.astype(np.int64)


def run_filters(blocks: Iterable[Block], config: PrepConfig, total_features: int) -> PrepResult:
    """Fit the five filters over ``blocks`` (same rows, disjoint features) and report each.

    ``total_features`` bounds the survivor buffer; its untouched tail costs no memory.
    """
    filters = chain(config)
    tallies = [_Tally(f.rule, f.reason, f.limit()) for f in filters]
    names_in: list[str] = []
    survivors: list[str] = []
    buffer: npt.NDArray[np.float32] | None = None
    rows = 0
    for block in blocks:
        names = [str(name) for name in block.names]
        if block.values.shape[1] != len(names):
            raise ValueError(f"block has {block.values.shape[1]} columns for {len(names)} names")
        names_in.extend(names)
        if buffer is None:
            rows = block.values.shape[0]
            buffer = np.empty((max(total_features, len(names)), rows), dtype=np.float32)
        elif block.values.shape[0] != rows:
            raise ValueError(f"every block needs {rows} rows, got {block.values.shape[0]}")
        by_feature = np.asarray(block.values).T
        present = None if block.present is None else np.asarray(block.present).T
        keep = np.arange(len(names))
        for selector, tally in zip(filters, tallies, strict=True):
            if len(keep) == 0:
                break
            values = by_feature if len(keep) == len(names) else by_feature[keep]
            frame = pd.DataFrame(values.T, columns=[names[i] for i in keep], copy=False)
            if isinstance(selector, NanFilter) and present is not None:
                mask = present if len(keep) == len(names) else present[keep]
                selector.fit(frame, present=mask.T)
            else:
                selector.fit(frame)
            tally.add(selector.report(EXAMPLES))
            keep = keep[selector.get_support()]
        start = len(survivors)
        if start + len(keep) > buffer.shape[0]:
            raise ValueError(f"more features than total_features={total_features}")
        buffer[start : start + len(keep)] = by_feature[keep]
        survivors.extend(names[i] for i in keep)
    reports = [tally.freeze() for tally in tallies]
    kept, corr_report = _decorrelate(buffer, survivors, config)
    reports.append(corr_report)
    order = {name: i for i, name in enumerate(names_in)}
    kept.sort(key=order.__getitem__)
    return PrepResult(kept, reports, len(names_in), rows)


def _decorrelate(
    buffer: npt.NDArray[np.float32] | None, names: list[str], config: PrepConfig
) -> tuple[list[str], FilterReport]:
    reason = (
        "|Pearson r| above max_correlation with a kept feature (fewer missing, then name, wins)"
    )
    if buffer is None or not names:
        return [], FilterReport("correlation", reason, config.max_correlation, 0, 0, ())
    values = buffer[: len(names)]
    missing = correlation.standardize_rows(values)
    order = correlation.keep_order(missing, names)
    result = correlation.decorrelate(values, order, config.max_correlation, config.block_columns)
    dropped = np.flatnonzero(~result.keep)
    examples = tuple(
        {
            "feature": names[i],
            "partner": names[int(result.partner[i])],
            "abs_r": round(float(result.partner_r[i]), 6),
        }
        for i in dropped[:EXAMPLES]
    )
    report = FilterReport(
        "correlation", reason, config.max_correlation, len(names), len(dropped), examples
    )
    return [names[i] for i in np.flatnonzero(result.keep)], report


def fit_frame(
    frame: pd.DataFrame,
    cutoff: pd.Timestamp,
    config: PrepConfig,
    present: pd.DataFrame | None = None,
) -> PrepResult:
    """Prep on one in-memory frame (``timestamp`` + feature columns): development rows only.

    The small-data entry point (tests, notebooks); the stage streams column blocks instead.
    """
    rows = development_rows(frame["timestamp"], cutoff, config.sample_rows)
    picked = frame.set_index("timestamp").loc[rows]
    names = list(picked.columns)
    mask = None
    if present is not None:
        mask = present.set_index("timestamp").loc[rows, names].to_numpy(dtype=np.bool_)
    block = Block(names, picked.to_numpy(dtype=np.float32), mask)
    return run_filters([block], config, len(names))
