"""Hold-out skill of one champion: lift over a random ranking with a bootstrap interval, and curves.

Hold-outs of 25-30 events are common for 50-bar windows, so a lift means little without its
interval. The bootstrap resamples hold-out events with replacement; each resample scores the
model's macro AP against the expected AP of a random ranking *of that resample*
(``training.metrics.random_ranking_ap``). A resample is a vector of row counts over the original
rows ranked once by score, so all ``B`` resamples of a class are scored in one pass of cumulative
sums: the same steps as ``training.metrics.average_precision``, weighted.

The resampled lifts are centred on the hold-out's lift before their percentiles are read. A
resample repeats events, and the copies of an event share its score, so they sit together in any
ranking; that clustering lifts the AP of every ranking, a random one included, above the
expected AP of a random ranking of distinct events (by ~0.03 at 30 events). Left in, that offset
showed skill on 8-11 % of skill-free hold-outs against a nominal 5 %; centred (and widened for
the sample size), on 3.0-5.0 % at 20 to 200 events (``benchmarks/bench_skill.py``,
``docs/benchmarks/report.md``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from swingml.training.metrics import NUM_CLASSES, random_ranking_ap

BOOTSTRAP_SAMPLES = 1000
MIN_SAMPLES = 200
WORK = 200_000
"""Resamples x rows per champion; hold-outs over 200 events get fewer resamples (never < 200)."""
INTERVAL = 0.90
CALIBRATION_BINS = 5


@dataclass(frozen=True)
class LiftInterval:
    """Macro-AP lift over the random ranking: point estimate and bootstrap interval."""

    lift: float
    low: float
    high: float
    samples: int

    @property
    def demonstrated(self) -> bool:
        """True when the whole interval lies above zero."""
        return bool(np.isfinite(self.low) and self.low > 0.0)


def weighted_ap(counts: np.ndarray, positive: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AP of ``score`` for ``positive`` on each resample (row ``b`` of ``counts``); NaN if none.

    ``counts[b, i]`` is how often row ``i`` is drawn in resample ``b``. Equals
    ``average_precision`` on the rows repeated by their counts (tied scores form one step).
    """
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    s_sorted = np.asarray(score, dtype=np.float64)[order]
    ends = np.append(np.flatnonzero(np.diff(s_sorted) != 0.0), len(s_sorted) - 1)
    w = counts[:, order]
    tied = len(ends) < len(order)
    return ranked_ap(w, w * np.asarray(positive, dtype=bool)[order], ends if tied else None)


