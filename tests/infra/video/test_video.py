"""Videoconference (roles/video, docs/video.md): two agents meet in the
browser and see and hear each other; Janus refuses whoever has no token
from the room service, and nobody creates a room without the admin key;
the video host answers from outside only on what it means to.

The browsers are Debian's Chromium with a fake camera and microphone,
logged in through the portal (tests/infra/video/conftest.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from testinfra.host import Host

from ..site import DOMAIN
from ..sso.support import Portal
from ..testsupport import artifacts_dir, probe_from, probe_here

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

VISIO = f"visio.{DOMAIN}"
TURN = f"turn.{DOMAIN}"
ABLA = "abla.adjo-amegan"
KOKOU = "kokou.agbeko"
YAO = "yao.de-souza"
JANUS_WS, JANUS_ADMIN, SERVICE, TURN_TLS = 8188, 7088, 8443, 5349

# Run on the video host (python3-aiohttp is there for the room service): the
# Janus API on the loopback, as a browser's requests reach it, without a
# token, with a forged one, then with a real token (added through the Admin
# API as the room service does) asking the VideoRoom to create a room
# without the admin key and with a wrong one.
JANUS_PROBE = r"""
import asyncio, json, secrets, aiohttp

async def main():
    secret = open("/etc/bureau/visio/janus_admin_secret").read().strip()
    admin = "http://127.0.0.1:ADMIN_PORT/admin"
    out = {}
    async with aiohttp.ClientSession() as http:
        async def admin_call(body):
            body = {**body, "transaction": secrets.token_hex(4), "admin_secret": secret}
            async with http.post(admin, json=body) as answer:
                return await answer.json(content_type=None)
        async with http.ws_connect("ws://127.0.0.1:WS_PORT", protocols=("janus-protocol",)) as ws:
            async def ask(body):
                body = {**body, "transaction": secrets.token_hex(4)}
                await ws.send_str(json.dumps(body))
                while True:
                    got = json.loads((await ws.receive(timeout=10)).data)
                    if got.get("transaction") == body["transaction"] and got["janus"] != "ack":
                        return got
            out["no_token"] = await ask({"janus": "create"})
            out["forged_token"] = await ask({"janus": "create", "token": "forged"})
            token = "probe-" + secrets.token_hex(8)
            out["add_token"] = await admin_call(
                {"janus": "add_token", "token": token, "plugins": ["janus.plugin.videoroom"]})
            try:
                session = (await ask({"janus": "create", "token": token}))["data"]["id"]
                handle = (await ask({"janus": "attach", "session_id": session, "token": token,
                                     "plugin": "janus.plugin.videoroom"}))["data"]["id"]
                async def room(body):
                    return await ask({"janus": "message", "session_id": session, "token": token,
                                      "handle_id": handle, "body": body})
                out["create"] = await room({"request": "create", "room": "probe-room"})
                out["create_wrong_key"] = await room(
                    {"request": "create", "room": "probe-room", "admin_key": "forged"})
                out["exists"] = await room({"request": "exists", "room": "probe-room"})
                await ask({"janus": "destroy", "session_id": session, "token": token})
            finally:
                await admin_call({"janus": "remove_token", "token": token})
    print(json.dumps(out))

