"""The live schedule: a cron line from ``data.interval`` and ``inference.cadence_bars``.

Live inference runs once every ``interval x cadence_bars``, one minute after a bar closes, so the
bar it reads is closed on the exchange (Binance closes bars on UTC boundaries).
"""

from __future__ import annotations

from swingml.config import Config
from swingml.config.data import INTERVALS
from swingml.errors import BadInputError

CLOSE_DELAY_MIN = 1


def live_cron(interval: str, cadence_bars: int) -> str:
    """Cron (UTC) firing ``CLOSE_DELAY_MIN`` minutes after every ``cadence_bars``-th bar close."""
    period_s = INTERVALS[interval] * cadence_bars
    if period_s % 60:
        raise BadInputError(
            "key inference.cadence_bars", "the live period must be whole minutes", ""
        )
    minutes = period_s // 60
    delay = CLOSE_DELAY_MIN
    if minutes < 60 and 60 % minutes == 0:
        return f"{delay}-59/{minutes} * * * *" if minutes > 1 else "* * * * *"
    if minutes % 60 == 0 and minutes < 24 * 60 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        return f"{delay} */{hours} * * *" if hours > 1 else f"{delay} * * * *"
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{delay} 0 */{days} * *" if days > 1 else f"{delay} 0 * * *"
    raise BadInputError(
        f"keys data.interval ({interval}) and inference.cadence_bars ({cadence_bars})",
        f"a live period of {minutes} min does not divide an hour or a day, so cron cannot say it",
        "choose a cadence whose period divides 60 min or 24 h",
    )


def config_cron(config: Config) -> str:
    """The live schedule of ``config``."""
    return live_cron(config.data.interval, config.inference.cadence_bars)


RETRAIN_MINUTE = 10
"""Retrains start ten minutes after the hour, clear of the live schedule's minute."""


def retrain_cron(every: str) -> str:
    """Cron (UTC) for a retrain every ``every`` (``retrain.every``): whole hours dividing a day,
    or whole days (``*/N`` day-of-month, so the count restarts each month)."""
    import pandas as pd

    minutes = int(pd.Timedelta(every).total_seconds() // 60)
    if minutes % 60 == 0 and minutes < 24 * 60 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        return f"{RETRAIN_MINUTE} */{hours} * * *" if hours > 1 else f"{RETRAIN_MINUTE} * * * *"
    if minutes % (24 * 60) == 0 and minutes // (24 * 60) <= 31:
        days = minutes // (24 * 60)
        return f"{RETRAIN_MINUTE} 0 */{days} * *" if days > 1 else f"{RETRAIN_MINUTE} 0 * * *"
    raise BadInputError(
        f"key retrain.every ({every})",
        "cron can say whole hours that divide a day, or 1 to 31 whole days",
        "choose such a period (for example 6h, 7D or 30D)",
    )
