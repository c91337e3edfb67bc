"""Errors a user can meet: bad input (exit 2) and a failed stage (exit 1).

A ``BadInputError`` always names where the problem is (file, row or key), the rule that failed and
how to fix it, so the CLI can print it without a traceback.
"""

from __future__ import annotations


class SwingmlError(Exception):
    """Base class of every error swingml raises on purpose."""


class BadInputError(SwingmlError):
    """Input data or configuration breaks a rule; the CLI exits with code 2.

    ``where`` is the file (and row) or the config key; ``rule`` is what must hold; ``fix`` says what
    the user can do about it.
    """

    def __init__(self, where: str, rule: str, fix: str = "") -> None:
        self.where = where
        self.rule = rule
        self.fix = fix
        message = f"{where}: {rule}"
        if fix:
            message += f" (fix: {fix})"
        super().__init__(message)


class StageFailedError(SwingmlError):
    """A stage failed as a whole (for example, too many of its tasks failed); exit code 1."""
