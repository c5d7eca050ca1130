""" "Bureau virtuel" in the portal: an agent logs in to the portal, finds the
entry in its menu, and the page hands her a connection file with her login
filled in; FreeRDP opens her desktop from that very file. Without a portal
session the file is not served."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from testinfra.host import Host

from .. import site
from ..site import DOMAIN
from ..sso.support import PORTAL, Portal
from ..testsupport import agent, artifacts_dir, chromium, https_request
from .support import rdp_client, sessions_of, start, stop, wait_for, xfreerdp

pytestmark = pytest.mark.readonly

UID = "yao.de-souza"
PAGE = f"bureau.{DOMAIN}"


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """The site's names resolve to the suite host (its front)."""


@pytest.fixture
def rdp_file(address: str, tmp_path: Path) -> Iterator[Path]:
    """What the agent downloads from the page, after logging in to the portal."""
    shots = artifacts_dir("office")
    who = agent(UID)
    with chromium(DOMAIN, address) as browser:
        context = browser.new_context(
            accept_downloads=True, ignore_https_errors=True, locale="fr-FR"
        )
        page = context.new_page()
        try:
            page.goto(PORTAL)
            Portal(shots).login(page, who.uid, who.password)
            entry = page.get_by_text("Bureau virtuel", exact=True)
            assert entry.count() >= 1, "the portal's menu has no Bureau virtuel"
            page.goto(f"https://{PAGE}/")
            assert page.inner_text("#uid") == UID
            with page.expect_download() as download:
                page.click("#rdp")
            saved = tmp_path / "bureau-virtuel.rdp"
            download.value.save_as(saved)
            page.screenshot(path=str(shots / "bureau-virtuel.png"), full_page=True)
        finally:
            context.close()
    yield saved


def test_the_portal_hands_her_a_connection_file_that_opens_her_desktop(
    office: Host, office2: Host, office2_name: str, ca_file: str, screen: Path, rdp_file: Path
) -> None:
    """Yao's host is the second office host (test_hosts.py): her file names
    it, and her RDP client opens her desktop there."""
    name = office2_name
    settings = rdp_file.read_text(encoding="utf-8").splitlines()
    assert f"full address:s:{name}" in settings, settings
    assert f"username:s:{UID}" in settings, settings
    assert "redirectdrives:i:0" in settings, settings
    # Her RDP client opens the file; she types her password.
    with rdp_client(site.address(office2), name, ca_file, screen) as prefix:
        client = start(
            [*prefix, xfreerdp(), str(rdp_file), f"/p:{agent(UID).password}", "/cert:deny",
             "/size:1280x800", "/log-level:WARN"],
            artifacts_dir("office") / "bureau-virtuel.log",
        )  # fmt: skip
        try:
            assert wait_for(lambda: sessions_of(office2, UID), 60), (
                f"no desktop for {UID} from the portal's file; client exit status {client.poll()}"
            )
            assert not sessions_of(office, UID)
        finally:
            stop(client)
            office2.run("loginctl terminate-user %s", UID)


def test_without_a_portal_session_the_file_is_not_served(tls: ssl.SSLContext) -> None:
    for path in ("/bureau-virtuel.rdp", "/"):
        status, headers, body = https_request(tls, PAGE, "GET", path)
        assert status == 302 and headers["location"].startswith(PORTAL), (path, status)
        assert b"full address" not in body
    # A forged identity header changes nothing.
    status, _, body = https_request(
        tls, PAGE, "GET", "/bureau-virtuel.rdp", headers={"Lm-Remote-User": UID}
    )
    assert status == 302 and b"username" not in body
