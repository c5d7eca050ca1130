"""The browser path: an agent logged in to the portal opens her desktop in
her browser (noVNC, from the office host's gateway, through the web front),
finds the same desktop when she reloads, and her drive folders in it, and
nobody reaches another's: not
with a forged header through the front, not with a link to another's socket
on the office host, not by talking to the gateway or its helper directly."""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from testinfra.host import Host

from ..drive.support import request
from ..site import DOMAIN
from ..sso.support import PORTAL
from ..testsupport import (
    agent,
    artifacts_dir,
    chromium,
    https_request,
    probe_from,
    probe_here,
)
from .support import (
    DRIVE_MOUNTS,
    drive_mounts,
    in_session,
    open_desktop,
    session_environment,
    sessions_of,
    wait_connected,
    wait_for,
    xorg_of,
)

pytestmark = pytest.mark.readonly

GATEWAY = 6443
RDP = 3389
HELPER = "/run/bureau-office-vnc.sock"
A = "essi.kpodar"
# What a French agent types (AZERTY: accents, the cedilla, the euro sign).
TYPED = "Lomé : élève à 15 h, ça coûte 5 € !"
# The keys AZERTY types with a modifier (capitals take Shift too).
AZERTY_MODIFIER = {**dict.fromkeys("0123456789", "Shift"), "€": "AltGraph"}
# The physical keys a browser names for those modifiers (noVNC reads them).
MODIFIER_KEYS = {
    "Shift": {"code": "ShiftLeft", "location": 1, "windowsVirtualKeyCode": 16},
    "AltGraph": {"code": "AltRight", "location": 2, "windowsVirtualKeyCode": 225},
}
B = "abla.adjo-amegan"

# Asks the session helper for an agent's desktop as the gateway does
# (run as the gateway's user on the office host): its one-line answer.
ASK_HELPER = """
import socket, sys
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(90)
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\\n")
    message, fds, _, _ = socket.recv_fds(s, 1024, 1)
print(message.decode().strip(), len(fds))
"""


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """The site's names resolve to the suite host (its front)."""


@pytest.fixture(scope="module")
def browser(address: str) -> Iterator[Browser]:
    with chromium(DOMAIN, address) as running:
        yield running


@pytest.fixture(scope="module", autouse=True)
def _end_sessions(office: Host) -> Iterator[None]:
    """The desktops these checks open are closed after them (others log in
    over RDP later and must find no session without their drive)."""
    yield
    for uid in (A, B):
        office.run("loginctl terminate-user %s", uid)
    wait_for(lambda: not any(sessions_of(office, uid) for uid in (A, B)), 30)


# It opens desktop sessions (closed after the module), more than a look.
@pytest.mark.writes
def test_her_desktop_opens_in_the_browser_and_reloading_finds_it(
    office: Host, browser: Browser
) -> None:
    office.run("loginctl terminate-user %s", A)
    assert wait_for(lambda: not xorg_of(office, A), 30) is not False
    page = open_desktop(browser, A, "navigateur-essi.png")
    try:
        # The gateway opened a desktop session of hers, as her.
        assert sessions_of(office, A), f"no XFCE session of {A} on the office host"
        # Its login gave her LibreOffice her own ministry's templates (mtp).
        own = office.run("ls -A /run/bureau-office-modeles/%s", A).stdout.split()
        assert sorted(own) == ["groupuinames.xml", "mtp"], own
        first = xorg_of(office, A)
        assert len(first) == 1, first
        # Reloading the page (or a network cut) finds the same desktop.
        page.reload()
        wait_connected(page, 60_000)
        assert xorg_of(office, A) == first
        # The page runs under the front's policy: its own scripts only.
        csp = page.evaluate(
            "async () => (await fetch(location.href)).headers.get('content-security-policy')"
        )
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    finally:
        page.context.close()


