"""The drive page as an agent uses it: the portal's login, then upload with
progress, a new folder, a link for someone outside the administration that
works without an account and stops at its expiry. Debian's Chromium driven
by Playwright (tests/infra/testsupport.py)."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest

from ..sso.support import Portal
from ..testsupport import artifacts_dir
from .support import ABLA, DRIVE, SHARE, request

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes


def test_an_agent_uploads_makes_a_folder_and_shares_a_link(  # type: ignore[no-untyped-def]
    browser, host, tls, tmp_path: Path, token: str
) -> None:
    shots = artifacts_dir("drive")
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(45_000)
    try:
        page.goto(f"https://{DRIVE}/")
        Portal(shots).login(page, ABLA)
        page.wait_for_url(f"https://{DRIVE}/")
        page.wait_for_selector("#places button.current")
        assert "Mes documents" in page.inner_text("#places")
        # Her ministry's folder and the share her ministry writes (the page
        # listed no share before its API asked a folder with PROPFIND).
        assert SHARE in page.inner_text("#places"), page.inner_text("#places")
        assert "Espace utilisé" in page.inner_text("#quota")

        # Upload two files; the progress bars reach their end and say so.
        first = tmp_path / f"{token}-rapport.txt"
        first.write_text("Rapport trimestriel\n" * 20000, encoding="utf-8")
        second = tmp_path / f"{token}-note.txt"
        second.write_text("Note de service\n", encoding="utf-8")
        page.set_input_files("#pick", [str(first), str(second)])
        # (Locators, not wait_for_function: the page's CSP forbids eval.)
        page.locator("#uploads li.done").nth(1).wait_for()
        assert page.locator("#uploads progress").count() == 2
        page.wait_for_selector(f"#list a.file:text('{first.name}')")

        # A new folder (the page asks its name).
        page.once("dialog", lambda dialog: dialog.accept(f"{token}-dossier"))
        page.click("#new-folder")
        page.wait_for_selector(f"#list a.folder:text('{token}-dossier')")
        assert (
            request(
                tls, "PROPFIND", f"/users/{ABLA}/{token}-dossier/", ABLA, headers={"Depth": "0"}
            )[0]
            == 207
        )

        # A link for someone outside, valid 2 days.
        row = page.locator("#list tr", has=page.locator(f"a.file:text('{second.name}')"))
        row.locator("button:text('Partager')").click()
        page.fill("#share-days", "2")
        page.click("#share-make")
        page.locator("#share-copy").wait_for()
        url = page.get_attribute("#share-result", "data-url")
        page.screenshot(path=str(shots / "drive-page.png"))
    except Exception:
        page.screenshot(path=str(shots / "drive-page-failed.png"))
        raise
    finally:
        context.close()

    # Someone without any account: a fresh browser downloads through the link.
    assert url.startswith(f"https://{DRIVE}/s/"), url
    outsider = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    try:
        page = outsider.new_page()
        with page.expect_download() as download:
            # As the person would: a click on the link received by mail.
            click = "u => { const a = document.createElement('a'); a.href = u; a.click(); }"
            page.evaluate(click, url)
        saved = tmp_path / "downloaded"
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8") == "Note de service\n"
        assert not page.context.cookies(f"https://{DRIVE}/"), "the link gave the outsider a session"
    finally:
        outsider.close()

    # At its expiry the link stops working (its end moved to the past on the host).
    link = url.rsplit("/", 1)[1]
    store = f"/var/lib/bureau-drive/links/{urllib.parse.quote(link)}.json"
    record = json.loads(host.file(store).content_string)
    record["expires"] = int(time.time()) - 1
    host.run(f"printf '%s' {json.dumps(json.dumps(record))} > {store}")
    status, _, body = request(tls, "GET", f"/s/{link}", name=DRIVE)
    assert status == 410, status
    assert "expiré".encode() in body
    status, _, _ = request(tls, "GET", "/s/" + "A" * 32, name=DRIVE)
    assert status == 404
    for name in (first.name, second.name, f"{token}-dossier/"):
        request(tls, "DELETE", f"/users/{ABLA}/{name}", ABLA)
