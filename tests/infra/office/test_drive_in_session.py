"""The agent's drive inside her desktop session: at an RDP login her drive
folders (her own, her ministry's, the shared folders of her groups) are
mounted with her own credentials; a document LibreOffice writes there in her
session reaches her colleague through the drive; while she has it open, her
colleague's overwrite is refused by the drive's lock; a colleague on the same
office host reaches none of it; the session's end unmounts and keeps what she
wrote."""

from __future__ import annotations

import io
import secrets
import ssl
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from testinfra.host import Host

from ..drive.support import request
from ..testsupport import agent, artifacts_dir
from .support import (
    DRIVE_MOUNTS,
    drive_mounts,
    in_session,
    login_command,
    session_environment,
    sessions_of,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.writes  # documents written to the drive, sessions opened

UID = "kokou.agbeko"
COLLEAGUE = "abla.adjo-amegan"  # the same ministry (mef)
MINISTRY = "mef"
SHARE = "budget-2027"  # mef writes there, msh and mtp read
ROOT = f"{DRIVE_MOUNTS}/{UID}"
HOME = f"/home/{UID}/Drive"
OWN = "Mes documents"
GROUPS = "Ministères"
SHARES = "Dossiers partagés"
FOLDER = f"{HOME}/{GROUPS}/{MINISTRY}"


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """The drive's names resolve to the suite host, for the colleague's client."""


@dataclass
class Session:
    client: subprocess.Popen
    environment: list[str]


@pytest.fixture(scope="module")
def desktop(office: Host, rdp_prefix: list[str], office_name: str) -> Iterator[Session]:
    """Kokou's desktop session, opened over RDP: the client, the session's environment."""
    who = agent(UID)
    office.run("loginctl terminate-user %s", UID)
    client = start(
        login_command(rdp_prefix, office_name, who.uid, who.password),
        artifacts_dir("office") / "drive-session.log",
    )
    try:
        pids = wait_for(lambda: sessions_of(office, UID), 60)
        assert pids, f"no desktop for {UID}; client exit status {client.poll()}"
        assert wait_for(lambda: len(drive_mounts(office, ROOT)) >= 3, 30), (
            "her drive folders are not mounted: "
            + office.run("journalctl -q -t bureau-office-drive -n 20").stdout
        )
        yield Session(client, session_environment(office, pids[0]))
    finally:
        stop(client)
        office.run("loginctl terminate-user %s", UID)


def test_her_folders_are_mounted_with_her_identity(office: Host, desktop: Session) -> None:
    mounts = drive_mounts(office, ROOT)
    assert mounts == {
        f"{ROOT}/{OWN}": f"https://dav.gouv.tg/users/{UID}/",
        f"{ROOT}/{GROUPS}/{MINISTRY}": f"https://dav.gouv.tg/groups/{MINISTRY}/",
        f"{ROOT}/{SHARES}/{SHARE}": f"https://dav.gouv.tg/shares/{SHARE}/",
    }, mounts
    for target in mounts:
        info = office.run("stat -c '%%U %%a' %s", target).stdout.split()
        assert info == [UID, "700"], (target, info)
        options = office.run("findmnt -n -o OPTIONS %s", target).stdout
        assert {"nosuid", "nodev", "noexec"} <= set(options.strip().split(",")), options
    # Her desktop finds them in her home, as herself.
    assert office.run("readlink %s", HOME).stdout.strip() == ROOT
    listing = in_session(office, UID, desktop.environment, "ls %s", f"{HOME}/{GROUPS}")
    assert listing.rc == 0 and listing.stdout.split() == [MINISTRY], listing
    # Nothing of the password she logged in with is left behind (another
    # agent's refused login may leave hers there, for 120 s at most).
    assert UID not in office.run("ls -A /run/bureau-office-drive/stash").stdout.split()
    password = agent(UID).password
    assert password not in office.run("ps -eo args").stdout


def minimal_odt(text: str) -> bytes:
    """A text document LibreOffice opens (mimetype first and stored, a
    manifest, the content)."""
    odt = "application/vnd.oasis.opendocument.text"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{odt}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
        f"<office:body><office:text><text:p>{text}</text:p></office:text></office:body>"
        "</office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as document:
        document.writestr(zipfile.ZipInfo("mimetype"), odt, compress_type=zipfile.ZIP_STORED)
        document.writestr("META-INF/manifest.xml", manifest)
        document.writestr("content.xml", content)
    return buffer.getvalue()


def odt_text(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as document:
        return document.read("content.xml").decode()


def test_a_document_written_in_her_session_reaches_her_colleague(
    office: Host, tls: ssl.SSLContext, desktop: Session
) -> None:
    token = secrets.token_hex(4)
    name = f"note-{token}.odt"
    source = f"/tmp/note-{token}.txt"
    in_session(
        office, UID, desktop.environment, "sh -c %s", f"echo 'Note de service {token}' > {source}"
    )
    converted = in_session(
        office, UID, desktop.environment,
        "soffice --headless --norestore -env:UserInstallation=file:///tmp/lo-drive-%s"
        " --convert-to odt --outdir %s %s",
        token, FOLDER, source,
    )  # fmt: skip
    assert converted.rc == 0, converted.stderr
    # Written on the mount, uploaded when closed (davfs2's delay_upload).
    found = wait_for(
        lambda: request(tls, "GET", f"/groups/{MINISTRY}/{name}", COLLEAGUE)[0] == 200, 60
    )
    assert found, f"{name} is not in the drive for {COLLEAGUE}"
    status, _, body = request(tls, "GET", f"/groups/{MINISTRY}/{name}", COLLEAGUE)
    assert status == 200 and f"Note de service {token}" in odt_text(body)


def test_a_document_open_in_her_session_is_locked_for_her_colleague(
    office: Host, tls: ssl.SSLContext, desktop: Session
) -> None:
    name = f"budget-{secrets.token_hex(4)}.odt"
    path = f"/groups/{MINISTRY}/{name}"

    def overwrite(text: str) -> int:
        return request(tls, "PUT", path, COLLEAGUE, body=minimal_odt(text))[0]

    status = overwrite("Budget, version 1")
    assert status in (201, 204), status
    # She opens it in LibreOffice from her drive folder.
    in_session(
        office, UID, desktop.environment,
        "setsid -f soffice --norestore --nologo %s >/dev/null 2>&1", f"{FOLDER}/{name}",
    )  # fmt: skip
    try:
        refused = wait_for(lambda: overwrite("version 2") == 423, 60)
        assert refused, f"{COLLEAGUE} could overwrite {name} while {UID} had it open"
    finally:
        # She closes LibreOffice. Asked to end, it may take its time (its
        # recovery on a loaded machine: CI saw it keep the file, and the
        # lock, past a minute): then it is stopped outright.
        office.run("pkill -u %s -x soffice.bin", UID)
        if not wait_for(lambda: office.run("pgrep -u %s -x soffice.bin", UID).rc != 0, 15):
            office.run("pkill -KILL -u %s -x soffice.bin", UID)
    # Closed, the lock goes: her colleague writes again.
    freed = wait_for(lambda: overwrite("version 3") in (201, 204), 60)
    assert freed, f"{name} stayed locked after {UID} closed it"


def test_a_colleague_on_the_same_host_reaches_none_of_it(office: Host, desktop: Session) -> None:
    del desktop
    for path in (f"{ROOT}/{OWN}", f"{ROOT}/{GROUPS}/{MINISTRY}", ROOT, "/var/cache/davfs2"):
        attempt = office.run("runuser -u %s -- ls %s", COLLEAGUE, path)
        assert attempt.rc != 0 and "Permission" in attempt.stderr, (path, attempt)
    # Nor mounts a drive herself (davfs2 is not setuid for users).
    attempt = office.run(
        "runuser -u %s -- mount -t davfs https://dav.gouv.tg/users/%s/ /tmp", COLLEAGUE, UID
    )
    assert attempt.rc != 0


def test_the_end_of_her_session_unmounts_and_keeps_what_she_wrote(
    office: Host, tls: ssl.SSLContext, desktop: Session
) -> None:
    name = f"brouillon-{secrets.token_hex(4)}.txt"
    wrote = in_session(
        office, UID, desktop.environment, "sh -c %s", f"echo dernier mot > '{HOME}/{OWN}/{name}'"
    )
    assert wrote.rc == 0, wrote.stderr
    # She closes her client, then logs out at once (the session ends): in
    # the other order FreeRDP may reconnect first, opening a new session.
    stop(desktop.client)
    office.run("pkill -u %s -x xfce4-session", UID)
    assert wait_for(lambda: not drive_mounts(office, ROOT), 90), drive_mounts(office, ROOT)
    status, _, body = request(tls, "GET", f"/users/{UID}/{name}", UID)
    assert (status, body) == (200, b"dernier mot\n")


def test_a_session_ended_by_force_leaves_no_drive_mounted(
    office: Host, tls: ssl.SSLContext, rdp_prefix: list[str], office_name: str
) -> None:
    """`loginctl terminate-user` ends a session without its PAM close: the
    sweep (a timer, every 5 minutes; started here) unmounts what is left,
    after davfs2's last upload."""
    assert office.service("bureau-office-drive-sweep.timer").is_enabled
    who = agent(UID)
    client = start(
        login_command(rdp_prefix, office_name, who.uid, who.password),
        artifacts_dir("office") / "drive-session-forced.log",
    )
    name = f"avant-coupure-{secrets.token_hex(4)}.txt"
    try:
        mounted = wait_for(lambda: len(drive_mounts(office, ROOT)) >= 3, 60)
        assert mounted, drive_mounts(office, ROOT)
        wrote = office.run("runuser -u %s -- sh -c %s", UID, f"echo sauvé > '{HOME}/{OWN}/{name}'")
        assert wrote.rc == 0, wrote.stderr
    finally:
        stop(client)
        office.run("loginctl terminate-user %s", UID)
    assert wait_for(lambda: not sessions_of(office, UID), 30)
    assert drive_mounts(office, ROOT), "the mounts went with the session: nothing to sweep"
    office.run("systemctl start bureau-office-drive-sweep.service")
    assert not drive_mounts(office, ROOT)
    status, _, body = request(tls, "GET", f"/users/{UID}/{name}", UID)
    assert (status, body) == (200, "sauvé\n".encode())


def test_a_folder_still_busy_at_logout_is_detached_and_what_he_writes_is_kept(
    office: Host, tls: ssl.SSLContext, rdp_prefix: list[str], office_name: str
) -> None:
    """A process of his outlives his session with a file open in his drive:
    the session's end tries the unmount again for a few seconds, then
    detaches the folder lazily. It leaves the tree at once; davfs2 keeps
    serving the file until it is closed, then uploads it and ends."""
    who = agent(UID)
    # No davfs2 of his left from an earlier run (it would keep his folder
    # from being mounted again until it ends: docs/office.md).
    wait_for(lambda: UID not in office.run("ls /var/run/mount.davfs").stdout, 60)
    client = start(
        login_command(rdp_prefix, office_name, who.uid, who.password),
        artifacts_dir("office") / "drive-session-busy.log",
    )
    name = f"ouvert-{secrets.token_hex(4)}.txt"
    path = f"{HOME}/{OWN}/{name}"
    since = office.run("date +%s").stdout.strip()
    try:
        assert wait_for(lambda: sessions_of(office, UID), 60), f"no desktop for {UID}"
        mounted = wait_for(lambda: len(drive_mounts(office, ROOT)) >= 3, 30)
        assert mounted, drive_mounts(office, ROOT)
        # Started outside his desktop (as a program he left running would
        # be): it writes a line, keeps the file open 30 s, writes another.
        office.run(
            "cd /tmp && runuser -u %s -- setsid -f sh -c %s >/dev/null 2>&1",
            UID, f"exec 3>'{path}'; echo début >&3; sleep 30; echo fin >&3",
        )  # fmt: skip
        assert wait_for(lambda: office.file(path).exists, 15), f"{path} was not created"
    finally:
        # He closes his client and logs out (this order: FreeRDP would
        # otherwise reconnect, opening a new session).
        stop(client)
        office.run("pkill -u %s -x xfce4-session", UID)
    assert wait_for(lambda: not drive_mounts(office, ROOT), 60), drive_mounts(office, ROOT)
    journal = office.run("journalctl -q -t bureau-office-drive --since @%s", since).stdout
    assert "detached lazily" in journal, journal
    # Once the file is closed, davfs2 uploads it, both lines, and ends.
    expected = (200, "début\nfin\n".encode())
    wait_for(lambda: request(tls, "GET", f"/users/{UID}/{name}", UID)[::2] == expected, 90)
    kept = request(tls, "GET", f"/users/{UID}/{name}", UID)[::2]
    assert kept == expected, kept
    assert wait_for(lambda: UID not in office.run("ls /var/run/mount.davfs").stdout, 30), (
        "its davfs2 did not end"
    )
