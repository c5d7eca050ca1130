"""Real RDP clients against the office host: the X.224 negotiation in a few
bytes of Python (which security the server accepts, which certificate it
presents), and FreeRDP (Debian's xfreerdp, under Xvfb) for logins.

FreeRDP's /auth-only proves nothing against xrdp: xrdp has no NLA, so the
password is checked after the connection, and /auth-only exits 0 with a
wrong password too (measured, FreeRDP 2.11 against xrdp 0.10.1). A login is
therefore a real connection: refused, FreeRDP exits non-zero and xrdp-sesman
logs AUTHFAIL; accepted, the agent's desktop starts on the host.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from playwright.sync_api import Browser, Page
from testinfra.host import Host

from ..site import DOMAIN
from ..sso.support import PORTAL, Portal
from ..testsupport import agent, artifacts_dir

# MS-RDPBCGR 2.2.1.1.1: requestedProtocols / selectedProtocol values.
PROTOCOL_RDP = 0  # RDP standard security (RC4 and the server's RSA key)
PROTOCOL_SSL = 1  # TLS
PROTOCOL_HYBRID = 2  # CredSSP (NLA)
# 2.2.1.2.2: RDP_NEG_FAILURE codes.
SSL_REQUIRED_BY_SERVER = 1
# Where the office host mounts each agent's drive folders (bureau-office-drive).
DRIVE_MOUNTS = "/run/bureau-office-drive/mounts"


def negotiate(address: str, port: int, requested: int) -> tuple[str, int, socket.socket]:
    """Send an X.224 Connection Request asking for `requested` protocols; return
    ("response", selectedProtocol, socket) or ("failure", failureCode, socket)."""
    neg_req = struct.pack("<BBHI", 0x01, 0x00, 8, requested)
    x224 = bytes([len(neg_req) + 6, 0xE0, 0, 0, 0, 0, 0]) + neg_req
    tpkt = struct.pack(">BBH", 3, 0, len(x224) + 4) + x224
    sock = socket.create_connection((address, port), timeout=10)
    sock.sendall(tpkt)
    header = _read(sock, 4)
    body = _read(sock, struct.unpack(">H", header[2:4])[0] - 4)
    kind, _, length, value = struct.unpack("<BBHI", body[7:15])
    assert length == 8, body
    return ("response" if kind == 0x02 else "failure" if kind == 0x03 else hex(kind)), value, sock


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def tls_certificate(address: str, port: int, name: str, ca_file: str) -> dict:
    """The certificate the server presents once TLS is negotiated, verified
    against the internal CA for `name` (ssl raises if it is not)."""
    kind, selected, sock = negotiate(address, port, PROTOCOL_SSL | PROTOCOL_HYBRID)
    assert (kind, selected) == ("response", PROTOCOL_SSL), (kind, selected)
    context = ssl.create_default_context(cafile=ca_file)
    with context.wrap_socket(sock, server_hostname=name) as tls:
        return tls.getpeercert()


def xfreerdp() -> str:
    """Debian's FreeRDP X11 client: xfreerdp3 (freerdp3-x11) or xfreerdp (freerdp2-x11)."""
    found = shutil.which("xfreerdp3") or shutil.which("xfreerdp")
    assert found, "FreeRDP is missing on this machine (scripts/host-setup installs it)"
    return found


