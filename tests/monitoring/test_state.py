"""What a monitoring step publishes (``monitoring.state``, ``monitoring.prometheus``) and the live
rows it reads (``monitoring.live_rows``): pure, without a run."""

from __future__ import annotations

import pandas as pd
from prometheus_client import generate_latest

from swingml.monitoring.assess import ModelFigures
from swingml.monitoring.live_rows import drift_window, stored_labels, unresolved
from swingml.monitoring.prometheus import metrics_registry
from swingml.monitoring.state import history_rows, latest_state, operational_figures, status_of

NOW = pd.Timestamp("2026-03-01T12:00:00", tz="UTC")


def _figures(name: str, status: str) -> ModelFigures:
    return ModelFigures(
        name, "2", 40, status, {"f": 0.3}, {"f": 0.2}, [], ["f"], {"p_neither": 0.1}
    )


def test_the_status_is_the_worst_model_or_an_alert_on_a_stall_or_a_stale_champion() -> None:
    assert status_of({}, {}) == "ok"
    assert status_of({"a": {"status": "warn"}, "b": {"status": "insufficient"}}, {}) == "warn"
    assert status_of({"a": {"status": "ok"}}, {"stalled_symbols": ["X"]}) == "alert"
    assert status_of({}, {"stale_champions": ["a"]}) == "alert"


def test_latest_keeps_served_models_and_replaces_the_refreshed_ones() -> None:
    old = {"models": {"a": {"status": "alert"}, "b": {"status": "ok"}, "gone": {"status": "ok"}}}
    latest = latest_state(NOW, old, {"b": _figures("b", "warn")}, {}, ["a", "b"])
    assert list(latest) == ["time", "models", "operational", "status"]
    assert list(latest["models"]) == ["a", "b"] and latest["models"]["b"]["status"] == "warn"
    assert latest["status"] == "alert" and latest["time"] == NOW.isoformat()


def test_history_has_a_row_per_figure_and_operational_value() -> None:
    details = {"cycle_s": 0.5, "failures": 0, "new_bars": 3, "symbols": {"X": {"bars_behind": 1}}}
    operational = operational_figures(details)
    assert operational["bars_behind"] == {"X": 1} and operational["stalled_symbols"] == []
    frame = history_rows(NOW, {"b": _figures("b", "alert")}, operational)
    assert list(frame.columns) == ["time", "model", "version", "metric", "name", "value"]
    assert frame["metric"].tolist() == [
        "rows", "max_feature_psi", "max_feature_ks", "features_alert", "prediction_psi",
        "feature_psi", "feature_ks", "bars_behind", "cycle_s", "failures", "new_bars",
    ]  # fmt: skip


def test_the_gauges_hold_the_status_models_and_operational_figures() -> None:
    latest = latest_state(NOW, {}, {"b": _figures("b", "alert")}, {"new_bars": 3}, ["b"])
    text = generate_latest(metrics_registry(latest)).decode()
    assert "swingml_monitor_status 2.0" in text
    assert 'swingml_max_feature_psi{model="b"} 0.3' in text
    assert 'swingml_features_alerting{model="b"} 1.0' in text
    assert "swingml_live_new_bars 3.0" in text and "swingml_live_cycle_s" not in text


def _inputs(version: str, hours: list[int]) -> pd.DataFrame:
    stamps = pd.to_datetime([NOW + pd.Timedelta(hours=h) for h in hours], utc=True)
    return pd.DataFrame({"timestamp": stamps, "version": version, "f": [float(h) for h in hours]})


def test_the_drift_window_keeps_the_first_row_per_version_and_bar_and_the_last_rows() -> None:
    window = drift_window(None, _inputs("1", [0, 1]), 3)
    window = drift_window(window, _inputs("1", [1, 2, 3]), 3)
    assert window["f"].tolist() == [1.0, 2.0, 3.0]
    other = _inputs("2", [4]).rename(columns={"f": "g"})
    assert drift_window(window, other, 3)["g"].tolist() == [4.0]  # other inputs: a new window


def test_rows_without_a_label_are_unresolved() -> None:
    rows = pd.DataFrame({"label": pd.array([1, None], dtype="Int8")})
    assert unresolved(rows) and not unresolved(rows.iloc[:1]) and not unresolved(rows.iloc[:0])
    assert stored_labels(rows).dtype == "Int8"
