"""Fixtures of the drive checks: real WebDAV clients (rclone, litmus, HTTP)
through the web front's two names, and Debian's Chromium for the page.

The tests reach the host directly on its address (tests/infra/site.py)
while keeping the names agents use: inside this process every name of the
domain resolves to it; rclone and litmus run in a mount namespace of their
own with a hosts file and a CA bundle saying the same (support.named_host).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from ..site import DOMAIN
from ..testsupport import chromium
from .support import named_host


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """Every name of the site resolves to the host under test (tests/infra/conftest.py)."""


@pytest.fixture(scope="module")
def client_prefix(address: str, ca_file: str) -> Iterator[list[str]]:
    with named_host(address, ca_file) as prefix:
        yield prefix


@pytest.fixture
def token() -> str:
    return "bureau-test-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def browser(address: str) -> Iterator[Browser]:
    with chromium(DOMAIN, address) as launched:
        yield launched
