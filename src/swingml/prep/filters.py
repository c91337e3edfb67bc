"""The label-free feature filters of SPEC §5, one scikit-learn-style selector per rule.

Each selector stores its parameters in ``__init__`` untouched, learns one statistic per feature in
``fit`` (on the rows it is given: the caller passes development rows only), keeps it in ``stat_``
and the kept-feature mask in ``support_``; ``get_support()``, ``transform()`` and
``get_feature_names_out()`` come from scikit-learn's ``SelectorMixin``. Thresholds are inclusive:
a feature exactly at the limit is kept. NaN and ±inf are accepted everywhere (they are the point).

"Missing" and "NaN" are two different questions (docs/decisions.md, ``## prep``): *missing* is any
value a tree cannot split on (NaN for any reason, or ±inf); *NaN* counts only the NaN on rows where
the feature's source coin has a bar, i.e. values its generator failed to compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from swingml.prep import correlation, stats

_TOLERANCE = 1e-12
"""Slack on threshold comparisons so that 7/10 counts as exactly 70 %."""


@dataclass(frozen=True)
class FilterReport:
    """What one filter did: rule, threshold, how many features it dropped, and a few of them."""

    rule: str
    reason: str
    threshold: float
    features_in: int
    dropped: int
    examples: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``prep/report.json``."""
        return {
            "rule": self.rule,
            "reason": self.reason,
            "threshold": self.threshold,
            "features_in": self.features_in,
            "dropped": self.dropped,
            "features_out": self.features_in - self.dropped,
            "examples": [dict(example) for example in self.examples],
        }


