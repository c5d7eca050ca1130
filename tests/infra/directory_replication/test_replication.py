"""Two providers: a write on either appears on the other.

Each test runs once per host of the scenario: that host writes, the other
one must show the change within REPLICATION_TIMEOUT seconds. The clients are
OpenLDAP's own (ldapadd/ldapmodify/ldapsearch), bound as the provisioning
account over StartTLS checked against the CA.
"""

from __future__ import annotations

import base64
import os
import shlex
import time
import uuid
from pathlib import Path

import pytest
import testinfra

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

BASE_DN = "dc=gouv,dc=tg"
HOSTS = ("bureau-molecule-directory-replication-1", "bureau-molecule-directory-replication-2")
REPLICATION_TIMEOUT = 30.0
PROVISIONING = f"cn=provisioning,ou=services,{BASE_DN}"


def _secret(name: str) -> str:
    directory = os.environ.get("BUREAU_TEST_SECRETS") or os.path.join(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets"
    )
    return Path(directory, name).read_text(encoding="utf-8").split()[0]


def _ldap(host, tool: str, args: str, ldif: str | None = None):
    """Run an OpenLDAP client on `host` against its own slapd, over StartTLS."""
    password = shlex.quote(_secret("directory_provisioning"))
    command = (
        f"LDAPTLS_CACERT=/etc/ssl/bureau/ca.crt LDAPTLS_REQCERT=demand "
        f'{tool} -x -ZZ -H "ldap://$(hostname -f)" '
        f"-D {shlex.quote(PROVISIONING)} -w {password} {args}"
    )
    if ldif is not None:
        command = f"printf %s {shlex.quote(ldif)} | {command}"
    return host.run(command)


def _wait_for(host, base: str, filterstr: str, present: bool) -> str:
    deadline = time.monotonic() + REPLICATION_TIMEOUT
    while True:
        result = _ldap(host, "ldapsearch", f"-LLL -b {shlex.quote(base)} {shlex.quote(filterstr)}")
        found = result.rc == 0 and "dn: " in result.stdout
        if found == present:
            return result.stdout
        if time.monotonic() > deadline:
            pytest.fail(
                f"{host.backend.hostname}: {filterstr} still {'absent' if present else 'present'}"
            )
        time.sleep(1)


@pytest.fixture
def pair(host):
    """The host under test (the writer) and the other provider (the reader)."""
    me = host.backend.get_hostname()
    other = next(name for name in HOSTS if name != me)
    return host, testinfra.get_host(f"docker://{other}")


def test_both_providers_serve_the_same_tree(pair) -> None:
    writer, reader = pair
    seen = []
    for host in (writer, reader):
        out = _wait_for(host, f"ou=services,{BASE_DN}", "(cn=provisioning)", present=True)
        assert PROVISIONING in out
        base = _ldap(host, "ldapsearch", f"-LLL -s base -b {BASE_DN} entryUUID")
        assert base.rc == 0, base.stderr
        seen.append(base.stdout.strip())
    # One base entry, the same on both providers.
    assert "entryUUID: " in seen[0]
    assert seen[0] == seen[1]


def test_a_write_on_either_provider_appears_on_the_other(pair) -> None:
    writer, reader = pair
    uid = f"repl.{uuid.uuid4().hex[:8]}"
    dn = f"uid={uid},ou=people,{BASE_DN}"
    ldif = (
        f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: bureauAgent\n"
        f"uid: {uid}\ncn:: {_b64('Afi Akpédjé')}\nsn:: {_b64('Akpédjé')}\n"
        f"mail: {uid}@gouv.tg\nbureauAccountStatus: active\n"
    )
    added = _ldap(writer, "ldapadd", "", ldif)
    assert added.rc == 0, added.stderr
    _wait_for(reader, f"ou=people,{BASE_DN}", f"(uid={uid})", present=True)

    # A change made on the other side comes back.
    alias = f"{uid}.alias@gouv.tg"
    change = f"dn: {dn}\nchangetype: modify\nadd: bureauMailAlias\nbureauMailAlias: {alias}\n"
    modified = _ldap(reader, "ldapmodify", "", change)
    assert modified.rc == 0, modified.stderr
    _wait_for(writer, f"ou=people,{BASE_DN}", f"(bureauMailAlias={alias})", present=True)

    deleted = _ldap(writer, "ldapdelete", shlex.quote(dn))
    assert deleted.rc == 0, deleted.stderr
    _wait_for(reader, f"ou=people,{BASE_DN}", f"(uid={uid})", present=False)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
