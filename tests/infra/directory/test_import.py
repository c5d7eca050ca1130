"""`bureau users import` against the scenario's slapd, checked entry by entry.

A few thousand sample agents are imported from the controller (LDAPS on the
published port, as the provisioning account), then re-imported with changes:
rows shuffled, titles changed, agents moved to another ministry, agents
removed (--disable-missing), namesakes added. Every entry is then read back
with another LDAP client (ldap3) and compared with the file.

This module writes thousands of entries: it runs under `molecule verify`
only, never against a live directory (e.g. by a future `bureau audit`).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ldap3 import Connection

from ..testsupport import secret
from .support import BASE_DN, CERT_NAME, DOMAIN, LDAPS_PORT

pytestmark = [
    pytest.mark.destructive,
    pytest.mark.skipif(
        not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
        and not os.environ.get("BUREAU_TEST_SECRETS"),
        reason="writes thousands of sample agents: molecule verify only, never a live site",
    ),
]

COUNT = int(os.environ.get("BUREAU_IMPORT_TEST_COUNT", "3000"))
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
ATTRIBUTES = [
    "uid", "cn", "givenName", "sn", "displayName", "mail", "title", "telephoneNumber",
    "departmentNumber", "ou", "employeeNumber", "bureauMailAlias", "bureauMailQuota",
    "bureauAccountStatus", "memberOf", "pwdReset", "pwdAccountLockedTime",
]  # fmt: skip


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.stdout)


@dataclass(frozen=True)
class Workspace:
    path: Path
    ca_file: str
    password_file: Path
    address: str

    def bureau(self, csv_file: Path, *extra: str, out: str = "passwords.csv") -> Run:
        command = [
            sys.executable, "-m", "bureau.cli", "users", "import", str(csv_file),
            "--domain", DOMAIN, "--uri", f"ldaps://{self.address}:{LDAPS_PORT}",
            "--tls-name", CERT_NAME, "--ca-file", self.ca_file,
            "--password-file", str(self.password_file),
            "--passwords-out", str(self.path / out), *extra,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
        return Run(done.returncode, done.stdout, done.stderr)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def agents(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every agent of the directory with an employee number, by employee number."""
    found: dict[str, dict[str, Any]] = {}
    for item in conn.extend.standard.paged_search(
        PEOPLE, "(objectClass=bureauAgent)", attributes=ATTRIBUTES, paged_size=1000, generator=True
    ):
        if item.get("type") != "searchResEntry":
            continue
        attrs = {k: v for k, v in item["attributes"].items() if v not in ([], None, "")}
        attrs["dn"] = item["dn"]
        if attrs.get("employeeNumber"):
            found[attrs["employeeNumber"]] = attrs
    return found


