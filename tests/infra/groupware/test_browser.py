"""The agent's journey in a browser (Playwright driving Debian's Chromium):
log in once at the portal, read mail in the webmail, see a colleague's
shared event in the agenda. Screenshots are saved as test artifacts."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ABLA, DOMAIN, KOKOU, PORTAL, WEB, agent, artifacts_dir, imap_fetch
from playwright.sync_api import sync_playwright
from test_groupware import share, vevent

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser(address: str):  # type: ignore[no-untyped-def]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[f"--host-resolver-rules=MAP *.{DOMAIN} {address}"],
        )
        yield browser
        browser.close()


def test_agent_reads_mail_and_a_shared_agenda_after_one_login(
    browser, dav, tls: ssl.SSLContext, sso_enabled: bool
) -> None:
    token = "bureau-test-" + uuid.uuid4().hex[:12]
    abla = agent(ABLA)

    # A mail for Abla, delivered by the mail stack.
    with smtplib.SMTP(f"smtp.{DOMAIN}", 25, timeout=30) as client:
        client.ehlo("client.test.gouv.tg")
        client.starttls(context=tls)
        client.ehlo("client.test.gouv.tg")
        client.sendmail(
            f"{KOKOU}@{DOMAIN}",
            [abla.address],
            (
                f"From: {KOKOU}@{DOMAIN}\r\nTo: {abla.address}\r\n"
                f"Subject: Ordre du jour {token}\r\n\r\nBonjour Abla.\r\n"
            ).encode(),
        )
    assert imap_fetch(tls, abla, token), "the mail did not arrive"

    # An event of Kokou's tomorrow, shared read-only with Abla.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    calendar = dav(KOKOU).calendar(url=f"https://{WEB}/SOGo/dav/{KOKOU}/Calendar/personal/")
    calendar.save_event(vevent(f"Revue {token}", start))
    share(tls, KOKOU, "Calendar/personal", ABLA, ["PublicViewer", "ConfidentialDAndTViewer"])

    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(45_000)
    page.goto(f"https://{WEB}/")
    if sso_enabled:
        page.wait_for_url(f"https://{PORTAL}/**")
        page.fill("input[name=user]", abla.uid)
        page.fill("input[name=password]", abla.password)
        page.click("button[type=submit]")
    else:
        page.wait_for_selector("input[name=username]")
        page.fill("input[name=username]", abla.uid)
        page.fill("input[name=password]", abla.password)
        page.keyboard.press("Enter")
    page.wait_for_url(f"https://{WEB}/SOGo/so/{abla.uid}/**")

    # Webmail: the message is in the inbox list.
    page.get_by_text(f"Ordre du jour {token}").first.wait_for()
    page.screenshot(path=str(artifacts_dir() / "groupware-webmail.png"))

    # Agenda: subscribe to Kokou's calendar (what "S'abonner" does), then
    # open the day of the event.
    status = page.evaluate(
        """async (url) => {
            const xsrf = (document.cookie.match(/XSRF-TOKEN=([^;]+)/) || [])[1] || "";
            const r = await fetch(url, {method: "POST", headers: {"X-XSRF-TOKEN": xsrf}});
            return r.status;
        }""",
        f"/SOGo/so/{KOKOU}/Calendar/personal/subscribe",
    )
    assert status in (200, 204), status
    page.goto(f"https://{WEB}/SOGo/so/{abla.uid}/Calendar/view#!/calendar/{start:%Y%m%d}/day")
    page.get_by_text(f"Revue {token}").first.wait_for()
    page.screenshot(path=str(artifacts_dir() / "groupware-agenda.png"))
    context.close()
