"""Chromium in a network namespace of its own, reaching the host under test
through a relay.

Chromium watches the machine's interfaces (netlink) and abandons every
navigation and request in flight with net::ERR_NETWORK_CHANGED when an
address or a link appears or goes. In CI the other lane's molecule scenario
makes and removes Docker networks and containers (bridges, veths) at any
moment, so any browser check could fail that way.

`launch` therefore starts Chromium in a user and network namespace
(`unshare --map-root-user --net`) that has loopback and one static link of
its own (a veth pair with both ends inside, made before Chromium starts and
never changed: without a non-loopback link up with an address, Chromium
counts itself offline and pages see navigator.onLine false). Nothing that
happens to the host's interfaces reaches it. Its traffic crosses to the host
through Unix sockets (path-based ones work across network namespaces):

    Chromium → 127.0.0.1:443 (inner relay, in the namespace)
             → <temp dir>/443.sock (outer relay, a thread of this process)
             → address:443 (and the same for 80)

and every name of the domain resolves to 127.0.0.1 there
(--host-resolver-rules). Playwright starts a small generated wrapper as the
browser's executable; the wrapper enters the namespace and runs this file as
a script (`python -I browser_netns.py DIRECTORY CHROMIUM ARGS…`, stdlib
only), which brings the links up, binds the inner relay's ports, forks the
relay and execs Chromium with Playwright's arguments and pipes (fds 3 and 4,
which the relay closes). Before the first launch, `--probe` (loopback up,
nothing more) learns whether the machine allows all this; where it does not,
`launch` says so once on stderr and starts Chromium directly, as before.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserType

# The ports the browser checks use (the site's https, and http for its redirects).
PORTS = (443, 80)
# Where `ip` lives when the caller's PATH lacks the sbin directories (a user's).
SBIN = "/usr/sbin:/sbin"
# Playwright's pipes to Chromium (--remote-debugging-pipe).
PLAYWRIGHT_FDS = (3, 4)
# `ip -batch` commands for the namespace's one link besides loopback (_online_link);
# 192.0.0.8 is the IPv4 dummy address (RFC 7600), for an interface with no real one.
ONLINE_LINK = """\
link add bureau0 type veth peer name bureau1
link set bureau0 addrgenmode none
link set bureau1 addrgenmode none
address add 192.0.0.8/32 dev bureau0
link set bureau0 up
link set bureau1 up
"""

Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


# The relay: a byte pump between two stream connections.


async def _copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: asyncio.StreamWriter
) -> None:
    """Bytes from `reader` to `writer` until end of stream, then half-close
    `writer`; on an error both connections (`writer` and `peer`, the one
    `reader` belongs to) are cut, so the other direction ends as well."""
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()
        peer.transport.abort()


async def _join(
    connect: Connect, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One accepted connection, joined to a new one made by `connect`."""
    try:
        far_reader, far_writer = await connect()
    except OSError as error:
        print(f"browser_netns relay: {error}", file=sys.stderr)
        writer.transport.abort()
        return
    try:
        await asyncio.gather(
            _copy(reader, far_writer, writer), _copy(far_reader, writer, far_writer)
        )
    finally:
        far_writer.close()
        writer.close()


def _socket_path(directory: str | Path, port: int) -> str:
    return str(Path(directory, f"{port}.sock"))


# Outside the namespace: Unix sockets → address:port, in a thread of this process.


class _OuterRelay:
    """Listens on `<directory>/<port>.sock` for each port of `targets` and
    joins every connection to its target (host, port), on an event loop in a
    thread of its own."""

    def __init__(self, directory: str, targets: Mapping[int, tuple[str, int]]) -> None:
        self.directory = directory
        self.targets = dict(targets)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="browser-netns-relay", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the starting thread
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        servers = []
        for port, (host, target_port) in self.targets.items():
            connect = functools.partial(asyncio.open_connection, host, target_port)
            servers.append(
                await asyncio.start_unix_server(
                    functools.partial(_join, connect), path=_socket_path(self.directory, port)
                )
            )
        self._ready.set()
        await self._stop.wait()
        for server in servers:
            server.close()

    def __enter__(self) -> _OuterRelay:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


# Inside the namespace: 127.0.0.1:port → Unix sockets, in a process of its own.


def _ip() -> str:
    return shutil.which("ip", path=os.environ.get("PATH", "") + os.pathsep + SBIN) or "ip"


async def _inner_relay(directory: str, listeners: dict[int, socket.socket], parent: int) -> None:
    """Serves the listeners (port -> socket) until `parent` (Chromium, once
    the wrapper has exec'd it) has gone: this process is then another's child."""
    for port, listener in listeners.items():
        connect = functools.partial(asyncio.open_unix_connection, _socket_path(directory, port))
        await asyncio.start_server(functools.partial(_join, connect), sock=listener)
    while os.getppid() == parent:
        await asyncio.sleep(0.2)