class ColumnFilter(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """A filter that scores each feature on its own and keeps those on the right side of a limit.

    Subclasses set ``rule`` and ``reason``, implement ``_statistic`` (feature-major array → one
    value per feature) and ``_keeps`` (statistic → kept mask).
    """

    rule: ClassVar[str] = ""
    reason: ClassVar[str] = ""

    stat_: npt.NDArray[np.float64]
    support_: npt.NDArray[np.bool_]

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Self:
        """Score every feature of ``X`` (rows x features); ``y`` is ignored (label-free)."""
        self._check_params()
        values = self._validated(X)
        self.stat_ = self._statistic(values, **fit_params)
        self.support_ = self._keeps(self.stat_)
        return self

    def _validated(self, X: Any) -> stats.FloatArray:
        """Check ``X``, record ``n_features_in_`` (and names); return a feature-major view."""
        matrix = validate_data(
            self,
            X,
            dtype=[np.float32, np.float64],
            ensure_all_finite=False,
            ensure_min_samples=1,
            reset=True,
        )
        values: stats.FloatArray = np.asarray(matrix).T
        return values

    def _check_params(self) -> None:
        """Raise ``ValueError`` naming the parameter when its value is out of range."""

    def _statistic(self, values: stats.FloatArray, **fit_params: Any) -> npt.NDArray[np.float64]:
        raise NotImplementedError

    def _keeps(self, stat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        raise NotImplementedError

    def _get_support_mask(self) -> npt.NDArray[np.bool_]:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def limit(self) -> float:
        """The limit this filter applies (for reports)."""
        raise NotImplementedError

    def report(self, limit: int = 10) -> FilterReport:
        """Dropped count and the first ``limit`` dropped features (input order) with their score."""
        check_is_fitted(self, "support_")
        names = self.feature_names()
        dropped = np.flatnonzero(~self.support_)
        examples = tuple(
            {"feature": names[i], "value": round(float(self.stat_[i]), 6)} for i in dropped[:limit]
        )
        return FilterReport(
            self.rule,
            self.reason,
            self.limit(),
            len(names),
            len(dropped),
            examples,
        )

    def feature_names(self) -> list[str]:
        """The input feature names (``x0``, ``x1``, … for arrays without names)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [f"x{i}" for i in range(self.n_features_in_)]
        return [str(name) for name in names]


def _fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


class MissingFilter(ColumnFilter):
    """Drop features with more than ``max_fraction`` missing values (NaN or ±inf, any cause)."""

    rule = "missing"
    reason = "more than max_missing of the development rows are NaN or ±inf"

    def __init__(self, max_fraction: float = 0.70) -> None:
        self.max_fraction = max_fraction

    def _check_params(self) -> None:
        _fraction("max_fraction", self.max_fraction)

    def _statistic(self, values: stats.FloatArray, **fit_params: Any) -> npt.NDArray[np.float64]:
        return stats.missing_fraction(values)

    def _keeps(self, stat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(stat <= self.max_fraction + _TOLERANCE)

    def limit(self) -> float:
        return float(self.max_fraction)


class NanFilter(ColumnFilter):
    """Drop features that are NaN on more than ``max_fraction`` of the rows their coin has a bar.

    ``fit(X, present=mask)`` takes a boolean mask of ``X``'s shape, True where the feature's
    source coin has a bar; without it every row counts. Absent bars and ±inf are the
    ``MissingFilter``'s business, not this one's.
    """

    rule = "nan"
    reason = "NaN on more than max_nan of the rows where the source coin has a bar"

    def __init__(self, max_fraction: float = 0.90) -> None:
        self.max_fraction = max_fraction

    def _check_params(self) -> None:
        _fraction("max_fraction", self.max_fraction)

    def _statistic(self, values: stats.FloatArray, **fit_params: Any) -> npt.NDArray[np.float64]:
        present = fit_params.get("present")
        mask = None if present is None else np.asarray(present, dtype=np.bool_).T
        return stats.nan_fraction(values, mask)

    def _keeps(self, stat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(stat <= self.max_fraction + _TOLERANCE)

    def limit(self) -> float:
        return float(self.max_fraction)


class QuasiConstantFilter(ColumnFilter):
    """Drop features where one value holds more than ``max_fraction`` of the finite values."""

    rule = "quasi_constant"
    reason = "one value holds more than max_single_value of the finite values"

    def __init__(self, max_fraction: float = 0.95) -> None:
        self.max_fraction = max_fraction

    def _check_params(self) -> None:
        _fraction("max_fraction", self.max_fraction)

    def _statistic(self, values: stats.FloatArray, **fit_params: Any) -> npt.NDArray[np.float64]:
        return stats.top_value_share(values)

    def _keeps(self, stat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(stat <= self.max_fraction + _TOLERANCE)

    def limit(self) -> float:
        return float(self.max_fraction)


class LowVarianceFilter(ColumnFilter):
    """Drop features whose scale-free variance is below ``min_variance``.

    The score is ``var(x) / mean(|x|)²`` over the finite values (``stats.relative_variance``):
    multiplying a feature by a constant leaves it unchanged, so BTC prices and SOL prices, 10⁴
    apart, meet the same bar. Features exactly at the limit are kept.
    """

    rule = "low_variance"
    reason = "var(x) / mean(|x|)^2 below min_variance (scale-free; all-zero scores 0)"

    def __init__(self, min_variance: float = 1e-6) -> None:
        self.min_variance = min_variance

    def _check_params(self) -> None:
        if not self.min_variance >= 0.0:
            raise ValueError(f"min_variance must be >= 0, got {self.min_variance!r}")

    def _statistic(self, values: stats.FloatArray, **fit_params: Any) -> npt.NDArray[np.float64]:
        return stats.relative_variance(values)

    def _keeps(self, stat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(stat >= self.min_variance * (1.0 - _TOLERANCE))

    def limit(self) -> float:
        return float(self.min_variance)


class CorrelationFilter(ColumnFilter):
    """Of every pair with ``|Pearson r| > threshold``, keep one (SPEC §5).

    Keep rule, deterministic: features are visited by fewer missing values, then earlier name;
    each is dropped if it correlates above the threshold with one already kept. Works in blocks of
    ``block_columns`` features in float32 (``correlation.decorrelate``). ``stat_`` holds the
    missing count per feature; ``partner_`` maps each dropped feature to its kept partner and |r|.
    """

    rule = "correlation"
    reason = (
        "|Pearson r| above max_correlation with a kept feature (fewer missing, then name, wins)"
    )

    partner_: dict[str, tuple[str, float]]

    def __init__(self, threshold: float = 0.90, block_columns: int = 1024) -> None:
        self.threshold = threshold
        self.block_columns = block_columns

    def _check_params(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        if self.block_columns < 1:
            raise ValueError(f"block_columns must be >= 1, got {self.block_columns!r}")

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Self:
        """Find the kept set on ``X`` (rows x features); ``y`` is ignored (label-free)."""
        self._check_params()
        work = np.array(self._validated(X), dtype=np.float32, order="C")
        names = self.feature_names()
        missing = correlation.standardize_rows(work)
        order = correlation.keep_order(missing, names)
        result = correlation.decorrelate(work, order, self.threshold, self.block_columns)
        self.stat_ = missing.astype(np.float64)
        self.support_ = result.keep
        self.partner_ = {
            names[i]: (names[int(result.partner[i])], round(float(result.partner_r[i]), 6))
            for i in np.flatnonzero(~result.keep)
        }
        return self

    def limit(self) -> float:
        return float(self.threshold)

    def report(self, limit: int = 10) -> FilterReport:
        """Dropped count and the first ``limit`` dropped features, each with its kept partner."""
        base = super().report(limit)
        examples = tuple(
            {
                "feature": ex["feature"],
                "partner": self.partner_[ex["feature"]][0],
                "abs_r": self.partner_[ex["feature"]][1],
            }
            for ex in base.examples
        )
        return FilterReport(
            base.rule, base.reason, base.threshold, base.features_in, base.dropped, examples
        )
