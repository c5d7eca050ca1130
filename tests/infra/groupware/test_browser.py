"""The agent's journey in a browser (Playwright driving Debian's Chromium):
log in once at the portal, read mail in the webmail, see a colleague's
shared event in the agenda. Screenshots are saved as test artifacts."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ..testsupport import artifacts_dir, chromium
from .support import (
    ABLA,
    DOMAIN,
    KOKOU,
    PORTAL,
    WEB,
    YAO,
    Agent,
    agent,
    imap_fetch,
    share,
    vevent,
)

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes


@pytest.fixture(scope="module")
def browser(address: str):  # type: ignore[no-untyped-def]
    with chromium(DOMAIN, address) as launched:
        yield launched


def log_in(browser, who: Agent, sso_enabled: bool):  # type: ignore[no-untyped-def]
    """A browser context where `who` logged in once (at the portal when SOGo
    sits behind it) and landed in SOGo."""
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(45_000)
    # Every answer on the way in, for the report when the way in fails.
    answers: list[str] = []
    page.on("response", lambda r: answers.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: answers.append(f"FAILED {r.failure} {r.url}"))
    page.goto(f"https://{WEB}/")
    if sso_enabled:
        page.wait_for_url(f"https://{PORTAL}/**")
        page.fill("input[name=user]", who.uid)
        page.fill("input[name=password]", who.password)
        page.click("button[type=submit]")
    else:
        page.wait_for_selector("input[name=username]")
        page.fill("input[name=username]", who.uid)
        page.fill("input[name=password]", who.password)
        page.keyboard.press("Enter")
    try:
        page.wait_for_url(f"https://{WEB}/SOGo/so/{who.uid}/**")
    except Exception:
        page.screenshot(path=str(artifacts_dir("groupware") / f"login-{who.uid}.png"))
        raise AssertionError(
            f"{who.uid} did not reach SOGo after logging in; the way: " + " → ".join(answers[-15:])
        ) from None
    return context, page


def send_mail(tls: ssl.SSLContext, sender: str, recipient: str, subject: str, body: str) -> None:
    """A mail from the agent `sender` to `recipient`, submitted on 587 as that
    agent (port 25 refuses our own domain from outside the suite's hosts)."""
    who = agent(sender.split("@", 1)[0])
    with smtplib.SMTP(f"smtp.{DOMAIN}", 587, timeout=30) as client:
        client.ehlo(f"client.test.{DOMAIN}")
        client.starttls(context=tls)
        client.ehlo(f"client.test.{DOMAIN}")
        client.login(who.address, who.password)
        client.sendmail(
            sender,
            [recipient],
            (
                f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
                f"Message-ID: <{uuid.uuid4().hex}@test.{DOMAIN}>\r\n\r\n{body}\r\n"
            ).encode(),
        )


def test_agent_reads_mail_and_a_shared_agenda_after_one_login(
    browser, dav, tls: ssl.SSLContext, sso_enabled: bool
) -> None:
    token = "bureau-test-" + uuid.uuid4().hex[:12]
    abla = agent(ABLA)

    # A mail for Abla, delivered by the mail stack.
    send_mail(tls, f"{KOKOU}@{DOMAIN}", abla.address, f"Ordre du jour {token}", "Bonjour Abla.")
    assert imap_fetch(tls, abla, token), "the mail did not arrive"

    # An event of Kokou's tomorrow, shared read-only with Abla.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    calendar = dav(KOKOU).calendar(url=f"https://{WEB}/SOGo/dav/{KOKOU}/Calendar/personal/")
    calendar.save_event(vevent(f"Revue {token}", start))
    share(tls, KOKOU, "Calendar/personal", ABLA, ["PublicViewer", "ConfidentialDAndTViewer"])

    context, page = log_in(browser, abla, sso_enabled)

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


def sogo_json(page, method: str, path: str, body: object | None = None) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    """A call to SOGo's JSON interface from inside the logged-in page, with
    the anti-forgery header SOGo's own interface sends."""
    return tuple(
        page.evaluate(
            """async ([method, path, body]) => {
                const xsrf = (document.cookie.match(/XSRF-TOKEN=([^;]+)/) || [])[1] || "";
                const options = {method, headers: {"X-XSRF-TOKEN": xsrf}};
                if (body !== null) {
                    options.body = JSON.stringify(body);
                    options.headers["Content-Type"] = "application/json";
                }
                const r = await fetch(path, options);
                const text = await r.text();
                let data = text;
                try { data = JSON.parse(text); } catch (e) {}
                return [r.status, data];
            }""",
            [method, path, body],
        )
    )


def test_out_of_office_and_a_filter_set_in_the_webmail_act_on_mail(
    browser, tls: ssl.SSLContext, sso_enabled: bool
) -> None:
    # Yao saves an out-of-office message and a filter in SOGo's preferences;
    # SOGo turns them into a Sieve script and uploads it over ManageSieve;
    # Dovecot then answers Kokou's mail and files a newsletter into Junk.
    token = "bureau-test-" + uuid.uuid4().hex[:12]
    yao = agent(YAO)
    context, page = log_in(browser, yao, sso_enabled)
    status, defaults = sogo_json(page, "GET", f"/SOGo/so/{yao.uid}/Preferences/jsonDefaults")
    assert status == 200 and isinstance(defaults, dict), (status, defaults)
    saved = dict(defaults)
    defaults["Vacation"] = {
        "enabled": 1,
        "autoReplyText": f"Je suis en mission jusqu'à lundi. {token}",
        "autoReplyEmailAddresses": [yao.address],
        "daysBetweenResponse": 1,
        "ignoreLists": 1,
    }
    defaults["SOGoSieveFilters"] = [
        {
            "name": "Lettres d'information",
            "active": 1,
            "match": "all",
            "rules": [{"field": "subject", "operator": "contains", "value": "Lettre"}],
            "actions": [{"method": "fileinto", "argument": "Junk"}],
        }
    ]
    status, answer = sogo_json(
        page, "POST", f"/SOGo/so/{yao.uid}/Preferences/save", {"defaults": defaults}
    )
    assert status == 200, (status, answer)
    try:
        kokou = agent(KOKOU)
        send_mail(tls, kokou.address, yao.address, f"Point d'étape {token}", "Bonjour Yao.")
        replies = imap_fetch(tls, kokou, token)
        assert replies, "no out-of-office reply reached the sender"
        assert str(replies[0]["Auto-Submitted"]).startswith("auto-replied"), dict(replies[0])
        body = replies[0].get_payload(decode=True) or b""
        assert "mission jusqu'à lundi" in body.decode("utf-8", "replace"), replies[0]

        newsletter = "bureau-test-" + uuid.uuid4().hex[:12]
        send_mail(tls, kokou.address, yao.address, f"Lettre {newsletter}", "Édition du mois.")
        assert imap_fetch(tls, yao, newsletter, folder="Junk"), (
            "the filter did not file the newsletter into Junk"
        )
        assert not imap_fetch(tls, yao, newsletter, wait=0)
    finally:
        status, answer = sogo_json(
            page, "POST", f"/SOGo/so/{yao.uid}/Preferences/save", {"defaults": saved}
        )
        context.close()
    assert status == 200, (status, answer)