def _online_link() -> None:
    """A link of the namespace's own, up with an IPv4 address, made before
    Chromium starts and never changed after: without one Chromium counts
    itself offline (navigator.onLine false, what a page may act on). A veth
    pair, both ends in the namespace, no route beyond it; no IPv6 link-local
    addresses either, whose arrival a moment later would be a change Chromium
    notices. Optional: without it the namespace stays as safe, only offline."""
    done = subprocess.run(
        [_ip(), "-batch", "-"],
        input=ONLINE_LINK,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(
            "browser_netns: no link of its own in Chromium's namespace, which counts "
            f"itself offline (navigator.onLine false): {done.stderr.strip()}",
            file=sys.stderr,
        )


def main(argv: list[str]) -> None:
    """In the namespace: `lo` up, a link for Chromium to count itself online,
    the inner relay's ports bound, the relay forked (without Playwright's
    pipes), then Chromium exec'd."""
    subprocess.run([_ip(), "link", "set", "lo", "up"], check=True)
    if argv == ["--probe"]:
        return
    directory, executable, *args = argv
    _online_link()
    # The ports the outer relay serves (its sockets exist before Chromium
    # starts): 443 and 80, and any the launch added (`relays`).
    ports = sorted(int(path.stem) for path in Path(directory).glob("*.sock"))
    # Bound before the fork: Chromium never connects before the relay listens.
    listeners = [socket.create_server(("127.0.0.1", port)) for port in ports]
    parent = os.getpid()
    if os.fork() == 0:
        status = 0
        try:
            for fd in PLAYWRIGHT_FDS:
                with suppress(OSError):
                    os.close(fd)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.close(null)
            asyncio.run(_inner_relay(directory, dict(zip(ports, listeners, strict=True)), parent))
        except BaseException as error:
            print(f"browser_netns relay: {error!r}", file=sys.stderr)
            status = 1
        finally:
            os._exit(status)
    for listener in listeners:
        listener.close()
    os.execv(executable, [executable, *args])


# The launch.


def _in_namespace(*args: str) -> list[str]:
    """This file's main, run in a new user and network namespace."""
    return [
        shutil.which("unshare") or "unshare",
        "--map-root-user",
        "--net",
        "--",
        sys.executable,
        "-I",  # not tests/infra on sys.path: its site.py is not the stdlib's
        str(Path(__file__).resolve()),
        *args,
    ]


@functools.cache
def isolation_available() -> bool:
    """Whether this machine lets us make a user and network namespace, bring
    its loopback up and run this file there, as the launch does (as root, or
    as a user where user namespaces are allowed); said once on stderr when it
    does not."""
    if shutil.which("unshare"):
        done = subprocess.run(_in_namespace("--probe"), capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return True
        reason = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
    else:
        reason = "unshare is not installed"
    message = (
        "browser checks: Chromium runs WITHOUT a network namespace of its own "
        f"(unshare --map-root-user --net: {reason}); a change of the host's "
        "interfaces (a Docker network or container made or removed) can abort its "
        "requests with net::ERR_NETWORK_CHANGED"
    )
    print(message, file=sys.stderr)
    warnings.warn(message, RuntimeWarning, stacklevel=2)
    return False


def _wrapper(directory: str, executable: str) -> str:
    """The executable Playwright starts: the namespace, then this file's main."""
    path = Path(directory, "chromium")
    command = shlex.join(_in_namespace(directory, executable))
    path.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@contextmanager
def launch(
    browser_type: BrowserType,
    executable: str,
    domain: str,
    address: str,
    isolate: bool | None = None,
    *,
    args: Sequence[str] = (),
    relays: Mapping[int, tuple[str, int]] | None = None,
) -> Iterator[Browser]:
    """Chromium (`executable`) launched by Playwright's `browser_type`, with
    every name of `domain` reaching `address` on ports 443 and 80. Isolated in
    a network namespace of its own when `isolate` is true, or None (the
    default) and the machine allows it; started directly otherwise. `args`
    are more Chromium switches; `relays` more TCP ports (port in the
    namespace -> (address, port) outside) for every name of the domain, such
    as a TURN server's TLS port (the namespace has no other way out: no UDP).
    Started directly, Chromium reaches a relayed port at `address`."""
    if isolate is None:
        isolate = isolation_available()
    if not isolate:
        browser = browser_type.launch(
            executable_path=executable,
            args=[f"--host-resolver-rules=MAP *.{domain} {address}", *args],
        )
        try:
            yield browser
        finally:
            browser.close()
        return
    # A short path: a Unix socket's path is limited to 107 bytes.
    with (
        tempfile.TemporaryDirectory(prefix="bureau-netns-") as directory,
        _OuterRelay(directory, {**{port: (address, port) for port in PORTS}, **(relays or {})}),
    ):
        browser = browser_type.launch(
            executable_path=_wrapper(directory, executable),
            args=[f"--host-resolver-rules=MAP *.{domain} 127.0.0.1", *args],
        )
        try:
            yield browser
        finally:
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