def one(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def workspace(directory, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("import")
    password_file = path / "provisioning-password"
    password_file.write_text(secret("directory_provisioning"), encoding="utf-8")
    return Workspace(path, directory.ca_file, password_file, directory.address)


@pytest.fixture(scope="module")
def reader(directory, workspace: Workspace) -> Iterator[Connection]:
    conn = directory.bind(
        f"cn=provisioning,ou=services,{BASE_DN}", secret("directory_provisioning")
    )
    yield conn
    conn.unbind()


@pytest.fixture(scope="module")
def first(workspace: Workspace, reader: Connection) -> dict[str, Any]:
    """The sample file, imported once."""
    sample = workspace.path / "agents.csv"
    made = subprocess.run(
        [sys.executable, "-m", "bureau.cli", "users", "sample", "--count", str(COUNT),
         "--seed", "7", "-o", str(sample)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run = workspace.bureau(sample, "--json", out="passwords-first.csv")
    assert run.code == 0, run.stderr
    return {"rows": read_csv(sample), "run": run, "entries": agents(reader)}


@pytest.fixture(scope="module")
def second(workspace: Workspace, reader: Connection, first: dict[str, Any]) -> dict[str, Any]:
    """The same agents shuffled, with changes, some removed and namesakes added."""
    rng = random.Random(11)
    rows = [dict(r) for r in first["rows"]]
    rng.shuffle(rows)
    retitled = {r["employee_id"] for r in rows[:50]}
    for row in rows[:50]:
        row["title"] = "Directrice de cabinet"
    moved: dict[str, tuple[str, str]] = {}
    for row in rows[50:70]:
        new = "MENTD" if row["ministry"] != "MENTD" else "MEF"
        moved[row["employee_id"]] = (row["ministry"].lower(), new.lower())
        row["ministry"] = new
    removed = {r["employee_id"] for r in rows[70:100]}
    kept = rows[:70] + rows[100:]
    namesakes = []
    for number, row in enumerate(rows[200:210]):
        namesakes.append(
            {
                **row,
                "employee_id": f"NEW{number:03d}",
                "title": "Stagiaire",
                "phone": "",
                "quota": "",
            }
        )
    changed = workspace.path / "agents-changed.csv"
    write_csv(changed, kept + namesakes)
    dry = workspace.bureau(changed, "--disable-missing", "--dry-run", out="never.csv")
    assert dry.code == 0, dry.stderr
    run = workspace.bureau(changed, "--disable-missing", "--json", out="passwords-second.csv")
    assert run.code == 0, run.stderr
    return {
        "file": changed,
        "dry": dry,
        "run": run,
        "retitled": retitled,
        "moved": moved,
        "removed": removed,
        "namesakes": {r["employee_id"]: r for r in namesakes},
        "entries": agents(reader),
    }


def test_first_import_creates_every_agent_with_a_password_file_only_the_operator_reads(
    workspace: Workspace, first: dict[str, Any]
) -> None:
    report = first["run"].report
    assert (report["created"], report["updated"], report["failures"]) == (COUNT, 0, [])
    passwords = workspace.path / "passwords-first.csv"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert len(read_csv(passwords)) == COUNT
    secrets = {row["initial_password"] for row in read_csv(passwords)}
    assert not any(s in first["run"].stdout + first["run"].stderr for s in list(secrets)[:50])


def test_every_entry_says_what_its_row_says(first: dict[str, Any]) -> None:
    entries = first["entries"]
    assert len(entries) == COUNT
    uids = [one(e["uid"]) for e in entries.values()]
    assert len(set(uids)) == COUNT
    for row in first["rows"]:
        entry = entries[row["employee_id"]]
        uid = one(entry["uid"])
        assert re.fullmatch(r"[a-z0-9.-]+[0-9]*", uid), uid
        assert one(entry["mail"]) == f"{uid}@{DOMAIN}"
        assert one(entry["cn"]) == f"{row['given_name']} {row['surname']}"
        assert one(entry["givenName"]) == row["given_name"]
        assert one(entry["sn"]) == row["surname"]
        assert one(entry["departmentNumber"]) == row["ministry"].upper()
        assert one(entry["title"]) == row["title"]
        assert one(entry.get("telephoneNumber", "")) == row["phone"]
        assert int(one(entry["bureauMailQuota"])) == int(row["quota"] or 2048)
        assert one(entry["bureauAccountStatus"]) == "active"
        assert entry.get("pwdReset") in (True, [True], "TRUE", ["TRUE"])
        group = f"cn={row['ministry'].lower()},{GROUPS}"
        assert [g.lower() for g in entry["memberOf"]] == [group]


def test_a_new_agent_binds_with_the_initial_password(
    directory, workspace: Workspace, first: dict[str, Any]
) -> None:
    agent = read_csv(workspace.path / "passwords-first.csv")[0]
    assert directory.try_bind(f"uid={agent['uid']},{PEOPLE}", agent["initial_password"])
    assert not directory.try_bind(f"uid={agent['uid']},{PEOPLE}", "not-the-password")


def test_dry_run_prints_the_difference_and_writes_nothing(
    workspace: Workspace, first: dict[str, Any], second: dict[str, Any]
) -> None:
    dry = second["dry"].stdout
    assert "→ Directrice de cabinet" in dry
    assert dry.count("disabled and locked") == 30
    assert not (workspace.path / "never.csv").exists()


def test_reimport_applies_only_the_difference(second: dict[str, Any]) -> None:
    report = second["run"].report
    assert report["failures"] == []
    assert (report["created"], report["disabled"]) == (10, 30)
    assert report["updated"] == 50 + 20


def test_reimport_checked_entry_by_entry(first: dict[str, Any], second: dict[str, Any]) -> None:
    before, after = first["entries"], second["entries"]
    for employee_id, old in before.items():
        new = after[employee_id]
        # Nobody changes uid or address, whatever the row order and the namesakes.
        assert (new["uid"], new["mail"]) == (old["uid"], old["mail"])
        if employee_id in second["removed"]:
            assert one(new["bureauAccountStatus"]) == "disabled"
            assert new.get("pwdAccountLockedTime")
            assert not new.get("memberOf")
            continue
        assert one(new["bureauAccountStatus"]) == "active"
        expected = dict(old)
        if employee_id in second["retitled"]:
            expected["title"] = ["Directrice de cabinet"]
        if employee_id in second["moved"]:
            _, code = second["moved"][employee_id]
            expected["departmentNumber"] = [code.upper()]
            assert [g.lower() for g in new["memberOf"]] == [f"cn={code},{GROUPS}"]
            # The new ministry's name and group, checked above, replace the old ones.
            expected["ou"], expected["memberOf"] = new["ou"], new["memberOf"]
        assert {k: v for k, v in new.items() if k != "pwdReset"} == {
            k: v for k, v in expected.items() if k != "pwdReset"
        }


def test_namesakes_get_new_uids_and_old_agents_keep_theirs(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    old_uids = {one(e["uid"]) for e in first["entries"].values()}
    for employee_id, row in second["namesakes"].items():
        entry = second["entries"][employee_id]
        uid = one(entry["uid"])
        assert uid not in old_uids
        assert re.fullmatch(r"[a-z0-9.-]+?[0-9]+", uid), uid
        assert one(entry["cn"]) == f"{row['given_name']} {row['surname']}"


def test_a_disabled_agent_cannot_bind(
    directory, workspace: Workspace, second: dict[str, Any]
) -> None:
    passwords = {
        r["uid"]: r["initial_password"] for r in read_csv(workspace.path / "passwords-first.csv")
    }
    removed = [second["entries"][e] for e in sorted(second["removed"])]
    uid = one(removed[0]["uid"])
    assert not directory.try_bind(f"uid={uid},{PEOPLE}", passwords[uid])


def test_the_same_file_again_changes_nothing(workspace: Workspace, second: dict[str, Any]) -> None:
    run = workspace.bureau(second["file"], "--disable-missing", "--json", out="passwords-third.csv")
    assert run.code == 0, run.stderr
    report = run.report
    assert (report["created"], report["updated"], report["disabled"], report["groups"]) == (
        0,
        0,
        0,
        0,
    )
    assert not (workspace.path / "passwords-third.csv").exists()


def test_a_bad_file_is_refused_with_line_and_field_and_nothing_written(
    workspace: Workspace, reader: Connection, second: dict[str, Any]
) -> None:
    rows = read_csv(second["file"])
    rows[3]["ministry"] = "NOPE"
    rows[5]["quota"] = "beaucoup"
    rows.append({**rows[0], "employee_id": "BAD1", "given_name": "Kokou", "title": "Nouveau"})
    bad = workspace.path / "bad.csv"
    write_csv(bad, rows)
    text = bad.read_text(encoding="utf-8").replace("Nouveau", "Nouvéau")
    # The last row saved by a Latin-1 editor, the rest UTF-8.
    head, last = text.rstrip("\n").rsplit("\n", 1)
    bad.write_bytes(f"{head}\n".encode() + last.encode("latin-1") + b"\n")
    run = workspace.bureau(bad, out="passwords-bad.csv")
    assert run.code == 2
    assert f"bad.csv:{len(rows) + 1}: encoding" in run.stderr and "UTF-8" in run.stderr
    bad.write_text(text, encoding="utf-8")
    run = workspace.bureau(bad, out="passwords-bad.csv")
    assert run.code == 2
    assert "bad.csv:5: ministry" in run.stderr and "bad.csv:7: quota" in run.stderr
    assert agents(reader) == second["entries"]
