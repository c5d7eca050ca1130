"""Fixtures shared by the testinfra checks of every role.

The checks run under `molecule verify` (hosts from molecule's inventory).
They only use the `host` fixture and the hosts testinfra was given, so that
a `bureau audit` command (not built yet) can run them against the hosts of a
real inventory.
"""

from __future__ import annotations

import ssl

import pytest
import testinfra
from testinfra.host import Host


@pytest.fixture(scope="session")
def all_hosts(pytestconfig: pytest.Config) -> list[Host]:
    """Every host testinfra was asked to check, in inventory order."""
    option = pytestconfig.option
    return testinfra.get_hosts(
        option.hosts.split(",") if option.hosts else ["all"],
        connection=option.connection,
        ansible_inventory=option.ansible_inventory,
    )


@pytest.fixture
def peers(host: Host, all_hosts: list[Host]) -> list[Host]:
    """The other hosts: clients that check what `host` exposes on the network."""
    name = host.backend.get_pytest_id()
    return [other for other in all_hosts if other.backend.get_pytest_id() != name]


@pytest.fixture(scope="module")
def ca_file(host: Host, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The internal CA's certificate, copied from the host: clients verify against it."""
    path = tmp_path_factory.mktemp("ca") / "ca.crt"
    path.write_text(host.file("/etc/ssl/bureau/ca.crt").content_string, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tls(ca_file: str) -> ssl.SSLContext:
    """A client TLS context that trusts only the internal CA."""
    return ssl.create_default_context(cafile=ca_file)
