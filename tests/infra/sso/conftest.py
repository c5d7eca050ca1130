"""Fixtures of the single sign-on checks: a real browser and real TLS clients.

The tests run on the machine that drives the containers and reach nginx on
the host's own address (tests/infra/site.py),
with the portal's names (auth.<domain>, app1.<domain> …) mapped to it, so the
portal's redirects between virtual hosts work as in production. Chromium is
Debian's (/usr/bin/chromium, BUREAU_CHROMIUM), driven by Playwright; TLS is
verified against the CA read from the host by a separate check, which is why
the browser may ignore certificate errors. The test agents and passwords are
those the molecule scenario creates (BUREAU_TEST_SECRETS, by default the
molecule ephemeral directory's `secrets`). Screenshots go to
BUREAU_TEST_ARTIFACTS (default: the ephemeral directory's `artifacts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from ..testsupport import artifacts_dir, chromium
from .support import DOMAIN, Portal


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


@pytest.fixture(scope="module")
def portal(artifacts: Path) -> Portal:
    return Portal(artifacts)