# It opens desktop sessions and writes to her drive.
@pytest.mark.writes
def test_a_desktop_opened_from_the_browser_has_her_drive(
    office: Host, browser: Browser, tls: ssl.SSLContext
) -> None:
    """No password reaches the office host at a browser login but the one
    the portal keeps: the front sends it with her identity, the gateway
    hands it to the helper, and her drive folders are mounted in the new
    session as at an RDP login. What she saves there is in the drive; the
    password is left nowhere on the office host."""
    root = f"{DRIVE_MOUNTS}/{A}"
    office.run("loginctl terminate-user %s", A)
    assert wait_for(lambda: not xorg_of(office, A), 30) is not False
    office.run("systemctl start bureau-office-drive-sweep.service")
    assert not drive_mounts(office, root), "her drive stayed mounted without a session"
    since = office.check_output("date +%s")
    page = open_desktop(browser, A, "navigateur-drive.png")
    page.context.close()
    own = f"{root}/Mes documents"
    mounts = wait_for(lambda: drive_mounts(office, root), 30)
    assert mounts.get(own) == f"https://dav.{DOMAIN}/users/{A}/", (
        mounts, office.run("journalctl -q -t bureau-office-drive --since @%s", since).stdout,
    )  # fmt: skip
    name = f"navigateur-{uuid.uuid4().hex[:8]}.txt"
    pid = sessions_of(office, A)[0]
    wrote = in_session(
        office, A, session_environment(office, pid),
        "sh -c %s", f"echo 'Écrit depuis le navigateur' > '/home/{A}/Drive/Mes documents/{name}'",
    )  # fmt: skip
    assert wrote.rc == 0, wrote.stderr
    # davfs2 uploads a closed file after its delay.
    found = wait_for(lambda: request(tls, "GET", f"/users/{A}/{name}", A)[0] == 200, 60)
    assert found, f"{name} did not reach {A}'s drive"
    body = request(tls, "GET", f"/users/{A}/{name}", A)[2]
    assert body == "Écrit depuis le navigateur\n".encode(), body
    # Her password: in no file left, no command line, no journal line.
    password = agent(A).password
    assert A not in office.run("ls -A /run/bureau-office-drive/stash").stdout.split()
    assert password not in office.run("ps -eo args").stdout
    journal = office.run("journalctl --since @%s -o cat --no-pager", since).stdout
    assert journal and password not in journal
    assert base64.b64encode(password.encode()).decode() not in journal


# It opens desktop sessions (closed after the module), more than a look.
@pytest.mark.writes
def test_what_she_types_in_the_browser_arrives_as_typed(office: Host, browser: Browser) -> None:
    """A French agent types accents and the euro sign in her browser: noVNC
    sends each key's symbol, the session's VNC server maps it on the
    desktop's keymap, and a terminal of her desktop receives the very text."""
    page = open_desktop(browser, A, "navigateur-clavier.png")
    try:
        pid = sessions_of(office, A)[0]
        target = f"/home/{A}/clavier-{uuid.uuid4().hex[:8]}.txt"
        in_session(
            office, A, session_environment(office, pid),
            "setsid xfce4-terminal --disable-server --title=clavier -x sh -c %s "
            ">/dev/null 2>&1 < /dev/null &",
            f"cat > {target}",
        )  # fmt: skip
        assert wait_for(lambda: office.run("pgrep -u %s -f 'cat > /home'", A).rc == 0, 30)
        time.sleep(3)  # the window maps and takes the focus
        # What a browser sends for each key of an AZERTY keyboard: the
        # modifier the layout needs (Shift for capitals and digits, AltGr
        # for the euro sign), then the key with its character as its value
        # (Playwright's keyboard knows a US layout only: Chromium's own
        # input events, here).
        cdp = page.context.new_cdp_session(page)

        def key(kind: str, value: str, text: str = "") -> None:
            event = {"type": kind, "key": value, **MODIFIER_KEYS.get(value, {})}
            if text:
                event["text"] = text
            cdp.send("Input.dispatchKeyEvent", event)

        for char in TYPED:
            modifier = AZERTY_MODIFIER.get(char) or ("Shift" if char.isupper() else "")
            if modifier:
                key("rawKeyDown", modifier)
            key("keyDown", char, char)
            key("keyUp", char)
            if modifier:
                key("keyUp", modifier)
        page.keyboard.press("Enter")
        time.sleep(1)
        page.screenshot(path=str(artifacts_dir("office") / "navigateur-clavier.png"))
        page.keyboard.press("Control+d")
        typed = wait_for(lambda: office.run("cat %s", target).stdout, 20)
        assert typed == TYPED + "\n", typed
    finally:
        page.context.close()
        office.run("pkill -u %s -f 'cat > /home'", A)


