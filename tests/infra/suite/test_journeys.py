"""Journeys across services, as agents live them: what one does in one
service, a colleague finds through another (mail → IMAP → webmail; an agenda
shared with a ministry → a member's CalDAV client). Later capabilities add
theirs here (a drive file, a meeting, a desktop)."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from caldav.lib import error as caldav_error
from playwright.sync_api import Browser

from ..groupware.support import WEB, agent, imap_fetch, personal_calendar, share, vevent
from ..site import DOMAIN, name
from ..testsupport import artifacts_dir

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

KOKOU = "kokou.agbeko"
ABLA = "abla.adjo-amegan"
YAO = "yao.de-souza"
EDEM = "edem.kodjo"  # of the same ministry, with no share of his own on Kokou's agenda
MINISTRY = "mef"


def test_a_mail_submitted_on_587_is_read_over_imap_and_in_the_webmail(
    tls: ssl.SSLContext, browser: Browser
) -> None:
    token = "bureau-test-" + uuid.uuid4().hex[:12]
    kokou, abla = agent(KOKOU), agent(ABLA)
    subject = f"Note de service {token}"
    with smtplib.SMTP(name("smtp"), 587, timeout=30) as client:
        client.ehlo(f"client.test.{DOMAIN}")
        client.starttls(context=tls)
        client.ehlo(f"client.test.{DOMAIN}")
        client.login(kokou.address, kokou.password)
        client.sendmail(
            kokou.address,
            [abla.address],
            (
                f"From: {kokou.address}\r\nTo: {abla.address}\r\nSubject: {subject}\r\n"
                f"Message-ID: <{uuid.uuid4().hex}@test.{DOMAIN}>\r\n\r\nBonjour Abla.\r\n"
            ).encode(),
        )

    [received] = imap_fetch(tls, abla, token)
    assert received["From"] == kokou.address

    # The same mail in SOGo's webmail, after one login at the portal.
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    try:
        page = context.new_page()
        page.set_default_timeout(45_000)
        page.goto(f"https://{WEB}/")
        page.wait_for_url(f"https://{name('auth')}/**")
        page.fill("input[name=user]", abla.uid)
        page.fill("input[name=password]", abla.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"https://{WEB}/SOGo/so/{abla.uid}/**")
        page.get_by_text(subject).first.wait_for()
        page.screenshot(path=str(artifacts_dir("suite") / "journey-webmail.png"))
    finally:
        context.close()


def test_an_agenda_shared_with_a_ministry_is_seen_by_a_member(
    tls: ssl.SSLContext, ca_file: str
) -> None:
    token = "bureau-test-" + uuid.uuid4().hex[:12]
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    own = personal_calendar(ca_file, KOKOU, KOKOU)
    own.save_event(vevent(f"Conseil de direction {token}", start))
    # Read-only for the whole ministry (its group, as SOGo's interface does it).
    share(
        tls, KOKOU, "Calendar/personal", f"@{MINISTRY}", ["PublicViewer", "ConfidentialDAndTViewer"]
    )

    seen = personal_calendar(ca_file, EDEM, KOKOU).search(
        start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
    )
    assert any(token in event.data for event in seen), "a member of the ministry does not see it"

    # An agent of another ministry does not.
    try:
        outside = personal_calendar(ca_file, YAO, KOKOU).search(
            start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
        )
    except caldav_error.DAVError:
        outside = []
    assert not any(token in event.data for event in outside)
