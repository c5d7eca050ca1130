"""The drive: agents' and ministries' folders on Apache WebDAV, checked with
real clients (rclone, litmus, HTTP) through the web front's two names, and
as a hostile insider would try it."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..testsupport import agent, live_waivers, wait_for_ban
from .support import (
    ABLA,
    AFI,
    DAV,
    DRIVE,
    KOKOU,
    MINISTRY,
    OTHER_MINISTRY,
    SHARE,
    YAO,
    basic,
    rclone,
    request,
    sha256_of,
)

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

ROOT = "/srv/drive"
MIB = 1024 * 1024

PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/></prop></propfind>'
)


def propfind(tls, path: str, uid: str, depth: str = "1") -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    status, _, body = request(
        tls,
        "PROPFIND",
        path,
        uid,
        PROPFIND_BODY,
        {"Depth": depth, "Content-Type": "application/xml"},
    )
    return status, body


@pytest.mark.readonly
def test_apache_serves_the_front_only(host) -> None:  # type: ignore[no-untyped-def]
    """Apache listens on the loopback only; the web front carries both names."""
    assert host.service("apache2").is_running
    assert host.service("apache2").is_enabled
    assert host.socket("tcp://127.0.0.1:20100").is_listening
    for socket in host.socket.get_listening_sockets():
        if socket.endswith(":20100"):
            assert socket == "tcp://127.0.0.1:20100", socket
    assert host.run("apache2ctl -t").rc == 0


@pytest.mark.readonly
def test_every_agent_and_ministry_has_a_folder_and_a_disabled_agent_keeps_hers(host) -> None:  # type: ignore[no-untyped-def]
    for path in (
        f"{ROOT}/users/{ABLA}",
        f"{ROOT}/users/{KOKOU}",
        f"{ROOT}/users/{YAO}",
        f"{ROOT}/users/{AFI}",  # disabled after her folder was made: kept
        f"{ROOT}/groups/{MINISTRY}",
        f"{ROOT}/groups/{OTHER_MINISTRY}",
        f"{ROOT}/shares/{SHARE}",
    ):
        folder = host.file(path)
        assert folder.is_directory, path
        assert folder.user == "www-data" and folder.mode == 0o750, (
            path,
            folder.user,
            oct(folder.mode),
        )
    assert not host.file(f"{ROOT}/groups/administrators").exists
    timer = host.service("bureau-drive-sync.timer")
    assert timer.is_enabled and timer.is_running


def test_rclone_round_trip_own_and_ministry_folders(
    client_prefix, tls, tmp_path: Path, token: str
) -> None:  # type: ignore[no-untyped-def]
    """100 MiB of random bytes to Abla's folder and to her ministry's, read
    back identical; Kokou (same ministry) reads the ministry copy and gets
    403 on Abla's folder; Yao (another ministry) cannot list hers."""
    source = tmp_path / f"{token}.bin"
    with source.open("wb") as handle:
        for _ in range(100):
            handle.write(os.urandom(MIB))
    expected = sha256_of(source)
    base = f"https://{DAV}"
    for uid, url in (
        (ABLA, f"{base}/users/{ABLA}/"),
        (ABLA, f"{base}/groups/{MINISTRY}/"),
    ):
        sent = rclone(client_prefix, uid, url, "copyto", str(source), f":webdav:{source.name}")
        assert sent.returncode == 0, sent.stderr[-2000:]
    for uid, url in (
        (ABLA, f"{base}/users/{ABLA}/"),
        (KOKOU, f"{base}/groups/{MINISTRY}/"),
    ):
        back = tmp_path / f"back-{uid}.bin"
        got = rclone(client_prefix, uid, url, "copyto", f":webdav:{source.name}", str(back))
        assert got.returncode == 0, got.stderr[-2000:]
        assert sha256_of(back) == expected, f"{uid} read other bytes from {url}"
        back.unlink()
    status, _, _ = request(tls, "GET", f"/users/{ABLA}/{source.name}", KOKOU)
    assert status == 403, f"Kokou read Abla's own file: {status}"
    status, _ = propfind(tls, f"/groups/{MINISTRY}/", YAO)
    assert status == 403, f"Yao (msh) listed the mef folder: {status}"
    listing = rclone(client_prefix, YAO, f"{base}/groups/{MINISTRY}/", "lsf", ":webdav:")
    assert listing.returncode != 0 and source.name not in listing.stdout
    for url in (f"/users/{ABLA}/{source.name}", f"/groups/{MINISTRY}/{source.name}"):
        assert request(tls, "DELETE", url, ABLA)[0] == 204


