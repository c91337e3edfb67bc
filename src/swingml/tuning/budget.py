"""Budget accounting across the four tuning stages (SPEC §8): shares plus carried-over budget.

The budget is wall seconds (``tuning.budget_unit: minutes``) or trials (``trials``); the rules are
the same in both units. Stage ``i`` may spend its share of the total plus whatever the stages
before it left unused; the unused part passes on. An overrun passes on too, as a debt the next
stages pay from their shares (never below zero), so the stages together stay within the total:
stage 1 may borrow to screen every variant once (see ``StageSpec.may_borrow``). Pure arithmetic,
so it is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StageBudget:
    """One stage's account, in the budget's unit (seconds or trials; the ``_s`` names are kept)."""

    stage: int
    share_s: float
    carried_over_s: float
    """Time left by the stages before (negative: a debt from their overrun)."""
    spent_s: float

    @property
    def budget_s(self) -> float:
        """What the stage may spend: its share plus the time carried over to it (at least 0)."""
        return max(self.share_s + self.carried_over_s, 0.0)

    @property
    def left_s(self) -> float:
        """What passes to the next stage: the share and carry left over, negative if overrun."""
        return self.share_s + self.carried_over_s - self.spent_s


def stage_shares(total_s: float, shares: Sequence[float]) -> list[float]:
    """Each stage's own share of the total, in seconds."""
    if total_s < 0:
        raise ValueError(f"total budget must be >= 0, got {total_s}")
    if any(s < 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError("shares must be non-negative and sum to 1")
    return [total_s * s for s in shares]


def account(total_s: float, shares: Sequence[float], spent: Sequence[float]) -> list[StageBudget]:
    """The accounts of the stages run so far, given what each of them spent.

    ``spent`` has one entry per stage already run (in order, at most ``len(shares)``).
    """
    if len(spent) > len(shares):
        raise ValueError("more spent entries than stages")
    own = stage_shares(total_s, shares)
    carried = 0.0
    accounts: list[StageBudget] = []
    for i, used in enumerate(spent):
        if used < 0:
            raise ValueError(f"stage {i + 1} spent a negative time")
        entry = StageBudget(i + 1, own[i], carried, float(used))
        accounts.append(entry)
        carried = entry.left_s
    return accounts


def grant(total_s: float, shares: Sequence[float], spent_before: Sequence[float]) -> StageBudget:
    """The account of the next stage (``len(spent_before) + 1``) before it spends anything."""
    stage = len(spent_before)
    if stage >= len(shares):
        raise ValueError("every stage has already run")
    own = stage_shares(total_s, shares)
    previous = account(total_s, shares, spent_before)
    carried = previous[-1].left_s if previous else 0.0
    return StageBudget(stage + 1, own[stage], carried, 0.0)


def split_trials(total: int, caps: Sequence[int]) -> list[int]:
    """``total`` trials dealt to studies in turn, one at a time, none beyond its cap.

    Every study gets at least one trial (a study that runs nothing says nothing), so the sum may
    exceed a small ``total``; the split depends on nothing but its arguments, so it replays.
    """
    counts = [1 if cap > 0 else 0 for cap in caps]
    left = max(total - sum(counts), 0)
    while left > 0:
        open_ = [i for i, cap in enumerate(caps) if counts[i] < cap]
        if not open_:
            break
        for i in open_[:left]:
            counts[i] += 1
        left -= min(len(open_), left)
    return counts


@dataclass(frozen=True)
class Grant:
    """What a stage may spend: ``limit`` seconds or trials, and the counts to replay."""

    unit: str
    limit: float
    replay: Mapping[str, int]

    @property
    def trials(self) -> bool:
        """Whether the budget is counted in trials (else wall seconds)."""
        return self.unit == "trials"


@dataclass(frozen=True)
class StageReport:
    """What one stage did, for the ledger and ``summary.json``."""

    tasks: int
    failed: int
    trials: int
    best_score: float
    models: int
    reused_tasks: int = 0
    reused_s: float = 0.0
    """Recorded wall of the reused tasks, spread over the workers: what they cost when they ran."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """The trials each study ran, by model: recorded for a re-run under a minutes budget."""


def spent(
    grant: Grant, report: StageReport, wall_s: float, previous: Mapping[str, Any], key: str
) -> float:
    """What the stage is charged: its trials, or the wall it took plus the recorded cost of the
    work it reused; a stage that reused everything is charged what it was charged before."""
    if grant.trials:
        return float(report.trials)
    if report.reused_tasks == report.tasks and previous.get("key") == key:
        return float(previous["spent_s"])
    return wall_s + report.reused_s


def deal(grant: Grant, ids: Sequence[str], caps: Sequence[int]) -> dict[str, int | None]:
    """Per task, the count it runs (None: until its deadline).

    With a trials budget, the stage's trials are dealt to the tasks in turn, none beyond its cap
    (:func:`split_trials`): the deal is a function of the budget alone, so it replays by itself.
    In minutes, a replayed count wins, else the clock decides.
    """
    if grant.trials:
        return dict(zip(ids, split_trials(int(grant.limit), caps), strict=False))
    return {m: grant.replay.get(m) for m in ids}


SLACK = 0.85
"""Share of a stage-1 slot's time the task slices add up to; the rest absorbs loading overhead."""
PER_VARIANT_COST = 50.0
"""Fixed cost of screening one variant, in events' worth of work (loading, binning, a model)."""


def screen_weight(events: Sequence[int]) -> float:
    """Expected screening work of one main variant: its variants' events plus a fixed cost each.

    Each task's time share is proportional to it, so large variants are not starved by small ones.
    """
    return float(sum(n + PER_VARIANT_COST for n in events))


def ledger_entry(
    name: str,
    unit: str,
    key: str,
    account: StageBudget,
    limit: float,
    charged: float,
    wall_s: float,
    report: StageReport,
    replayed: int,
) -> dict[str, Any]:
    """One stage's entry in ``tuning/budget.json`` (and in ``summary.json``)."""
    best = report.best_score
    return {
        "name": name,
        "unit": unit,
        "key": key,
        "budget_s": round(account.budget_s, 3),
        "limit_s": round(limit, 3),
        "share_s": round(account.share_s, 3),
        "carried_over_s": round(account.carried_over_s, 3),
        "spent_s": round(charged, 3),
        "wall_s": round(wall_s, 3),
        "reused_tasks": report.reused_tasks,
        "reused_s": round(report.reused_s, 3),
        "replayed_tasks": replayed,
        "trials": report.trials,
        "models": report.models,
        "best_score": best if best == best and abs(best) != float("inf") else None,
        "failed_tasks": report.failed,
    }


def details(unit: str, total: float, ledger: Mapping[str, Any]) -> dict[str, Any]:
    """The tune stage's ``summary.json`` keys: the budget, what was spent, each stage's entry."""
    stages = ledger.get("stages", {})
    used = sum(float(s.get("spent_s", 0.0)) for s in stages.values())
    out: dict[str, Any] = {
        "budget_unit": unit,
        "budget_s": round(total, 3),
        "spent_s": round(used, 3),
    }
    for number in sorted(stages, key=int):
        out[f"stage{number}"] = stages[number]
    return out


def total(budget: float, unit: str) -> float:
    """The whole tuning budget in its unit: seconds (minutes x 60) or trials."""
    return budget * 60.0 if unit == "minutes" else budget
