"""Fixtures of the office checks: the office host of the scenario (molecule/suite
names it after $BUREAU_SUITE), reached over RDP from this machine by the name
agents use, office.<domain>, with the internal CA as the only trusted one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testinfra.host import Host

from .. import site
from ..testsupport import host_named, suite_host_name
from .support import rdp_client

OFFICE = os.environ.get("BUREAU_OFFICE_HOST") or suite_host_name("office")
# The second office host: the front gives it the agents of its share
# (test_hosts.py), Yao among them.
OFFICE2 = os.environ.get("BUREAU_OFFICE2_HOST") or suite_host_name("office2")


@pytest.fixture(scope="module")
def office(pytestconfig: pytest.Config) -> Host:
    """The office host, over the same connection as the suite host."""
    return host_named(pytestconfig, OFFICE)


@pytest.fixture(scope="module")
def office2(pytestconfig: pytest.Config) -> Host:
    return host_named(pytestconfig, OFFICE2)


@pytest.fixture(scope="module")
def office_address(office: Host) -> str:
    return site.address(office)


@pytest.fixture(scope="module")
def office_name(office: Host) -> str:
    """The name in the office host's certificate that clients dial."""
    return office.run("hostname -f").stdout.strip() or site.name("office")


@pytest.fixture(scope="module")
def office2_name(office2: Host) -> str:
    return office2.run("hostname -f").stdout.strip() or site.name("office2")


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the client's Xvfb keeps its screen."""
    return tmp_path_factory.mktemp("screen")


@pytest.fixture(scope="module")
def rdp_prefix(
    office_address: str, office_name: str, ca_file: str, screen: Path
) -> Iterator[list[str]]:
    with rdp_client(office_address, office_name, ca_file, screen) as prefix:
        yield prefix
