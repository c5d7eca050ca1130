"""Shared agendas, contacts and devices: what agents rely on, checked with
real clients (the caldav library, HTTP for CardDAV and ActiveSync, IMAP)
through the web front, as phones and desktop clients reach SOGo."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import caldav
import pytest
from caldav.lib import error as caldav_error

from .support import (
    ABLA,
    AFI,
    DOMAIN,
    KOKOU,
    MINISTRY,
    ROOM,
    WEB,
    YAO,
    agent,
    imap_fetch,
    request,
    share,
    vevent,
)

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes


def room_status(data: str) -> str:
    """PARTSTAT of the room among the attendees of an event."""
    for line in re.sub(r"\r?\n[ \t]", "", data).splitlines():
        if line.startswith("ATTENDEE") and ROOM in line:
            return line.split("PARTSTAT=", 1)[1].split(";", 1)[0].split(":", 1)[0]
    return "absent"


def slot(days: int, hour: int) -> datetime:
    """A fixed slot in the future (UTC), unique per test run by the day offset."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(days=days)).replace(hour=hour)


@pytest.fixture(scope="module")
def run_day() -> int:
    """A day offset different for each run, so that runs do not see each other's events."""
    return 30 + uuid.uuid4().int % 300


def calendar_of(dav, reader: str, owner: str) -> caldav.Calendar:  # type: ignore[no-untyped-def]
    client = dav(reader)
    return client.calendar(url=f"https://{WEB}/SOGo/dav/{owner}/Calendar/personal/")


def test_agent_shares_a_calendar_read_only_with_a_colleague(dav, tls, run_day, token) -> None:
    start = slot(run_day, 9)
    own = calendar_of(dav, KOKOU, KOKOU)
    own.save_event(vevent(f"Comité budgétaire {token}", start))
    share(tls, KOKOU, "Calendar/personal", ABLA, ["PublicViewer", "ConfidentialDAndTViewer"])

    seen = calendar_of(dav, ABLA, KOKOU)
    events = seen.search(
        start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
    )
    summaries = [str(e.icalendar_component.get("summary")) for e in events]
    assert f"Comité budgétaire {token}" in summaries, summaries

    [event] = [e for e in events if token in str(e.icalendar_component.get("summary"))]
    event.icalendar_component["summary"] = f"Modifié par Abla {token}"
    with pytest.raises(caldav_error.DAVError):
        event.save()
    again = calendar_of(dav, KOKOU, KOKOU).search(
        start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
    )
    assert all("Modifié" not in str(e.icalendar_component.get("summary")) for e in again)


def test_a_colleague_outside_the_share_sees_nothing(dav, run_day, token) -> None:
    start = slot(run_day, 11)
    calendar_of(dav, KOKOU, KOKOU).save_event(vevent(f"Réunion privée {token}", start))
    with pytest.raises(caldav_error.DAVError):
        calendar_of(dav, YAO, KOKOU).search(
            start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
        )


def test_a_ministry_group_gets_read_write_access(dav, tls, run_day, token) -> None:
    # Yao (another ministry) opens his calendar to the whole "mef" ministry;
    # Abla, a member, adds a meeting to it. (An agent's own rights on a
    # calendar take precedence over the rights of its groups, so this uses a
    # calendar Abla has no personal rights on.)
    start = slot(run_day, 14)
    share(
        tls,
        YAO,
        "Calendar/personal",
        f"@{MINISTRY}",
        ["ObjectCreator", "ObjectEraser", "PublicModifier", "ConfidentialModifier"],
    )
    calendar_of(dav, ABLA, YAO).save_event(vevent(f"Ajouté par le ministère {token}", start))
    events = calendar_of(dav, YAO, YAO).search(
        start=start - timedelta(hours=1), end=start + timedelta(hours=2), event=True
    )
    assert any(token in str(e.icalendar_component.get("summary")) for e in events)


def test_free_busy_shows_the_agent_busy(dav, tls, token) -> None:
    # SOGo publishes free/busy from a week before to a week after today
    # (SOGoFreeBusyDefaultInterval): a meeting in three days.
    start = slot(3, 8 + uuid.uuid4().int % 8)
    calendar_of(dav, KOKOU, KOKOU).save_event(vevent(f"Occupé {token}", start))
    status, _, content = request(tls, "GET", f"/SOGo/dav/{KOKOU}/freebusy.ifb", ABLA)
    assert status == 200, (status, content[:300])
    text = content.decode().replace("\r\n ", "")
    busy = [line for line in text.splitlines() if line.startswith("FREEBUSY")]
    assert any(f"{start:%Y%m%dT%H%M%S}Z/" in line for line in busy), text


