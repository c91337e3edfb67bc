"""When ``predict live --follow`` retrains: ``retrain.every`` after the last (re)train, or on a
drift alert with ``retrain.on_drift``."""

from __future__ import annotations

from datetime import UTC, datetime

from swingml.config.learning import RetrainConfig
from swingml.inference.follow import retrain_due, retrain_reason

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_retrain_is_due_every_period_after_the_last_train_or_retrain() -> None:
    trained = {"train": {"finished_at": "2026-01-01T00:00:00+00:00"}}
    assert retrain_due(trained, "30D", NOW)
    assert not retrain_due(trained, "90D", NOW)
    recent = {**trained, "retrain": {"finished_at": "2026-02-20T00:00:00+00:00"}}
    assert not retrain_due(recent, "30D", NOW)
    assert retrain_due(recent, "7D", NOW)
    assert retrain_due({}, "30D", NOW)  # nothing records when it trained


def test_the_reason_to_retrain_names_the_drift_alert_or_the_period() -> None:
    trained = {"train": {"finished_at": "2026-02-25T00:00:00+00:00"}}
    both = RetrainConfig(every="30D", in_follow=True, on_drift=True)
    assert retrain_reason(trained, both, False, NOW) is None
    assert retrain_reason(trained, both, True, NOW) == "drift alert"
    assert retrain_reason({}, both, False, NOW) == "every 30D"
    period_only = RetrainConfig(every="30D", in_follow=True)
    assert retrain_reason(trained, period_only, True, NOW) is None
