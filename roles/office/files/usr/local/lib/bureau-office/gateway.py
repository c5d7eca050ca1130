#!/usr/bin/python3
"""Bureau's browser gateway (roles/office, docs/office.md "The browser path").

It runs on the office host as its own user and answers the web fronts only:
TLS with a client certificate of the internal CA, whose names must include a
front's. The front sets Auth-User from the portal's session (single sign-on
and TOTP) and overwrites whatever the browser sent; only then is the header
read. The URL names no session, display or token: the portal's identity
alone chooses the desktop.

    GET  /              the page (noVNC's client, Debian's novnc)
    GET  /<file>        the page's script and style
    GET  /core/..., /vendor/...   noVNC's modules (/usr/share/novnc)
    GET  /websockify    WebSocket <-> her desktop's VNC server (RFB)

The gateway cannot reach any desktop itself: it asks the session helper
(bureau-office-vnc.socket, root, its group only) for the agent's, and gets
back a connected socket (SCM_RIGHTS) that the helper has checked is served
by that very agent; it then relays bytes.

Where the office host mounts the drive in sessions, the front also sends the
password she logged in to the portal with (Authorization: Basic, from the
portal's session, as for the drive's own page). It is handed to the helper
with her uid, for her drive folders, and never logged nor kept here.

Python 3 standard library and aiohttp (Debian's python3-aiohttp).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import socket
import ssl
import sys
from pathlib import Path

from aiohttp import WSMsgType, web

LOG = logging.getLogger("bureau-office-gateway")
# An agent's uid, as the directory allows it (bureau users import).
UID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
NOVNC = Path("/usr/share/novnc")


class Refused(Exception):
    """The helper gave no desktop (its reason, for the log and the page)."""


def portal_password(header: str, uid: str) -> bytes | None:
    """The password in the front's Authorization (Basic), when it is the
    agent's own: the front sets that header from the portal's session."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        user, colon, password = base64.b64decode(token.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    if not colon or user != uid.encode() or not password or len(password) > 1024:
        return None
    return password


def ask_helper(path: str, uid: str, password: bytes | None, seconds: float) -> socket.socket:
    """The agent's desktop, connected: the helper finds or starts it (one
    line: her uid, then the password in base64 when there is one)."""
    line = uid.encode()
    if password:
        line += b" " + base64.b64encode(password)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as helper:
        helper.settimeout(seconds)
        helper.connect(path)
        helper.sendall(line + b"\n")
        message, fds, _, _ = socket.recv_fds(helper, 1024, 1)
    answer = message.decode("utf-8", "replace").strip()
    if answer != "ok" or len(fds) != 1:
        for fd in fds:
            with contextlib.suppress(OSError):
                socket.socket(fileno=fd).close()
        raise Refused(answer or "the session helper closed the connection")
    return socket.socket(fileno=fds[0])


class Gateway:
    def __init__(self, config: dict) -> None:
        self.fronts = set(config["fronts"])
        self.helper = config["helper"]
        self.wait = float(config.get("session_wait", 90))
        self.page = Path(config["page"])

    @web.middleware
    async def only_fronts(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        """Only a web front's certificate (the TLS layer checked the CA)."""
        certificate = request.transport.get_extra_info("peercert") if request.transport else None
        names = {
            value for kind, value in (certificate or {}).get("subjectAltName", ()) if kind == "DNS"
        }
        if not names & self.fronts:
            LOG.warning(
                "refused a client that is no web front: %s", sorted(names) or "no certificate"
            )
            raise web.HTTPForbidden(text="web fronts only")
        return await handler(request)

    async def websockify(self, request: web.Request) -> web.StreamResponse:
        uid = request.headers.get("Auth-User", "").strip()
        if not UID.fullmatch(uid):
            raise web.HTTPUnauthorized(text="no agent: this service answers behind the portal")
        password = portal_password(request.headers.get("Authorization", ""), uid)
        try:
            desktop = await asyncio.to_thread(ask_helper, self.helper, uid, password, self.wait)
        except (Refused, OSError) as error:
            LOG.warning("no desktop for %s: %s", uid, error)
            raise web.HTTPServiceUnavailable(text=f"no desktop: {error}") from error
        LOG.info("desktop of %s: connected", uid)
        ws = web.WebSocketResponse(protocols=("binary",), heartbeat=30, max_msg_size=0)
        try:
            await ws.prepare(request)
            desktop.setblocking(False)
            reader, writer = await asyncio.open_unix_connection(sock=desktop)
        except BaseException:
            desktop.close()
            raise
        await relay(ws, reader, writer)
        LOG.info("desktop of %s: disconnected", uid)
        return ws

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.only_fronts])
        app.router.add_get("/", file_handler(self.page / "index.html"))
        app.router.add_get("/websockify", self.websockify)
        for name in ("navigateur.js", "navigateur.css"):
            app.router.add_get(f"/{name}", file_handler(self.page / name))
        app.router.add_static("/core/", NOVNC / "core", follow_symlinks=False)
        app.router.add_static("/vendor/", NOVNC / "vendor", follow_symlinks=False)
        return app


def file_handler(path: Path):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path)

    return handler


async def relay(
    ws: web.WebSocketResponse, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Bytes both ways until either side closes."""

    async def from_browser() -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                writer.write(message.data)
                await writer.drain()
            elif message.type == WSMsgType.ERROR:
                break

    async def to_browser() -> None:
        while data := await reader.read(65536):
            await ws.send_bytes(data)

    tasks = [asyncio.create_task(from_browser()), asyncio.create_task(to_browser())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        await ws.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=config["ca"])
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    # TLS 1.2: the role's suites only (AEAD, forward secrecy), not Python's
    # default list, which takes CBC suites too.
    tls.set_ciphers(config["ciphers"])
    tls.verify_mode = ssl.CERT_REQUIRED
    tls.load_cert_chain(config["certificate"], config["key"])
    web.run_app(
        Gateway(config).app(),
        host=config.get("listen"),
        port=int(config["port"]),
        ssl_context=tls,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