def test_a_lock_holds_a_colleague_off_until_it_is_released(tls, token: str) -> None:  # type: ignore[no-untyped-def]
    path = f"/groups/{MINISTRY}/{token}.odt"
    assert request(tls, "PUT", path, ABLA, b"version 1")[0] == 201
    lock_body = (
        b'<?xml version="1.0" encoding="utf-8"?><lockinfo xmlns="DAV:">'
        b"<lockscope><exclusive/></lockscope><locktype><write/></locktype>"
        b"<owner>abla</owner></lockinfo>"
    )
    status, headers, _ = request(
        tls,
        "LOCK",
        path,
        ABLA,
        lock_body,
        {"Timeout": "Second-600", "Content-Type": "application/xml"},
    )
    assert status == 200, status
    lock = headers["lock-token"]
    assert request(tls, "PUT", path, KOKOU, b"version by Kokou")[0] == 423
    # Abla writes with her lock; a second LOCK by Kokou is refused too.
    assert request(tls, "PUT", path, ABLA, b"version 2", {"If": f"({lock})"})[0] in (200, 204)
    assert (
        request(tls, "LOCK", path, KOKOU, lock_body, {"Content-Type": "application/xml"})[0] == 423
    )
    assert request(tls, "UNLOCK", path, ABLA, headers={"Lock-Token": lock})[0] == 204
    assert request(tls, "PUT", path, KOKOU, b"version 3")[0] in (200, 204)
    status, _, body = request(tls, "GET", path, ABLA)
    assert (status, body) == (200, b"version 3")
    # A client that dies holding a lock leaves it to expire. On a document:
    # the folder lists as before. On a name it locked before writing (an RFC
    # 2518 lock-null resource, as LibreOffice makes): mod_dav_fs (2.4.71)
    # fails the first listing that meets it (the lock database opened read
    # only; the page asks once more), which drops it: the next one lists.
    folder = f"/groups/{MINISTRY}/{token}-locks/"
    assert request(tls, "MKCOL", folder, KOKOU)[0] == 201
    assert request(tls, "PUT", folder + "draft.odt", KOKOU, b"draft")[0] == 201
    short = {"Timeout": "Second-1", "Content-Type": "application/xml"}
    for name in ("draft.odt", "never-written.odt"):
        assert request(tls, "LOCK", folder + name, KOKOU, lock_body, short)[0] == 200
    time.sleep(2)
    first, _ = propfind(tls, folder, ABLA)
    assert first in (207, 502), first
    status, listing = propfind(tls, folder, ABLA)
    assert status == 207 and listing.rstrip().endswith(b"</D:multistatus>"), listing[-300:]
    assert b"draft.odt" in listing
    assert request(tls, "DELETE", folder, KOKOU)[0] == 204
    assert request(tls, "DELETE", path, ABLA)[0] == 204


