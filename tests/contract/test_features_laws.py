"""Laws of the feature store (SPEC §3): no look-ahead for every generator, completed higher bars
only, determinism, and bad generator config as exit 2 naming the key.

No look-ahead is checked the way SPEC states it: features computed on the first m bars equal the
first m rows of the features computed on all bars (NaN == NaN, float32-exact), for several m, on
synthetic candles with gaps and on real Binance 1h candles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from swingml.cli import app
from swingml.config import load_config
from swingml.data.frame import to_arrow
from swingml.data.sources.binance_json import read_binance_json
from swingml.features import compute, cross_coin, transforms
from swingml.features.base import registry
from swingml.features.plan import make_plan, plan_spec
from swingml.features.timeframes import timestamps_ms
from swingml.io.store import RunStore, write_parquet_atomic
from swingml.workflow.pipeline import StageContext, run_stage

BINANCE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"
BARS = 3000
HOUR = 3600


def synthetic(n: int = BARS, seed: int = 11, start: str = "2023-03-01 05:00") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.standard_t(3, n) * 0.01))
    open_ = np.r_[close[0], close[:-1]]
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq="h", tz="UTC").as_unit("ms"),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + rng.exponential(0.003, n)),
            "low": np.minimum(open_, close) * (1 - rng.exponential(0.003, n)),
            "close": close,
            "volume": rng.lognormal(2, 1, n),
            "trades": rng.integers(1, 100, n).astype(float),
            "taker_buy_base": rng.lognormal(1, 1, n),
        }
    )
    keep = np.ones(n, dtype=bool)
    holes = [i for i in (700, 701, 702, 1999) if i < n]
    keep[holes] = False  # gaps: a 3-bar hole and a single missing bar
    return frame[keep].reset_index(drop=True)


def real(symbol: str = "BTCUSDT") -> pd.DataFrame:
    """The first 3,000 real hourly bars (early 2018, with Binance's 33-bar outage in February)."""
    path = BINANCE / f"{symbol}-1h.json.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    frame = read_binance_json(path, symbol).frame
    return frame[["timestamp", "open", "high", "low", "close", "volume", "trades"]].head(BARS)


def sources() -> list[Any]:
    return [pytest.param(synthetic, id="synthetic"), pytest.param(real, id="real-1h")]


def cuts(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted({5, *rng.integers(30, n - 1, 4).tolist(), n - 1})


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


@pytest.fixture(scope="module", params=sources())
def candles(request: pytest.FixtureRequest) -> pd.DataFrame:
    frame: pd.DataFrame = request.param()
    return frame


@pytest.mark.parametrize("name", sorted(registry()))
def test_no_look_ahead_for_every_generator(name: str, candles: pd.DataFrame) -> None:
    generator = registry()[name]()
    full = generator.compute(candles)
    for m in cuts(len(candles), seed=len(name)):
        head = generator.compute(candles.iloc[:m].reset_index(drop=True))
        for column, values in full.items():
            assert same(head[column], values[:m]), f"{name}.{column} differs at m={m}"


@pytest.mark.parametrize("spec", ["lag_3", "d_6", "z_20", "rank_30"])
def test_no_look_ahead_for_every_transform(spec: str) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=800).astype(np.float32)
    values[100:110] = np.nan
    transform = transforms.parse(spec)
    full = transform.apply(values)
    for m in cuts(len(values), seed=1):
        assert same(transform.apply(values[:m]), full[:m]), f"{spec} differs at m={m}"


def _plan_columns(timeframes: list[str]) -> list[Any]:
    """Every registered generator at its default parameters, on the given timeframes."""
    generators = [{"name": n, "params": {}} for n in sorted(registry())]
    spec = {
        "generators": generators,
        "timeframes": timeframes,
        "base_seconds": HOUR,
        "cross": None,
    }
    return list(make_plan(spec).columns)


def test_higher_timeframes_use_only_completed_bars(candles: pd.DataFrame) -> None:
    columns = [c for c in _plan_columns(["4h", "1d"]) if c.unit.timeframe is not None]
    assert {c.unit.timeframe for c in columns} == {"4h", "1d"}
    full = compute.columns_frame(columns, candles, HOUR)
    hours = candles["timestamp"].dt.hour.to_numpy()
    last_of_day = int(np.flatnonzero(hours == 23)[5])
    mid_bucket = int(np.flatnonzero(hours % 4 == 1)[40])
    for t in (last_of_day, mid_bucket, len(candles) - 400):
        changed = candles.copy()
        factor = np.exp(np.random.default_rng(t).normal(0, 0.05, len(candles) - t - 1))
        for col in ("open", "high", "low", "close"):
            changed.loc[t + 1 :, col] = changed.loc[t + 1 :, col].to_numpy() * factor
        changed.loc[t + 1 :, "volume"] = changed.loc[t + 1 :, "volume"] * 3.0
        after = compute.columns_frame(columns, changed, HOUR)
        for name, values in full.items():
            assert same(after[name][: t + 1], values[: t + 1]), f"{name}: bar {t + 1} leaked"
        moved = [n for n, v in full.items() if not same(after[n][t + 1 :], v[t + 1 :])]
        assert len(moved) > len(full) / 2  # the change is visible once the higher bars complete


def test_higher_timeframe_features_change_only_after_the_bar_completes() -> None:
    frame = synthetic(600)
    columns = [c for c in _plan_columns(["4h"]) if c.feature == "tf4h__rsi_14"]
    values = compute.columns_frame(columns, frame, HOUR)["tf4h__rsi_14"]
    stamps = frame["timestamp"]
    changes = np.flatnonzero(np.diff(values[np.isfinite(values)]) != 0)
    first = np.flatnonzero(np.isfinite(values))[0]
    # a 4h value changes only on the bar that completes a 4h period (hour 3, 7, 11, ...)
    # or on the first bar after a gap
    for i in changes + first + 1:
        assert stamps.iloc[i].hour % 4 == 3 or (stamps.iloc[i] - stamps.iloc[i - 1]).seconds > HOUR


def test_cross_coin_features_have_no_look_ahead() -> None:
    series = {
        "BTCUSDT": synthetic(1500, 1),
        "ETHUSDT": synthetic(1500, 2),
        "SOLUSDT": synthetic(1000, 3, start="2023-03-15 00:00"),
    }
    params = cross_coin.CrossParams(windows=(24, 96), horizons=(1, 12), z_windows=(48,))

    def run(end: pd.Timestamp | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        data = {}
        for sym, f in series.items():
            kept = f if end is None else f[f["timestamp"] <= end]
            data[sym] = (timestamps_ms(kept), kept["close"].to_numpy())
        return cross_coin.compute(data, HOUR * 1000, params)

    stamps, full = run(None)
    for m in cuts(len(stamps), seed=3)[1:]:
        end = pd.Timestamp(int(stamps[m - 1]), unit="ms", tz="UTC")
        head_stamps, head = run(end)
        assert np.array_equal(head_stamps, stamps[:m])
        for name, values in full.items():
            assert same(head[name], values[:m]), f"{name} differs at m={m}"


def _store_run(root: Path, frames: dict[str, pd.DataFrame], sets: list[str]) -> RunStore:
    store = RunStore(root)
    for sym, frame in frames.items():
        write_parquet_atomic(store.candles_path(sym), to_arrow(frame))
    config = load_config(None, (), sets, root)
    run_stage("features", StageContext(config, store, Console(stderr=True, quiet=True)))
    return store


def _stored(store: RunStore) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for path in sorted(store.features_dir().glob("*/*.parquet")):
        table = pq.read_table(path)
        for name in table.column_names[1:]:
            out[name] = table[name].to_numpy()
    return out


SETS = [
    "features.profile=tiny",
    "features.timeframes=[4h, 1d]",
    "executor.max_concurrent_processes=1",
]


def test_the_whole_store_has_no_look_ahead_and_is_deterministic(tmp_path: Path) -> None:
    frames = {
        "BTCUSDT": synthetic(1200, 1),
        "ETHUSDT": synthetic(1200, 2),
        "SOLUSDT": synthetic(900, 3, start="2023-03-13 17:00"),
    }
    full = _stored(_store_run(tmp_path / "a", frames, SETS))
    again = _store_run(tmp_path / "b", frames, SETS)
    repeat = _stored(again)
    assert full.keys() == repeat.keys()
    for name, values in full.items():
        assert values.tobytes() == repeat[name].tobytes(), f"{name} is not deterministic"
    meta_a = json.loads((tmp_path / "a" / "features" / "metadata.json").read_text())
    meta_b = json.loads((again.features_dir() / "metadata.json").read_text())
    assert meta_a == meta_b

    end = frames["BTCUSDT"]["timestamp"].iloc[777]
    cut = {s: f[f["timestamp"] <= end].reset_index(drop=True) for s, f in frames.items()}
    head = _stored(_store_run(tmp_path / "c", cut, SETS))
    for name, values in head.items():
        assert same(values, full[name][: len(values)]), f"{name} reads bars after the cut"


runner = CliRunner()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("features.generators=[{name: rsi}, {name: rsi_fast}]", "features.generators[1].name"),
        (
            "features.generators=[{name: rsi}, {name: atr}, {name: macd}, "
            "{name: rsi, params: {periodz: [9]}}]",
            "features.generators[3].params.periodz",
        ),
    ],
)
def test_unknown_generator_or_parameter_exits_2_naming_the_key(
    tmp_path: Path, override: str, key: str
) -> None:
    store = RunStore(tmp_path)
    write_parquet_atomic(store.candles_path("BTCUSDT"), to_arrow(synthetic(300)))
    args = ["features", "--run-dir", str(tmp_path), "--set", "data.symbols=[BTCUSDT]"]
    result = runner.invoke(app, [*args, "--set", override])
    assert result.exit_code == 2
    assert key in result.output.replace("\n", "")
    assert not store.features_dir().joinpath("metadata.json").exists()


def test_every_profile_is_valid_config() -> None:
    for profile in ("tiny", "small", "full"):
        plan = make_plan(plan_spec(load_config(None, (), [f"features.profile={profile}"])))
        names = [c.feature for c in plan.columns]
        assert len(names) == len(set(names))
        assert all("target" not in n for n in names)


def test_the_full_profile_has_no_look_ahead() -> None:
    """Every parameter the production profile uses (kama, wma, long windows, transforms, 4h, 1d)."""
    frame = synthetic(2000)
    plan = make_plan(plan_spec(load_config(None, (), ["features.profile=full"])))
    full = compute.columns_frame(plan.columns, frame, HOUR)
    assert len(full) >= 4500
    m = 1234
    head = compute.columns_frame(plan.columns, frame.iloc[:m].reset_index(drop=True), HOUR)
    leaks = [n for n, v in full.items() if not same(head[n], v[:m])]
    assert not leaks, f"{len(leaks)} columns read bars after {m}: {leaks[:5]}"