# It opens desktop sessions (closed after the module), more than a look.
@pytest.mark.writes
def test_a_forged_header_gets_her_own_desktop_never_his(office: Host, browser: Browser) -> None:
    """B, logged in as herself, sends A's uid in every identity header the
    front or the gateway could read, and his password in Authorization (as
    if she knew it): the front overwrites them from the portal's session, so
    she gets her own desktop with her own drive, and A's stays untouched."""
    before = office.run("journalctl -u 'bureau-office-vnc@*' -o cat --no-pager | wc -l").stdout
    forged = {
        "Auth-User": A, "Lm-Remote-User": A, "X-Bureau-User": A,
        "Authorization": "Basic " + base64.b64encode(f"{A}:{agent(A).password}".encode()).decode(),
    }  # fmt: skip
    page = open_desktop(browser, B, "navigateur-edem.png", headers=forged)
    page.context.close()
    assert sessions_of(office, B), f"no desktop of {B}"
    log = office.run(
        "journalctl -u 'bureau-office-vnc@*' -o cat --no-pager | tail -n +%s", str(int(before) + 1)
    ).stdout
    assert f"desktop of {B} handed" in log, log
    assert f"desktop of {A} handed" not in log, log
    # Her drive is hers too: the front sent her own credentials, not his.
    mounts = wait_for(lambda: drive_mounts(office, f"{DRIVE_MOUNTS}/{B}"), 30)
    assert f"https://dav.{DOMAIN}/users/{B}/" in mounts.values(), mounts
    assert all(f"/users/{A}/" not in source for source in mounts.values()), mounts


# It opens desktop sessions (closed after the module), more than a look.
@pytest.mark.writes
def test_a_link_to_another_agents_desktop_is_refused(office: Host) -> None:
    """A hostile agent on the office host: she cannot reach another's VNC
    socket herself, nor the helper; and a link to it put in her runtime
    folder is refused by the helper's check of who serves the socket."""
    for uid in (A, B):  # their desktops, as the gateway asks for them
        ask = office.run("runuser -u bureau-vnc -- python3 -c %s %s %s", ASK_HELPER, HELPER, uid)
        assert ask.stdout.split() == ["ok", "1"], (uid, ask.stdout, ask.stderr)
    uid_a = office.check_output("id -u %s", A)
    uid_b = office.check_output("id -u %s", B)
    her = f"/run/user/{uid_b}/bureau-vnc"
    his = f"/run/user/{uid_a}/bureau-vnc"
    connect = "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"
    direct = office.run("runuser -u %s -- python3 -c %s %s", B, connect, his)
    assert direct.rc != 0 and "PermissionError" in direct.stderr, direct.stderr
    helper = office.run("runuser -u %s -- python3 -c %s %s", B, connect, HELPER)
    assert helper.rc != 0 and "PermissionError" in helper.stderr, helper.stderr
    # Her own socket replaced by a link to his (she owns the folder).
    office.check_output("runuser -u %s -- mv %s %s.saved", B, her, her)
    try:
        office.check_output("runuser -u %s -- ln -s %s %s", B, his, her)
        answer = office.run("runuser -u bureau-vnc -- python3 -c %s %s %s", ASK_HELPER, HELPER, B)
        assert answer.rc == 0, answer.stderr
        assert answer.stdout.startswith(f"{her} is served by uid {uid_a}"), answer.stdout
        assert answer.stdout.split()[-1] == "0", "the helper handed a socket anyway"
    finally:
        office.run("rm -f %s", her)
        office.run("runuser -u %s -- mv %s.saved %s", B, her, her)


