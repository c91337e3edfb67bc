"""Feature drift alerts (PSI over reference quantile bins, KS) on a planted volatility change.

A random walk whose volatility triples after bar ``SHIFT``: the features that scale with volatility
must alert in every window after the change and in no window before it; the scale-free features
must never alert. On the same walk without the change, the false-alert rate over 20 seeds is
measured and reported, and must stay small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from swingml.config.services import MonitoringConfig
from swingml.monitoring.assess import feature_drift
from swingml.monitoring.drift import ks, psi, psi_of, shares, summarise
from swingml.monitoring.reference import build_reference, read_reference

BARS = 24_000
EVERY = 11  # events are sparse: a row every 11 bars (coprime with the 24 h cycle)
REFERENCE = (200, 12_000)  # the training period
SHIFT = 16_000
WINDOW = 250  # rows (2,750 bars)
STEP = 50  # rows
SHIFTED = ("vol_24", "abs_return", "range")
SCALE_FREE = ("hour", "zscore_24", "up_share_24")
CONFIG = MonitoringConfig()


def _features(seed: int, shift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sigma = np.full(BARS, 0.01)
    if shift:
        sigma[SHIFT:] = 0.03
    r = rng.standard_t(5, BARS) * sigma / np.sqrt(5 / 3)
    close = pd.Series(100 * np.exp(np.cumsum(r)))
    wick = np.abs(rng.normal(0, 1, BARS)) * sigma
    ret = pd.Series(r)
    return pd.DataFrame(
        {
            "vol_24": ret.rolling(24).std(),
            "abs_return": ret.abs(),
            "range": pd.Series(np.abs(r) + wick),
            "hour": pd.Series(np.arange(BARS) % 24, dtype=float),
            "zscore_24": (close - close.rolling(24).mean()) / close.rolling(24).std(),
            "up_share_24": (ret > 0).astype(float).rolling(24).mean(),
        }
    )


def _windows(frame: pd.DataFrame) -> list[tuple[int, int, list[str]]]:
    """(first bar, last bar, alerted features) of each sliding window of event rows after the
    reference period."""
    rows = frame.iloc[::EVERY]
    bars = rows.index.to_numpy()
    ref = rows[(bars >= REFERENCE[0]) & (bars < REFERENCE[1])]
    table = build_reference({c: ref[c].to_numpy() for c in frame.columns}, CONFIG.bins)
    refs = read_reference(table)
    live = rows[bars >= REFERENCE[1]]
    out = []
    for end in range(WINDOW, len(live) + 1, STEP):
        window = live.iloc[end - WINDOW : end]
        _, _, _, alerted = feature_drift(refs, window, CONFIG)
        out.append((int(window.index[0]), int(window.index[-1]), alerted))
    return out


def test_a_volatility_regime_change_alerts_its_features_after_the_change_only() -> None:
    windows = _windows(_features(1, shift=True))
    before = [a for _, last, a in windows if last < SHIFT]
    after = [a for first, _, a in windows if first >= SHIFT + 24]
    assert before and after
    assert all(a == [] for a in before), before
    for alerted in after:
        assert set(SHIFTED) <= set(alerted), alerted
        assert not set(SCALE_FREE) & set(alerted), alerted


def test_false_alert_rate_on_unshifted_data_over_20_seeds() -> None:
    alerted = total = 0
    for seed in range(20):
        for _, _, a in _windows(_features(100 + seed, shift=False)):
            total += 1
            alerted += bool(a)
    rate = alerted / total
    print(f"false-alert rate: {alerted}/{total} windows = {rate:.4f}")
    assert rate <= 0.02


def test_psi_and_ks_agree_with_their_definitions() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=20_000)
    same, moved = rng.normal(size=5000), rng.normal(0.5, 1, size=5000)
    summary = summarise(ref, 10)
    np.testing.assert_allclose(summary.expected[:10], 0.1, atol=1e-3)
    assert psi_of(summary, same) < 0.01 < 0.1 < psi_of(summary, moved)
    expected, actual = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.75, 0.0])
    by_hand = 0.25 * np.log(0.75 / 0.5) - 0.25 * np.log(0.25 / 0.5)
    assert abs(psi(expected, actual) - by_hand) < 1e-12
    from scipy.stats import kstest, norm

    exact = kstest(moved, norm.cdf).statistic
    assert abs(ks(summary, moved) - exact) < 0.015  # within the 101-quantile resolution
    with_nan = np.concatenate([same, np.full(5000, np.nan)])
    assert shares(with_nan, summary.edges)[-1] == 0.5  # missing values are a bin of their own
