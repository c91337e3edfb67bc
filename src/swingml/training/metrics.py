"""Scores of a multiclass model (SPEC §8): macro average precision over the classes present.

Average precision is computed in numpy with scikit-learn's definition (steps at distinct scores,
``sum (R_n - R_{n-1}) P_n``) because it runs thousands of times per tuning stage; a test proves it
equals ``sklearn.metrics.average_precision_score``.
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 3


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    """Average precision of ``score`` ranking the rows where ``positive`` is true.

    NaN when no row is positive (AP is undefined there).
    """
    y = np.asarray(positive, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores: one precision/recall point per distinct threshold
    ends = np.flatnonzero(np.diff(s_sorted) != 0.0)
    ends = np.append(ends, len(s_sorted) - 1)
    tps = np.cumsum(y_sorted)[ends].astype(np.float64)
    precision = tps / (ends + 1.0)
    recall = tps / n_pos
    gains = np.diff(np.concatenate(([0.0], recall)))
    return float(np.sum(gains * precision))


def present_classes(y: np.ndarray) -> list[int]:
    """The classes (0, 1, 2) that occur in ``y``, in order."""
    labels = np.asarray(y)
    return [c for c in range(NUM_CLASSES) if bool(np.any(labels == c))]


def per_class_ap(y: np.ndarray, proba: np.ndarray) -> dict[int, float]:
    """AP of each present class ``c``: ``AP(y == c, proba[:, c])``."""
    labels = np.asarray(y)
    p = np.asarray(proba, dtype=np.float64)
    return {c: average_precision(labels == c, p[:, c]) for c in present_classes(labels)}


def macro_ap(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean AP over the classes present in ``y`` (NaN for no rows)."""
    scores = per_class_ap(y, proba)
    if not scores:
        return float("nan")
    return float(np.mean(list(scores.values())))


def minority_rows(y: np.ndarray) -> int:
    """Rows outside the most frequent class: how much evidence an AP estimate rests on."""
    labels = np.asarray(y, dtype=np.int64)
    if len(labels) == 0:
        return 0
    return int(len(labels) - np.bincount(labels, minlength=NUM_CLASSES).max())


def prior_macro_ap(y: np.ndarray) -> float:
    """Macro AP of the class-prior baseline on ``y``: the mean positive rate of the present classes.

    A constant score ranks nothing, so each class's AP is its positive rate; the mean over the
    present classes is ``1 / (number of classes present)``. This is the bar a model must clear.
    """
    labels = np.asarray(y)
    present = present_classes(labels)
    if not present:
        return float("nan")
    return float(np.mean([np.mean(labels == c) for c in present]))


def random_ranking_ap(n_rows: int, n_positive: int) -> float:
    """Expected AP of a uniformly random ranking of ``n_rows`` rows, ``n_positive`` positive.

    Exact: ``(H_n + (P - 1)(n - H_n) / (n - 1)) / n`` with ``H_n`` the n-th harmonic number (the
    row at rank r is positive with probability P / n, and the top r then hold on average
    ``1 + (r - 1)(P - 1) / (n - 1)`` positives). On small samples it is well above the positive
    rate (one positive in 40 rows: 0.107 against 0.025), so a model whose scores carry no
    information still "beats" the class prior there; this is the bar that separates skill from
    luck. NaN when no row is positive.
    """
    if n_positive <= 0 or n_rows <= 0:
        return float("nan")
    if n_positive > n_rows:
        raise ValueError(f"{n_positive} positives in {n_rows} rows")
    if n_rows == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, n_rows + 1)))
    return (harmonic + (n_positive - 1) * (n_rows - harmonic) / (n_rows - 1)) / n_rows


def random_macro_ap(y: np.ndarray) -> float:
    """Expected macro AP of random scores on ``y``: :func:`random_ranking_ap` per present class."""
    labels = np.asarray(y)
    present = present_classes(labels)
    if not present:
        return float("nan")
    n = len(labels)
    return float(np.mean([random_ranking_ap(n, int(np.sum(labels == c))) for c in present]))


def class_prior_proba(train_y: np.ndarray, n_rows: int) -> np.ndarray:
    """The class-prior baseline: every row gets the training class frequencies."""
    counts = np.bincount(np.asarray(train_y, dtype=np.int64), minlength=NUM_CLASSES)
    total = max(int(counts.sum()), 1)
    return np.tile(counts / total, (n_rows, 1))
