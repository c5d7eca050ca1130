"""Helpers shared by the scenario conftests (plain functions, not fixtures).

The scenario conftests import them from here and re-export what their tests
use (`from conftest import secret`). This directory is on sys.path because
pytest imports tests/infra/conftest.py from it.
"""

from __future__ import annotations

import base64
import datetime
import email
import email.message
import http.client
import imaplib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sslyze
import testinfra
from playwright.sync_api import Browser, sync_playwright
from testinfra.host import Host

from . import browser_netns
from .site import DOMAIN

CHROMIUM = os.environ.get("BUREAU_CHROMIUM", "/usr/bin/chromium")

# The project's waivers: checks, or steps of checks, Bureau decides not to pass.
WAIVERS_FILE = Path(__file__).resolve().parents[2] / "src" / "bureau" / "data" / "waivers.yml"


def live_waivers(today: datetime.date | None = None, scope: str = "testinfra") -> dict[str, dict]:
    """The waivers of `scope` that have not expired, by check id: the project's,
    and those of the inventory under audit (BUREAU_WAIVERS, set by `bureau
    audit` to the inventory's audit-waivers.yml), read by bureau.core.waivers."""
    from bureau.core import waivers

    files = [WAIVERS_FILE]
    if os.environ.get("BUREAU_WAIVERS"):
        files.append(Path(os.environ["BUREAU_WAIVERS"]))
    found = waivers.live(waivers.merged(*files), today or datetime.date.today(), scope)
    return {check: waiver.as_dict() for check, waiver in found.items()}


def secret(name: str) -> str:
    """A test secret written by the scenario's ansible.builtin.password lookups
    (BUREAU_TEST_SECRETS, by default the molecule ephemeral directory's `secrets`)."""
    directory = os.environ.get("BUREAU_TEST_SECRETS") or os.path.join(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets"
    )
    return Path(directory, name).read_text(encoding="utf-8").split()[0]


@dataclass(frozen=True)
class Agent:
    """A test agent: its login and the password the scenario gave it."""

    uid: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.uid}@{DOMAIN}"


def agent(uid: str) -> Agent:
    return Agent(uid, secret(f"agent_{uid}"))


def basic_auth(uid: str, password: str | None = None) -> str:
    """HTTP Basic credentials of a test agent (or of her login with another password)."""
    who = agent(uid)
    token = base64.b64encode(f"{who.uid}:{password or who.password}".encode()).decode()
    return f"Basic {token}"


