#!/usr/bin/python3
"""Bureau's room service (roles/video): the meeting page and its API.

It runs on the video host, behind the web front and the single sign-on
portal (the front sends the agent's uid and name in Auth-User and Auth-Name;
only the fronts reach this port, over TLS). It alone holds Janus' Admin API
secret and the VideoRoom admin key: it creates the rooms, adds a Janus token
for each participant (withdrawn when her connection closes, or at the end of
its lifetime), computes her TURN credentials (coturn's REST shared secret),
and relays the browser's Janus WebSocket to Janus on the loopback.

    GET  /                       the page (create a meeting)
    GET  /r/<room>               the page (join the meeting)
    GET  /static/...             the page's files, janus.js and adapter.js (Debian's)
    POST /api/rooms              create a meeting: {"room", "link"}
    POST /api/rooms/<room>/join  a participant's Janus token, TURN credentials, limits
    POST /api/rooms/<room>/lock  {"locked": bool}: nobody new joins (the creator only)
    POST /api/rooms/<room>/kick  {"feed": id}: remove a participant for good (the creator only)
    POST /api/rooms/<room>/mute  {"feed": id, "mid": m, "muted": bool}: VideoRoom `moderate`
                                 (the creator only): Janus drops that stream, whatever her page does
    POST /api/rooms/<room>/invite  a guest invitation link (the creator only): {"link", "expires"}
    POST /api/rooms/<room>/lobby {"guest": id, "admit": bool}: let a waiting guest in, or not
    GET  /api/rooms/<room>/events  WebSocket: the meeting's chat (and the lobby, for the creator);
                                 the first message is the participant's Janus token
    GET  /janus                  WebSocket to Janus (janus-protocol)

Guests (no account) come through paths the front leaves outside the portal,
with the identity headers cleared; the invitation's token (random, kept
here, one meeting, expiring) is their only credential, and they get a Janus
token only once the creator admits them:

    GET  /invite/<token>         the page (403 if the token is unknown or expired)
    GET  /invite/<token>/socket  WebSocket: the lobby ({"name"}; then "admitted"
                                 with the Janus token, or "refused"), then the chat
    GET  /invite/<token>/janus   WebSocket to Janus: only the admitted guests'
                                 tokens, only their meeting

Python 3 standard library and aiohttp (Debian's python3-aiohttp).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession, WSMsgType, web

LOG = logging.getLogger("bureau-visio")
JANUS_JS = Path("/usr/share/javascript/janus-gateway/janus.js")
ADAPTER_JS = Path("/usr/share/javascript/webrtc-adapter/adapter.js")
# Room ids: letters and digits a person can read over the phone.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


# Invitation tokens: 32 random bytes, URL-safe (the front's location matches this).
INVITATION = "[A-Za-z0-9_-]{43}"
GUEST_MARK = " (invité·e)"
SCREEN_MARK = " (écran)"
# Guests waiting at once in one meeting's lobby (a leaked link cannot flood
# the creator's page).
LOBBY_SIZE = 20


@dataclass
class Participant:
    uid: str
    feed: str  # her VideoRoom id, given by the service
    expiry: float
    display: str = ""
    guest: bool = False


@dataclass
class Invitation:
    room: str
    expiry: float


@dataclass
class Waiting:
    """A guest in the lobby: her socket stays open while she waits."""

    id: str
    name: str
    socket: web.WebSocketResponse
    decision: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class Room:
    room: str
    owner: str
    secret: str
    created: float = field(default_factory=time.time)
    locked: bool = False
    # Agents the creator removed: they do not come back.
    banned: set[str] = field(default_factory=set)
    # The participants, by their Janus token.
    tokens: dict[str, Participant] = field(default_factory=dict)
    # Guests waiting for the creator, by their lobby id.
    lobby: dict[str, Waiting] = field(default_factory=dict)
    # The participants' event sockets (chat, lobby) and their Janus tokens,
    # by id(socket).
    listeners: dict[int, tuple[web.WebSocketResponse, str]] = field(default_factory=dict)


def clean(text: str, limit: int, *, lines: bool = False) -> str:
    """Text a person typed: no control characters (line breaks where
    allowed), trimmed, at most limit characters."""
    kept = "".join(c for c in text if c.isprintable() or (lines and c == "\n"))
    return kept.strip()[:limit]


class Janus:
    """Janus' Admin API on the loopback (tokens, VideoRoom requests)."""

    def __init__(self, url: str, admin_secret: str, admin_key: str) -> None:
        self.url = url
        self.admin_secret = admin_secret
        self.admin_key = admin_key
        self.http: ClientSession | None = None

    async def call(self, body: dict) -> dict:
        assert self.http is not None
        body = {**body, "transaction": secrets.token_hex(8), "admin_secret": self.admin_secret}
        async with self.http.post(self.url, json=body) as response:
            answer = await response.json(content_type=None)
        if answer.get("janus") != "success":
            raise web.HTTPBadGateway(text=f"Janus: {answer.get('error', answer)}")
        return answer

    async def videoroom(self, request: dict) -> dict:
        answer = await self.call(
            {"janus": "message_plugin", "plugin": "janus.plugin.videoroom", "request": request}
        )
        data = answer.get("response", {})
        if data.get("videoroom") == "event" and data.get("error_code"):
            raise web.HTTPBadGateway(text=f"VideoRoom: {data.get('error')}")
        return data

    async def add_token(self, token: str) -> None:
        await self.call(
            {"janus": "add_token", "token": token, "plugins": ["janus.plugin.videoroom"]}
        )

    async def remove_token(self, token: str) -> None:
        try:
            await self.call({"janus": "remove_token", "token": token})
        except web.HTTPException as error:
            LOG.info("token already gone: %s", error.text)


