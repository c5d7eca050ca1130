"""Fixtures of the upgrade drill's data checks: the site's names resolve to
the host under test, a real browser for the portal, and the file where the
load step writes what the check step must find again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def manifest() -> Path:
    """What was loaded before the upgrade (BUREAU_DRILL_STATE, by default in
    the molecule ephemeral directory): kept between the drill's steps."""
    explicit = os.environ.get("BUREAU_DRILL_STATE")
    if explicit:
        return Path(explicit)
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "upgrade-drill.json")
