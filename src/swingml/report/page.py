"""The report's content: sections of HTML and the figures they show, from a run's data.

``build`` turns ``RunData`` into a ``Page`` (section fragments, figure dicts, per-champion figure
sets, shared price series, tables for notebooks); ``html.py`` writes it out. A section whose data
the run does not have says what is missing and which command makes it.
"""

from __future__ import annotations

import html
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import swingml
from swingml.inference.store import PROBA
from swingml.report import figures, tables
from swingml.report.figures import Figure
from swingml.report.gather import RunData
from swingml.report.skill import INTERVAL, calibration, confusion, pr_curve
from swingml.report.tables import Champion
from swingml.training.metrics import per_class_ap, present_classes

SECTIONS = (
    ("run", "Run"),
    ("budget", "Budget"),
    ("champions", "Champions"),
    ("champion", "Per champion"),
    ("features", "Features"),
    ("targets", "Targets"),
    ("walkforward", "Walk-forward"),
    ("live", "Live"),
)
HEADERS = {
    "train_events": "train",
    "holdout_events": "hold-out",
    "holdout_classes": "classes",
    "holdout_macro_ap": "macro AP",
    "prior_macro_ap": "prior AP",
    "random_macro_ap": "random AP",
    "stage1_holdout_macro_ap": "stage-1 AP",
    "lift_low": "lift 5 %",
    "lift_high": "lift 95 %",
}
"""Short column titles of the champion table (cells keep the full names in ``data-col``)."""
CHAMPION_PLOTS = ("pr", "confusion", "calibration", "importance", "timeline")


@dataclass
class Page:
    """Everything the HTML writer needs, and the tables behind the figures."""

    title: str
    sections: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    champions: dict[str, dict[str, Figure]] = field(default_factory=dict)
    prices: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    ranked: list[Champion] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def esc(value: Any) -> str:
    """HTML-escaped text."""
    return html.escape(str(value))


def fmt(value: Any, digits: int = 3) -> str:
    """A number as shown in tables (— for missing)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.{digits}f}"
    return str(value)


def plot(key: str) -> str:
    """A placeholder the page's script draws figure ``key`` into."""
    return f'<div class="plot" id="plot-{esc(key)}" data-figure="{esc(key)}"></div>'


def note(text: str) -> str:
    """A 'missing' line."""
    return f'<p class="missing">{esc(text)}</p>'


def table_html(
    frame: pd.DataFrame, table_id: str, digits: dict[str, int] | None = None, sortable: bool = False
) -> str:
    """A table; each cell keeps its exact value in ``data-value`` for sorting and checking."""
    digits = digits or {}
    head = "".join(f'<th data-col="{esc(c)}">{esc(c)}</th>' for c in frame.columns)
    body = []
    for record in frame.to_dict("records"):
        cells = []
        for column, value in record.items():
            shown = fmt(value, digits.get(str(column), 3))
            raw = "" if value is None else repr(value) if isinstance(value, float) else str(value)
            cells.append(f'<td data-col="{esc(column)}" data-value="{esc(raw)}">{esc(shown)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<table id="{esc(table_id)}"{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _code_version() -> str:
    version = f"swingml {swingml.__version__}"
    source = Path(swingml.__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version} ({done.stdout.strip()})" if done.returncode == 0 and done.stdout else version


# ---- sections -----------------------------------------------------------------------------------


def _run_section(data: RunData, page: Page) -> str:
    cfg = data.config
    data_cfg = cfg.get("data", {})
    stages = data.stages
    symbols = stages.get("data", {}).get("symbols", {})
    spans = [
        f"{esc(s)}: {esc(v.get('first', '?'))} → {esc(v.get('last', '?'))}, "
        f"{fmt(v.get('rows'))} bars, "
        f"{fmt(v.get('missing_bars'))} missing in {fmt(v.get('gaps'))} gaps"
        for s, v in symbols.items()
        if isinstance(v, dict)
    ]
    facts = [
        ("profile", cfg.get("run", {}).get("profile") or "default"),
        ("run directory", str(data.root)),
        ("symbols", ", ".join(data_cfg.get("symbols", [])) or "—"),
        ("interval", data_cfg.get("interval", "—")),
        ("data source", stages.get("data", {}).get("source") or data_cfg.get("dir") or "synthetic"),
        ("hold-out from", str(data.cutoff) if data.cutoff is not None else "—"),
        ("config digest", data.config_digest),
        ("input fingerprint", data.input_fingerprint or "—"),
        ("report written by", _code_version() + " (the run does not record its own code version)"),
        ("last update", data.summary.get("updated_at", "—")),
    ]
    parts = ['<dl class="facts">']
    parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts]
    parts.append("</dl>")
    if spans:
        parts.append("<ul class='spans'>" + "".join(f"<li>{s}</li>" for s in spans) + "</ul>")
    stage_frame = tables.stage_table(stages)
    page.tables["stages"] = stage_frame
    absent = tables.missing_stages(stages)
    if absent:
        parts.append(note(f"stages not done: {', '.join(absent)}"))
    for line in data.missing:
        parts.append(note(line))
    if len(stage_frame):
        page.figures["stage_walls"] = figures.stage_walls(stage_frame)
        parts.append(plot("stage_walls"))
        parts.append(table_html(stage_frame, "stage-table", {"wall_s": 1}))
    memory = tables.memory_table(data.tasks)
    page.tables["memory"] = memory
    if len(memory):
        page.figures["stage_memory"] = figures.stage_memory(memory)
        parts.append(plot("stage_memory"))
        parts.append(table_html(memory, "memory-table", {"peak_rss_mb": 0, "wall_s": 1}))
    failed = tables.failed_tasks(data.tasks)
    page.tables["failed_tasks"] = failed
    parts.append("<h3>Failed tasks</h3>")
    parts.append(table_html(failed, "failed-table") if len(failed) else "<p>none</p>")
    return "".join(parts)


