"""The ``prep`` and ``select`` stages on a tiny real run: files, reports, resume, determinism."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from swingml.errors import BadInputError
from swingml.io.store import read_json
from swingml.selection.tasks import SymbolJob, VariantJob, screen_chunk, variant_path
from swingml.stages import select
from swingml.targets.grid import Variant
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

Make = Callable[..., StageContext]


def test_select_writes_rankings_final_list_and_report(make_selected: Make) -> None:
    ctx = make_selected()
    store = ctx.store
    final = read_json(store.path("selection", "final_features.json"))
    kept = read_json(store.path("prep", "kept_features.json"))["features"]
    assert 0 < len(final["features"]) <= ctx.config.selection.final_size
    assert set(final["features"]) <= set(kept)
    rankings = pd.read_parquet(store.path("selection", "rankings.parquet"))
    assert list(rankings.columns) == ["variant", "feature", "gain", "share", "rank"]
    assert rankings.groupby("variant").size().max() <= ctx.config.selection.top_k
    report = read_json(store.path("selection", "report.json"))
    summary = report["summary"]
    assert summary["screened"] + summary["skipped"] + summary["failed"] == summary["variants"]
    assert summary["screened"] == rankings["variant"].nunique() + summary["no_gain"]
    assert summary["final_in_bounds"] is False and "300-500" in summary["warning"]
    screened = [v for v in report["variants"] if v["status"] == "ok"]
    assert all(v["train_s"] <= v["wall_s"] for v in screened)
    assert set(report["overlap"]) == {"window", "kind"}
    stage = store.read_summary()["stages"]["select"]
    assert stage["status"] == "done" and stage["train_s_total"] == summary["train_s_total"]


def test_rankings_are_deterministic_and_resume_per_variant(make_selected: Make) -> None:
    ctx = make_selected()
    store = ctx.store
    first = pd.read_parquet(store.path("selection", "rankings.parquet"))
    final_first = read_json(store.path("selection", "final_features.json"))
    variants_dir = store.path("selection", "variants")
    files = sorted(variants_dir.glob("*.json"))
    victim = files[len(files) // 2]
    untouched = files[0] if files[0] != victim else files[-1]
    stamp = untouched.stat().st_mtime_ns
    victim.unlink()
    store.path("selection", "final_features.json").unlink()
    pipeline.run_stage("select", ctx)
    assert victim.is_file()
    assert untouched.stat().st_mtime_ns == stamp  # the other variants were not re-trained
    pd.testing.assert_frame_equal(
        first, pd.read_parquet(store.path("selection", "rankings.parquet"))
    )
    assert read_json(store.path("selection", "final_features.json")) == final_first
    summary = store.read_summary()["stages"]["select"]
    assert summary["reused"] is False


def test_a_variant_is_reused_whatever_task_screens_it(make_selected: Make) -> None:
    """A variant's result is keyed by its binned Dataset and its id, not by the task that ran
    it, so regrouping variants into tasks re-screens nothing (and a missing one is re-screened
    to the same ranking)."""
    ctx = make_selected()
    store = ctx.store
    payloads = [read_json(f) for f in sorted(store.path("selection", "variants").glob("*.json"))]
    first = payloads[0]
    symbol, kind = first["variant"].split("/")[0], first["variant"].split("/")[2]
    other = next(
        p
        for p in payloads
        if p["variant"].split("/")[0] == symbol and p["variant"].split("/")[2] != kind
    )  # the stage never screened these two in one task
    jobs = tuple(
        VariantJob(p["variant"], Variant.from_id(p["variant"]).slug, p["key"])
        for p in (first, other)
    )
    variant_path(store, jobs[1].slug).unlink()
    bin_key = read_json(store.dataset("select_binned_meta", symbol=symbol))["key"]
    assert select.variant_jobs(bin_key, [j.id for j in jobs]) == jobs
    config = ctx.config
    job = SymbolJob(str(store.root), symbol, config.selection, config.run.seed, 1)
    briefs = screen_chunk(job, jobs)
    assert [b["reused"] for b in briefs] == [True, False]
    assert read_json(variant_path(store, jobs[1].slug))["ranking"] == other["ranking"]


def test_a_second_run_reuses_both_stages(make_selected: Make) -> None:
    ctx = make_selected()
    kept_file = ctx.store.path("prep", "kept_features.json")
    final_file = ctx.store.path("selection", "final_features.json")
    stamps = (kept_file.stat().st_mtime_ns, final_file.stat().st_mtime_ns)
    prep = pipeline.run_stage("prep", ctx)
    select = pipeline.run_stage("select", ctx)
    assert prep.details["reused"] is True and select.details["reused"] is True
    assert (kept_file.stat().st_mtime_ns, final_file.stat().st_mtime_ns) == stamps


def test_prep_report_counts_every_filter(make_run: Make) -> None:
    ctx = make_run()
    outcome = pipeline.run_stage("prep", ctx)
    report = read_json(ctx.store.path("prep", "report.json"))
    rules = [f["rule"] for f in report["filters"]]
    assert rules == ["missing", "nan", "quasi_constant", "low_variance", "correlation"]
    counts = [outcome.details[k] for k in ("features_in", "after_missing", "after_nan")]
    counts += [outcome.details[k] for k in ("after_quasi_constant", "after_low_variance")]
    counts.append(outcome.details["features_out"])
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] == len(read_json(ctx.store.path("prep", "kept_features.json"))["features"])
    for item in report["filters"]:
        assert item["features_out"] == item["features_in"] - item["dropped"]
        assert len(item["examples"]) == min(item["dropped"], 10)


def test_a_config_change_recomputes_prep(make_run: Make) -> None:
    first = pipeline.run_stage("prep", make_run())
    stricter = make_run("prep.max_correlation=0.5")
    second = pipeline.run_stage("prep", stricter)
    assert second.details["reused"] is False
    assert second.details["features_out"] < first.details["features_out"]
    kept = read_json(stricter.store.path("prep", "kept_features.json"))["features"]
    assert len(kept) == second.details["features_out"]


def test_select_without_prep_is_bad_input(make_run: Make) -> None:
    ctx = make_run()
    with pytest.raises(BadInputError, match="swingml prep"):
        pipeline.run_stage("select", ctx)


def test_selection_seed_redraws_selection_alone(make_selected: Make) -> None:
    """``selection.seed`` equal to ``run.seed`` screens as before; another seed re-draws the
    bagging, so rankings change (how the noise floor of docs/benchmarks/prep_selection.md is
    measured in a real run, with tuning's seed untouched). Bagging draws from the first round;
    GOSS (the default) keeps every row for its first 1 / learning_rate rounds, so on these small
    variants, which stop early, it draws nothing a seed could change."""
    bagging = "selection.sampling=bagging"
    first = make_selected(bagging)
    pipeline.run_stage("select", first)
    rankings = pd.read_parquet(first.store.path("selection", "rankings.parquet"))
    seed = first.config.run.seed
    same = make_selected(bagging, f"selection.seed={seed}")
    assert pipeline.run_stage("select", same).details["reused"] is False
    pd.testing.assert_frame_equal(
        rankings, pd.read_parquet(same.store.path("selection", "rankings.parquet"))
    )
    other = make_selected(bagging, f"selection.seed={seed + 1}")
    pipeline.run_stage("select", other)
    assert other.config.run.seed == seed
    redrawn = pd.read_parquet(other.store.path("selection", "rankings.parquet"))
    assert not rankings.equals(redrawn)
