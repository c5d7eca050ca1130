"""Fixtures shared by the testinfra checks of every role, and the rule that
every check says what it does to the host.

The checks run under `molecule verify` (hosts from molecule's inventory).
They only use the `host` fixture and the hosts testinfra was given, so that
a `bureau audit` command (not built yet) can run them against the hosts of a
real inventory.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator

import pytest
import testinfra
from testinfra.host import Host

from . import site
from .testsupport import WAIVERS_FILE, live_waivers

# What a check does to the host, mildest first. Every check carries one (a
# module's pytestmark, or its own mark when it does more than its module):
#   readonly     looks, connects, logs in (leaves logs and short-lived sessions)
#   writes       creates data it may not remove (mails, events, test agents)
#   destructive  locks an account, bans an address, restarts a service
# `--bureau-max-kind readonly` runs only the read-only checks (an audit of
# production hosts); a check without a kind fails the collection.
KINDS = ("readonly", "writes", "destructive")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bureau-max-kind",
        choices=KINDS,
        default="destructive",
        help="run only the checks of this kind or milder (default: every check)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for kind, text in zip(
        KINDS,
        (
            "looks only: connects and logs in, changes nothing that lasts",
            "creates data on the host (mails, events, agents)",
            "locks, bans or restarts: never against production",
        ),
        strict=True,
    ):
        config.addinivalue_line("markers", f"{kind}: {text}")


def kind_of(item: pytest.Item) -> str | None:
    """The strongest kind among the item's marks (its own and its module's)."""
    marked = {mark.name for mark in item.iter_markers() if mark.name in KINDS}
    for kind in reversed(KINDS):
        if kind in marked:
            return kind
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if kind_of(item) is None]
    if unmarked:
        raise pytest.UsageError(
            "these checks do not say what they do to the host; mark them "
            f"{' / '.join(KINDS)} (tests/infra/conftest.py): " + ", ".join(unmarked)
        )
    ceiling = KINDS.index(config.getoption("--bureau-max-kind"))
    keep = [item for item in items if KINDS.index(kind_of(item) or "") <= ceiling]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# A check may skip only with a waiver: a written reason, an owner and an
# expiry date in the project's waivers file (scope testinfra, id
# "tests/infra/<role>/<module>.py::<check>"). The run lists the waivers it applied; a skip
# without a live waiver fails the run.
# (testsupport.WAIVERS_FILE, testsupport.live_waivers: the drive's checks read
# their litmus and client waivers the same way.)


def check_id(nodeid: str) -> str:
    """The waiver id of a test: `tests/infra/<role>/<module>.py::<check>`, without the host."""
    path, _, name = nodeid.partition("::")
    path = "tests/infra/" + path.split("tests/infra/", 1)[-1]
    return f"{path}::{name.split('[', 1)[0]}"


_skipped: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped[check_id(report.nodeid)] = reason


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if not _skipped:
        return
    waivers = live_waivers()
    write = terminalreporter.write_line
    terminalreporter.section("waivers")
    for check, reason in sorted(_skipped.items()):
        waiver = waivers.get(check)
        if waiver:
            until = f"{waiver['owner']}, until {waiver['expires']}"
            write(f"waived  {check}: {waiver['justification']} ({until})")
        else:
            write(
                f"NOT WAIVED  {check}: skipped ({reason}) without a waiver in {WAIVERS_FILE.name}"
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    waivers = live_waivers()
    if any(check not in waivers for check in _skipped) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
def peers(host: Host, all_hosts: list[Host], pytestconfig: pytest.Config) -> list[Host]:
    """The other hosts: clients that check what `host` exposes on the network.
    BUREAU_PEERS names them when they are not checked themselves (molecule/vm:
    a bare VM that only probes the converged one)."""
    named = os.environ.get("BUREAU_PEERS", "").split()
    if named:
        option = pytestconfig.option
        return testinfra.get_hosts(
            named, connection=option.connection, ansible_inventory=option.ansible_inventory
        )
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


@pytest.fixture(scope="module")
def address(host: Host) -> str:
    """Where this machine reaches the host under test (tests/infra/site.py)."""
    return site.address(host)


@pytest.fixture(scope="module")
def resolve_site_names(address: str) -> Iterator[None]:
    """Make every name of the site resolve to the host under test, in this process:
    clients keep the names they use (SNI, certificate names) without a DNS entry."""
    original = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(name, bytes):
            name = name.decode()
        if isinstance(name, str) and (name == site.DOMAIN or name.endswith("." + site.DOMAIN)):
            name = address
        return original(name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    yield
    socket.getaddrinfo = original  # type: ignore[assignment]
