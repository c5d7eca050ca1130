"""The test sites of the molecule scenario, published through web_front's
entry point: a static site, and a proxied one whose /private/ is behind the
portal (the sso role's snippets)."""

from __future__ import annotations

import json

import pytest

from ..site import name
from .support import Front, require_sites_or_skip

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

STATIC = name("static")
APP = name("app")


@pytest.fixture(scope="module", autouse=True)
def _test_sites(front: Front) -> None:
    require_sites_or_skip(front, {STATIC, APP}, "the molecule test sites")


def test_static_site_serves_its_files(front: Front) -> None:
    answer = front.get(STATIC, "/")
    assert answer.status == 200
    assert b"Page statique de test" in answer.body
    assert front.get(STATIC, "/missing.html").status == 404


def test_proxied_site_reaches_its_upstream_with_the_proxy_headers(front: Front) -> None:
    answer = front.get(APP, "/hello?lang=fr", headers={"X-Forwarded-For": "198.51.100.7"})
    assert answer.status == 200
    seen = json.loads(answer.body)
    assert seen["path"] == "/hello?lang=fr"
    headers = seen["headers"]
    assert headers["Host"] == APP
    assert headers["X-Forwarded-Proto"] == "https"
    # The front is the edge: a client cannot forge the address the upstream sees.
    assert headers["X-Forwarded-For"] == headers["X-Real-IP"] != "198.51.100.7"


def test_front_replaces_the_upstream_frame_policy(front: Front) -> None:
    answer = front.get(APP, "/")
    assert answer.header_values("X-Frame-Options") == ["SAMEORIGIN"]


def test_protected_location_needs_the_portal(front: Front) -> None:
    """Without a portal session /private/ never reaches the upstream, whatever
    identity headers the client sends (the login itself: tests/infra/sso)."""
    forged = {"Auth-User": "kokou.agbeko", "Remote-User": "kokou.agbeko", "X-Remote-User": "x"}
    for headers in ({}, forged):
        refused = front.get(APP, "/private/", headers=headers)
        assert refused.status in (302, 401), refused.status
        assert b"/private/" not in refused.body
        if refused.status == 302:
            assert refused.headers["Location"].startswith(f"https://{name('auth')}/")
    # The public part of the same site is not behind the portal.
    assert front.get(APP, "/").status == 200
