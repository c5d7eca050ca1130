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
    GET  /janus                  WebSocket to Janus (janus-protocol)

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


@dataclass
class Participant:
    uid: str
    feed: str  # her VideoRoom id, given by the service
    expiry: float


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
        room.tokens[token] = Participant(uid, feed, expiry)
        return web.json_response(
            {
                "room": room.room,
                "display": name,
                "uid": uid,
                "feed": feed,
                "moderator": uid == room.owner,
                "locked": room.locked,
                "token": token,
                "expires": expiry,
                "janus": f"wss://{c['hostname']}/janus",
                "ice_servers": [self.turn_credentials(uid, expiry)],
                "video": {
                    "width": c["video_width"],
                    "height": c["video_height"],
                    "bitrate": c["video_bitrate"],
                    "simulcast": c["simulcast"],
                },
            }
        )

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
        asyncio.get_running_loop().call_later(
            2, lambda: [asyncio.ensure_future(s.close()) for s in sockets]
        )
        LOG.info("room %s: %s removed", room.room, ", ".join(sorted(uids)))
        return web.json_response({"removed": sorted(uids)})

    # --- The browser's WebSocket to Janus -------------------------------------

    async def janus_socket(self, request: web.Request) -> web.WebSocketResponse:
        self.agent(request)
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
                    try:
                        token = json.loads(message.data).get("token")
                    except (ValueError, AttributeError):
                        token = None
                    if isinstance(token, str):
                        used.add(token)
                        self.sockets[token] = browser
                    await janus.send_str(message.data)

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
            for room in list(self.rooms.values()):
                for token, participant in list(room.tokens.items()):
                    if participant.expiry <= now:
                        room.tokens.pop(token, None)
                        await self.janus.remove_token(token)

    # --- The page --------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        self.agent(request)
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
        app.router.add_get("/janus", self.janus_socket)
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
