"""Helpers shared by the scenario conftests (plain functions, not fixtures).

The scenario conftests import them from here and re-export what their tests
use (`from conftest import secret`). This directory is on sys.path because
pytest imports tests/infra/conftest.py from it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("BUREAU_CHROMIUM", "/usr/bin/chromium")


def secret(name: str) -> str:
    """A test secret written by the scenario's ansible.builtin.password lookups
    (BUREAU_TEST_SECRETS, by default the molecule ephemeral directory's `secrets`)."""
    directory = os.environ.get("BUREAU_TEST_SECRETS") or os.path.join(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets"
    )
    return Path(directory, name).read_text(encoding="utf-8").split()[0]


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
    Playwright, with every name of `domain` resolving to `address`, so the
    portal's redirects between virtual hosts work as in production."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[f"--host-resolver-rules=MAP *.{domain} {address}"],
        )
        try:
            yield browser
        finally:
            browser.close()
