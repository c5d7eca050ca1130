"""The test sites of the molecule scenario, published through web_front's
entry point: a static site, and a proxied one whose /private/ is behind the
SSO hook (stub snippets: pass with the header X-Test-Sso, else 401)."""

from __future__ import annotations

import json

import pytest
from conftest import Front, require_sites_or_skip

STATIC = "static.gouv.tg"
APP = "app.gouv.tg"


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


def test_protected_location_needs_the_sso(front: Front) -> None:
    refused = front.get(APP, "/private/")
    assert refused.status == 401
    assert b"/private/" not in refused.body

    passed = front.get(APP, "/private/", headers={"X-Test-Sso": "kokou.agbeko"})
    assert passed.status == 200
    # The location snippet's proxy_set_header reached the upstream.
    assert json.loads(passed.body)["headers"]["X-Test-Sso-User"] == "kokou.agbeko"


def test_unprotected_location_of_the_same_site_needs_no_sso(front: Front) -> None:
    assert front.get(APP, "/public").status == 200
