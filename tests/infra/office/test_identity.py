"""Agents are Unix users of the office host through SSSD, with the POSIX
identity `bureau users import` gave them in the directory; service accounts,
disabled agents and entries without one are not."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from testinfra.host import Host

from bureau.core.users import ldapdir
from bureau.core.users.plan import Target
from bureau.errors import BureauError

from ..site import BASE_DN, DOMAIN
from ..testsupport import secret

pytestmark = pytest.mark.readonly

AGENTS = ["kokou.agbeko", "abla.adjo-amegan", "yao.de-souza", "edem.kodjo", "essi.kpodar"]


def directory_posix(host: Host, uid: str) -> dict[str, str]:
    """uidNumber, gidNumber, homeDirectory, loginShell of `uid` in the directory (ldapi)."""
    run = host.run(
        "ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -o ldif_wrap=no -b %s %s "
        "uidNumber gidNumber homeDirectory loginShell",
        f"ou=people,{BASE_DN}",
        f"(uid={uid})",
    )
    assert run.rc == 0, run.stderr
    return dict(
        line.split(": ", 1)
        for line in run.stdout.splitlines()
        if ": " in line and not line.startswith("dn:")
    )


def test_agents_resolve_with_the_ids_the_directory_gave_them(host: Host, office: Host) -> None:
    seen: set[str] = set()
    for uid in AGENTS:
        wanted = directory_posix(host, uid)
        run = office.run("getent passwd %s", uid)
        assert run.rc == 0, f"{uid} does not resolve on the office host: {run.stderr}"
        name, _, number, group, _, home, shell = run.stdout.strip().split(":")
        assert (name, number, group, home, shell) == (
            uid,
            wanted["uidNumber"],
            wanted["gidNumber"],
            wanted["homeDirectory"],
            wanted["loginShell"],
        )
        assert int(number) >= 100000 and number == group and home == f"/home/{uid}"
        seen.add(number)
    assert len(seen) == len(AGENTS), "two agents share a uidNumber"
    # The private group resolves too (SSSD's auto_private_groups).
    assert office.run("getent group kokou.agbeko").rc == 0


def test_the_id_counter_is_past_every_id_handed_out(host: Host) -> None:
    run = host.run(
        "ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -o ldif_wrap=no -b %s uidNumber",
        f"ou=people,{BASE_DN}",
    )
    numbers = [
        int(line.split(": ")[1])
        for line in run.stdout.splitlines()
        if line.startswith("uidNumber:")
    ]
    counter = host.run(
        "ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -s base -b %s uidNumber",
        f"cn=posix-ids,ou=policies,{BASE_DN}",
    )
    assert counter.rc == 0, counter.stderr
    [value] = [
        int(line.split(": ")[1])
        for line in counter.stdout.splitlines()
        if line.startswith("uidNumber:")
    ]
    assert numbers and value > max(numbers)


@pytest.mark.parametrize(
    "name",
    [
        "afi.dalmeida",  # disabled by the second import
        "office",  # service accounts (ou=services) have no POSIX identity
        "provisioning",
        "salle.conseil.mef",  # a meeting room: not in the HR file, no POSIX identity
    ],
)
def test_who_may_not_log_in_does_not_resolve(office: Host, name: str) -> None:
    assert office.run("getent passwd %s", name).rc == 2


def test_sssd_reads_the_directory_over_tls_with_the_service_account(office: Host) -> None:
    config = office.file("/etc/sssd/sssd.conf")
    # It holds the service account's password: root's only.
    assert (config.user, config.group, config.mode) == ("root", "root", 0o640)
    text = config.content_string
    assert "ldap_uri = ldaps://" in text and "ldap_tls_reqcert = demand" in text
    assert "cache_credentials = false" in text


def secret_path(name: str) -> str:
    """The file of a test secret (testsupport.secret reads the same)."""
    directory = os.environ.get("BUREAU_TEST_SECRETS") or os.path.join(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets"
    )
    return os.path.join(directory, name)


def counter_value(host: Host) -> int:
    run = host.run(
        "ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -s base -b %s uidNumber",
        f"cn=posix-ids,ou=policies,{BASE_DN}",
    )
    assert run.rc == 0, run.stderr
    [value] = [int(x.split(": ")[1]) for x in run.stdout.splitlines() if x.startswith("uidNumber:")]
    return value


def test_a_reservation_from_a_stale_read_changes_nothing(
    host: Host, address: str, ca_file: str
) -> None:
    """The import's compare-and-swap, against slapd itself: a reservation made
    from a value another import has already moved past is refused whole."""
    target = Target(base_dn=BASE_DN, domain=DOMAIN)
    before = counter_value(host)
    conn = ldapdir.connect(
        ldapdir.Connection(
            uri=f"ldaps://{address}:636",
            bind_dn=f"cn=provisioning,ou=services,{BASE_DN}",
            password=secret("directory_provisioning"),
            ca_file=ca_file,
            tls_name=f"ldap.{DOMAIN}",
        )
    )
    try:
        assert ldapdir.read_id_counter(conn, target) == before
        with pytest.raises(ldapdir.IdsTaken):
            ldapdir.reserve_ids(conn, target, before - 1, before + 5)
    finally:
        conn.unbind_s()
    assert counter_value(host) == before


def test_the_office_account_cannot_move_the_counter(host: Host, address: str, ca_file: str) -> None:
    target = Target(base_dn=BASE_DN, domain=DOMAIN)
    before = counter_value(host)
    conn = ldapdir.connect(
        ldapdir.Connection(
            uri=f"ldaps://{address}:636",
            bind_dn=f"cn=office,ou=services,{BASE_DN}",
            password=secret("directory_office"),
            ca_file=ca_file,
            tls_name=f"ldap.{DOMAIN}",
        )
    )
    try:
        with pytest.raises(BureauError):
            ldapdir.reserve_ids(conn, target, before, before + 1)
    finally:
        conn.unbind_s()
    assert counter_value(host) == before


@pytest.mark.writes  # adds an agent, then deletes it (her id stays spent)
def test_an_agent_of_an_earlier_import_gets_her_identity_at_the_next_one(
    host: Host, office: Host, address: str, ca_file: str, tmp_path: Path
) -> None:
    """An entry as `bureau users import` made them before POSIX identities:
    the next import adds posixAccount and the next id, and she resolves."""
    uid = f"ama.ancienne{uuid.uuid4().hex[:6]}"
    dn = f"uid={uid},ou=people,{BASE_DN}"
    ldif = (
        f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: bureauAgent\nuid: {uid}\n"
        f"cn: Ama Ancienne\nsn: Ancienne\ngivenName: Ama\ndisplayName: Ama Ancienne\n"
        f"mail: {uid}@{DOMAIN}\ndepartmentNumber: MEF\nbureauMailQuota: 100\n"
        "bureauAccountStatus: active\n"
    )
    added = host.run("printf %s | ldapadd -Q -Y EXTERNAL -H ldapi:///", ldif)
    assert added.rc == 0, added.stderr
    try:
        before = counter_value(host)
        rows = tmp_path / "agents.csv"
        rows.write_text(
            "given_name,surname,ministry,title,phone,mail,aliases,quota,uid,employee_id\n"
            f"Ama,Ancienne,mef,,,,,100,{uid},\n",
            encoding="utf-8",
        )
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "bureau"),
                "users",
                "import",
                str(rows),
                "--domain",
                DOMAIN,
                "--uri",
                f"ldaps://{address}:636",
                "--tls-name",
                f"ldap.{DOMAIN}",
                "--ca-file",
                ca_file,
                "--password-file",
                secret_path("directory_provisioning"),
                "--passwords-out",
                str(tmp_path / "passwords.csv"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 POSIX id(s)" in run.stdout, run.stdout
        wanted = directory_posix(host, uid)
        assert int(wanted["uidNumber"]) >= before and wanted["gidNumber"] == wanted["uidNumber"]
        assert counter_value(host) == int(wanted["uidNumber"]) + 1
        assert office.run("getent passwd %s", uid).stdout.split(":")[2] == wanted["uidNumber"]
    finally:
        host.run("ldapdelete -Q -Y EXTERNAL -H ldapi:/// %s", dn)
