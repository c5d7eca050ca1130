"""Fixtures of the directory checks: LDAP connections from the controller.

slapd is reached on the addresses published by the molecule scenario
(BUREAU_LDAP_HOST, BUREAU_LDAPS_PORT, BUREAU_LDAP_PORT), its certificate is
checked against the CA read from the host, and passwords come from the
scenario's generated test secrets (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from ldap3 import Connection, Server, Tls
from testsupport import secret

BASE_DN = os.environ.get("BUREAU_LDAP_BASE", "dc=gouv,dc=tg")
LDAP_HOST = os.environ.get("BUREAU_LDAP_HOST", "127.0.0.1")
LDAPS_PORT = int(os.environ.get("BUREAU_LDAPS_PORT", "13636"))
LDAP_PORT = int(os.environ.get("BUREAU_LDAP_PORT", "13389"))
CERT_NAME = os.environ.get("BUREAU_LDAP_CERT_NAME", "ldap.gouv.tg")
SERVICES = ("mail", "groupware", "sso", "drive", "office")
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"


def service_dn(name: str) -> str:
    return f"cn={name},ou=services,{BASE_DN}"


@dataclass(frozen=True)
class Directory:
    """How to reach the directory under test."""

    ca_file: str

    def tls(self) -> Tls:
        return Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=self.ca_file,
            valid_names=[CERT_NAME],
        )

    def ldaps(self) -> Server:
        return Server(LDAP_HOST, port=LDAPS_PORT, use_ssl=True, tls=self.tls(), connect_timeout=10)

    def ldap(self) -> Server:
        return Server(LDAP_HOST, port=LDAP_PORT, tls=self.tls(), connect_timeout=10)

    def bind(self, dn: str | None = None, password: str | None = None) -> Connection:
        """A connection over LDAPS, bound (or anonymous); raises if the bind fails."""
        return Connection(
            self.ldaps(), user=dn, password=password, auto_bind=True, raise_exceptions=False
        )

    def try_bind(self, dn: str, password: str) -> bool:
        conn = Connection(self.ldaps(), user=dn, password=password)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()


@pytest.fixture(scope="module")
def directory(host, tmp_path_factory: pytest.TempPathFactory) -> Directory:
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_text(host.file("/etc/ssl/bureau/ca.crt").content_string, encoding="utf-8")
    return Directory(ca_file=str(ca))


@pytest.fixture(scope="module")
def provisioning(directory: Directory) -> Iterator[Connection]:
    conn = directory.bind(service_dn("provisioning"), secret("directory_provisioning"))
    yield conn
    conn.unbind()


@dataclass(frozen=True)
class Agent:
    uid: str
    dn: str
    cn: str
    mail: str
    password: str


def _agent_entry(uid: str, given: str, sn: str, password: str, status: str) -> dict[str, object]:
    return {
        "objectClass": ["inetOrgPerson", "bureauAgent"],
        "uid": uid,
        "cn": f"{given} {sn}",
        "givenName": given,
        "sn": sn,
        "displayName": f"{given} {sn}",
        "mail": f"{uid}@gouv.tg",
        "bureauMailAlias": [f"{uid}.alias@gouv.tg"],
        "bureauMailQuota": 2048,
        "bureauAccountStatus": status,
        "title": "Chargé d'études",
        "telephoneNumber": "+228 22 21 00 00",
        "departmentNumber": "MEF",
        "ou": "Ministère de l'Économie et des Finances",
        "userPassword": password,
        "pwdReset": "TRUE",
    }


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
        created[key] = Agent(uid, dn, f"{given} {sn}", f"{uid}@gouv.tg", password)
    yield created
    for agent in created.values():
        provisioning.delete(agent.dn)
