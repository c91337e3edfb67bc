"""The ``--follow`` loop: one cycle after each bar close (plus a delay), until SIGTERM.

A cycle that fails is reported and the loop goes on with the next one (the next cycle retries
what the failed one did not finish: every step is idempotent). SIGTERM and SIGINT only set a
flag: a running cycle finishes its writes, and the loop stops before the next one.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from types import FrameType
from typing import Any

import pandas as pd
from rich.console import Console

from swingml.config import InferenceConfig
from swingml.config.learning import RetrainConfig


def next_wake(now_s: float, interval_s: int, delay_s: float) -> float:
    """The next bar close after ``now_s`` plus ``delay_s`` (epoch seconds)."""
    close = (int(now_s - delay_s) // interval_s + 1) * interval_s
    return close + delay_s


def follow_loop(
    cycle: Callable[[], None],
    interval_s: int,
    section: InferenceConfig,
    console: Console,
    clock: Callable[[], float] = time.time,
) -> int:
    """Run ``cycle`` now and then at each wake-up until stopped; return the cycles run.

    A wake-up is ``inference.follow_delay_s`` after each bar close, or every
    ``inference.poll_s`` when set; ``inference.max_cycles`` stops the loop after that many.
    """
    delay_s, poll_s, max_cycles = section.follow_delay_s, section.poll_s, section.max_cycles
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        console.print(f"signal {signal.Signals(signum).name}: stopping after the current cycle")
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    done = 0
    try:
        while not stop.is_set():
            try:
                cycle()
            except Exception as exc:  # a failed cycle never ends the service
                console.print(f"[red]cycle failed[/red]: {exc}; next cycle at the next wake-up")
            done += 1
            if max_cycles is not None and done >= max_cycles:
                break
            now = clock()
            wake = now + poll_s if poll_s is not None else next_wake(now, interval_s, delay_s)
            stop.wait(max(wake - now, 0.0))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(f"predict live --follow: stopped after {done} cycle(s)")
    return done


def retrain_due(stages: Mapping[str, Mapping[str, Any]], every: str, now: datetime) -> bool:
    """True when the run's last ``train`` or ``retrain`` finished ``every`` or longer before
    ``now`` (``summary.json``'s stage entries), or neither records when it finished."""
    finished = [
        datetime.fromisoformat(str(stages[name]["finished_at"]))
        for name in ("train", "retrain")
        if stages.get(name, {}).get("finished_at")
    ]
    return not finished or now - max(finished) >= pd.Timedelta(every).to_pytimedelta()


def retrain_reason(
    stages: Mapping[str, Mapping[str, Any]], section: RetrainConfig, alert: bool, now: datetime
) -> str | None:
    """Why a ``--follow`` cycle retrains now (``retrain.on_drift`` with a drift ``alert``, or
    ``retrain.every`` passed since the last (re)train), or None when it does not."""
    if not (retrain_due(stages, section.every, now) or (section.on_drift and alert)):
        return None
    return "drift alert" if section.on_drift and alert else f"every {section.every}"
