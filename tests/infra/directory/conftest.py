"""Fixtures of the directory checks: LDAP connections from the controller.

slapd is reached on the addresses published by the molecule scenario
(BUREAU_LDAP_HOST, BUREAU_LDAPS_PORT, BUREAU_LDAP_PORT), its certificate is
checked against the CA read from the host, and passwords come from the
scenario's generated test secrets (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from ldap3 import Connection

from ..site import DOMAIN, address
from ..testsupport import secret
from .support import (
    PEOPLE,
    Agent,
    Directory,
    _agent_entry,
    service_dn,
)


@pytest.fixture(scope="module")
def directory(host, tmp_path_factory: pytest.TempPathFactory) -> Directory:
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_text(host.file("/etc/ssl/bureau/ca.crt").content_string, encoding="utf-8")
    return Directory(ca_file=str(ca), address=address(host))


@pytest.fixture(scope="module")
def provisioning(directory: Directory) -> Iterator[Connection]:
    conn = directory.bind(service_dn("provisioning"), secret("directory_provisioning"))
    yield conn
    conn.unbind()


@pytest.fixture(scope="module")
def agents(provisioning: Connection) -> Iterator[dict[str, Agent]]:
    """Three agents created by the provisioning account; removed afterwards.

    Like `bureau users import`, provisioning sets an initial password and
    pwdReset, so each agent must change it at the first login.
    """
    run = uuid.uuid4().hex[:6]
    people = {
        "kokou": ("Kokou", "Agbéko", "active"),
        "abla": ("Abla", "Adjo-Amégan", "active"),
        "yao": ("Yao", "Kpodar", "disabled"),
    }
    created: dict[str, Agent] = {}
    for key, (given, sn, status) in people.items():
        uid = f"{key}.test{run}"
        password = f"Initial-{uuid.uuid4().hex}"
        dn = f"uid={uid},{PEOPLE}"
        ok = provisioning.add(dn, attributes=_agent_entry(uid, given, sn, password, status))
        assert ok, provisioning.result
        created[key] = Agent(uid, dn, f"{given} {sn}", f"{uid}@{DOMAIN}", password)
    yield created
    for agent in created.values():
        provisioning.delete(agent.dn)