def ranked_ap(w: np.ndarray, hits: np.ndarray, ends: np.ndarray | None = None) -> np.ndarray:
    """AP of each row of ranked row counts ``w`` whose positive counts are ``hits``; NaN if none.

    ``ends`` are the last columns of each run of tied scores (every column when None). AP is
    ``sum(new positives of a step x precision at it) / positives``, in integer counts until the
    last division.
    """
    tps = np.cumsum(hits, axis=1, dtype=np.int32)  # counts: exact
    seen = np.cumsum(w, axis=1, dtype=np.int32)
    if ends is None:
        steps = hits
    else:
        tps, seen = tps[:, ends], seen[:, ends]
        steps = np.diff(tps, axis=1, prepend=0)
    n_pos = tps[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.sum(steps * (tps / np.maximum(seen, 1)), axis=1) / n_pos
    return np.where(n_pos > 0, ap, np.nan)


def resample_counts(n: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Row counts of ``samples`` bootstrap resamples of ``n`` rows, after a first row of ones
    (the hold-out itself)."""
    draws = rng.integers(0, n, size=(samples, n)) + n * np.arange(1, samples + 1)[:, None]
    counts = np.bincount(draws.ravel(), minlength=(samples + 1) * n).reshape(samples + 1, n)
    counts[0] = 1
    return counts.astype(np.int32)


def _random_ap(n_rows: int, positives: np.ndarray) -> np.ndarray:
    """``random_ranking_ap(n_rows, p)`` for each entry of ``positives`` (NaN where 0).

    That expected AP is linear in ``p`` (``training.metrics.random_ranking_ap``), so two calls
    give every value.
    """
    first = random_ranking_ap(n_rows, 1)
    slope = (random_ranking_ap(n_rows, n_rows) - first) / (n_rows - 1) if n_rows > 1 else 0.0
    return np.where(positives > 0, first + (positives - 1) * slope, np.nan)


def lift_interval(
    y: np.ndarray,
    proba: np.ndarray,
    seed: int,
    samples: int = BOOTSTRAP_SAMPLES,
    level: float = INTERVAL,
) -> LiftInterval:
    """Macro AP minus the random-ranking macro AP, with a ``level`` bootstrap range.

    The range is the percentile range of the resampled lifts centred on the hold-out's lift and
    widened for the sample size (:func:`centred_range`).
    """
    lifts = bootstrap_lifts(y, proba, seed, samples)
    if len(lifts) < 2:
        nan = float("nan")
        return LiftInterval(nan, nan, nan, 0)
    low, high = centred_range(lifts, len(y), level)
    return LiftInterval(float(lifts[0]), low, high, len(lifts) - 1)


def bootstrap_lifts(
    y: np.ndarray, proba: np.ndarray, seed: int, samples: int = BOOTSTRAP_SAMPLES
) -> np.ndarray:
    """The hold-out's lift (entry 0), then the lift of each bootstrap resample.

    Empty for no rows. Hold-outs over ``WORK // samples`` events get fewer resamples (never
    fewer than ``MIN_SAMPLES``).
    """
    labels = np.asarray(y, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    n = len(labels)
    if n == 0:
        return np.zeros(0)
    samples = min(samples, max(MIN_SAMPLES, WORK // n))
    rng = np.random.default_rng(seed)
    counts = resample_counts(n, samples, rng)
    model_ap = np.zeros((samples + 1, NUM_CLASSES))
    random_ap = np.zeros_like(model_ap)
    for c in range(NUM_CLASSES):
        positive = labels == c
        model_ap[:, c] = weighted_ap(counts, positive, p[:, c])
        random_ap[:, c] = _random_ap(n, counts @ positive.astype(np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample may lack a class
        lifts: np.ndarray = np.nanmean(model_ap, axis=1) - np.nanmean(random_ap, axis=1)
    return lifts


def centred_range(lifts: np.ndarray, events: int, level: float = INTERVAL) -> tuple[float, float]:
    """The ``level`` percentile range of the resampled lifts (``lifts[1:]``) moved so that their
    mean is the hold-out's lift (``lifts[0]``), its spread widened by ``sqrt(n / (n - 1))``.

    The bootstrap is trusted for the spread and shape of the lift, not for its centre: repeated
    events sit together in every ranking, which shifts every resample's lift upwards. Resampling
    ``n`` events also understates the spread by ``sqrt((n - 1) / n)`` (as for a mean), which
    matters at 20 events.
    """
    resampled = lifts[1:]
    tail = (1.0 - level) / 2.0
    widen = float(np.sqrt(events / (events - 1))) if events > 1 else 1.0
    deviations = np.quantile(resampled, [tail, 1.0 - tail]) - np.mean(resampled)
    low, high = lifts[0] + widen * deviations
    # a model with one score for every event has the same lift on nearly every resample, and
    # the few resamples that lack a class (lift 0) move the mean: keep the lift itself inside
    return min(float(low), float(lifts[0])), max(float(high), float(lifts[0]))


def pr_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision at each distinct threshold, from recall 0 (empty if no positive)."""
    y = np.asarray(positive, dtype=bool)
    if not y.any():
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    s_sorted = np.asarray(score, dtype=np.float64)[order]
    ends = np.append(np.flatnonzero(np.diff(s_sorted) != 0.0), len(s_sorted) - 1)
    tps = np.cumsum(y[order])[ends].astype(np.float64)
    precision = tps / (ends + 1.0)
    recall = tps / y.sum()
    return np.concatenate([[0.0], recall]), np.concatenate([[precision[0]], precision])


def confusion(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Counts ``[true class, predicted class]`` with the prediction at the arg-max probability."""
    labels = np.asarray(y, dtype=np.int64)
    predicted = np.argmax(np.asarray(proba), axis=1) if len(labels) else labels
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def calibration(
    positive: np.ndarray, score: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability curve: mean predicted probability, observed rate and rows per non-empty bin."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(positive, dtype=np.float64)
    which = np.clip((s * bins).astype(np.int64), 0, bins - 1)
    rows = np.bincount(which, minlength=bins)
    filled = rows > 0
    mean_p = np.bincount(which, weights=s, minlength=bins)[filled] / rows[filled]
    observed = np.bincount(which, weights=y, minlength=bins)[filled] / rows[filled]
    return mean_p, observed, rows[filled]
