"""Helpers of the directory checks (plain code, no fixtures): the clients and
constants the tests and the fixtures of conftest.py share."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ldap3 import Connection, Server, Tls

from ..site import BASE_DN, DOMAIN, name

LDAPS_PORT = 636


LDAP_PORT = 389


CERT_NAME = name("ldap")


SERVICES = ("mail", "groupware", "sso", "drive", "office")


PEOPLE = f"ou=people,{BASE_DN}"


GROUPS = f"ou=groups,{BASE_DN}"


def service_dn(name: str) -> str:
    return f"cn={name},ou=services,{BASE_DN}"


@dataclass(frozen=True)
class Directory:
    """How to reach the directory under test."""

    ca_file: str
    address: str

    def tls(self) -> Tls:
        return Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=self.ca_file,
            valid_names=[CERT_NAME],
        )

    def ldaps(self) -> Server:
        return Server(
            self.address, port=LDAPS_PORT, use_ssl=True, tls=self.tls(), connect_timeout=10
        )

    def ldap(self) -> Server:
        return Server(self.address, port=LDAP_PORT, tls=self.tls(), connect_timeout=10)

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
        "mail": f"{uid}@{DOMAIN}",
        "bureauMailAlias": [f"{uid}.alias@{DOMAIN}"],
        "bureauMailQuota": 2048,
        "bureauAccountStatus": status,
        "title": "Chargé d'études",
        "telephoneNumber": "+228 22 21 00 00",
        "departmentNumber": "MEF",
        "ou": "Ministère de l'Économie et des Finances",
        "userPassword": password,
        "pwdReset": "TRUE",
    }