def https_request(
    tls: ssl.SSLContext,
    name: str,
    method: str,
    path: str,
    uid: str | None = None,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request to a site of the host under test by its name (the
    site's names resolve to it: resolve_site_names), with the agent's HTTP
    Basic credentials when `uid` is given; the status, the headers (lower-case
    names) and the body."""
    all_headers = dict(headers or {})
    if uid:
        all_headers["Authorization"] = basic_auth(uid)
    connection = http.client.HTTPSConnection(name, 443, context=tls, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def messages_with(client: imaplib.IMAP4, folder: str, token: str) -> list[email.message.Message]:
    """The messages of `folder` whose text holds `token`, read with an IMAP client
    already logged in (each keeps its bytes as `.raw`, for DKIM checks)."""
    client.select(folder, readonly=True)
    status, data = client.search("UTF-8", "TEXT", f'"{token}"'.encode())
    assert status == "OK", data
    found = []
    for number in data[0].split():
        status, parts = client.fetch(number, "(BODY.PEEK[])")
        assert status == "OK", parts
        raw = parts[0][1]
        message = email.message_from_bytes(raw)
        message.raw = raw  # type: ignore[attr-defined]
        found.append(message)
    return found


def artifacts_dir(*parts: str) -> Path:
    """Where the checks leave screenshots and reports, never in the repository
    (BUREAU_TEST_ARTIFACTS, by default the molecule ephemeral directory's `artifacts`)."""
    base = os.environ.get("BUREAU_TEST_ARTIFACTS") or os.path.join(
        os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY") or tempfile.gettempdir(), "artifacts"
    )
    path = Path(base, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium(domain: str, address: str) -> Iterator[Browser]:
    """Debian's Chromium (never a browser Playwright downloads), driven by
    Playwright, with every name of `domain` reaching `address` (https on 443,
    http on 80), so the portal's redirects between virtual hosts work as in
    production. Chromium runs in a network namespace of its own, where the
    host's interfaces coming and going (the other CI lane's Docker networks)
    cannot abort its requests with net::ERR_NETWORK_CHANGED; its traffic
    reaches `address` through a relay (tests/infra/browser_netns.py). Where
    the machine cannot make the namespace, it runs directly and says so on
    stderr."""
    with (
        sync_playwright() as playwright,
        browser_netns.launch(playwright.chromium, CHROMIUM, domain, address) as browser,
    ):
        yield browser


# testssl.sh severities that fail a TLS check (nothing at or above MEDIUM).
TESTSSL_FAILING = ("MEDIUM", "HIGH", "CRITICAL")


# What run_testssl asks testssl.sh by default: protocols, cipher categories,
# forward secrecy, server preferences, server defaults, vulnerabilities.
TESTSSL_FULL = ("-p", "-s", "-f", "-P", "-S", "-U")


def run_testssl(
    target: str,
    address: str,
    ca_file: str,
    report: Path,
    *extra: str,
    checks: tuple[str, ...] = TESTSSL_FULL,
) -> list[dict]:
    """testssl.sh (Debian's) against `target` (`name:port` or `https://name/`)
    dialled at `address`: `checks` (by default the full run, TESTSSL_FULL),
    plus `extra` options (`-h` for headers, `--starttls smtp`…); returns its
    JSON findings (the report is kept as an artifact)."""
    command = shutil.which("testssl") or shutil.which("testssl.sh")
    assert command, "testssl.sh is not installed on this machine (Debian package testssl.sh)"
    report.unlink(missing_ok=True)
    done = subprocess.run(
        [
            command,
            *("--quiet", "--color", "0", "--warnings", "off", "--sneaky"),
            *("--add-ca", ca_file, "--ip", address, "--jsonfile", str(report)),
            *checks,
            *extra,
            target,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(report.read_text())


# sslyze's cipher-suite scans, by the protocol version they try.
SSLYZE_VERSIONS = {
    "SSL 2.0": "ssl_2_0_cipher_suites",
    "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}


def scan_tls_suites(
    address: str, port: int, name: str, starttls: str | None = None
) -> dict[str, list[str]]:
    """The cipher suites a server accepts, by protocol version (only the
    versions it accepts at all), as sslyze finds them, its own OpenSSL
    builds trying every suite of SSL 2.0 to TLS 1.3: for the services
    testssl.sh cannot speak to (`starttls`: "RDP", sslyze's names)."""
    configuration = sslyze.ServerNetworkConfiguration(
        tls_server_name_indication=name,
        tls_opportunistic_encryption=(
            sslyze.ProtocolWithOpportunisticTlsEnum[starttls] if starttls else None
        ),
    )
    request = sslyze.ServerScanRequest(
        server_location=sslyze.ServerNetworkLocation(name, port, ip_address=address),
        network_configuration=configuration,
        scan_commands={sslyze.ScanCommand[kind.upper()] for kind in SSLYZE_VERSIONS.values()},
    )
    scanner = sslyze.Scanner()
    scanner.queue_scans([request])
    (result,) = scanner.get_results()
    completed = result.scan_status == sslyze.ServerScanStatusEnum.COMPLETED
    assert completed, result.connectivity_error_trace
    offered = {}
    for version, attribute in SSLYZE_VERSIONS.items():
        attempt = getattr(result.scan_result, attribute)
        assert attempt.status == sslyze.ScanCommandAttemptStatusEnum.COMPLETED, (
            version, attempt.error_reason, attempt.error_trace,
        )  # fmt: skip
        accepted = [suite.cipher_suite.name for suite in attempt.result.accepted_cipher_suites]
        if accepted:
            offered[version] = accepted
    return offered


def suite_host_name(suffix: str) -> str:
    """The inventory name of one of molecule/suite's other hosts:
    `$BUREAU_SUITE-<suffix>` (drive2, office, video)."""
    return os.environ.get("BUREAU_SUITE", "bureau-molecule-suite") + "-" + suffix


def host_named(pytestconfig: pytest.Config, name: str) -> Host:
    """Another host of the inventory under test, over the same connection as the host."""
    return testinfra.get_host(
        f"ansible://{name}", ansible_inventory=pytestconfig.option.ansible_inventory
    )


def wait_for_ban(
    host: Host, jail: str, address: str | None = None, timeout: float = 30
) -> list[str]:
    """The addresses fail2ban's `jail` bans (`address` among them when given),
    once the firewall holds them. fail2ban lists an address before its action
    has put it in nftables (a jail's first ban also creates its table), so a
    probe made as soon as the list shows it can still get through."""
    deadline = time.monotonic() + timeout
    banned: list[str] = []
    while time.monotonic() < deadline:
        banned = host.check_output("fail2ban-client get %s banip", jail).split()
        if banned and (address is None or address in banned):
            # fail2ban's nftables actions keep their sets in one table.
            ruleset = host.run("nft list table inet f2b-table").stdout
            if all(re.search(rf"(?<![\w.:]){re.escape(a)}(?![\w.:])", ruleset) for a in banned):
                return banned
        time.sleep(0.5)
    pytest.fail(
        f"fail2ban's {jail} jail banned {banned or 'nobody'}"
        + (f" (expected {address})" if address else "")
        + f", and within {timeout:.0f} s the firewall did not hold "
        + ("it" if banned else "any ban")
    )


# Every port at once: a dropped one costs the whole timeout.
PROBE = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor

def verdict(port):
    try:
        socket.create_connection((sys.argv[1], port), timeout=3).close()
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "dropped"

ports = [int(p) for p in sys.argv[2:]]
with ThreadPoolExecutor(len(ports)) as pool:
    print(json.dumps(dict(zip(ports, pool.map(verdict, ports)))))
"""


def probe_here(address: str, ports: list[int]) -> dict[int, str]:
    """Each TCP port of address from this machine: open, refused or dropped."""

    def verdict(port: int) -> str:
        try:
            socket.create_connection((address, port), timeout=3).close()
            return "open"
        except ConnectionRefusedError:
            return "refused"
        except OSError:
            return "dropped"

    with ThreadPoolExecutor(len(ports)) as pool:
        return dict(zip(ports, pool.map(verdict, ports), strict=True))


def probe_from(host: Host, address: str, ports: list[int]) -> dict[int, str]:
    """The same, from another host of the scenario (its python3)."""
    arguments = " ".join(["%s"] * len(ports))
    run = host.run("python3 -c %s %s " + arguments, PROBE, address, *map(str, ports))
    assert run.rc == 0, run.stderr
    return {int(port): verdict for port, verdict in json.loads(run.stdout).items()}
