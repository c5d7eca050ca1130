"""Fixtures of the mail checks: real SMTP, IMAP and ManageSieve clients.

The daemons are reached on the host's address (tests/infra/site.py) on their
standard ports, with TLS certificates checked against the CA read from the
host and the names clients use (smtp.<domain>, imap.<domain>). The test agents and their
passwords are those the scenario creates (BUREAU_TEST_SECRETS, by default
the molecule ephemeral directory's `secrets`).
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator

import pytest

from .support import (
    Mail,
)


@pytest.fixture(scope="module")
def mail(ca_file: str) -> Mail:
    context = ssl.create_default_context(cafile=ca_file)
    return Mail(tls=context)


@pytest.fixture
def token() -> Iterator[str]:
    yield "bureau-test-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """smtp.<domain> and imap.<domain> resolve to the host under test."""