def _budget_section(data: RunData, page: Page) -> str:
    if data.budget is None:
        return note("no tuning yet: run `swingml tune`")
    page.tables["budget"] = data.budget
    page.figures["budget"] = figures.budget(data.budget)
    tune = data.stages.get("tune", {})
    total = f"budget {fmt(tune.get('budget_s'), 1)} s, spent {fmt(tune.get('spent_s'), 1)} s in all"
    shown = [
        c
        for c in (
            "stage",
            "name",
            "share_s",
            "carried_over_s",
            "budget_s",
            "limit_s",
            "spent_s",
            "trials",
            "models",
        )
        if c in data.budget
    ]
    return (
        f"<p>{esc(total)}; a negative carry-over is time an earlier stage borrowed.</p>"
        + plot("budget")
        + table_html(data.budget[shown], "budget-table", dict.fromkeys(shown, 1))
    )


def _champions_section(data: RunData, page: Page) -> str:
    if data.holdout is None or data.holdout.empty:
        return note("no trained champions yet: run `swingml train`")
    page.ranked = tables.champions(
        data.holdout, data.holdout_predictions, int(data.config.get("run", {}).get("seed", 0))
    )
    frame = tables.champion_table(page.ranked)
    page.tables["champions"] = frame
    page.figures["lift"] = figures.lift_forest(page.ranked)
    page.figures["ap_ladder"] = figures.ap_ladder(page.ranked)
    train = data.stages.get("train", {})
    flagged = sum(1 for c in page.ranked if c.skill is False)
    level = f"{INTERVAL:.0%}"
    intro = (
        f"<p>{len(page.ranked)} champions; {fmt(train.get('beats_prior'))} beat the class prior, "
        f"{fmt(train.get('beats_random'))} the expected AP of a random ranking. Lift = hold-out "
        f"macro AP - random-ranking AP; its {level} interval resamples the hold-out events "
        f"({fmt(flagged)} with <span class='noskill'>no demonstrated skill</span>: "
        "the interval includes zero). Click a header to sort, a row to open the champion.</p>"
    )
    rows = []
    for c, record in zip(page.ranked, frame.to_dict("records"), strict=True):
        cells = []
        for column, value in record.items():
            if column == "skill":
                shown = {True: "skill", False: "no demonstrated skill", None: "no interval"}[value]
                cls = {True: "skill", False: "noskill", None: "unknown"}[value]
                cells.append(
                    f'<td data-col="skill" data-value="{esc(value)}" class="{cls}">'
                    f"{esc(shown)}</td>"
                )
                continue
            raw = repr(value) if isinstance(value, float) else str(value)
            cells.append(
                f'<td data-col="{esc(column)}" data-value="{esc(raw)}">{esc(fmt(value))}</td>'
            )
        caption = (
            f"{c.name} — {c.row['variant_id']}: {fmt(c.row['holdout_rows'])} hold-out events, "
            f"macro AP {fmt(c.row['holdout_macro_ap'])} "
            f"(random {fmt(c.row['random_macro_ap'])}), lift "
            f"{fmt(c.lift)} [{fmt(c.interval.low if c.interval else None)}, "
            f"{fmt(c.interval.high if c.interval else None)}]"
        )
        rows.append(
            f'<tr data-champion="{esc(c.name)}" data-caption="{esc(caption)}">{"".join(cells)}</tr>'
        )
    head = "".join(f'<th data-col="{esc(c)}">{esc(HEADERS.get(c, c))}</th>' for c in frame.columns)
    means = [
        ("holdout_macro_ap_mean", "mean hold-out macro AP"),
        ("prior_macro_ap_mean", "mean class-prior AP"),
        ("random_macro_ap_mean", "mean random-ranking AP"),
        ("stage1_holdout_macro_ap_mean", "mean stage-1 AP"),
    ]
    summary = "".join(
        f'<li data-key="{key}" data-value="{esc(repr(train.get(key)))}">'
        f"{esc(label)}: {esc(fmt(train.get(key)))}</li>"
        for key, label in means
        if key in train
    )
    warnings = [
        note(
            f"{c.name}: the stored predictions do not reproduce the recorded hold-out score "
            f"(off by {c.mismatch:.2g}); the interval may not describe this model"
        )
        for c in page.ranked
        if c.mismatch is not None and c.mismatch > tables.MISMATCH_TOLERANCE
    ]
    return (
        intro
        + "".join(warnings)
        + f'<table id="champion-table" class="sortable"><thead><tr>{head}</tr></thead>'
        + f"<tbody>{''.join(rows)}</tbody></table>"
        + f'<ul class="means">{summary}</ul>'
        + plot("lift")
        + plot("ap_ladder")
    )


