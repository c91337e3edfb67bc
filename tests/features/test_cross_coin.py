"""Relational cross-coin features: names, alignment on a common grid, formulas."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from swingml.features import cross_coin
from swingml.features.timeframes import timestamps_ms

CandleMaker = Callable[..., pd.DataFrame]
HOUR_MS = 3_600_000


def _series(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return timestamps_ms(frame), frame["close"].to_numpy(np.float64)


def test_names_follow_the_documented_scheme() -> None:
    params = cross_coin.CrossParams(windows=(48,), horizons=(1,), z_windows=(168,))
    names = [o.output.name for o in cross_coin.outputs(["BTCUSDT", "ETHUSDT", "SOLUSDT"], params)]
    assert names[:5] == [
        "BTC_ETH__corr_48",
        "BTC_ETH__beta_48",
        "ETH_BTC__beta_48",
        "BTC_ETH__spread_1",
        "BTC_ETH__ratio_z_168",
    ]
    assert len(names) == 3 * 5


def test_correlation_and_beta_match_pandas(candles: CandleMaker) -> None:
    a, b = candles(400, 1), candles(400, 2)
    params = cross_coin.CrossParams(windows=(48,), horizons=(24,), z_windows=())
    stamps, out = cross_coin.compute(
        {"BTCUSDT": _series(a), "ETHUSDT": _series(b)}, HOUR_MS, params
    )
    ra = np.log(a["close"]).diff()
    rb = np.log(b["close"]).diff()
    corr = ra.rolling(48).corr(rb).to_numpy()
    beta = (ra.rolling(48).cov(rb) / rb.rolling(48).var()).to_numpy()
    np.testing.assert_allclose(out["BTC_ETH__corr_48"][60:], corr[60:], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["BTC_ETH__beta_48"][60:], beta[60:], rtol=1e-4, atol=1e-6)
    spread = np.log(a["close"]).diff(24) - np.log(b["close"]).diff(24)
    np.testing.assert_allclose(out["BTC_ETH__spread_24"], spread.to_numpy(), rtol=1e-5)
    assert len(stamps) == 400


def test_a_missing_bar_is_nan_not_a_longer_return(candles: CandleMaker) -> None:
    a = candles(300, 1)
    b = candles(300, 2, gaps=((100, 1),))
    late = candles(300, 3).iloc[150:]
    params = cross_coin.CrossParams(windows=(10,), horizons=(1,), z_windows=())
    series = {"BTCUSDT": _series(a), "ETHUSDT": _series(b), "SOLUSDT": _series(late)}
    stamps, out = cross_coin.compute(series, HOUR_MS, params)
    assert len(stamps) == 300  # the union of the three coins' bars
    spread = out["BTC_ETH__spread_1"]
    assert np.isnan(spread[100]) and np.isnan(spread[101]) and np.isfinite(spread[102])
    corr = out["BTC_ETH__corr_10"]
    assert np.isnan(corr[100:111]).all() and np.isfinite(corr[111])
    assert np.isnan(out["BTC_SOL__corr_10"][:160]).all()