def test_meeting_room_accepts_a_booking_when_free(dav, run_day, token) -> None:
    start = slot(run_day, 15)
    first = vevent(f"Réservation salle {token}", start, organizer=KOKOU, room=ROOM)
    saved = calendar_of(dav, KOKOU, KOKOU).save_event(first)
    saved.load()
    assert room_status(saved.data) == "ACCEPTED", saved.data


def test_meeting_room_declines_a_clashing_booking(dav, run_day, token) -> None:
    # The room holds one booking at a time (employeeNumber: 1 in the
    # directory): Kokou books 17:00-18:00, Yao then asks for 17:30-18:30.
    start = slot(run_day, 17)
    first = calendar_of(dav, KOKOU, KOKOU).save_event(
        vevent(f"Conseil de direction {token}", start, organizer=KOKOU, room=ROOM)
    )
    first.load()
    assert room_status(first.data) == "ACCEPTED", first.data

    clash = vevent(
        f"Atelier concurrent {token}",
        start + timedelta(minutes=30),
        organizer=YAO,
        room=ROOM,
    )
    with pytest.raises(caldav_error.DAVError) as refused:
        calendar_of(dav, YAO, YAO).save_event(clash)
    assert "409" in str(refused.value), refused.value
    kept = calendar_of(dav, YAO, YAO).search(
        start=start, end=start + timedelta(hours=2), event=True
    )
    assert all("Atelier concurrent" not in str(e.icalendar_component.get("summary")) for e in kept)

    # The same request an hour later, when the room is free, is accepted.
    later = calendar_of(dav, YAO, YAO).save_event(
        vevent(
            f"Atelier replanifié {token}",
            start + timedelta(minutes=60),
            organizer=YAO,
            room=ROOM,
        )
    )
    later.load()
    assert room_status(later.data) == "ACCEPTED", later.data


def attendee_status(data: str, uid: str) -> str:
    """PARTSTAT of the agent `uid` among the attendees of an event."""
    for line in re.sub(r"\r?\n[ \t]", "", data).splitlines():
        if line.startswith("ATTENDEE") and f"{uid}@{DOMAIN}" in line:
            return line.split("PARTSTAT=", 1)[1].split(";", 1)[0].split(":", 1)[0]
    return "absent"


def test_an_invitation_arrives_in_the_colleague_inbox(dav, tls, run_day, token) -> None:
    start = slot(run_day, 16)
    calendar_of(dav, KOKOU, KOKOU).save_event(
        vevent(f"Invitation {token}", start, organizer=KOKOU, attendees=(ABLA,))
    )
    [message] = imap_fetch(tls, agent(ABLA), token) or [None]
    assert message is not None, "the invitation did not arrive"
    parts = [p.get_content_type() for p in message.walk()]
    assert "text/calendar" in parts, parts
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert "METHOD:REQUEST" in calendar.get_payload(decode=True).decode(), calendar


def test_a_contact_is_written_and_read_back_over_carddav(tls, token) -> None:
    uid = uuid.uuid4().hex
    card = "\r\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"UID:{uid}",
            f"FN:Komlan Mensah {token}",
            "N:Mensah;Komlan;;;",
            "EMAIL;TYPE=work:komlan.mensah@partenaires.gouv.tg",
            "TEL;TYPE=cell:+228 90 00 00 00",
            "END:VCARD",
            "",
        ]
    )
    path = f"/SOGo/dav/{KOKOU}/Contacts/personal/{uid}.vcf"
    status, _, content = request(
        tls, "PUT", path, KOKOU, card.encode(), {"Content-Type": "text/vcard; charset=utf-8"}
    )
    assert status in (201, 204), (status, content[:300])
    status, _, content = request(tls, "GET", path, KOKOU)
    assert status == 200 and f"Komlan Mensah {token}" in content.decode(), (status, content[:300])


def test_activesync_announces_its_protocol_versions(tls) -> None:
    status, headers, _ = request(tls, "OPTIONS", "/Microsoft-Server-ActiveSync", KOKOU)
    assert status == 200, (status, headers)
    versions = headers.get("ms-asprotocolversions", "")
    assert "14.1" in versions, headers
    assert "Sync" in headers.get("ms-asprotocolcommands", ""), headers