def _champion_figures(c: Champion, model: Path | None) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    if c.events is not None:
        y = c.events["label"].to_numpy(np.int64)
        proba = c.events[list(PROBA)].to_numpy(np.float64)
        present = present_classes(y)
        out["pr"] = figures.pr_curves(
            {k: pr_curve(y == k, proba[:, k]) for k in present}, per_class_ap(y, proba)
        )
        out["confusion"] = figures.confusion_matrix(confusion(y, proba))
        out["calibration"] = figures.reliability(
            {k: calibration(y == k, proba[:, k]) for k in present}
        )
    if model is not None:
        out["importance"] = figures.importance(tables.gains(model))
    return out


def _per_champion_section(data: RunData, page: Page) -> str:
    if not page.ranked:
        return note("no champions yet: run `swingml train`")
    indexes: dict[str, figures.PriceIndex] = {}
    for c in page.ranked:
        page.champions[c.name] = _champion_figures(c, data.models.get(c.name))
        if c.events is not None and c.symbol in data.candles:
            if c.symbol not in indexes:
                candles = data.candles[c.symbol]
                page.prices[c.symbol] = figures.price_series(candles, data.cutoff)
                indexes[c.symbol] = figures.price_index(candles)
            page.champions[c.name]["timeline"] = figures.timeline(
                c.symbol, c.events, indexes[c.symbol]
            )
    options = "".join(
        f'<option value="{esc(c.name)}">{esc(c.name)} — {esc(c.row["variant_id"])}</option>'
        for c in page.ranked
    )
    slots = "".join(
        f'<div class="plot champion-plot" id="champion-{key}" data-slot="{key}"></div>'
        for key in CHAMPION_PLOTS
    )
    lacking = (
        ""
        if data.holdout_predictions
        else note(
            "no hold-out predictions yet: run `swingml predict batch` for curves, calibration "
            "and the timeline"
        )
    )
    return (
        f'<label>Champion: <select id="champion-select">{options}</select></label>'
        f'<p id="champion-caption"></p>{lacking}<div class="grid">{slots}</div>'
    )


