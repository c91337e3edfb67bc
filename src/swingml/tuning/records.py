"""The tuning ledger files of a run: the budget ledger and the trials each study ran.

``tuning/budget.json`` carries what each stage was granted and charged; ``tuning/trials.json``
the trials each study of a stage ran under the stage's key, so that a resumed run under a minutes
budget replays exactly those counts (stage 1, a screen, is never replayed and not recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from swingml.io.store import RunStore, read_json, write_json_atomic


def read_ledger(store: RunStore) -> dict[str, Any]:
    """``tuning/budget.json``: what each stage was granted and spent (empty before stage 1)."""
    path = store.dataset("tune_ledger")
    data: dict[str, Any] = read_json(path) if path.is_file() else {}
    data.setdefault("stages", {})
    return data


def replay(store: RunStore, number: int, key: str) -> dict[str, int]:
    """The counts the tasks of this stage ran when the same stage (same key) ran before."""
    path = store.dataset("tune_trials")
    recorded = read_json(path).get(f"stage{number}", {}) if path.is_file() else {}
    if recorded.get("key") != key:
        return {}
    return {str(m): int(n) for m, n in recorded.get("counts", {}).items()}


def record(store: RunStore, number: int, key: str, counts: Mapping[str, int]) -> None:
    """Record the trials the studies of stage ``number`` (run under ``key``) ran, for a re-run."""
    path = store.dataset("tune_trials")
    data: dict[str, Any] = read_json(path) if path.is_file() else {}
    data[f"stage{number}"] = {"key": key, "counts": dict(sorted(counts.items()))}
    write_json_atomic(path, data)