def test_dav_refuses_a_wrong_password_and_a_disabled_agent(tls) -> None:
    bad = base64.b64encode(f"{KOKOU}:wrong-password".encode()).decode()
    status, _, _ = request(
        tls,
        "PROPFIND",
        f"/SOGo/dav/{KOKOU}/Calendar/",
        None,
        None,
        {"Authorization": f"Basic {bad}", "Depth": "0"},
    )
    assert status == 401
    status, _, _ = request(tls, "PROPFIND", f"/SOGo/dav/{AFI}/Calendar/", AFI, None, {"Depth": "0"})
    assert status == 401


def test_dav_ignores_a_forged_proxy_user_header(tls) -> None:
    status, _, _ = request(
        tls,
        "PROPFIND",
        f"/SOGo/dav/{KOKOU}/Calendar/",
        None,
        None,
        {"x-webobjects-remote-user": KOKOU, "Depth": "0"},
    )
    assert status == 401


def test_well_known_dav_names_lead_to_sogo(tls) -> None:
    """RFC 6764 discovery as strict clients do it: the target of
    /.well-known/caldav (carddav) must advertise calendar-access (addressbook)
    in its OPTIONS. With the agent's login the redirect leads to its home;
    without, to the DAV root (where a client asks for its principal)."""
    for name, feature in (("caldav", "calendar-access"), ("carddav", "addressbook")):
        status, headers, _ = request(tls, "GET", f"/.well-known/{name}")
        assert status == 301 and headers["location"] == f"https://{WEB}/SOGo/dav/", (
            status,
            headers,
        )
        status, headers, _ = request(tls, "PROPFIND", f"/.well-known/{name}", KOKOU)
        target = headers.get("location", "")
        assert status == 301 and target == f"https://{WEB}/SOGo/dav/{KOKOU}/", (status, headers)
        status, headers, _ = request(tls, "OPTIONS", target.removeprefix(f"https://{WEB}"), KOKOU)
        assert status == 200, status
        features = {item.strip() for item in headers.get("dav", "").split(",")}
        assert feature in features, headers.get("dav")


def test_a_reply_to_an_invitation_reaches_the_organizer(dav, tls, run_day, token) -> None:
    # Kokou invites Abla; the invitation is in Abla's agenda; she accepts
    # there, as her phone or Thunderbird would (a PUT of her copy with her
    # PARTSTAT changed). Kokou's copy then shows her answer, and the reply
    # (iTIP METHOD:REPLY) reaches his inbox by mail.
    start = slot(run_day, 12)
    calendar_of(dav, KOKOU, KOKOU).save_event(
        vevent(f"Revue des crédits {token}", start, organizer=KOKOU, attendees=(ABLA,))
    )
    window = {"start": start - timedelta(hours=1), "end": start + timedelta(hours=2)}
    invited = [
        e
        for e in calendar_of(dav, ABLA, ABLA).search(event=True, **window)
        if token in str(e.icalendar_component.get("summary"))
    ]
    assert len(invited) == 1, "the invitation is not in the attendee's agenda"
    [copy] = invited
    assert attendee_status(copy.data, ABLA) == "NEEDS-ACTION", copy.data
    attendees = copy.icalendar_component.get("attendee")
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if str(attendee).lower() == f"mailto:{ABLA}@{DOMAIN}":
            attendee.params["PARTSTAT"] = "ACCEPTED"
    copy.save()

    [organizer_copy] = [
        e
        for e in calendar_of(dav, KOKOU, KOKOU).search(event=True, **window)
        if token in str(e.icalendar_component.get("summary"))
    ]
    assert attendee_status(organizer_copy.data, ABLA) == "ACCEPTED", organizer_copy.data

    replies = imap_fetch(tls, agent(KOKOU), token)
    calendars = [
        part.get_payload(decode=True).decode()
        for message in replies
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]
    assert any("METHOD:REPLY" in c for c in calendars), calendars


def test_a_new_agent_inbox_has_no_folder_creation_mails(tls) -> None:
    """SOGo creates an agent's agenda and address book at the first use; the
    agent is not told by mail ("… a été créé", outside review). Last in this
    module: the agents' folders exist by now."""
    for uid in (KOKOU, ABLA, YAO):
        found = imap_fetch(tls, agent(uid), "a été créé", wait=0)
        assert not found, (uid, [m["Subject"] for m in found])
