"""The network namespace the browser checks run Chromium in (tests/infra/browser_netns.py),
with a small Python program in Chromium's place: no browser, no Docker, loopback only."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra import browser_netns

# In Chromium's place: what it would see of the namespace and the relay.
BROWSER = """
import json, os, socket, sys
os.write(4, b"pipe")
os.close(4)
seen = {"links": sorted(name for _, name in socket.if_nameindex())}
seen["fd3"] = os.path.exists("/proc/self/fd/3")
for port in (443, 80):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"ping {port}".encode())
        connection.shutdown(socket.SHUT_WR)
        seen[str(port)] = connection.makefile("rb").read().decode()
print(json.dumps(seen), flush=True)
sys.stdin.readline()
"""

# What Playwright does: the browser started with its pipes on fds 3 and 4
# (here fd 4 is the write end given as argv[1], fd 3 /dev/null).
PIPES = """
import os, sys
given = int(sys.argv[1])
os.dup2(given, 4)
if given not in (3, 4):
    os.close(given)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 3)
if null not in (3, 4):
    os.close(null)
for fd in (3, 4):
    os.set_inheritable(fd, True)  # dup2 onto itself keeps close-on-exec
os.execv(sys.argv[2], sys.argv[2:])
"""


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP server on this machine's loopback answering each connection with
    what it received, prefixed by `echo `."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while chunk := connection.recv(1024):
                    data += chunk
                connection.sendall(b"echo " + data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.skipif(
    not browser_netns.isolation_available(), reason="no user and network namespace here"
)
def test_the_browser_sees_its_own_links_reaches_the_host_through_the_relay_and_has_its_pipes(
    echo: int, tmp_path: Path
) -> None:
    targets = {port: ("127.0.0.1", echo) for port in browser_netns.PORTS}
    pipe_read, pipe_write = os.pipe()
    with browser_netns._OuterRelay(str(tmp_path), targets):
        # fd 4 is a pipe whose other end this test reads: its end of file comes
        # only once no process holds fd 4 any more.
        command = browser_netns._in_namespace(str(tmp_path), sys.executable, "-c", BROWSER)
        browser = subprocess.Popen(
            [sys.executable, "-c", PIPES, str(pipe_write), *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(pipe_write,),
        )
        os.close(pipe_write)
        assert browser.stdout is not None and browser.stdin is not None
        try:
            seen = json.loads(browser.stdout.readline())
            received = b""
            while True:
                ready, _, _ = select.select([pipe_read], [], [], 5)
                assert ready, (
                    "fd 4 is still open elsewhere (the relay?) after the browser closed it"
                )
                chunk = os.read(pipe_read, 1024)
                if not chunk:
                    break
                received += chunk
        finally:
            browser.stdin.close()
            browser.wait(timeout=10)
            os.close(pipe_read)
    assert received == b"pipe"
    assert seen == {
        "links": ["bureau0", "bureau1", "lo"],
        "fd3": True,
        "443": "echo ping 443",
        "80": "echo ping 80",
    }
