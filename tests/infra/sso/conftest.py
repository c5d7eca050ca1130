"""Fixtures of the single sign-on checks: a real browser and real TLS clients.

The tests run on the machine that drives the containers and reach nginx on
the host's own address (its eth0 on the Docker bridge, or BUREAU_SSO_ADDRESS),
with the portal's names (auth.gouv.tg, app1.gouv.tg …) mapped to it, so the
portal's redirects between virtual hosts work as in production. Chromium is
Debian's (/usr/bin/chromium, BUREAU_CHROMIUM), driven by Playwright; TLS is
verified against the CA read from the host by a separate check, which is why
the browser may ignore certificate errors. The test agents and passwords are
those the molecule scenario creates (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`). Screenshots go to
BUREAU_TEST_ARTIFACTS (default: the ephemeral directory's `artifacts`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from testsupport import artifacts_dir, chromium, secret

DOMAIN = os.environ.get("BUREAU_SSO_DOMAIN", "gouv.tg")
PORTAL = f"https://auth.{DOMAIN}/"
MANAGER = f"https://manager.{DOMAIN}/"
APP1 = f"https://app1.{DOMAIN}/"
APP2 = f"https://app2.{DOMAIN}/"

AGENT = "kokou.agbeko"
VICTIM = "abla.adjo-amegan"
ADMIN = "edem.kodjo"


@pytest.fixture(scope="module")
def address(host) -> str:
    """Where nginx answers: the host's address on the Docker network."""
    configured = os.environ.get("BUREAU_SSO_ADDRESS")
    if configured:
        return configured
    return str(host.interface("eth0").addresses[0])


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return artifacts_dir()


@pytest.fixture(scope="module")
def browser(address: str) -> Iterator[Browser]:
    with chromium(DOMAIN, address) as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookie): one agent's session."""
    fresh = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    fresh.set_default_timeout(20_000)
    yield fresh
    fresh.close()


@dataclass(frozen=True)
class Portal:
    """What an agent does with the portal in a browser."""

    artifacts: Path

    def login(self, page: Page, uid: str, password: str | None = None) -> None:
        """Fill the login form the page shows and submit it."""
        page.wait_for_selector("form#lform input[name=user]")
        page.fill("input[name=user]", uid)
        if password is None:
            password = secret(f"agent_{uid}")
        page.fill("input[name=password]", password)
        page.click("form#lform button[type=submit]")
        page.wait_for_load_state("networkidle")

    def is_login_form(self, page: Page) -> bool:
        form = page.locator("form#lform input[name=password]")
        return page.url.startswith(PORTAL) and form.count() == 1

    def error_code(self, page: Page) -> str | None:
        """The portal's message number (trmsg) of the alert shown, if any."""
        alert = page.locator("[role=alert] [trmsg]")
        return alert.first.get_attribute("trmsg") if alert.count() else None

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.artifacts / f"sso-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def portal(artifacts: Path) -> Portal:
    return Portal(artifacts)
