"""Fixtures of the groupware checks: real CalDAV, CardDAV, ActiveSync, IMAP
and browser clients against SOGo behind the web front.

The tests reach the host directly on its address (tests/infra/site.py)
while keeping the names clients use (https://mail.<domain>/): every
name of the domain resolves to that address inside the test process, and TLS
is checked against the CA read from the host. Agents and their passwords
are those the scenario creates (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import uuid

import caldav
import pytest

from .support import (
    TIMEOUT,
    WEB,
    agent,
)


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """Every name of the site resolves to the host under test (tests/infra/conftest.py)."""


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


@pytest.fixture
def token() -> str:
    return "bureau-test-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def sso_enabled(host) -> bool:
    """Whether SOGo's web interface sits behind the single sign-on portal."""
    return "SOGoTrustProxyAuthentication = YES" in host.file("/etc/sogo/sogo.conf").content_string