def test_an_upload_past_the_quota_gets_507_and_leaves_the_folder_as_it_was(
    host, tls, token: str
) -> None:  # type: ignore[no-untyped-def]
    """Yao's quota is 2 MiB (bureauDriveQuota in the directory)."""
    folder = f"{ROOT}/users/{YAO}"
    before = host.run(f"find {folder} -printf '%P %s\\n' | sort").stdout
    status, _, _ = request(tls, "PUT", f"/users/{YAO}/{token}.bin", YAO, os.urandom(3 * MIB))
    assert status == 507, status
    assert host.run(f"find {folder} -printf '%P %s\\n' | sort").stdout == before
    # Under the quota: accepted; then the one that would cross it: refused.
    assert (
        request(tls, "PUT", f"/users/{YAO}/{token}-1.bin", YAO, os.urandom(MIB + MIB // 2))[0]
        == 201
    )
    # At once, as a person's next save would be (the growth is reserved on
    # the folder's count before the write: no wait for the log phase).
    assert request(tls, "PUT", f"/users/{YAO}/{token}-2.bin", YAO, os.urandom(MIB))[0] == 507
    # A copy into the folder counts as well.
    status, _, _ = request(
        tls,
        "COPY",
        f"/users/{YAO}/{token}-1.bin",
        YAO,
        headers={"Destination": f"https://{DAV}/users/{YAO}/{token}-copy.bin"},
    )
    assert status == 507, status
    assert request(tls, "DELETE", f"/users/{YAO}/{token}-1.bin", YAO)[0] == 204
    # The use the drive keeps for the folder is its real size.
    kept, real = used_by(host, YAO)
    assert kept == real, (kept, real)
    # A shared folder's quota (8 MiB).
    assert request(tls, "PUT", f"/shares/{SHARE}/{token}.bin", KOKOU, os.urandom(9 * MIB))[0] == 507


def used_by(host, folder: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The count the drive keeps for a folder of users/, and its real size."""
    kept = int(host.file(f"/var/lib/bureau-drive/usage/users/{folder}").content_string)
    real = host.run(
        f"find {ROOT}/users/{folder} -type f -not -path '*/.DAV/*' -printf '%s\\n'"
    ).stdout.split()
    return kept, sum(int(size) for size in real)


def test_writes_at_the_same_instant_cannot_share_the_last_free_bytes(host, tls, token: str) -> None:  # type: ignore[no-untyped-def]
    """Eight uploads into Yao's folder at once, room for three: at most three
    land, and the count stays the folder's real size. Before quota.lua
    reserved the growth under the folder's lock, all checked the same count
    (the log phase moved it after the answers) and all landed."""
    kept, used = used_by(host, YAO)
    assert kept == used, (kept, used)
    piece = (2 * MIB - used) * 2 // 7  # 3 pieces fit, 4 do not
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda n: request(
                    tls, "PUT", f"/users/{YAO}/{token}-{n}.bin", YAO, os.urandom(piece)
                )[0],
                range(8),
            )
        )
    try:
        assert set(statuses) <= {201, 507}, statuses
        assert 1 <= statuses.count(201) <= 3, statuses
        kept, real = used_by(host, YAO)
        assert kept == real <= 2 * MIB, (kept, real)
    finally:
        for n, status in enumerate(statuses):
            if status == 201:
                request(tls, "DELETE", f"/users/{YAO}/{token}-{n}.bin", YAO)


def test_an_upload_must_say_its_size_and_is_counted_for_what_it_wrote(
    host, tls, token: str
) -> None:  # type: ignore[no-untyped-def]
    """A hostile client's ways round the quota: a body of unknown size
    (chunked, no length) is refused with 411 in a folder with a quota (it was
    accepted and counted as 0 bytes); a body larger than it announced (Finder's
    X-Expected-Entity-Length) is counted for its real size, so the next
    upload is refused."""
    folder = f"{ROOT}/users/{YAO}"
    before = host.run(f"find {folder} -printf '%P %s\\n' | sort").stdout
    status, _, _ = request(
        tls, "PUT", f"/users/{YAO}/{token}-chunked.bin", YAO, iter([os.urandom(3 * MIB)])
    )
    assert status == 411, status
    assert host.run(f"find {folder} -printf '%P %s\\n' | sort").stdout == before
    path = f"/users/{YAO}/{token}-liar.bin"
    status, _, _ = request(
        tls,
        "PUT",
        path,
        YAO,
        iter([os.urandom(MIB + MIB // 2)]),
        {"X-Expected-Entity-Length": "1"},
    )
    try:
        assert status == 201, status
        kept, real = used_by(host, YAO)
        assert kept == real, (kept, real)
        assert request(tls, "PUT", f"/users/{YAO}/{token}-2.bin", YAO, os.urandom(MIB))[0] == 507
    finally:
        request(tls, "DELETE", path, YAO)


def test_a_read_only_share_is_read_only(tls, token: str) -> None:  # type: ignore[no-untyped-def]
    path = f"/shares/{SHARE}/{token}.txt"
    assert request(tls, "PUT", path, KOKOU, b"budget")[0] == 201  # mef writes
    assert request(tls, "GET", path, YAO)[:3:2] == (200, b"budget")  # msh reads
    assert propfind(tls, f"/shares/{SHARE}/", YAO)[0] == 207
    for method, extra in (
        ("PUT", {}),
        ("DELETE", {}),
        ("MOVE", {"Destination": f"https://{DAV}/shares/{SHARE}/{token}-moved.txt"}),
        ("MKCOL", {}),
    ):
        target = f"/shares/{SHARE}/{token}-dir/" if method == "MKCOL" else path
        status, _, _ = request(tls, method, target, YAO, b"x" if method == "PUT" else None, extra)
        assert status == 403, f"msh could {method} in the read-only share: {status}"
    assert request(tls, "GET", path, ABLA)[0] == 200  # Abla (mef) too
    assert request(tls, "DELETE", path, KOKOU)[0] == 204


def test_a_hostile_colleague_reaches_nothing_else(tls, token: str) -> None:  # type: ignore[no-untyped-def]
    """Kokou tries what an insider would: another agent's folder by every
    method and path trick, a move or copy into or out of it, the list of
    agents, a ministry he is not in, a share that is not declared."""
    own = f"/users/{ABLA}/{token}.txt"
    assert request(tls, "PUT", own, ABLA, b"secret note")[0] == 201
    attempts = [
        ("GET", own, {}),
        ("PUT", own, {}),
        ("DELETE", own, {}),
        ("PROPFIND", f"/users/{ABLA}/", {"Depth": "1"}),
        ("GET", f"/users/{KOKOU}/../{ABLA}/{token}.txt", {}),
        ("GET", f"/users/{KOKOU}/%2e%2e/{ABLA}/{token}.txt", {}),
        ("GET", f"/users//{ABLA}/{token}.txt", {}),
        ("COPY", own, {"Destination": f"https://{DAV}/users/{KOKOU}/stolen.txt"}),
        ("MOVE", own, {"Destination": f"https://{DAV}/users/{KOKOU}/stolen.txt"}),
        ("PROPFIND", "/users/", {"Depth": "1"}),
        ("PROPFIND", f"/groups/{OTHER_MINISTRY}/", {"Depth": "0"}),
        ("PUT", "/users/planted.txt", {}),
        ("PUT", "/shares/undeclared.txt", {}),
    ]
    for method, path, extra in attempts:
        status, _, body = request(
            tls, method, path, KOKOU, b"x" if method == "PUT" else None, extra
        )
        assert status in (400, 403, 404), f"Kokou {method} {path}: {status}"
        assert b"secret note" not in body
    # Abla cannot push her file into Kokou's folder either.
    status, _, _ = request(
        tls, "COPY", own, ABLA, headers={"Destination": f"https://{DAV}/users/{KOKOU}/gift.txt"}
    )
    assert status == 403, status
    assert request(tls, "GET", own, ABLA)[:3:2] == (200, b"secret note")
    assert request(tls, "DELETE", own, ABLA)[0] == 204


LIBREOFFICE = Path(__file__).with_name("libreoffice_client.py")


def locks_of(tls, path: str) -> bytes:  # type: ignore[no-untyped-def]
    """The lockdiscovery property of a document, as Abla reads it."""
    body = b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><lockdiscovery/></prop></propfind>'
    status, _, answer = request(
        tls, "PROPFIND", path, ABLA, body, {"Depth": "0", "Content-Type": "application/xml"}
    )
    assert status == 207, status
    return answer


def test_libreoffice_opens_a_document_of_the_drive_and_locks_it(  # type: ignore[no-untyped-def]
    client_prefix, tls, tmp_path: Path, token: str
) -> None:
    """LibreOffice (headless, as on an agent's PC, Debian's python3-uno)
    opens a document straight from the drive: the server holds its lock
    (a colleague's write gets 423) until LibreOffice closes it; its save
    goes back to the drive (waived while LibreOffice 7.4's headless save
    over WebDAV fails: waivers.yml)."""
    who = agent(ABLA)
    name = f"{token}.odt"
    local = tmp_path / name
    made = subprocess.run(
        ["/usr/bin/python3", str(LIBREOFFICE), "create", str(local), "Premier jet"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert "CREATED" in made.stdout, made.stdout + made.stderr[-2000:]
    path = f"/users/{ABLA}/{name}"
    assert request(tls, "PUT", path, ABLA, local.read_bytes())[0] == 201
    url = f"vnd.sun.star.webdavs://{who.uid}:{who.password}@{DAV}{path}"
    office = subprocess.Popen(
        [*client_prefix, "/usr/bin/python3", str(LIBREOFFICE), "edit", url, "Deuxième jet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert office.stdout.readline().strip() == "OPEN", office.stderr.read()[-2000:]
        assert b"locktoken" in locks_of(tls, path), "LibreOffice holds no lock on the server"
        # The lock LibreOffice holds refuses Abla's own second client.
        assert request(tls, "PUT", path, ABLA, b"another client")[0] == 423
        office.stdin.write("save\n")
        office.stdin.flush()
        saved = office.stdout.readline().strip()
        assert office.stdout.readline().strip() == "CLOSED"
        assert office.wait(60) == 0
        said = office.stderr.read()
    finally:
        if office.poll() is None:
            office.kill()
    assert b"locktoken" not in locks_of(tls, path), "LibreOffice left its lock behind"
    # Closed: unlocked (a write without a token goes through).
    assert request(tls, "PUT", path, ABLA, local.read_bytes())[0] in (200, 204)
    assert request(tls, "DELETE", path, ABLA)[0] == 204
    if saved != "SAVED" and "libreoffice.save" not in live_waivers(scope="drive"):
        raise AssertionError(f"LibreOffice could not save to the drive: {saved}\n{said[-3000:]}")


@pytest.mark.readonly
def test_no_identity_but_the_checked_password(tls) -> None:  # type: ignore[no-untyped-def]
    """A disabled agent, a wrong password, a forged identity header: 401."""
    forged = {
        "X-Remote-User": ABLA,
        "Remote-User": ABLA,
        "Auth-User": ABLA,
        "X-Forwarded-User": ABLA,
    }
    assert request(tls, "GET", f"/users/{ABLA}/", headers=forged)[0] == 401
    assert request(tls, "PROPFIND", f"/users/{ABLA}/", headers={**forged, "Depth": "0"})[0] == 401
    assert request(tls, "GET", f"/users/{AFI}/", AFI)[0] == 401
    wrong = {"Authorization": basic(ABLA, "not-her-password")}
    assert request(tls, "PROPFIND", f"/users/{ABLA}/", headers={**wrong, "Depth": "0"})[0] == 401
    # The browser's name: no portal session, no way in, whatever the headers.
    for headers in (forged, {"Authorization": basic(ABLA)}):
        status, answer, _ = request(tls, "GET", f"/users/{ABLA}/", headers=headers, name=DRIVE)
        assert status in (302, 401), status
        if status == 302:
            assert answer["location"].startswith("https://auth."), answer["location"]


@pytest.mark.readonly
def test_the_webdav_name_answers_only_the_listed_networks(host) -> None:  # type: ignore[no-untyped-def]
    """The suite lists the Docker networks only: a client on the host's own
    loopback is refused by the front before any password is asked."""
    answer = host.run(
        "curl -s -o /dev/null -w '%%{http_code}' --resolve dav.%s:443:127.0.0.1 https://dav.%s/",
        DAV.split(".", 1)[1],
        DAV.split(".", 1)[1],
    )
    assert answer.stdout == "403", answer.stdout


@pytest.mark.readonly
def test_the_webdav_name_opens_only_the_agents_own_folder_list(tls) -> None:  # type: ignore[no-untyped-def]
    """A password alone opens dav.<domain> (no TOTP): of the page's API only
    GET /.bureau/api/me answers there (the office hosts mount what it lists);
    a public link cannot be made, listed or withdrawn with a password alone."""
    status, _, body = request(tls, "GET", "/.bureau/api/me", YAO)
    assert status == 200, status
    assert {p["path"] for p in json.loads(body)["places"]} >= {f"/users/{YAO}/"}
    assert request(tls, "GET", "/.bureau/api/me")[0] == 401
    for method, path in [
        ("POST", "/.bureau/api/me"),
        ("GET", "/.bureau/api/links"),
        ("POST", "/.bureau/api/links"),
        ("DELETE", "/.bureau/api/links/x"),
        ("GET", "/.bureau/api/me/../links"),
        ("GET", "/.bureau/app/index.html"),
    ]:
        status = request(tls, method, path, YAO, body=b"{}" if method == "POST" else None)[0]
        assert status in (403, 404, 405), f"{method} {path}: {status}"


@pytest.mark.readonly
def test_failed_logins_are_counted_by_fail2ban(host) -> None:  # type: ignore[no-untyped-def]
    status = host.run("fail2ban-client status bureau-drive")
    assert status.rc == 0, status.stderr
    assert "/var/log/apache2/bureau-drive-error.log" in status.stdout
    # The filter recognises Apache's failure line.
    line = (
        "[Sun Dec 06 10:00:00.123456 2026] [auth_basic:error] [pid 10:tid 11] "
        '[client 192.0.2.7:0] AH01617: user x: authentication failure for "/": Password Mismatch'
    )
    test = host.run(f"fail2ban-regex '{line}' bureau-drive")
    assert "1 matched" in test.stdout, test.stdout
    # A logged-in agent refused a folder is no password guesser.
    refused = (
        "[Sun Dec 06 10:00:00.123456 2026] [authz_core:error] [pid 10:tid 11] "
        '[client 192.0.2.7:0] AH01631: user kokou: authorization failure for "/users/abla/": '
    )
    test = host.run(f"fail2ban-regex '{refused}' bureau-drive")
    assert "0 matched" in test.stdout, test.stdout


def litmus_failures(output: str) -> list[str]:
    """The failed tests of a litmus run, as <suite>.<test>."""
    failed, suite = [], "?"
    for line in output.splitlines():
        started = re.match(r"-> running `([a-z]+)'", line)
        if started:
            suite = started.group(1)
        result = re.match(r"\s*\d+\.\s+(\S+?)\.*\s+FAIL", line)
        if result:
            failed.append(f"{suite}.{result.group(1)}")
    return failed


def test_litmus_webdav_conformance(client_prefix, tls, tmp_path: Path, token: str) -> None:  # type: ignore[no-untyped-def]
    """Debian's litmus (basic, copymove, props, locks, http) through the
    front, as Abla in a folder of her own: every test passes, or its failure
    is explained in the waivers file (scope litmus)."""
    who = agent(ABLA)
    assert request(tls, "MKCOL", f"/users/{ABLA}/{token}/", ABLA)[0] == 201
    run = subprocess.run(
        [*client_prefix, "litmus", f"https://{DAV}/users/{ABLA}/{token}/", who.uid, who.password],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # its debug.log and child.log
        env={**os.environ, "TESTS": "basic copymove props locks http"},
    )
    assert "<- summary for `http'" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    waived = live_waivers(scope="litmus")
    unexpected = [name for name in litmus_failures(run.stdout) if name not in waived]
    assert not unexpected, f"litmus failed {unexpected}:\n{run.stdout[-4000:]}"
    assert request(tls, "DELETE", f"/users/{ABLA}/{token}/", ABLA)[0] == 204


@pytest.mark.destructive
def test_a_password_guesser_is_banned(host, tls) -> None:  # type: ignore[no-untyped-def]
    """Wrong passwords on the WebDAV name, one more than the jail allows:
    this machine's address is banned (its connections refused), then
    unbanned by the check. Last of the module: nothing runs while banned."""
    maxretry = int(host.check_output("fail2ban-client get bureau-drive maxretry"))
    # An unknown login: no agent's ppolicy failure count moves.
    guess = base64.b64encode(b"intrus.inconnu:devine-moi").decode()
    wrong = {"Authorization": f"Basic {guess}", "Depth": "0"}
    try:
        for _ in range(maxretry + 1):
            try:
                request(tls, "PROPFIND", "/", headers=wrong)
            except OSError:
                break  # banned already
        wait_for_ban(host, "bureau-drive")
        with pytest.raises(OSError):
            request(tls, "PROPFIND", "/", YAO, headers={"Depth": "0"})
    finally:
        for address in host.check_output("fail2ban-client get bureau-drive banip").split():
            host.run("fail2ban-client set bureau-drive unbanip %s", address)
    assert request(tls, "PROPFIND", f"/users/{YAO}/", YAO, headers={"Depth": "0"})[0] == 207