asyncio.run(main())
""".replace("ADMIN_PORT", str(JANUS_ADMIN)).replace("WS_PORT", str(JANUS_WS))


def janus_answers(video: Host) -> dict:
    run = video.run("python3 -c %s", JANUS_PROBE)
    assert run.rc == 0, run.stderr
    return json.loads(run.stdout)


def test_janus_refuses_requests_without_a_token_from_the_room_service(video: Host) -> None:
    answers = janus_answers(video)
    for case in ("no_token", "forged_token"):
        answer = answers[case]
        assert answer["janus"] == "error", answer
        assert answer["error"]["code"] == 403, answer  # JANUS_ERROR_UNAUTHORIZED
    assert answers["add_token"]["janus"] == "success", answers["add_token"]


def test_nobody_creates_a_room_without_the_admin_key(video: Host) -> None:
    """A participant with a real token asks the VideoRoom to create a room:
    refused without the admin key and with a wrong one; no room appears."""
    answers = janus_answers(video)
    # JANUS_VIDEOROOM_ERROR_MISSING_ELEMENT, JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
    for case, code in (("create", 429), ("create_wrong_key", 433)):
        data = answers[case]["plugindata"]["data"]
        assert data.get("error_code") == code and "admin_key" in data["error"], data
    assert answers["exists"]["plugindata"]["data"]["exists"] is False


def test_janus_admin_api_and_websocket_listen_on_the_loopback_only(video: Host) -> None:
    listening = video.check_output("ss -Hltn")
    for port in (JANUS_ADMIN, JANUS_WS):
        addresses = {
            line.split()[3].rsplit(":", 1)[0]
            for line in listening.splitlines()
            if line.split()[3].rsplit(":", 1)[1] == str(port)
        }
        assert addresses == {"127.0.0.1"}, (port, addresses)


def test_the_video_host_answers_outside_only_what_it_means_to(
    host: Host, video: Host, video_address: str
) -> None:
    """Every TCP port the video host listens on, and Janus' and the room
    service's, scanned from the suite host (a web front) and from this
    machine (anyone else): TURN over TLS and SSH answer everyone, the room
    service only the front, Janus (API, Admin API) nobody."""
    listening = {
        int(line.split()[3].rsplit(":", 1)[1])
        for line in video.check_output("ss -Hltn").splitlines()
    }
    ssh = int(video.check_output("sshd -T 2>/dev/null | awk '/^port /{print $2}'") or 22)
    ports = sorted(listening | {JANUS_WS, JANUS_ADMIN, SERVICE, TURN_TLS, ssh})
    public = {TURN_TLS, ssh}
    from_front = probe_from(host, video_address, ports)
    assert from_front == {
        port: "open" if port in public | {SERVICE} else "dropped" for port in ports
    }, from_front
    from_elsewhere = probe_here(video_address, ports)
    assert from_elsewhere == {port: "open" if port in public else "dropped" for port in ports}, (
        from_elsewhere
    )


def test_turn_over_tls_shows_the_host_certificate(host: Host, video_address: str) -> None:
    """coturn's TLS port: the video host's certificate for the TURN name,
    from the internal CA, TLS 1.2 or newer."""
    run = host.run(
        "openssl s_client -connect %s:%s -servername %s -verify_hostname %s "
        "-CAfile /etc/ssl/bureau/ca.crt -verify_return_error -brief </dev/null",
        video_address,
        str(TURN_TLS),
        TURN,
        TURN,
    )
    assert run.rc == 0, run.stderr
    assert "Verification: OK" in run.stderr, run.stderr
    assert "TLSv1.3" in run.stderr or "TLSv1.2" in run.stderr, run.stderr


def test_video_secrets_are_the_hosts_own(video: Host) -> None:
    for name in ("janus_admin_secret", "videoroom_admin_key", "turn_secret"):
        secret = video.file(f"/etc/bureau/visio/{name}")
        assert secret.user == "root" and secret.group == "bureau-visio", name
        assert secret.mode == 0o640, (name, oct(secret.mode))
        assert len(secret.content_string.strip()) == 64, name
    for path in ("/etc/janus/janus.jcfg", "/etc/janus/janus.plugin.videoroom.jcfg"):
        assert video.file(path).mode == 0o600, path
    assert video.file("/etc/turnserver.conf").mode == 0o640
    # Nothing of the demo: no room in the file, no default secret.
    config = video.file("/etc/janus/janus.jcfg").content_string
    assert "janusoverlord" not in config and "token_auth = true" in config


# --- Two agents in a meeting --------------------------------------------------

STATS = """async () => {
  const found = [];
  for (const c of window.bureauVisio.connections()) {
    if (!c.pc) continue;
    const stats = await c.pc.getStats();
    const byId = {};
    stats.forEach((r) => { byId[r.id] = r; });
    stats.forEach((r) => {
      if (r.type === "inbound-rtp") {
        found.push({role: c.role, kind: r.kind, framesDecoded: r.framesDecoded || 0,
                    packetsReceived: r.packetsReceived || 0, packetsLost: r.packetsLost || 0,
                    jitter: r.jitter || 0});
      }
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
        const local = byId[r.localCandidateId] || {};
        found.push({role: c.role, kind: "pair", candidateType: local.candidateType,
                    relayProtocol: local.relayProtocol});
      }
    });
  }
  return found;
}"""


# Video frames decoded from one feed (a tile's data-feed).
FEED_FRAMES = """async (feed) => {
  let frames = 0;
  for (const c of window.bureauVisio.connections()) {
    if (c.feed !== feed || !c.pc) continue;
    (await c.pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
    });
  }
  return frames;
}"""


def received(page: Page) -> dict:
    """What the page's subscriber connections receive: video frames decoded,
    audio packets, and how the media flows (the selected candidates)."""
    stats = page.evaluate(STATS)
    inbound = [s for s in stats if s["role"] == "subscriber" and s["kind"] != "pair"]
    return {
        "frames": sum(s["framesDecoded"] for s in inbound if s["kind"] == "video"),
        "audio_packets": sum(s["packetsReceived"] for s in inbound if s["kind"] == "audio"),
        "pairs": [s for s in stats if s["kind"] == "pair"],
    }


def wait_for_media(page: Page, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    seen = received(page)
    while time.monotonic() < deadline and not (seen["frames"] and seen["audio_packets"]):
        page.wait_for_timeout(1000)
        seen = received(page)
    return seen


def open_meeting(portal: Portal, creator: Page) -> str:
    """The creator logs in, creates a meeting, joins it; its link."""
    creator.goto(f"https://{VISIO}/")
    portal.login(creator, ABLA)
    creator.wait_for_url(f"https://{VISIO}/")
    creator.click("#create")
    creator.locator("#created").wait_for()
    link = creator.input_value("#link")
    assert link.startswith(f"https://{VISIO}/r/"), link
    creator.goto(link)
    creator.locator("#state:text('Connecté')").wait_for()
    return link


def join(portal: Portal, page: Page, link: str, uid: str) -> None:
    page.goto(link)
    portal.login(page, uid)
    page.wait_for_url(link)


@pytest.mark.writes
def test_two_agents_meet_and_see_and_hear_each_other(browsers: list[Browser]) -> None:
    """Abla creates a meeting and joins it; Kokou opens her link. Each one's
    browser decodes the other's video (framesDecoded grows) and receives her
    audio; media flows through coturn's TLS port (the browsers have no other
    way out)."""
    shots = artifacts_dir("video")
    portal = Portal(shots)
    contexts = [b.new_context(ignore_https_errors=True, locale="fr-FR") for b in browsers]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.set_default_timeout(45_000)
    abla, kokou = pages
    started = time.monotonic()
    try:
        link = open_meeting(portal, abla)
        join(portal, kokou, link, KOKOU)
        kokou.locator("#state:text('Connecté')").wait_for()

        first = {name: wait_for_media(page) for name, page in (("abla", abla), ("kokou", kokou))}
        for name, seen in first.items():
            assert seen["frames"] > 0, (name, seen)
            assert seen["audio_packets"] > 0, (name, seen)
        abla.wait_for_timeout(3000)
        later = {"abla": received(abla), "kokou": received(kokou)}
        for name in first:
            assert later[name]["frames"] > first[name]["frames"], (name, first, later)
            assert later[name]["audio_packets"] > first[name]["audio_packets"], name
            # Through TURN over TLS: the only way out of the browsers' namespace.
            pairs = later[name]["pairs"]
            assert pairs and all(p["candidateType"] == "relay" for p in pairs), (name, pairs)
            assert all(p["relayProtocol"] == "tls" for p in pairs), (name, pairs)
        assert "Kokou" in abla.inner_text("#videos") or abla.locator(".tile.remote").count() == 1

        # Abla shares her screen: a tile of its own on Kokou's page, decoded.
        abla.click("#screen")
        shared = kokou.locator(".tile.remote", has_text="(écran)")
        shared.wait_for()
        feed = shared.get_attribute("data-feed")
        frames = []
        for _ in range(30):
            frames.append(kokou.evaluate(FEED_FRAMES, feed))
            if len(frames) > 3 and frames[-1] > frames[-4] > 0:
                break
            kokou.wait_for_timeout(1000)
        assert frames[-1] > frames[-4] > 0, frames
        for name, page in (("abla", abla), ("kokou", kokou)):
            page.screenshot(path=str(shots / f"visio-{name}.png"))
        print(f"meeting: both see and hear each other after {time.monotonic() - started:.1f} s")
    except Exception:
        for name, page in (("abla", abla), ("kokou", kokou)):
            page.screenshot(path=str(Path(shots) / f"visio-{name}-failed.png"))
        raise
    finally:
        for context in contexts:
            context.close()


@pytest.mark.writes
def test_the_creator_locks_the_meeting_and_removes_a_participant(
    browsers: list[Browser],
) -> None:
    """Abla's meeting: Kokou joins; she locks it and removes him. His page
    says so and his video leaves hers; he cannot come back, and nobody new
    (Yao) gets into the locked meeting."""
    shots = artifacts_dir("video")
    portal = Portal(shots)
    contexts = [b.new_context(ignore_https_errors=True, locale="fr-FR") for b in browsers]
    abla, kokou = (c.new_page() for c in contexts)
    for page in (abla, kokou):
        page.set_default_timeout(45_000)
    try:
        link = open_meeting(portal, abla)
        join(portal, kokou, link, KOKOU)
        kokou.locator("#state:text('Connecté')").wait_for()
        tile = abla.locator(".tile.remote")
        tile.wait_for()
        assert "Kokou" in tile.inner_text()

        abla.click("#lock")
        abla.locator("#lock:text('Déverrouiller la réunion')").wait_for()
        tile.locator("button.remove").click()
        kokou.locator("#error:text('retiré de la réunion')").wait_for()
        tile.wait_for(state="detached")

        # He comes back with the link: refused.
        kokou.goto(link)
        kokou.locator("#error:text('retiré de cette réunion')").wait_for()
        assert kokou.locator(".tile.remote").count() == 0
        # Someone new, in a fresh browser profile: the meeting is locked.
        kokou.context.clear_cookies()
        join(portal, kokou, link, YAO)
        kokou.locator("#error:text('verrouillée')").wait_for()
        assert abla.locator(".tile.remote").count() == 0
        abla.screenshot(path=str(shots / "visio-moderation.png"))
    except Exception:
        for name, page in (("abla", abla), ("kokou", kokou)):
            page.screenshot(path=str(Path(shots) / f"visio-moderation-{name}-failed.png"))
        raise
    finally:
        for context in contexts:
            context.close()


# --- Guests, chat, the creator muting someone ----------------------------------

# What one feed's subscription receives (audio packets, video frames).
FEED_MEDIA = """async (feed) => {
  const got = {audio: 0, frames: 0};
  for (const c of window.bureauVisio.connections()) {
    if (c.feed !== feed || !c.pc) continue;
    (await c.pc.getStats()).forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "audio") got.audio += r.packetsReceived || 0;
      if (r.kind === "video") got.frames += r.framesDecoded || 0;
    });
  }
  return got;
}"""

# Audio packets the page's own camera publisher sends.
SENT_AUDIO = """async () => {
  let sent = 0;
  for (const c of window.bureauVisio.connections()) {
    if (c.role !== "publisher" || !c.pc) continue;
    (await c.pc.getStats()).forEach((r) => {
      if (r.type === "outbound-rtp" && r.kind === "audio") sent += r.packetsSent || 0;
    });
  }
  return sent;
}"""

# A WebSocket opened by the page: whether it opened, what it got, how it closed.
SOCKET = """async ([url, protocol, send]) => new Promise((resolve) => {
  const got = [];
  let opened = false;
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  ws.onopen = () => { opened = true; if (send) ws.send(send); };
  ws.onmessage = (m) => got.push(m.data);
  ws.onclose = () => resolve({opened, closed: true, got});
  setTimeout(() => resolve({opened, closed: false, got}), 5000);
})"""


class Meeting:
    """Browser contexts for one check, screenshots if it fails."""

    def __init__(self, browsers: list[Browser], name: str, *, guests: int = 0) -> None:
        self.shots = artifacts_dir("video")
        self.portal = Portal(self.shots)
        self.name = name
        self.contexts = [
            b.new_context(ignore_https_errors=True, locale="fr-FR")
            for b in [browsers[0], browsers[1], *[browsers[1]] * guests]
        ]
        self.pages = [c.new_page() for c in self.contexts]
        for page in self.pages:
            page.set_default_timeout(45_000)

    def __enter__(self) -> list[Page]:
        return self.pages

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            for number, page in enumerate(self.pages):
                page.screenshot(path=str(self.shots / f"visio-{self.name}-{number}-failed.png"))
        for context in self.contexts:
            context.close()


# The Janus tokens in force (Admin API on the video host's loopback).
TOKENS = r"""
import json, secrets, urllib.request
secret = open("/etc/bureau/visio/janus_admin_secret").read().strip()
body = {"janus": "list_tokens", "transaction": secrets.token_hex(4), "admin_secret": secret}
request = urllib.request.Request("http://127.0.0.1:ADMIN_PORT/admin", json.dumps(body).encode())
answer = json.load(urllib.request.urlopen(request, timeout=10))
print(json.dumps([t["token"] for t in answer["data"]["tokens"]]))
""".replace("ADMIN_PORT", str(JANUS_ADMIN))


def janus_tokens(video: Host) -> set[str]:
    run = video.run("python3 -c %s", TOKENS)
    assert run.rc == 0, run.stderr
    return set(json.loads(run.stdout))


def invite(creator: Page) -> str:
    """The creator's guest invitation link."""
    creator.click("#invite")
    creator.locator("#invitation").wait_for()
    link = creator.input_value("#guest-link")
    assert link.startswith(f"https://{VISIO}/invite/"), link
    return link


