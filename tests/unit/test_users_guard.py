"""The guard on --disable-missing: a truncated or empty file does not disable the directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bureau.cli import main
from bureau.core.users import csvinput, importer, ldapdir, plan
from bureau.core.users.guard import DisableGuard, Verdict
from bureau.core.users.ldapdir import Connection
from bureau.core.users.plan import Entry, Target
from bureau.core.users.reference import ministries
from bureau.errors import BadInput

TARGET = Target(base_dn="dc=gouv,dc=tg", domain="gouv.tg")
HEADER = "given_name,surname,ministry,employee_id\n"


def directory(count: int, disabled: int = 0) -> list[Entry]:
    """`count` active agents E0…, then `disabled` disabled ones."""
    entries = []
    for n in range(count + disabled):
        status = "active" if n < count else "disabled"
        attrs = {
            "uid": (f"agent{n}",),
            "givenName": ("Kokou",),
            "sn": (f"Agbeko{n}",),
            "departmentNumber": ("MEF",),
            "employeeNumber": (f"E{n}",),
            "bureauAccountStatus": (status,),
        }
        entries.append(Entry(TARGET.agent_dn(f"agent{n}"), attrs))
    return entries


def rows(count: int) -> list[csvinput.AgentRow]:
    body = "".join(f"Kokou,Agbeko,MEF,E{n}\n" for n in range(count))
    return csvinput.parse(HEADER + body, "agents.csv", "gouv.tg")


def verdict(entries: list[Entry], kept: int, guard: DisableGuard | None = None) -> Verdict:
    agents = rows(kept)
    result = plan.build(
        agents, entries, {}, ministries(), TARGET, file="agents.csv", disable_missing=True
    )
    return (guard or DisableGuard()).check(
        result, rows=len(agents), disable_missing=True, file="agents.csv"
    )


class _Directory:
    """Stands in for ldapdir: the entries it holds, the writes it is asked for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, entries: list[Entry]) -> None:
        self.applied: list[plan.Plan] = []
        monkeypatch.setattr(ldapdir, "connect", lambda settings: self)
        monkeypatch.setattr(ldapdir, "read_agents", lambda *args, **kwargs: entries)
        monkeypatch.setattr(ldapdir, "read_groups", lambda *args, **kwargs: {})
        monkeypatch.setattr(ldapdir, "read_id_counter", lambda *args: plan.FIRST_ID)
        monkeypatch.setattr(ldapdir, "reserve_ids", lambda *args: None)
        monkeypatch.setattr(ldapdir, "apply", self.apply)

    def apply(self, conn: object, result: plan.Plan, *args: object) -> ldapdir.Outcome:
        self.applied.append(result)
        return ldapdir.Outcome(done=result.operations)

    def unbind_s(self) -> None:
        pass


def run(tmp_path: Path, agents: list[csvinput.AgentRow], **kwargs: Any) -> importer.Report:
    return importer.run(
        tmp_path / "agents.csv",
        agents,
        Connection(uri="ldapi:///", bind_dn="cn=x", password="x"),
        TARGET,
        disable_missing=True,
        passwords_out=tmp_path / "passwords.csv",
        **{"dry_run": False, **kwargs},
    )


def test_a_header_alone_disables_nobody_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Directory(monkeypatch, directory(3))
    with pytest.raises(BadInput) as caught:
        run(tmp_path, rows(0))
    assert fake.applied == [] and not (tmp_path / "passwords.csv").exists()
    [problem] = caught.value.problems
    assert "no agent" in problem.message and "--allow-mass-disable=3" in problem.fix
    assert "nothing was changed" in str(caught.value)


def test_a_file_that_lost_most_of_its_rows_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Directory(monkeypatch, directory(400))
    with pytest.raises(BadInput) as caught:
        run(tmp_path, rows(200))
    assert fake.applied == [] and not (tmp_path / "passwords.csv").exists()
    assert "--allow-mass-disable=200" in caught.value.problems[0].fix


def test_the_operator_may_accept_the_disables_explicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Directory(monkeypatch, directory(400))
    report = run(tmp_path, rows(200), guard=DisableGuard(allowed=200))
    assert len(fake.applied[0].disables) == 200 and report.guard and not report.guard.refused
    empty = run(tmp_path, rows(0), guard=DisableGuard(allowed=400))
    assert len(empty.plan.disables) == 400


def test_the_dry_run_says_it_would_be_refused_and_how_to_proceed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Directory(monkeypatch, directory(3))
    report = run(tmp_path, rows(0), dry_run=True)
    assert fake.applied == [] and report.guard and report.guard.refused
    refused, proceed = report.guard.describe()
    assert "REFUSED" in refused and "--allow-mass-disable=3" in proceed


def test_the_limit_is_5_percent_of_the_active_agents_and_at_least_10() -> None:
    assert not verdict(directory(400), 380).refused  # 20 = 5 % of 400
    assert verdict(directory(400), 379).refused  # 21
    assert not verdict(directory(100), 90).refused  # 10: the floor
    assert verdict(directory(100), 89).refused
    assert not verdict(directory(12), 2).refused  # a small directory keeps working
    # Disabled entries are not counted, and are not disabled again.
    assert verdict(directory(400, disabled=400), 379).limit == 20
    assert [DisableGuard(p).limit(n) for p, n in ((0.29, 100_000), (5, 70_000))] == [290, 3500]


def test_max_disable_percent_and_allow_mass_disable_bound_the_plan() -> None:
    assert not verdict(directory(400), 200, DisableGuard(max_percent=50)).refused
    assert verdict(directory(400), 199, DisableGuard(max_percent=50)).refused
    # N is the operator's bound, stricter than the percentage too.
    assert verdict(directory(400), 390, DisableGuard(allowed=5)).refused
    assert not verdict(directory(400), 395, DisableGuard(allowed=5)).refused


def test_without_disable_missing_the_guard_says_nothing() -> None:
    result = plan.build(rows(0), directory(3), {}, ministries(), TARGET, file="agents.csv")
    checked = DisableGuard().check(result, rows=0, disable_missing=False, file="agents.csv")
    assert not checked.refused and checked.describe() == []


def test_the_command_refuses_with_exit_2_and_its_dry_run_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _Directory(monkeypatch, directory(50))
    (tmp_path / "agents.csv").write_text(HEADER, encoding="utf-8")
    (tmp_path / "pw").write_text("secret\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    command = ["users", "import", "agents.csv", "--domain", "gouv.tg", "--password-file", "pw"]
    assert main([*command, "--disable-missing"]) == 2
    err = capsys.readouterr().err
    assert "refusing to disable 50" in err and "--allow-mass-disable=50" in err
    assert main([*command, "--disable-missing", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("disabled and locked") == 50 and "REFUSED" in out
    assert fake.applied == [] and list(tmp_path.glob("agents-passwords-*")) == []
    assert main([*command, "--disable-missing", "--allow-mass-disable=50"]) == 0
    assert len(fake.applied[0].disables) == 50
