"""The upgrade drill's data: what agents keep in the suite, loaded with the
clients agents use before an upgrade (`-k agents_keep`), and found again,
unchanged, with the same clients after it (`-k still_there`). bench/upgrade_drill.py runs them
around the Debian 12 → 13 upgrade (docs/operations/upgrade-12-to-13.md).

Loaded: mails delivered to a colleague (one with an attachment), an event in
an agenda shared read-only with a colleague, a contact, a TOTP enrolment and
an open portal session; the directory's agents are counted by entryUUID.
"""

from __future__ import annotations

import email.message
import hashlib
import json
import smtplib
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext
from testinfra.host import Host

from ..groupware.support import (
    ABLA,
    KOKOU,
    YAO,
    agent,
    imap_fetch,
    personal_calendar,
    request,
    share,
    vevent,
)
from ..site import DOMAIN, name
from ..sso.support import PORTAL, Portal, totp
from ..testsupport import artifacts_dir

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

MAILS = 3
SESSION_COOKIE = "lemonldap"


def agents_by_uuid(host: Host) -> dict[str, str]:
    """entryUUID → uid of every agent, read on the host as its administrator (ldapi)."""
    out = host.check_output(
        "ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -o ldif-wrap=no "
        "'(objectClass=bureauAgent)' entryUUID uid bureauAccountStatus"
    )
    found: dict[str, str] = {}
    for entry in out.split("\n\n"):
        pairs = [line.split(": ", 1) for line in entry.splitlines() if ": " in line]
        fields = {key: value for key, value in pairs if key != "dn"}
        if "entryUUID" in fields:
            found[fields["entryUUID"]] = f"{fields.get('uid')}:{fields.get('bureauAccountStatus')}"
    return found


def fingerprints(messages: list[email.message.Message]) -> dict[str, str]:
    """Message-ID → SHA-256 of the message's text and attachments, decoded."""
    found = {}
    for message in messages:
        parts = message.walk() if message.is_multipart() else [message]
        blob = b"".join(
            part.get_payload(decode=True) or b"" for part in parts if not part.is_multipart()
        )
        found[str(message["Message-ID"])] = hashlib.sha256(blob).hexdigest()
    return found


def fresh_context(browser: Browser) -> BrowserContext:
    """A new browser profile (no cookie): one agent's browser."""
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    context.set_default_timeout(20_000)
    return context


def forget_second_factors(host: Host, uid: str) -> None:
    """Remove the agent's registered devices (the other checks log in without a code)."""
    host.run(
        "runuser -u postgres -- psql -d lemonldap -c "
        "\"UPDATE psessions SET a_session = a_session - '_2fDevices' "
        "WHERE a_session ->> '_session_uid' = '%s'\"",
        uid,
    )


def test_load_what_agents_keep(
    host: Host, tls: ssl.SSLContext, ca_file: str, browser: Browser, manifest: Path
) -> None:
    token = "drill-" + uuid.uuid4().hex[:10]
    kokou, abla = agent(KOKOU), agent(ABLA)
    state: dict = {"token": token, "release": host.system_info.codename}

    # Mails, submitted on 587 and delivered to Abla's mailbox.
    sent: dict[str, str] = {}
    with smtplib.SMTP(name("smtp"), 587, timeout=30) as client:
        client.starttls(context=tls)
        client.login(kokou.address, kokou.password)
        for n in range(MAILS):
            message = EmailMessage()
            message["From"], message["To"] = kokou.address, abla.address
            message["Subject"] = f"Avant la migration {n} {token}"
            message["Message-ID"] = f"<{token}-{n}@test.{DOMAIN}>"
            message.set_content(f"Courrier {n} d'avant la migration ({token}).\n")
            if n == 0:
                message.add_attachment(
                    bytes(range(256)) * 64,
                    maintype="application",
                    subtype="octet-stream",
                    filename="rapport.bin",
                )
            client.send_message(message)
            sent[message["Message-ID"]] = message["Subject"]
    received = imap_fetch(tls, abla, token)
    deadline = time.monotonic() + 60
    while len(received) < MAILS and time.monotonic() < deadline:
        time.sleep(2)
        received = imap_fetch(tls, abla, token)
    assert {m["Message-ID"] for m in received} == set(sent), received
    state["mails"] = fingerprints(received)

    # An event in Kokou's agenda, shared read-only with Abla, who sees it.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    summary = f"Comité de suivi {token}"
    owned = personal_calendar(ca_file, KOKOU, KOKOU)
    event = owned.save_event(vevent(summary, start))
    share(tls, KOKOU, "Calendar/personal", ABLA, ["PublicViewer", "ConfidentialDAndTViewer"])
    seen = personal_calendar(ca_file, ABLA, KOKOU).search(
        start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
    )
    assert any(summary in e.data for e in seen), "Abla does not see the shared event"
    state["event"] = {"url": str(event.url), "summary": summary, "start": start.isoformat()}

    # A contact in Kokou's address book.
    card_uid = f"{token}-card"
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:{card_uid}\r\nFN:Ama Mensah ({token})\r\nN:Mensah;Ama;;;\r\n"
        f"EMAIL;TYPE=work:ama.mensah@{DOMAIN}\r\nTEL;TYPE=work:+228 22 21 00 00\r\nEND:VCARD\r\n"
    )
    path = f"/SOGo/dav/{KOKOU}/Contacts/personal/{card_uid}.vcf"
    status, _, body = request(
        tls, "PUT", path, KOKOU, card.encode(), {"Content-Type": "text/vcard; charset=utf-8"}
    )
    assert status in (201, 204), (status, body[:300])
    state["contact"] = {"path": path, "fn": f"Ama Mensah ({token})"}

    # A TOTP enrolment (Yao) and an open portal session (Abla).
    portal = Portal(artifacts_dir("upgrade"))
    context = fresh_context(browser)
    # A device left by an earlier load would be asked for instead of a new one.
    forget_second_factors(host, YAO)
    try:
        page = context.new_page()
        page.goto(PORTAL)
        portal.login(page, YAO)
        state["totp"] = {"uid": YAO, "secret": portal.register_totp(page, "drill")}
    finally:
        context.close()
    context = fresh_context(browser)
    try:
        page = context.new_page()
        page.goto(PORTAL)
        portal.login(page, ABLA)
        assert not portal.is_login_form(page), "Abla could not open a portal session"
        cookies = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
        assert cookies, context.cookies()
        state["session"] = {"uid": ABLA, "cookie": cookies[0]["value"]}
    finally:
        context.close()

    state["agents"] = agents_by_uuid(host)
    assert len(state["agents"]) > 4
    manifest.write_text(json.dumps(state, indent=2), encoding="utf-8")
    manifest.chmod(0o600)