def ask_to_enter(guest: Page, link: str, name: str) -> None:
    """A guest opens the invitation (no portal) and asks to enter."""
    response = guest.goto(link)
    assert response is not None and response.status == 200, response
    assert guest.url == link  # not sent to the portal
    guest.fill("#guest-name", name)
    guest.click("#guest-ask")


def meet(portal: Portal, abla: Page, kokou: Page) -> str:
    """Abla's meeting, Kokou in it, each receiving the other's media."""
    link = open_meeting(portal, abla)
    join(portal, kokou, link, KOKOU)
    kokou.locator("#state:text('Connecté')").wait_for()
    for page in (abla, kokou):
        seen = wait_for_media(page)
        assert seen["frames"] > 0 and seen["audio_packets"] > 0, seen
    return link


@pytest.mark.writes
def test_a_guest_waits_in_the_lobby_until_the_creator_admits_her(
    browsers: list[Browser], host: Host, video: Host
) -> None:
    """Abla invites people without an account. A guest opens the link (no
    portal), gives her name and waits: no Janus token, no media, until
    Abla admits her; then she receives Abla's video, marked "invité·e" on
    Abla's page, and cannot moderate. A guest Abla refuses stays out; once
    the meeting is locked, nobody new waits."""
    with Meeting(browsers, "guest", guests=2) as (abla, mawuli, intruder, late):
        open_meeting(Portal(artifacts_dir("video")), abla)
        link = invite(abla)
        tokens = janus_tokens(video)
        assert tokens  # Abla's

        ask_to_enter(mawuli, link, "Mawuli Ekpé")
        mawuli.locator("#guest-wait").wait_for()
        assert mawuli.inner_text("#guest-wait") == "En attente de l'admission par l'organisateur…"
        waiting = abla.locator("#waiting li", has_text="Mawuli Ekpé (invité·e)")
        waiting.wait_for()
        # Waiting: no Janus token, no connection to the media.
        mawuli.wait_for_timeout(2000)
        assert mawuli.evaluate("window.bureauVisio.connections().length") == 0
        # (tokens of earlier checks' pages may still be going: none may come)
        assert janus_tokens(video) <= tokens, (tokens, janus_tokens(video))
        assert mawuli.locator("#meeting").is_hidden()

        ask_to_enter(intruder, link, "Intrus")
        abla.locator("#waiting li", has_text="Intrus (invité·e)").locator("button.refuse").click()
        intruder.locator("#error:text('pas accepté')").wait_for()
        assert intruder.evaluate("window.bureauVisio.connections().length") == 0

        admitted = time.monotonic()
        waiting.locator("button.admit").click()
        mawuli.locator("#state:text('Connecté')").wait_for()
        assert len(janus_tokens(video) - tokens) == 1  # hers, once admitted
        first = wait_for_media(mawuli)
        assert first["frames"] > 0, first
        mawuli.wait_for_timeout(3000)
        later = received(mawuli)
        assert later["frames"] > first["frames"], (first, later)
        abla.locator(".tile.remote", has_text="Mawuli Ekpé (invité·e)").wait_for()
        print(f"guest: the creator's video decoded {time.monotonic() - admitted:.1f} s after")
        assert mawuli.locator("#who").inner_text() == "Mawuli Ekpé (invité·e)"
        # A guest moderates nothing and creates nothing: no buttons, and
        # the agents' API sends her to the portal.
        for control in ("#lock", "#invite", "button.remove", "button.mute"):
            assert mawuli.locator(control).first.is_hidden() or not mawuli.locator(control).count()
        created = mawuli.evaluate(
            """async () => (await fetch('/api/rooms', {method: 'POST', redirect: 'manual',
                 headers: {'X-Bureau-Visio': '1', 'Auth-User': 'abla.adjo-amegan'}})).status"""
        )
        assert created != 201, created

        # Locked: the link lets nobody new wait.
        abla.click("#lock")
        abla.locator("#lock:text('Déverrouiller la réunion')").wait_for()
        ask_to_enter(late, link, "En retard")
        late.locator("#error:text('verrouillée')").wait_for()
        assert abla.locator("#waiting li", has_text="En retard").count() == 0
        abla.screenshot(path=str(artifacts_dir("video") / "visio-guest.png"))

    # The front logged the guests' requests without the invitation.
    token = link.rsplit("/", 1)[1]
    logged = host.run("grep -c -F %s /var/log/nginx/access.log", token)
    assert logged.stdout.strip() == "0", logged.stdout
    masked = host.run("grep -c -F %s /var/log/nginx/access.log", f"{VISIO}/invite/-/socket")
    assert int(masked.stdout.strip() or 0) > 0, masked


