"""The features command: profiles, the CLI on a run directory, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from swingml.cli import app
from swingml.config import load_config
from swingml.errors import BadInputError
from swingml.features.base import FAMILIES
from swingml.features.plan import count_per_symbol
from swingml.io.store import RunStore
from swingml.workflow.pipeline import StageContext, run_stage

runner = CliRunner()


@pytest.mark.parametrize(
    ("profile", "low", "high"),
    [("tiny", 40, 90), ("small", 300, 500), ("full", 4500, 6000)],
)
def test_profile_sizes_per_coin(profile: str, low: int, high: int) -> None:
    counts = count_per_symbol(load_config(None, (), [f"features.profile={profile}"]))
    assert low <= sum(counts.values()) <= high
    assert all(counts[f] > 0 for f in FAMILIES)


def test_full_profile_spans_every_family_substantially() -> None:
    counts = count_per_symbol(load_config(None, (), ["features.profile=full"]))
    assert min(counts.values()) >= 30
    assert sum(v for f, v in counts.items() if f != "temporal") >= 4400


def test_cli_writes_the_store_and_summary(run_store: Any) -> None:
    result = runner.invoke(
        app,
        ["features", "--run-dir", str(run_store.root), "--profile", "integration-test"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((run_store.root / "summary.json").read_text())["stages"]["features"]
    assert summary["status"] == "done"
    per_symbol = summary["features_per_symbol"]
    assert set(per_symbol) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert len(set(per_symbol.values())) == 1
    assert set(summary["features_per_family"]) == set(FAMILIES)
    assert (
        summary["features_total"]
        == 3 * summary["features_per_symbol"]["BTCUSDT"] + summary["cross_coin_features"]
    )
    assert summary["peak_rss_mb"] > 0
    assert (run_store.root / "features" / "metadata.json").is_file()


@pytest.mark.parametrize(
    ("sets", "key"),
    [
        (["features.generators=[{name: rsi}, {name: nosuch}]"], "features.generators[1].name"),
        (
            ["features.generators=[{name: rsi}, {name: atr, params: {periodz: [3]}}]"],
            "features.generators[1].params.periodz",
        ),
        (["features.timeframes=[5m]"], "features.timeframes[0]"),
    ],
)
def test_bad_generator_config_exits_2_naming_the_key(
    run_store: Any, sets: list[str], key: str
) -> None:
    args = ["features", "--run-dir", str(run_store.root)]
    for s in sets:
        args += ["--set", s]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    output = result.output.replace("\n", "")
    assert key in output
    assert "Traceback" not in output
    assert not (run_store.root / "features" / "metadata.json").exists()


def test_symbols_sharing_a_prefix_exit_2(run_store: Any) -> None:
    sets = ["--set", "data.symbols=[BTCUSDT, BTCBUSD]"]
    result = runner.invoke(app, ["features", "--run-dir", str(run_store.root), *sets])
    assert result.exit_code == 2
    assert "data.symbols[1]" in result.output.replace("\n", "")


def test_missing_candles_name_the_command_that_brings_them(tmp_path: Path) -> None:
    # (the ``features`` command itself runs the data stage first on a fresh run directory)
    ctx = StageContext(load_config(run_dir=tmp_path), RunStore(tmp_path), Console())
    with pytest.raises(BadInputError, match=r"candles/BTCUSDT.parquet.*swingml data prepare"):
        run_stage("features", ctx)


def test_the_script_wraps_the_cli(run_store: Any) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "generate_features.py"
    spec = importlib.util.spec_from_file_location("generate_features", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--help"]) == 0
    bad = ["--run-dir", str(run_store.root), "--set", "features.generators=[{name: nope}]"]
    assert module.main(bad) == 2


def test_embedded_default_end_to_end(tmp_path: Path) -> None:
    run = ["--run-dir", str(tmp_path)]
    assert runner.invoke(app, ["data", "synth", *run]).exit_code == 0
    result = runner.invoke(app, ["features", *run])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())["stages"]["features"]
    expected = sum(count_per_symbol(load_config(None, (), [])).values())
    assert summary["profile"] == "small"
    assert summary["features_per_symbol"] == dict.fromkeys(
        ("BTCUSDT", "ETHUSDT", "SOLUSDT"), expected
    )
    assert summary["rows"]["BTCUSDT"] == 24000


BINANCE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"


@pytest.mark.skipif(not BINANCE.is_dir(), reason="../shared/data/binance is not available")
def test_real_1h_files_end_to_end(tmp_path: Path) -> None:
    from rich.console import Console

    from swingml.io.store import RunStore
    from swingml.workflow.pipeline import StageContext, run_stage

    config = load_config("real-1h", (), ["features.profile=tiny", f"data.dir={BINANCE}"], tmp_path)
    run_stage("data", StageContext(config, RunStore(tmp_path), Console(stderr=True, quiet=True)))
    args = ["features", "--profile", "real-1h", "--run-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--set", "features.profile=tiny"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())["stages"]["features"]
    assert summary["rows"] == {"BTCUSDT": 72866, "ETHUSDT": 72866, "SOLUSDT": 50090}
    from swingml.features.matrix import load_matrix

    frame = load_matrix(tmp_path / "features", "SOLUSDT", ["BTC__rsi_14", "SOL__rsi_14"])
    assert len(frame) == 50090
    assert frame["SOL__rsi_14"].notna().mean() > 0.99
