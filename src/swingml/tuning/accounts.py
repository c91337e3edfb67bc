"""One tuning stage's turn at the budget: what it is granted before it runs and charged after.

Stage ``i`` is granted its share plus what the stages before it left (``budget.grant``), read
from the ledger (``tuning/budget.json``); stage 1 may borrow beyond it. After it ran it is
charged its trials, or its wall plus the recorded cost of the work it reused, and its ledger
entry says so. Pure: the stage reads and writes the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swingml.config import TuningConfig
from swingml.tuning import budget
from swingml.tuning.budget import Grant, StageBudget, StageReport
from swingml.tuning.stages import StageSpec, shares, spec


@dataclass(frozen=True)
class Turn:
    """One stage's account before it runs, and the wall or trials it may take (``limit``)."""

    stage: StageSpec
    unit: str
    spent_before: list[float]
    account: StageBudget
    limit: float

    @classmethod
    def open(cls, tuning: TuningConfig, ledger: Mapping[str, Any], number: int) -> Turn:
        """Stage ``number``'s turn, given what the stages before it spent (``ledger``)."""
        stages = ledger["stages"]
        spent_before = [float(stages.get(str(n), {}).get("spent_s", 0.0)) for n in range(1, number)]
        total = budget.total(tuning.budget, tuning.budget_unit)
        account = budget.grant(total, shares(tuning), spent_before)
        limit = spec(number).limit_s(account.budget_s, account.share_s)
        return cls(spec(number), tuning.budget_unit, spent_before, account, limit)

    @property
    def studies(self) -> bool:
        """Whether the stage runs studies, whose trial counts are recorded for a re-run."""
        return self.stage.models != "variants"

    @property
    def replays(self) -> bool:
        """Whether a re-run repeats the recorded counts: only a study's count replays exactly
        (its finished trials), and only the clock needs it; trials deal themselves."""
        return self.unit == "minutes" and self.studies

    def grant(self, replay: Mapping[str, int]) -> Grant:
        """What the stage may spend, with the counts recorded under the same key to replay."""
        return Grant(self.unit, self.limit, replay if self.replays else {})

    def charge(
        self,
        grant: Grant,
        report: StageReport,
        wall_s: float,
        key: str,
        previous: Mapping[str, Any],
    ) -> tuple[float, dict[str, Any]]:
        """What the stage is charged (``budget.spent``) and its new ledger entry."""
        spent = budget.spent(grant, report, wall_s, previous, key)
        entry = budget.ledger_entry(
            self.stage.name,
            self.unit,
            key,
            self.account,
            self.limit,
            spent,
            wall_s,
            report,
            len(grant.replay),
        )
        return spent, entry

    def line(self, grant: Grant, report: StageReport, spent: float) -> str:
        """The console line that reports the stage."""
        what = "trial(s)" if grant.trials else "s"
        budget_s, limit = self.account.budget_s, self.limit
        return (
            f"tuning stage {self.stage.number}: {report.models} model(s), "
            f"{report.trials} trial(s), {report.reused_tasks} of {report.tasks} task(s) reused, "
            f"spent {spent:.1f} of {budget_s:.1f} {what}"
            + (f" (may borrow up to {limit:.1f})" if limit > budget_s else "")
        )


def details(tuning: TuningConfig, ledger: Mapping[str, Any]) -> dict[str, Any]:
    """The tune stage's ``summary.json`` keys (``budget.details``)."""
    unit = tuning.budget_unit
    return budget.details(unit, budget.total(tuning.budget, unit), ledger)