def _features_section(data: RunData, page: Page) -> str:
    parts: list[str] = []
    steps = tables.funnel_steps(data.prep_report, len(data.selected))
    if steps:
        page.tables["funnel"] = pd.DataFrame(steps, columns=["step", "features"])
        page.figures["funnel"] = figures.funnel(steps)
        parts.append(plot("funnel"))
    else:
        parts.append(note("no prep report yet: run `swingml prep`"))
    family, source = tables.selected_mix(data.selected, data.feature_meta)
    if len(family):
        page.tables["selected_by_family"] = family.rename_axis("family").reset_index(
            name="features"
        )
        page.tables["selected_by_source"] = source.rename_axis("source").reset_index(
            name="features"
        )
        page.figures["by_family"] = figures.counts_bar(family, "Selected features by family")
        page.figures["by_source"] = figures.counts_bar(source, "Selected features by source coin")
        parts.append(f'<div class="grid">{plot("by_family")}{plot("by_source")}</div>')
    else:
        parts.append(note("no selected features yet: run `swingml select`"))
    frequency, variants = tables.selection_frequency(data.rankings)
    if len(frequency):
        page.tables["selection_frequency"] = frequency.rename_axis("feature").reset_index(
            name="variants"
        )
        page.figures["selection_frequency"] = figures.selection_frequency(frequency, variants)
        parts.append(plot("selection_frequency"))
    return "".join(parts)


def _targets_section(data: RunData, page: Page) -> str:
    balance = tables.target_balance(data.targets)
    if balance.empty:
        return note("no targets yet: run `swingml targets`")
    page.tables["targets_balance"] = balance
    page.figures["events"] = figures.events_bar(balance)
    page.figures["class_balance"] = figures.class_balance(balance)
    return plot("events") + plot("class_balance")


def _walkforward_section(data: RunData, page: Page) -> str:
    scores = data.walkforward
    if scores is None or scores.empty:
        return "<p>No walk-forward replay in this run (`swingml walkforward` makes one).</p>"
    page.tables["walkforward_scores"] = scores
    page.figures["walkforward_lift"] = figures.walkforward_lift(scores)
    html_parts = [
        "<p>Each champion refit on the past only, at each cadence, predicting the hold-out "
        "events up to its next refit; features and parameters chosen on the development "
        "period. <code>never</code> is the registered development model.</p>",
        table_html(tables.walkforward_summary(scores), "walkforward-summary"),
        plot("walkforward_lift"),
    ]
    trades, top = data.walkforward_trades, data.walkforward_confident
    if trades is not None and not trades.empty:
        page.tables["walkforward_trades"] = trades
        page.figures["walkforward_trades"] = figures.walkforward_trades(trades)
        html_parts.append(plot("walkforward_trades"))
    if top is not None and not top.empty:
        page.tables["walkforward_confident"] = top
        html_parts.append(table_html(tables.confident_summary(top), "walkforward-confident"))
    html_parts.append(
        table_html(tables.walkforward_models(scores), "walkforward-models", sortable=True)
    )
    return "".join(html_parts)


def _live_section(data: RunData, page: Page) -> str:
    live = data.live_predictions
    if live is None:
        return "<p>No live predictions in this run (`swingml predict live` appends them).</p>"
    page.tables["live_predictions"] = live
    page.figures["live_counts"] = figures.live_counts(live)
    page.figures["live_scores"] = figures.live_scores(live)
    return plot("live_counts") + plot("live_scores")


BUILDERS = {
    "run": _run_section,
    "budget": _budget_section,
    "champions": _champions_section,
    "champion": _per_champion_section,
    "features": _features_section,
    "targets": _targets_section,
    "walkforward": _walkforward_section,
    "live": _live_section,
}


def build(data: RunData) -> Page:
    """The page of a run: every section, built in order (champions before their drill-down)."""
    profile = data.config.get("run", {}).get("profile") or "default"
    page = Page(
        title=f"swingml run report — {profile} — {data.root.name}", missing=list(data.missing)
    )
    for key, _ in SECTIONS:
        page.sections[key] = BUILDERS[key](data, page)
    if page.ranked:
        page.tables["holdout_predictions"] = _predictions_long(page.ranked)
    return page


def _predictions_long(items: Sequence[Champion]) -> pd.DataFrame:
    frames = [c.events.assign(model=c.name) for c in items if c.events is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