@pytest.mark.writes
def test_a_forged_invitation_gets_403_and_no_janus_token(browsers: list[Browser]) -> None:
    """An invitation token changed by one character, or made up: 403 for
    the page and the lobby, no lobby, no Janus token; the guests' Janus
    relay carries no request but an admitted guest's."""
    with Meeting(browsers, "forged") as (abla, stranger):
        meeting = open_meeting(Portal(artifacts_dir("video")), abla)
        link = invite(abla)
        token = link.rsplit("/", 1)[1]
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
        made_up = "x" * len(token)
        for forged in (flipped, made_up):
            url = f"https://{VISIO}/invite/{forged}"
            response = stranger.goto(url)
            assert response is not None and response.status == 403, (forged, response)
            assert stranger.url == url  # refused by the room service, not sent to the portal
            lobby = stranger.evaluate(
                "async (u) => (await fetch(u)).status", f"https://{VISIO}/invite/{forged}/socket"
            )
            assert lobby == 403, lobby
            socket = stranger.evaluate(
                SOCKET, [f"wss://{VISIO}/invite/{forged}/socket", None, '{"name": "Faux"}']
            )
            assert not socket["opened"] and not socket["got"], socket
        # The real invitation's Janus relay, with no admitted guest's token:
        # closed without a word from Janus.
        stranger.goto(link)
        request = json.dumps({"janus": "create", "transaction": "t1", "token": "forged"})
        relay = stranger.evaluate(
            SOCKET, [f"wss://{VISIO}/invite/{token}/janus", "janus-protocol", request]
        )
        assert relay["closed"] and not relay["got"], relay
        assert abla.locator("#waiting li").count() == 0
        # Everything else stays behind the portal for someone with no session.
        room = meeting.rsplit("/", 1)[1]
        for path in ("/", f"/r/{room}", "/janus", f"/api/rooms/{room}/events"):
            status = stranger.evaluate(
                "async (u) => (await fetch(u, {redirect: 'manual'})).status", path
            )
            assert status in (0, 401, 403), (path, status)  # 0: a redirect, to the portal


