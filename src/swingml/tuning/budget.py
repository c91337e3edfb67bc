"""Budget accounting across the four tuning stages (SPEC §8): shares plus carried-over budget.

The budget is wall seconds (``tuning.budget_unit: minutes``) or trials (``trials``); the rules are
the same in both units. Stage ``i`` may spend its share of the total plus whatever the stages
before it left unused; the unused part passes on. An overrun passes on too, as a debt the next
stages pay from their shares (never below zero), so the stages together stay within the total:
stage 1 may borrow to screen every variant once (see ``StageSpec.may_borrow``). Pure arithmetic,
so it is tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