def test_check_everything_loaded_is_still_there(
    host: Host, tls: ssl.SSLContext, ca_file: str, browser: Browser, manifest: Path
) -> None:
    assert manifest.is_file(), f"{manifest}: the load step did not run"
    state = json.loads(manifest.read_text(encoding="utf-8"))
    token = state["token"]
    problems: list[str] = []

    # Every agent, with the same entryUUID and status.
    agents = agents_by_uuid(host)
    if agents != state["agents"]:
        lost = sorted(set(state["agents"]) - set(agents))
        problems.append(f"agents changed: {len(lost)} lost, {len(agents)} now, e.g. {lost[:3]}")

    # Every mail, byte for byte, readable over IMAP with the agent's password.
    now = fingerprints(imap_fetch(tls, agent(ABLA), token))
    if now != state["mails"]:
        problems.append(f"mails: before {state['mails']}, now {now}")

    # The event, in Kokou's agenda and through Abla's share.
    start = datetime.fromisoformat(state["event"]["start"])
    for reader in (KOKOU, ABLA):
        seen = personal_calendar(ca_file, reader, KOKOU).search(
            start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
        )
        if not any(state["event"]["summary"] in e.data for e in seen):
            problems.append(f"{reader} no longer sees the event {state['event']['summary']!r}")

    # The contact.
    status, _, body = request(tls, "GET", state["contact"]["path"], KOKOU)
    if status != 200 or state["contact"]["fn"].encode() not in body:
        problems.append(f"contact: HTTP {status} {body[:200]!r}")

    # The open session still opens the portal without a login.
    context = fresh_context(browser)
    portal = Portal(artifacts_dir("upgrade"))
    try:
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": state["session"]["cookie"],
                    "domain": f".{DOMAIN}",
                    "path": "/",
                    "secure": True,
                }
            ]
        )
        page = context.new_page()
        page.goto(PORTAL)
        page.wait_for_load_state("networkidle")
        if portal.is_login_form(page):
            problems.append(f"{state['session']['uid']}'s portal session was lost")
        portal.shot(page, "upgrade-session-after")
    finally:
        context.close()

    # The TOTP enrolment: a login asks for the code, and the old secret's code opens.
    context = fresh_context(browser)
    try:
        page = context.new_page()
        page.goto(PORTAL)
        portal.login(page, state["totp"]["uid"])
        if page.locator("input[name=code]").count() == 0:
            problems.append(f"{state['totp']['uid']}'s TOTP device was lost (no code asked)")
        else:
            page.fill("input[name=code]", totp(state["totp"]["secret"], time.time() + 30))
            page.click("form.password button[type=submit]")
            page.wait_for_load_state("networkidle")
            if portal.is_login_form(page) or portal.error_code(page):
                problems.append(f"the TOTP code of the enrolled secret was refused ({page.url})")
        portal.shot(page, "upgrade-totp-after")
    finally:
        context.close()
        # The suite's own checks follow: Yao logs in there without a code.
        forget_second_factors(host, state["totp"]["uid"])

    assert not problems, "\n".join(problems)