@pytest.mark.writes
def test_participants_chat_and_what_they_type_stays_text(browsers: list[Browser]) -> None:
    """Abla's message reaches Kokou as she typed it: markup shown as text,
    never run; his answer reaches her."""
    markup = '<img src=x onerror="window.pwned=1"><b>gras</b> & <script>window.pwned=2</script>'
    with Meeting(browsers, "chat") as (abla, kokou):
        meet(Portal(artifacts_dir("video")), abla, kokou)
        abla.fill("#chat-text", markup)
        abla.click("#chat-send")
        line = kokou.locator("#messages li", has_text="gras")
        line.wait_for()
        assert line.locator(".text").inner_text() == markup
        assert "Abla" in line.locator(".from").inner_text()
        assert kokou.locator("#messages img, #messages b, #messages script").count() == 0
        assert kokou.evaluate("window.pwned") is None
        kokou.fill("#chat-text", "Bien reçu, merci.")
        kokou.click("#chat-send")
        abla.locator("#messages li", has_text="Bien reçu, merci.").wait_for()
        assert abla.evaluate("window.pwned") is None
        # Longer than the limit: the field stops at it, and the room service
        # refuses what a page sends past it.
        kokou.fill("#chat-text", "a" * 2000)
        assert len(kokou.input_value("#chat-text")) == 500
        kokou.evaluate("window.bureauVisio.say('b'.repeat(501))")
        kokou.locator("#error:text('Message refusé')").wait_for()
        kokou.evaluate("window.bureauVisio.say('b'.repeat(500))")
        abla.locator("#messages li .text", has_text="b" * 500).wait_for()
        assert abla.locator("#messages li .text", has_text="b" * 501).count() == 0


