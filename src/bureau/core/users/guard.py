"""The guard on `--disable-missing`: a file that lost most of its rows — a
truncated export, the wrong sheet, a header alone — must not disable the directory.

An import may disable at most max(ALWAYS_ALLOWED, max_percent % of the
directory's active agents, rounded down) agents: 5 % by default
(`--max-disable-percent`), and 10 whatever the size, so that a small directory
keeps working. More needs `--allow-mass-disable=N`, N the number of disables the
operator accepts: the plan must then be at most N (whatever the percentage).
A file with no agent at all disables nobody without `--allow-mass-disable`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bureau.core.users.plan import Plan
from bureau.errors import BadInput, Problem

DEFAULT_MAX_PERCENT = 5.0
ALWAYS_ALLOWED = 10
ALLOW_OPTION = "--allow-mass-disable"


@dataclass(frozen=True)
class Verdict:
    """What the guard says about one plan."""

    planned: int
    active: int
    limit: int
    allowed: int | None
    problem: Problem | None = None

    @property
    def refused(self) -> bool:
        return self.problem is not None

    def error(self) -> BadInput:
        return BadInput(
            f"refusing to disable {self.planned} of the directory's {self.active} active "
            "agent(s); nothing was changed",
            [self.problem] if self.problem else [],
        )

    def describe(self) -> list[str]:
        """For --dry-run: whether the import would go through, and how to proceed."""
        if self.problem is not None:
            return [
                "users: without --dry-run this import is REFUSED (exit 2, nothing written): "
                f"{self.problem.message}",
                f"users: to proceed: {self.problem.fix}",
            ]
        if not self.planned:
            return []
        bound = (
            f"{ALLOW_OPTION}={self.allowed}"
            if self.allowed is not None
            else f"the limit of {self.limit}"
        )
        return [f"users: {self.planned} disable(s), within {bound}"]

    def as_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "active": self.active,
            "limit": self.limit,
            "allowed": self.allowed,
            "refused": self.refused,
            "message": self.problem.message if self.problem else None,
            "fix": self.problem.fix if self.problem else None,
        }


@dataclass(frozen=True)
class DisableGuard:
    max_percent: float = DEFAULT_MAX_PERCENT
    allowed: int | None = None  # --allow-mass-disable=N

    def limit(self, active: int) -> int:
        """Disables accepted without --allow-mass-disable (exact: no float rounding)."""
        share = Fraction(active) * Fraction(str(self.max_percent)) / 100
        return max(ALWAYS_ALLOWED, math.floor(share))

    def check(self, plan: Plan, *, rows: int, disable_missing: bool, file: str) -> Verdict:
        planned, active = len(plan.disables), plan.active
        verdict = Verdict(planned, active, self.limit(active), self.allowed)
        if not disable_missing:
            return verdict
        problem = self._problem(verdict, rows, file)
        return Verdict(planned, active, verdict.limit, self.allowed, problem)

    def _problem(self, verdict: Verdict, rows: int, file: str) -> Problem | None:
        planned, active = verdict.planned, verdict.active
        check = "check the file is the complete export (--dry-run lists who would be disabled)"
        if self.allowed is not None:
            if planned <= self.allowed:
                return None
            return Problem(
                file,
                ALLOW_OPTION,
                f"{planned} agent(s) would be disabled, more than {ALLOW_OPTION}={self.allowed}",
                f"{check}; if they all are to be disabled, pass {ALLOW_OPTION}={planned}",
            )
        if rows == 0:
            return Problem(
                file,
                "--disable-missing",
                f"the file holds no agent: every active agent ({planned} of {active}) "
                "would be disabled",
                f"check that this is the right file (a header alone is not an export); "
                f"to disable them all on purpose, pass {ALLOW_OPTION}={planned}",
            )
        if planned <= verdict.limit:
            return None
        share = f"{100 * planned / active:.1f} %" if active else "all"
        return Problem(
            file,
            "--disable-missing",
            f"{planned} agent(s) would be disabled ({share} of {active} active), more than "
            f"the limit of {verdict.limit} (the larger of {ALWAYS_ALLOWED} and "
            f"{self.max_percent:g} % of the active agents)",
            f"{check}; if they all are to be disabled, pass {ALLOW_OPTION}={planned}",
        )
