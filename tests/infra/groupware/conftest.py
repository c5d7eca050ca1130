"""Fixtures of the groupware checks: real CalDAV, CardDAV, ActiveSync, IMAP
and browser clients against SOGo behind the web front.

The tests reach the host directly on its address (the container's address
on the Docker bridge under molecule; BUREAU_GROUPWARE_ADDRESS overrides it)
while keeping the names clients use (https://mail.gouv.tg/): every
*.gouv.tg name resolves to that address inside the test process, and TLS
is checked against the CA read from the host. Agents and their passwords
are those the scenario creates (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import email
import imaplib
import os
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import caldav
import pytest
from testsupport import secret

DOMAIN = os.environ.get("BUREAU_GROUPWARE_DOMAIN", "gouv.tg")
WEB = f"mail.{DOMAIN}"
PORTAL = f"auth.{DOMAIN}"
IMAP = f"imap.{DOMAIN}"
SMTP = f"smtp.{DOMAIN}"
TIMEOUT = 30

KOKOU = "kokou.agbeko"
ABLA = "abla.adjo-amegan"
YAO = "yao.de-souza"
AFI = "afi.dalmeida"
ROOM = "salle.conseil.mef"
MINISTRY = "mef"


@dataclass(frozen=True)
class Agent:
    uid: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.uid}@{DOMAIN}"


def agent(uid: str) -> Agent:
    return Agent(uid, secret(f"agent_{uid}"))


@pytest.fixture(scope="module")
def address(host) -> str:
    """The address of the host under test, as this machine reaches it."""
    if os.environ.get("BUREAU_GROUPWARE_ADDRESS"):
        return os.environ["BUREAU_GROUPWARE_ADDRESS"]
    addresses = [a for a in host.interface("eth0").addresses if ":" not in a]
    assert addresses, "the host has no IPv4 address on eth0"
    return addresses[0]


@pytest.fixture(scope="module", autouse=True)
def resolve_site_names(address: str) -> Iterator[None]:
    """Make every name of the site resolve to the host under test, in this process."""
    original = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(name, bytes):
            name = name.decode()
        if isinstance(name, str) and (name == DOMAIN or name.endswith("." + DOMAIN)):
            name = address
        return original(name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    yield
    socket.getaddrinfo = original  # type: ignore[assignment]


@pytest.fixture(scope="module")
def dav_url() -> str:
    return f"https://{WEB}/SOGo/dav/"


@pytest.fixture(scope="module")
def dav(dav_url: str, ca_file: str):  # type: ignore[no-untyped-def]
    """A CalDAV client factory: dav(uid) is that agent's caldav.DAVClient."""

    def client(uid: str) -> caldav.DAVClient:
        who = agent(uid)
        return caldav.DAVClient(
            url=f"{dav_url}{uid}/",
            username=who.uid,
            password=who.password,
            ssl_verify_cert=ca_file,
            timeout=TIMEOUT,
        )

    return client


def imap_fetch(
    tls: ssl.SSLContext, who: Agent, token: str, wait: float = 60, folder: str = "INBOX"
) -> list[email.message.Message]:
    """Messages of the agent's `folder` whose text holds `token` (waits for the first)."""
    deadline = time.monotonic() + wait
    while True:
        client = imaplib.IMAP4_SSL(IMAP, 993, ssl_context=tls, timeout=TIMEOUT)
        try:
            client.login(who.uid, who.password)
            client.select(folder, readonly=True)
            status, data = client.search("UTF-8", "TEXT", f'"{token}"'.encode())
            assert status == "OK", data
            found = []
            for number in data[0].split():
                status, parts = client.fetch(number, "(BODY.PEEK[])")
                assert status == "OK", parts
                found.append(email.message_from_bytes(parts[0][1]))
        finally:
            client.logout()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.fixture
def token() -> str:
    return "bureau-test-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def sso_enabled(host) -> bool:
    """Whether SOGo's web interface sits behind the single sign-on portal."""
    return "SOGoTrustProxyAuthentication = YES" in host.file("/etc/sogo/sogo.conf").content_string