@pytest.mark.writes
def test_the_creator_mutes_a_participant_in_janus(browsers: list[Browser]) -> None:
    """Abla mutes Kokou: Janus stops forwarding his audio to her (her
    subscription's audio packets stop) while his browser still sends it and
    his video still flows; his page says so. She lets him speak again."""
    with Meeting(browsers, "mute") as (abla, kokou):
        meet(Portal(artifacts_dir("video")), abla, kokou)
        tile = abla.locator(".tile.remote", has_text="Kokou")
        feed = tile.get_attribute("data-feed")
        # His audio reaches her before.
        speaking = abla.evaluate(FEED_MEDIA, feed)
        abla.wait_for_timeout(2000)
        assert abla.evaluate(FEED_MEDIA, feed)["audio"] > speaking["audio"], speaking
        tile.locator("button.mute").click()
        kokou.locator("#state:text('coupé par l')").wait_for()
        tile.locator("button.mute:text('Rétablir le micro')").wait_for()
        abla.wait_for_timeout(1500)  # what was on the way
        before = abla.evaluate(FEED_MEDIA, feed)
        sent_before = kokou.evaluate(SENT_AUDIO)
        abla.wait_for_timeout(3000)
        after = abla.evaluate(FEED_MEDIA, feed)
        assert after["audio"] == before["audio"], (before, after)
        assert after["frames"] > before["frames"], (before, after)
        assert kokou.evaluate(SENT_AUDIO) > sent_before  # his browser still sends
        print(f"muted: audio packets from him {before['audio']} -> {after['audio']} in 3 s")

        tile.locator("button.mute").click()
        kokou.locator("#state:text('rendu la parole')").wait_for()
        abla.wait_for_timeout(2000)
        assert abla.evaluate(FEED_MEDIA, feed)["audio"] > after["audio"]


