"""Optuna storage that is safe for parallel workers and survives a kill.

Each study has its own journal file (``tuning/studies/stage<N>/<model>.log``), so parallel workers
never share one; an RDB URL (``tuning.storage``) serves shared profiles instead. A study is
re-opened with ``load_if_exists``: finished trials count toward its cap, and a trial left RUNNING
by a killed worker is marked failed (no other process ever runs that study).
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


def storage_for(path: Path | None, url: str | None) -> optuna.storages.BaseStorage | str:
    """A journal file at ``path`` or, if given, the RDB ``url``."""
    if url:
        return url
    if path is None:
        raise ValueError("a journal path or a storage URL is needed")
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def open_study(
    storage: optuna.storages.BaseStorage | str,
    name: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create or resume a maximising study; stale RUNNING trials become FAIL.

    A stale trial that was enqueued (a stage's starting point) is enqueued again, so the resumed
    study still starts from it, as the uninterrupted study did.
    """
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=sampler,
        pruner=pruner,
        direction="maximize",
        load_if_exists=True,
    )
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        enqueued = trial.system_attrs.get("fixed_params")
        if enqueued:
            study.enqueue_trial(dict(enqueued))
    return study


def finished_trials(study: optuna.Study) -> int:
    """Trials that count toward the cap: completed and pruned ones."""
    return len(study.get_trials(deepcopy=False, states=DONE_STATES))