@contextmanager
def rdp_client(
    address: str, name: str, ca_file: str | Path, screen: Path, display: int | None = None
) -> Iterator[list[str]]:
    """The command prefix that runs FreeRDP under Xvfb where `name` resolves to
    `address` and the internal CA is the trusted one (a mount namespace of its
    own, as the drive's clients: the machine's files are never touched), with
    an empty HOME (no remembered certificate). Xvfb keeps its screen in
    `screen`/Xvfb_screen0 (an XWD image: -fbdir), which `screenshot` reads.
    With `display`, Xvfb takes that X display and writes its cookie to
    `screen`/Xauthority, for a program that sends keys to it (bench.office);
    without, the first free one."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is missing on this machine"
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "xvfb-run (xvfb) is missing on this machine"
    with tempfile.TemporaryDirectory(prefix="bureau-office-client-") as folder:
        hosts = Path(folder, "hosts")
        hosts.write_text(f"127.0.0.1 localhost\n{address} {name}\n", encoding="utf-8")
        bundle = Path(folder, "ca-certificates.crt")
        bundle.write_text(Path(ca_file).read_text(encoding="utf-8"), encoding="utf-8")
        home = Path(folder, "home")
        home.mkdir()
        script = (
            'mount --bind "$0" /etc/hosts && '
            "if [ -e /etc/ssl/certs/ca-certificates.crt ]; then "
            'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt; fi && '
            'shift && HOME="$1" && shift && exec "$@"'
        )
        server = (
            ["-a"] if display is None else ["-n", str(display), "-f", str(screen / "Xauthority")]
        )
        yield [
            unshare, "--map-root-user", "--mount", "sh", "-c", script,
            str(hosts), str(bundle), str(home), xvfb, *server, "-s",
            f"-screen 0 1280x800x24 -fbdir {screen}",
        ]  # fmt: skip


def login_command(prefix: list[str], name: str, user: str, password: str) -> list[str]:
    """A full RDP connection: TLS, the certificate checked (/cert:deny refuses
    one the CA does not vouch for, for this name), French keyboard."""
    return [
        *prefix, xfreerdp(), f"/v:{name}", f"/u:{user}", f"/p:{password}", "/sec:tls",
        "/cert:deny", "/size:1280x800", "/kbd:0x040C", "/log-level:WARN",
    ]  # fmt: skip


def start(command: list[str], log: Path) -> subprocess.Popen:
    """Run the client in a process group of its own: `stop` ends it with its
    Xvfb (xvfb-run leaves Xvfb running when it is itself terminated)."""
    handle = log.open("w", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    return subprocess.Popen(
        command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def stop(client: subprocess.Popen) -> None:
    """End the client, its Xvfb and anything else of its process group."""
    with suppress(ProcessLookupError):
        os.killpg(client.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        client.wait(timeout=20)
    # The group outlives its leader when xvfb-run is terminated (Xvfb stays).
    with suppress(ProcessLookupError):
        os.killpg(client.pid, signal.SIGKILL)
    client.wait(timeout=20)


def screenshot(screen: Path, png: Path) -> int:
    """Save Xvfb's screen (`screen`/Xvfb_screen0, XWD, 32 bits per pixel) as a
    PNG; return the number of distinct colours (1: a blank screen)."""
    data = (screen / "Xvfb_screen0").read_bytes()
    fields = struct.unpack(">25I", data[:100])
    header, width, height = fields[0], fields[4], fields[5]
    byte_order, bits, line, colours = fields[7], fields[11], fields[12], fields[19]
    assert bits == 32, f"XWD with {bits} bits per pixel"
    pixels = data[header + colours * 12 :]
    rows = []
    seen: set[bytes] = set()
    for y in range(height):
        row = pixels[y * line : y * line + width * 4]
        # 32-bit pixels 0x00RRGGBB, least significant byte first when byte_order is 0.
        if byte_order == 0:
            rgb = b"".join(
                row[i + 2 : i + 3] + row[i + 1 : i + 2] + row[i : i + 1]
                for i in range(0, len(row), 4)
            )
        else:
            rgb = b"".join(row[i + 1 : i + 4] for i in range(0, len(row), 4))
        seen.update(rgb[i : i + 3] for i in range(0, len(rgb), 48))
        rows.append(b"\x00" + rgb)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    png.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )
    return len(seen)


# What a program started in an agent's session takes from it.
SESSION_VARIABLES = {
    "DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR",
    "HOME", "LANG", "LANGUAGE",
}  # fmt: skip


def wait_for(condition, seconds: float):  # type: ignore[no-untyped-def]
    """condition()'s first true answer within `seconds`, else its last one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(1)
    return condition()


def sessions_of(office: Host, uid: str) -> list[str]:
    """Pids of the agent's desktop session on the host."""
    return office.run("pgrep -u %s -x xfce4-session", uid).stdout.split()


def drive_mounts(office: Host, root: str) -> dict[str, str]:
    """Mount point -> source of the davfs2 mounts under root (an agent's
    folder under DRIVE_MOUNTS)."""
    listed = office.run("findmnt -J -t fuse -o TARGET,SOURCE").stdout
    filesystems = json.loads(listed)["filesystems"] if listed.strip() else []
    return {fs["target"]: fs["source"] for fs in filesystems if fs["target"].startswith(root + "/")}


def session_environment(office: Host, pid: str) -> list[str]:
    """NAME=value of the session's display, bus, home and language."""
    environ = office.run("tr '\\0' '\\n' < /proc/%s/environ", pid).stdout
    return [line for line in environ.splitlines() if line.split("=", 1)[0] in SESSION_VARIABLES]


def in_session(office: Host, uid: str, environment: list[str], command: str, *args: str):  # type: ignore[no-untyped-def]
    """Run `command` (testinfra's %s quoting for args) as the agent, with her
    session's environment: what she would run from her desktop."""
    return office.run(
        "runuser -u %s -- env " + " ".join(["%s"] * len(environment)) + " " + command,
        uid, *environment, *args,
    )  # fmt: skip


# --- The browser path (noVNC through the front) ---------------------------

NAVIGATEUR = f"https://bureau.{DOMAIN}/navigateur/"

# Distinct colours in a sample of the noVNC canvas (a blank or a black
# screen has one or two).
CANVAS_COLOURS = """() => {
  const canvas = document.querySelector('#screen canvas');
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 97) {
    seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return seen.size;
}"""


def xorg_of(office: Host, uid: str) -> list[str]:
    return office.run("pgrep -u %s -x Xorg", uid).stdout.split()


def wait_connected(page: Page, milliseconds: int) -> None:
    """Until the page says its desktop is connected (noVNC's connect event)."""
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('Connecté')",
        timeout=milliseconds,
    )


def open_desktop(browser: Browser, uid: str, shot: str, headers: dict | None = None) -> Page:
    """The agent logs in to the portal and opens /navigateur/; her desktop
    shows in the canvas (many colours), or the check fails with a screenshot."""
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    page = context.new_page()
    page.goto(PORTAL)
    Portal(artifacts_dir("office")).login(page, uid, agent(uid).password)
    if headers:
        # Every later request carries them, the WebSocket's too.
        context.set_extra_http_headers(headers)
    page.goto(NAVIGATEUR)
    wait_connected(page, 120_000)
    colours = wait_for(
        lambda: page.evaluate(CANVAS_COLOURS) > 8 and page.evaluate(CANVAS_COLOURS), 60
    )
    page.screenshot(path=str(artifacts_dir("office") / shot))
    assert colours, f"the canvas of {uid}'s desktop stays blank (screenshot {shot})"
    return page
