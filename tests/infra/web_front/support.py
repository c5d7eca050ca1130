"""Helpers of the web_front checks (plain code, no fixtures): the clients and
constants the tests and the fixtures of conftest.py share."""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from testinfra.host import Host

TIMEOUT = 20


SITES_ENABLED = "/etc/nginx/sites-enabled"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


class _HTTPConnection(http.client.HTTPConnection):
    """Dials `address` whatever the host name of the request."""

    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    """Dials `address`, sends SNI and checks the certificate for the host name."""

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=TIMEOUT, context=context)
        self._address = address
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Front:
    """Clients of the web front under test."""

    address: str
    tls: ssl.SSLContext
    sites: tuple[str, ...]

    def get(
        self,
        name: str,
        path: str = "/",
        *,
        scheme: str = "https",
        host_header: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> Answer:
        if scheme == "https":
            connection: http.client.HTTPConnection = _HTTPSConnection(
                name, self.address, 443, self.tls
            )
        else:
            connection = _HTTPConnection(name, self.address, 80)
        try:
            connection.putrequest(method, path, skip_host=True)
            connection.putheader("Host", host_header or name)
            for key, value in (headers or {}).items():
                connection.putheader(key, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def handshake(self, name: str) -> dict:
        """The TLS handshake alone; returns the peer certificate as ssl decodes it."""
        with (
            socket.create_connection((self.address, 443), TIMEOUT) as sock,
            self.tls.wrap_socket(sock, server_hostname=name) as tls,
        ):
            return tls.getpeercert()


def _site_names(host: Host) -> tuple[str, ...]:
    """Server names of the published sites, read from the host's nginx configuration."""
    names: list[str] = []
    listing = host.run("ls %s", SITES_ENABLED)
    assert listing.rc == 0, listing.stderr
    for entry in listing.stdout.split():
        if not entry.startswith("bureau-") or entry == "bureau-default.conf":
            continue
        text = host.file(f"{SITES_ENABLED}/{entry}").content_string
        for match in re.finditer(r"^\s*server_name\s+([^;]+);", text, re.MULTILINE):
            for name in match.group(1).split():
                if name not in names:
                    names.append(name)
    return tuple(names)


# Sites the run requires (space-separated names): the molecule scenario sets
# BUREAU_EXPECT_SITES so that a site gone missing fails instead of skipping.
# An audit of a host that publishes only some of them leaves it empty.
EXPECTED_SITES = set(os.environ.get("BUREAU_EXPECT_SITES", "").split())


def require_sites_or_skip(front: Front, names: set[str], what: str) -> None:
    """Skip the module when the host does not publish `names`, unless the run
    expects them (BUREAU_EXPECT_SITES), in which case their absence fails."""
    missing = names - set(front.sites)
    expected = missing & EXPECTED_SITES
    assert not expected, f"{what}: expected but not published: {sorted(expected)}"
    if missing:
        pytest.skip(f"{what}: not published on this host: {sorted(missing)}")