# Run on the video host: the room service's own code (as installed), its
# invitation and relay checks called directly, with no secret read and no
# Janus: what a browser cannot wait for (an invitation's expiry) or would
# need two meetings for (another meeting's tokens).
INVITATION_PROBE = r"""
import json, runpy, time
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

visio = runpy.run_path("/usr/local/lib/bureau-visio/visio.py", run_name="probe")
Service, Room, Invitation, Participant = (
    visio[n] for n in ("Service", "Room", "Invitation", "Participant"))
service = object.__new__(Service)
service.config = {"hostname": "visio.example"}
first, second = Room("aaaaaaaaaaaa", "abla", "s1"), Room("bbbbbbbbbbbb", "abla", "s2")
service.rooms = {r.room: r for r in (first, second)}
now = time.time()
service.invitations = {
    "valid": Invitation(first.room, now + 60),
    "expired": Invitation(first.room, now - 1),
    "gone": Invitation("cccccccccccc", now + 60),
}
first.tokens["guest-token"] = Participant("guest-1", "f1", now + 60, "Mawuli (invité·e)", True)
second.tokens["other-guest"] = Participant("guest-2", "f2", now + 60, "Autre (invité·e)", True)
first.tokens["agent-token"] = Participant("abla", "f3", now + 60, "Abla", False)

out = {}
for token in ("valid", "expired", "gone", "unknown"):
    request = make_mocked_request("GET", "/invite/" + token, match_info={"invitation": token})
    try:
        out[token] = service.invited(request)[1].room
    except web.HTTPException as error:
        out[token] = error.status

def message(token, body):
    return json.dumps({"janus": "message", "token": token, "transaction": "t", "body": body})

join = {"request": "join", "ptype": "publisher", "room": first.room, "id": "f1",
        "display": "Abla (organisatrice)"}
vetted = service.vet(message("guest-token", join), first)
out["own_meeting"] = json.loads(vetted)["body"]["display"] if vetted else None
out["other_meetings_guest"] = service.vet(message("other-guest", join), first)
out["agent_token_on_guest_relay"] = service.vet(message("agent-token", join), first)
out["no_token_on_guest_relay"] = service.vet(json.dumps({"janus": "create"}), first)
out["other_room"] = service.vet(message("guest-token", {**join, "room": second.room}), first)
out["someone_elses_feed"] = service.vet(message("guest-token", {**join, "id": "f3"}), first)
print(json.dumps(out))
"""


def test_the_room_service_refuses_expired_and_foreign_invitations(video: Host) -> None:
    """An invitation past its lifetime, of a meeting that is gone, or
    unknown: 403. On a guest's Janus relay, only her own meeting's admitted
    guests' tokens pass, for that meeting, under her feed id, with the name
    the service gave her."""
    run = video.run("python3 -c %s", INVITATION_PROBE)
    assert run.rc == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["valid"] == "aaaaaaaaaaaa", out
    assert out["expired"] == out["gone"] == out["unknown"] == 403, out
    assert out["own_meeting"] == "Mawuli (invité·e)", out
    for refused in (
        "other_meetings_guest",
        "agent_token_on_guest_relay",
        "no_token_on_guest_relay",
        "other_room",
        "someone_elses_feed",
    ):
        assert out[refused] is None, (refused, out)
