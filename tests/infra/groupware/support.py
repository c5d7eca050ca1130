"""Helpers of the groupware checks (plain code, no fixtures): the clients and
constants the tests and the fixtures of conftest.py share."""

from __future__ import annotations

import email
import imaplib
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta

import caldav

from ..site import DOMAIN
from ..testsupport import Agent, agent, https_request, messages_with

WEB = f"mail.{DOMAIN}"


PORTAL = f"auth.{DOMAIN}"


IMAP = f"imap.{DOMAIN}"


SMTP = f"smtp.{DOMAIN}"


TIMEOUT = 30


KOKOU = "kokou.agbeko"


ABLA = "abla.adjo-amegan"


YAO = "yao.de-souza"


AFI = "afi.dalmeida"


ROOM = "salle.conseil.mef"


MINISTRY = "mef"


def imap_fetch(
    tls: ssl.SSLContext, who: Agent, token: str, wait: float = 60, folder: str = "INBOX"
) -> list[email.message.Message]:
    """Messages of the agent's `folder` whose text holds `token` (waits for the first)."""
    deadline = time.monotonic() + wait
    while True:
        client = imaplib.IMAP4_SSL(IMAP, 993, ssl_context=tls, timeout=TIMEOUT)
        try:
            client.login(who.uid, who.password)
            found = messages_with(client, folder, token)
        finally:
            client.logout()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


INVERSE = "urn:inverse:params:xml:ns:inverse-dav"


def request(
    tls: ssl.SSLContext,
    method: str,
    path: str,
    uid: str | None = None,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request to the web front, with the agent's HTTP Basic credentials."""
    return https_request(tls, WEB, method, path, uid, body, headers, timeout=TIMEOUT)


def share(tls: ssl.SSLContext, owner: str, collection: str, user: str, roles: list[str]) -> None:
    """Give `user` (an agent or a group) `roles` on the owner's collection, as
    SOGo's own clients do (the inverse-dav ACL query of SOGo's DAV)."""
    path = f"/SOGo/dav/{owner}/{collection}/"
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    for query in (
        f'<add-user user="{user}"/>',
        f'<set-roles user="{user}">{"".join(f"<{r}/>" for r in roles)}</set-roles>',
    ):
        body = f'<?xml version="1.0"?><acl-query xmlns="{INVERSE}">{query}</acl-query>'
        status, _, content = request(tls, "POST", path, owner, body, headers)
        assert status in (200, 204, 207), (query, status, content[:300])


def vevent(
    summary: str,
    start: datetime,
    minutes: int = 60,
    attendees: tuple[str, ...] = (),
    organizer: str | None = None,
    room: str | None = None,
) -> str:
    uid = uuid.uuid4().hex
    fmt = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Bureau//tests//FR",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{datetime.now(UTC).strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{(start + timedelta(minutes=minutes)).strftime(fmt)}",
        f"SUMMARY:{summary}",
        "CLASS:PUBLIC",
    ]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}@{DOMAIN}")
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{organizer}@{DOMAIN}")
    for attendee in attendees:
        lines.append(
            f"ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{attendee}@{DOMAIN}"
        )
    if room:
        # A room is invited as a participant, as Thunderbird and SOGo's own
        # interface do: SOGo writes nothing into the calendar of a
        # NON-PARTICIPANT ("for information") attendee, so a room invited that
        # way is never booked and never refuses a clash.
        lines.append(
            f"ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{room}@{DOMAIN}"
        )
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def personal_calendar(ca_file: str, reader: str, owner: str) -> caldav.Calendar:
    """The owner's personal agenda, as `reader`'s CalDAV client sees it."""
    who = agent(reader)
    client = caldav.DAVClient(
        url=f"https://{WEB}/SOGo/dav/{reader}/",
        username=who.uid,
        password=who.password,
        ssl_verify_cert=ca_file,
        timeout=TIMEOUT,
    )
    if reader == owner:
        # SOGo makes an agent's personal agenda on the first look at its home.
        client.principal().calendars()
    return client.calendar(url=f"https://{WEB}/SOGo/dav/{owner}/Calendar/personal/")
