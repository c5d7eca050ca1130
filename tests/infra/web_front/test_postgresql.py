"""The PostgreSQL server as the roles that declare a database use it: the
owner logs in with its password over TCP on localhost (SCRAM), a wrong
password is refused, the database is UTF8, nobody else gets in."""

from __future__ import annotations

import os

import pytest
from testinfra.host import Host

from ..testsupport import secret

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

# The database the molecule scenario declares in postgresql__databases.
DATABASE = os.environ.get("BUREAU_TEST_DATABASE", "registre")
OWNER = os.environ.get("BUREAU_TEST_DATABASE_OWNER", DATABASE)


def psql(host: Host, password: str, sql: str, user: str = OWNER):
    return host.run(
        "env PGPASSWORD=%s PGCONNECT_TIMEOUT=10 psql -X -q -A -t -v ON_ERROR_STOP=1 %s -c %s",
        password,
        f"host=127.0.0.1 port=5432 dbname={DATABASE} user={user}",
        sql,
    )


@pytest.fixture(scope="module")
def password() -> str:
    return secret(f"postgresql_{DATABASE}")


def test_postgresql_runs_and_listens_on_localhost_only(host: Host) -> None:
    # One cluster, Debian's default for the release (15/main on 12, 17/main on 13).
    [cluster] = host.check_output("pg_lsclusters --no-header").splitlines()
    version, name, _port, status = cluster.split()[:4]
    assert name == "main" and status == "online", cluster
    assert host.service(f"postgresql@{version}-{name}").is_running
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_owner_logs_in_with_its_password(host: Host, password: str) -> None:
    result = psql(host, password, "SELECT current_user, current_database()")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == f"{OWNER}|{DATABASE}"


def test_wrong_password_is_refused(host: Host, password: str) -> None:
    result = psql(host, password + "x", "SELECT 1")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_password_is_stored_as_scram(host: Host) -> None:
    # As the administrator (root is mapped to postgres over the local socket).
    result = host.run(
        "psql -X -A -t -U postgres -c %s",
        f"SELECT substr(rolpassword, 1, 14) FROM pg_authid WHERE rolname = '{OWNER}'",
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "SCRAM-SHA-256$"


def test_database_is_utf8_and_owned_by_its_owner(host: Host, password: str) -> None:
    result = psql(
        host,
        password,
        "SELECT pg_encoding_to_char(encoding), datcollate, pg_get_userbyid(datdba)"
        f" FROM pg_database WHERE datname = '{DATABASE}'",
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == f"UTF8|C.UTF-8|{OWNER}"


def test_owner_can_create_tables(host: Host, password: str) -> None:
    result = psql(
        host,
        password,
        "CREATE TEMP TABLE agents (nom text); INSERT INTO agents VALUES ('Agbéko');"
        " SELECT nom FROM agents",
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "Agbéko"


def test_other_roles_cannot_connect_to_the_database(host: Host) -> None:
    # Even a role with the right password for itself: CONNECT is the owner's only.
    host.run("psql -X -q -U postgres -c %s", "DROP ROLE IF EXISTS bureau_intruder")
    created = host.run(
        "psql -X -q -U postgres -c %s",
        "CREATE ROLE bureau_intruder LOGIN PASSWORD 'intruder-password'",
    )
    assert created.rc == 0, created.stderr
    try:
        result = psql(host, "intruder-password", "SELECT 1", user="bureau_intruder")
        assert result.rc != 0
        assert "permission denied" in result.stderr
    finally:
        host.run("psql -X -q -U postgres -c %s", "DROP ROLE IF EXISTS bureau_intruder")
