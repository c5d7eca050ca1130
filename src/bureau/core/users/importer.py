"""An import from start to end: validate, read the directory, plan, hand out passwords, apply."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bureau.core.users import csvinput, ldapdir, passwords
from bureau.core.users.guard import DisableGuard, Verdict
from bureau.core.users.ldapdir import Connection, Progress
from bureau.core.users.plan import Plan, Target, build
from bureau.core.users.reference import ministries
from bureau.errors import BureauError


@dataclass
class Report:
    plan: Plan
    guard: Verdict | None = None
    applied: bool = False
    done: int = 0
    failures: list[str] = field(default_factory=list)
    passwords_file: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def validate(file: Path, domain: str) -> list[csvinput.AgentRow]:
    """The whole file, checked before anything else happens (BadInput, exit 2)."""
    return csvinput.read(file, domain)


def run(
    file: Path,
    rows: list[csvinput.AgentRow],
    connection: Connection,
    target: Target,
    *,
    dry_run: bool,
    disable_missing: bool,
    passwords_out: Path,
    progress: Callable[[int], Progress] | None = None,
    guard: DisableGuard | None = None,
) -> Report:
    """Import the validated `rows` of `file`; `progress(total)` gives the per-write callback.

    A plan that disables more agents than `guard` accepts (guard.py) raises
    BadInput before anything is written; a dry run reports it instead."""
    clock = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 3)
        clock = now

    conn = ldapdir.connect(connection)
    try:
        reference = ministries()
        entries = ldapdir.read_agents(
            conn,
            target,
            departments=[m.department for m in reference.values()],
            more=lambda: ldapdir.connect(connection),
        )
        groups = ldapdir.read_groups(conn, target, reference)
        next_id = ldapdir.read_id_counter(conn, target)
        lap("read")
        plan = build(
            rows,
            entries,
            groups,
            reference,
            target,
            file=str(file),
            disable_missing=disable_missing,
            next_id=next_id,
        )
        lap("plan")
        verdict = (guard or DisableGuard()).check(
            plan, rows=len(rows), disable_missing=disable_missing, file=str(file)
        )
        if verdict.refused and not dry_run:
            raise verdict.error()
        report = Report(plan=plan, guard=verdict, timings=timings)
        if dry_run or plan.empty:
            return report
        if plan.ids:
            # Before any entry is written: a refused reservation changes nothing.
            ldapdir.reserve_ids(conn, target, plan.id_read, plan.id_next)
        hashed: dict[str, str] = {}
        if plan.creates:
            fd = passwords.open_output(passwords_out)
            handed_out = []
            for create in plan.creates:
                secret = passwords.generate()
                hashed[create.uid] = passwords.ssha(secret)
                handed_out.append(
                    (create.uid, create.attrs["cn"][0], create.attrs["mail"][0], secret)
                )
            passwords.write(fd, handed_out)
            report.passwords_file = passwords_out
        lap("passwords")
        outcome = ldapdir.apply(conn, plan, hashed, progress(plan.operations) if progress else None)
        lap("apply")
        timings["apply_agents"] = round(outcome.agents_seconds, 3)
        timings["apply_groups"] = round(outcome.groups_seconds, 3)
        report.applied = True
        report.done = outcome.done
        report.failures = outcome.failures
        return report
    finally:
        conn.unbind_s()


class ImportFailed(BureauError):
    """Some writes were refused by the directory."""

    def __init__(self, report: Report) -> None:
        shown = "\n".join(f"  - {f}" for f in report.failures[:20])
        more = len(report.failures) - 20
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(report.failures)} write(s) refused by the directory, {report.done} done:\n"
            f"{shown}{tail}\n(fix: correct the cause and run the import again; "
            "it applies only what is still missing)"
        )
        self.report = report
