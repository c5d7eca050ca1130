"""Fixtures of the journeys across services: one agent's action in one
service, seen by a colleague through another, on the suite's one host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from ..site import DOMAIN
from ..testsupport import chromium


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """Every name of the site resolves to the host under test (tests/infra/conftest.py)."""


@pytest.fixture(scope="module")
def browser(address: str) -> Iterator[Browser]:
    with chromium(DOMAIN, address) as launched:
        yield launched