def test_the_office_host_answers_only_what_it_means_to(
    host: Host, office: Host, office_address: str, office_name: str
) -> None:
    """Every TCP port the office host listens on, scanned from the suite host
    (a web front, inside the RDP networks) and from this machine (inside the
    RDP networks, no front): SSH, RDP and the gateway only (no session's VNC
    server on TCP), the gateway for the front only. On the office host
    itself, a client with a valid internal certificate that is no front's
    is refused, one without a certificate fails the handshake."""
    listening = {
        int(line.split()[3].rsplit(":", 1)[1])
        for line in office.check_output("ss -Hltn").splitlines()
        # Docker's embedded DNS, in the container's namespace only.
        if not line.split()[3].startswith("127.0.0.11:")
    }
    ssh = int(office.check_output("sshd -T 2>/dev/null | awk '/^port /{print $2}'") or 22)
    assert listening == {ssh, RDP, GATEWAY}, listening
    ports = sorted(listening)
    assert probe_from(host, office_address, ports) == dict.fromkeys(ports, "open")
    assert probe_here(office_address, ports) == {ssh: "open", RDP: "open", GATEWAY: "dropped"}
    url = f"https://{office_name}:{GATEWAY}/websockify"
    curl = (
        "curl -sS -o /dev/null -w '%%{http_code}' --cacert /etc/ssl/bureau/ca.crt "
        f"--resolve {office_name}:{GATEWAY}:127.0.0.1 -H %s "
    )
    own = "--cert /etc/ssl/bureau/host.crt --key /etc/ssl/bureau/private/host.key "
    not_a_front = office.run(curl + own + "%s", f"Auth-User: {A}", url)
    assert not_a_front.stdout == "403", (not_a_front.stdout, not_a_front.stderr)
    anonymous = office.run(curl + "%s", f"Auth-User: {A}", url)
    assert anonymous.stdout == "000" and anonymous.rc != 0, anonymous.stdout


# Run on the front: every suite below TLS 1.3 that the front's OpenSSL (the
# one the gateway's Python uses, both Debian's) knows, tried alone with the
# front's own certificate against the gateway; prints the accepted ones.
ACCEPTED_SUITES = r"""
for version in tls1 tls1_1 tls1_2; do
  for suite in $(openssl ciphers -s -$version 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr : ' '); do
    case $suite in TLS_*) continue ;; esac
    if echo | timeout 5 openssl s_client -connect "$1" -servername "$2" -$version \
         -cipher "$suite:@SECLEVEL=0" -cert /etc/ssl/bureau/host.crt \
         -key /etc/ssl/bureau/private/host.key >/dev/null 2>&1; then
      echo "$version $suite"
    fi
  done
done
"""


def test_the_gateway_offers_modern_tls_only(
    host: Host, office_address: str, office_name: str
) -> None:
    """From the front (the only client the firewall lets in): TLS 1.2 with
    forward secrecy and authenticated encryption only, no TLS 1.0 or 1.1,
    no CBC suite (Python's default list had four, with ECDHE)."""
    accepted = host.check_output(
        "sh -c %s - %s %s", ACCEPTED_SUITES, f"{office_address}:{GATEWAY}", office_name
    ).splitlines()
    assert accepted, "the gateway accepted no suite at all"
    weak = [
        line for line in accepted
        if not line.startswith("tls1_2 ") or not line.split()[1].startswith(("ECDHE-", "DHE-"))
        or not ("-GCM-" in line or "CHACHA20-POLY1305" in line)
    ]  # fmt: skip
    assert not weak, f"the gateway accepts {weak}"


def test_without_a_portal_session_nothing_is_served(tls) -> None:  # type: ignore[no-untyped-def]
    for path in ("/navigateur/", "/navigateur/websockify", "/navigateur/core/rfb.js"):
        status, headers, _ = https_request(
            tls, f"bureau.{DOMAIN}", "GET", path, headers={"Auth-User": A}
        )
        assert status == 302 and headers["location"].startswith(PORTAL), (path, status)


def test_the_gateway_configuration_names_the_fronts_only(office: Host) -> None:
    config = json.loads(office.file("/etc/bureau-office/navigateur.json").content_string)
    assert config["fronts"] == [f"suite.{DOMAIN}"], config["fronts"]
    assert office.file(HELPER).mode == 0o660 and office.file(HELPER).group == "bureau-vnc"