class Service:
    def __init__(self, config: dict) -> None:
        self.config = config
        folder = Path(config["secrets"])
        read = lambda name: (folder / name).read_text(encoding="utf-8").strip()  # noqa: E731
        self.turn_secret = read("turn_secret")
        self.janus = Janus(
            config["janus_admin"], read("janus_admin_secret"), read("videoroom_admin_key")
        )
        self.rooms: dict[str, Room] = {}
        # Guest invitations, by their token.
        self.invitations: dict[str, Invitation] = {}
        # The browsers' WebSockets to Janus, by the tokens they carried.
        self.sockets: dict[str, web.WebSocketResponse] = {}

    # --- Identity: the portal's headers, set by the front ---------------------

    @staticmethod
    def agent(request: web.Request) -> tuple[str, str]:
        uid = request.headers.get("Auth-User", "").strip()
        if not uid:
            raise web.HTTPUnauthorized(text="no agent: this service answers behind the portal")
        name = request.headers.get("Auth-Name", "").strip() or uid
        # The portal sends the name as it is in the directory (UTF-8 bytes
        # that aiohttp read as Latin-1).
        with contextlib.suppress(UnicodeError):
            name = name.encode("latin-1").decode("utf-8")
        return uid, name

    @staticmethod
    def same_origin(request: web.Request) -> None:
        """The API's writes come from the page (a header a form cannot send)."""
        if request.headers.get("X-Bureau-Visio") != "1":
            raise web.HTTPForbidden(text="missing X-Bureau-Visio header")

    # --- Rooms ---------------------------------------------------------------

    async def ensure_room(self, room: Room) -> None:
        """The room in Janus (again, after a restart of Janus)."""
        exists = await self.janus.videoroom({"request": "exists", "room": room.room})
        if exists.get("exists"):
            return
        c = self.config
        await self.janus.videoroom(
            {
                "request": "create",
                "admin_key": self.janus.admin_key,
                "room": room.room,
                "description": f"Réunion de {room.owner}",
                "secret": room.secret,
                "is_private": True,
                "permanent": False,
                "publishers": c["max_publishers"],
                "bitrate": c["video_bitrate"],
                "bitrate_cap": True,
                "fir_freq": 10,
                "videocodec": c["video_codec"],
                "audiocodec": "opus",
                "notify_joining": True,
                "audiolevel_event": False,
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        self.same_origin(request)
        uid, _ = self.agent(request)
        room_id = "".join(secrets.choice(ALPHABET) for _ in range(12))
        room = Room(room_id, uid, secrets.token_urlsafe(24))
        await self.ensure_room(room)
        self.rooms[room_id] = room
        LOG.info("room %s created by %s", room_id, uid)
        link = f"https://{self.config['hostname']}/r/{room_id}"
        return web.json_response({"room": room_id, "link": link}, status=201)

    def turn_credentials(self, uid: str, expiry: int) -> dict:
        username = f"{expiry}:{uid}"
        digest = hmac.new(self.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        return {
            "urls": self.config["turn_urls"],
            "username": username,
            "credential": base64.b64encode(digest).decode(),
        }

    async def join(self, request: web.Request) -> web.Response:
        self.same_origin(request)
        uid, name = self.agent(request)
        room = self.room_of(request)
        if uid in room.banned:
            raise web.HTTPForbidden(text="removed from this meeting")
        if room.locked and uid != room.owner:
            raise web.HTTPForbidden(text="the meeting is locked")
        joined = await self.enter(room, uid, name, guest=False)
        return web.json_response(joined)

    async def enter(self, room: Room, uid: str, display: str, *, guest: bool) -> dict:
        """A participant in: her Janus token, TURN credentials and the limits."""
        c = self.config
        now = time.time()
        live = [p for p in room.tokens.values() if p.expiry > now]
        if len(live) >= c["max_participants"]:
            raise web.HTTPConflict(text="the meeting is full")
        await self.ensure_room(room)
        token = secrets.token_urlsafe(32)
        expiry = int(now + c["credential_lifetime"])
        feed = secrets.token_hex(8)
        await self.janus.add_token(token)
        room.tokens[token] = Participant(uid, feed, expiry, display, guest)
        return {
            "room": room.room,
            "display": display,
            "uid": uid,
            "feed": feed,
            "guest": guest,
            "moderator": not guest and uid == room.owner,
            "locked": room.locked,
            "token": token,
            "expires": expiry,
            "janus": f"wss://{c['hostname']}/janus",
            "ice_servers": [self.turn_credentials(uid, expiry)],
            "chat_max_length": c["chat_max_length"],
            "video": {
                "width": c["video_width"],
                "height": c["video_height"],
                "bitrate": c["video_bitrate"],
                "simulcast": c["simulcast"],
            },
        }

    def room_of(self, request: web.Request) -> Room:
        room = self.rooms.get(request.match_info["room"])
        if room is None:
            raise web.HTTPNotFound(text="no such meeting")
        return room

    async def owned(self, request: web.Request) -> tuple[Room, dict]:
        """The room, if the agent created it, and the request's JSON body."""
        self.same_origin(request)
        uid, _ = self.agent(request)
        room = self.room_of(request)
        if uid != room.owner:
            raise web.HTTPForbidden(text="only the meeting's creator may do this")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="a JSON body is expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object is expected")
        return room, body

    async def lock(self, request: web.Request) -> web.Response:
        room, body = await self.owned(request)
        room.locked = bool(body.get("locked", True))
        LOG.info("room %s %s", room.room, "locked" if room.locked else "unlocked")
        # Nobody new: the guests still waiting are turned away.
        if room.locked:
            for waiting in list(room.lobby.values()):
                if not waiting.decision.done():
                    waiting.decision.set_result("locked")
        return web.json_response({"locked": room.locked})

    async def kick(self, request: web.Request) -> web.Response:
        """Remove a participant: out of the VideoRoom, her tokens withdrawn,
        her connection closed, and never back into this meeting."""
        room, body = await self.owned(request)
        feed = body.get("feed")
        gone = {t: p for t, p in room.tokens.items() if p.feed == feed}
        if not gone:
            raise web.HTTPNotFound(text="no such participant")
        uids = {p.uid for p in gone.values()}
        if room.owner in uids:
            raise web.HTTPBadRequest(text="the creator cannot remove herself")
        room.banned |= uids
        try:
            await self.janus.videoroom(
                {"request": "kick", "room": room.room, "secret": room.secret, "id": feed}
            )
        except web.HTTPException as error:
            LOG.info("kick %s: %s", feed, error.text)
        for token in gone:
            room.tokens.pop(token, None)
            await self.janus.remove_token(token)
        # Her page hears "kicked" first, then loses its connection.
        sockets = [self.sockets.pop(t) for t in gone if t in self.sockets]
        sockets += [s for s, t in room.listeners.values() if t in gone]
        asyncio.get_running_loop().call_later(
            2, lambda: [asyncio.ensure_future(s.close()) for s in sockets]
        )
        LOG.info("room %s: %s removed", room.room, ", ".join(sorted(uids)))
        return web.json_response({"removed": sorted(uids)})

    async def mute(self, request: web.Request) -> web.Response:
        """Mute (or let speak again) a participant's stream, in Janus itself:
        VideoRoom `moderate` with the room's secret. Janus then forwards
        nothing of that stream, whatever her page sends."""
        room, body = await self.owned(request)
        feed, mid, muted = body.get("feed"), body.get("mid", "0"), bool(body.get("muted", True))
        if not any(p.feed == feed for p in room.tokens.values()):
            raise web.HTTPNotFound(text="no such participant")
        if not isinstance(mid, str) or not mid.isalnum() or len(mid) > 8:
            raise web.HTTPBadRequest(text="mid: the stream's mid")
        await self.janus.videoroom(
            {
                "request": "moderate",
                "room": room.room,
                "secret": room.secret,
                "id": feed,
                "mid": mid,
                "mute": muted,
            }
        )
        LOG.info("room %s: %s %s", room.room, feed, "muted" if muted else "unmuted")
        return web.json_response({"feed": feed, "mid": mid, "muted": muted})

    # --- Guests: invitations and the lobby --------------------------------------

    async def invite(self, request: web.Request) -> web.Response:
        """A link for people without an account: it opens the lobby of this
        meeting only, until it expires; the creator lets each guest in."""
        room, _ = await self.owned(request)
        token = secrets.token_urlsafe(32)
        expiry = int(time.time() + self.config["invitation_lifetime"])
        self.invitations[token] = Invitation(room.room, expiry)
        LOG.info("room %s: guest invitation until %s", room.room, expiry)
        link = f"https://{self.config['hostname']}/invite/{token}"
        return web.json_response({"link": link, "expires": expiry}, status=201)

    def invited(self, request: web.Request) -> tuple[str, Room]:
        """The invitation's meeting; 403 for a token that is not one of ours,
        has expired or whose meeting is gone."""
        token = request.match_info["invitation"]
        invitation = self.invitations.get(token)
        room = self.rooms.get(invitation.room) if invitation else None
        if invitation is None or invitation.expiry <= time.time() or room is None:
            raise web.HTTPForbidden(text="invalid or expired invitation")
        return token, room

    async def decide(self, request: web.Request) -> web.Response:
        """The creator lets a waiting guest in, or not."""
        room, body = await self.owned(request)
        waiting = room.lobby.get(str(body.get("guest", "")))
        if waiting is None or waiting.decision.done():
            raise web.HTTPNotFound(text="nobody waiting under this id")
        admit = bool(body.get("admit"))
        if admit and room.locked:
            raise web.HTTPForbidden(text="the meeting is locked")
        waiting.decision.set_result("admitted" if admit else "refused")
        LOG.info("room %s: guest %s %s", room.room, waiting.id, "admitted" if admit else "refused")
        return web.json_response({"guest": waiting.id, "admitted": admit})

    async def lobby_changed(self, room: Room) -> None:
        """The creator's pages hear who waits."""
        waiting = [
            {"id": w.id, "name": w.name} for w in room.lobby.values() if not w.decision.done()
        ]
        for socket, token in list(room.listeners.values()):
            participant = room.tokens.get(token)
            if participant and not participant.guest and participant.uid == room.owner:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await socket.send_json({"type": "lobby", "waiting": waiting})

    async def guest_page(self, request: web.Request) -> web.Response:
        self.invited(request)
        return self.html()

    async def guest_socket(self, request: web.Request) -> web.WebSocketResponse:
        """A guest's one socket: her name, the wait, the creator's answer;
        once in, the meeting's chat."""
        invitation, room = self.invited(request)
        if room.locked:
            raise web.HTTPForbidden(text="the meeting is locked")
        if len(room.lobby) >= LOBBY_SIZE:
            raise web.HTTPTooManyRequests(text="too many people waiting")
        socket = self.event_socket()
        await socket.prepare(request)
        try:
            first = await socket.receive_json(timeout=120)
            name = clean(str(first.get("name", "")) if isinstance(first, dict) else "", 40)
        except (TimeoutError, ValueError, TypeError):
            name = ""
        if not name:
            await socket.close(code=4400, message=b"a name is expected")
            return socket
        waiting = Waiting(secrets.token_hex(8), name + GUEST_MARK, socket)
        room.lobby[waiting.id] = waiting
        token = None
        try:
            await socket.send_json({"type": "waiting"})
            await self.lobby_changed(room)
            # She waits while her socket is open; closing it leaves the lobby.
            closed = asyncio.ensure_future(socket.receive())
            await asyncio.wait({closed, waiting.decision}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed
            if not waiting.decision.done():
                return socket
            verdict = waiting.decision.result()
            if verdict != "admitted" or room.locked:
                await socket.send_json({"type": "refused", "reason": verdict})
                await socket.close()
                return socket
            uid = "guest-" + waiting.id
            try:
                joined = await self.enter(room, uid, waiting.name, guest=True)
            except web.HTTPConflict:
                await socket.send_json({"type": "refused", "reason": "full"})
                await socket.close()
                return socket
            token = joined["token"]
            joined["janus"] = f"wss://{self.config['hostname']}/invite/{invitation}/janus"
            await socket.send_json({"type": "admitted", "join": joined})
        finally:
            room.lobby.pop(waiting.id, None)
            await self.lobby_changed(room)
        await self.listen(room, token, socket)
        return socket

    # --- Chat ---------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        """An agent's event socket: her first message is her Janus token, of
        this meeting and hers."""
        uid, _ = self.agent(request)
        room = self.room_of(request)
        socket = self.event_socket()
        await socket.prepare(request)
        try:
            first = await socket.receive_json(timeout=30)
            token = str(first.get("token", "")) if isinstance(first, dict) else ""
        except (TimeoutError, ValueError, TypeError):
            token = ""
        participant = room.tokens.get(token)
        if participant is None or participant.guest or participant.uid != uid:
            await socket.close(code=4403, message=b"not a participant of this meeting")
            return socket
        await self.listen(room, token, socket)
        return socket

    def event_socket(self) -> web.WebSocketResponse:
        # A chat message, JSON-quoted, fits (4 bytes a character at most).
        size = max(4096, 8 * self.config["chat_max_length"])
        return web.WebSocketResponse(heartbeat=30, max_msg_size=size)

    async def listen(self, room: Room, token: str, socket: web.WebSocketResponse) -> None:
        """Chat messages from a participant, to every participant; text only,
        limited, and only while she is in the meeting."""
        room.listeners[id(socket)] = (socket, token)
        limit = self.config["chat_max_length"]
        sent: list[float] = []
        try:
            if getattr(room.tokens.get(token), "uid", None) == room.owner:
                await self.lobby_changed(room)
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    break
                participant = room.tokens.get(token)
                if participant is None:  # removed, or past her credentials' lifetime
                    break
                try:
                    body = json.loads(message.data)
                    text = clean(str(body["text"]), limit + 1, lines=True)
                except (ValueError, TypeError, KeyError):
                    continue
                now = time.monotonic()
                sent = [t for t in sent if t > now - 10]
                if not text or len(text) > limit or len(sent) >= 10:
                    await socket.send_json({"type": "error", "reason": "too long or too fast"})
                    continue
                sent.append(now)
                said = {
                    "type": "chat",
                    "from": participant.display,
                    "feed": participant.feed,
                    "guest": participant.guest,
                    "text": text,
                    "at": int(time.time()),
                }
                for other, other_token in list(room.listeners.values()):
                    if other_token in room.tokens:
                        with contextlib.suppress(ConnectionError, RuntimeError):
                            await other.send_json(said)
        finally:
            room.listeners.pop(id(socket), None)
            await socket.close()

    # --- The browser's WebSocket to Janus -------------------------------------

    def holder(self, token: str) -> tuple[Room, Participant] | None:
        for room in self.rooms.values():
            participant = room.tokens.get(token)
            if participant is not None:
                return room, participant
        return None

    async def janus_socket(self, request: web.Request) -> web.WebSocketResponse:
        self.agent(request)
        return await self.relay(request, guests_of=None)

    async def guest_janus_socket(self, request: web.Request) -> web.WebSocketResponse:
        _, room = self.invited(request)
        return await self.relay(request, guests_of=room)

    def vet(self, message: str, guests_of: Room | None) -> str | None:
        """What goes up to Janus: a participant's request stays in her
        meeting and under her name; a guest's connection carries nothing but
        the tokens of her meeting's admitted guests."""
        try:
            body = json.loads(message)
        except ValueError:
            return None if guests_of else message
        if not isinstance(body, dict):
            return None if guests_of else message
        token = body.get("token")
        held = self.holder(token) if isinstance(token, str) else None
        if guests_of is not None and (
            held is None or held[0] is not guests_of or not held[1].guest
        ):
            return None
        if held is None:
            return message  # Janus refuses it (403)
        room, participant = held
        request = body.get("body")
        if isinstance(request, dict):
            if "room" in request and request["room"] != room.room:
                return None
            # Her camera under the id the service gave her (kick and mute
            # find her by it); the screen under an id Janus picks.
            if request.get("ptype") == "publisher" and request.get("id", participant.feed) != (
                participant.feed
            ):
                return None
            if "display" in request:
                screen = str(request["display"]).endswith(SCREEN_MARK)
                request["display"] = participant.display + (SCREEN_MARK if screen else "")
            return json.dumps(body)
        return message

    async def relay(self, request: web.Request, guests_of: Room | None) -> web.WebSocketResponse:
        browser = web.WebSocketResponse(protocols=("janus-protocol",), heartbeat=30)
        await browser.prepare(request)
        used: set[str] = set()
        assert self.janus.http is not None
        async with self.janus.http.ws_connect(
            self.config["janus_ws"], protocols=("janus-protocol",)
        ) as janus:

            async def up() -> None:
                async for message in browser:
                    if message.type != WSMsgType.TEXT:
                        break
                    vetted = self.vet(message.data, guests_of)
                    if vetted is None:
                        LOG.info("relay: a request out of bounds, connection closed")
                        break
                    try:
                        token = json.loads(vetted).get("token")
                    except (ValueError, AttributeError):
                        token = None
                    if isinstance(token, str):
                        used.add(token)
                        self.sockets[token] = browser
                    await janus.send_str(vetted)

            async def down() -> None:
                async for message in janus:
                    if message.type != WSMsgType.TEXT:
                        break
                    await browser.send_str(message.data)

            tasks = [asyncio.ensure_future(up()), asyncio.ensure_future(down())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
        await browser.close()
        # Her connection is gone: so are her tokens.
        for token in used:
            self.sockets.pop(token, None)
            for room in self.rooms.values():
                if room.tokens.pop(token, None):
                    await self.janus.remove_token(token)
        return browser

    # --- Housekeeping ---------------------------------------------------------

    async def sweep(self) -> None:
        """Withdraw the tokens past their lifetime, every minute."""
        while True:
            await asyncio.sleep(60)
            now = time.time()
            for token, invitation in list(self.invitations.items()):
                if invitation.expiry <= now:
                    del self.invitations[token]
            for room in list(self.rooms.values()):
                for token, participant in list(room.tokens.items()):
                    if participant.expiry <= now:
                        room.tokens.pop(token, None)
                        await self.janus.remove_token(token)

    # --- The page --------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        self.agent(request)
        return self.html()

    def html(self) -> web.Response:
        html = (Path(self.config["app"]) / "index.html").read_text(encoding="utf-8")
        html = html.replace("{{TITLE}}", self.config["title"])
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": (
                    "default-src 'self'; connect-src 'self' "
                    f"wss://{self.config['hostname']}; img-src 'self' data:; "
                    "media-src 'self' blob: mediastream:; frame-ancestors 'none'"
                ),
            },
        )

    async def library(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            {"janus.js": JANUS_JS, "adapter.js": ADAPTER_JS}[request.match_info["name"]]
        )

    async def on_startup(self, app: web.Application) -> None:
        self.janus.http = ClientSession()
        app["sweeper"] = asyncio.ensure_future(self.sweep())

    async def on_cleanup(self, app: web.Application) -> None:
        app["sweeper"].cancel()
        if self.janus.http is not None:
            await self.janus.http.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/", self.page)
        app.router.add_get("/r/{room:[a-z0-9]{12}}", self.page)
        app.router.add_get("/static/lib/{name:janus.js|adapter.js}", self.library)
        app.router.add_static("/static/", self.config["app"], show_index=False)
        app.router.add_post("/api/rooms", self.create)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/join", self.join)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/lock", self.lock)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/kick", self.kick)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/mute", self.mute)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/invite", self.invite)
        app.router.add_post("/api/rooms/{room:[a-z0-9]{12}}/lobby", self.decide)
        app.router.add_get("/api/rooms/{room:[a-z0-9]{12}}/events", self.events)
        app.router.add_get("/janus", self.janus_socket)
        app.router.add_get(f"/invite/{{invitation:{INVITATION}}}", self.guest_page)
        app.router.add_get(f"/invite/{{invitation:{INVITATION}}}/socket", self.guest_socket)
        app.router.add_get(f"/invite/{{invitation:{INVITATION}}}/janus", self.guest_janus_socket)
        app.on_startup.append(self.on_startup)
        app.on_cleanup.append(self.on_cleanup)
        return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(config["certificate"], config["key"])
    web.run_app(
        Service(config).app(),
        host=config["listen"],
        port=config["port"],
        ssl_context=tls,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
