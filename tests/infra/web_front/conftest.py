"""Fixtures of the web front checks: real HTTP and TLS clients, testssl.sh.

nginx is reached on the host's own address (by default the first IPv4
address of eth0, the container's address on the scenario's network; override
with BUREAU_WEB_ADDRESS) on ports 80 and 443, while the clients name the
sites as browsers do (SNI and Host header), so no DNS entry is needed.
Certificates are checked against the CA read from the host. The sites are
those the host serves: the server names of /etc/nginx/sites-enabled/bureau-*.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from testinfra.host import Host

from ..testsupport import artifacts_dir
from .support import (
    SITES_ENABLED,
    Front,
    _site_names,
)


@pytest.fixture(scope="module")
def front(host: Host, tls: ssl.SSLContext, address: str) -> Front:
    sites = _site_names(host)
    assert sites, f"no Bureau site is enabled in {SITES_ENABLED}"
    return Front(
        address=address,
        tls=tls,
        sites=sites,
    )


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where the checks leave their reports (never in the repository)."""
    return artifacts_dir("web_front")
