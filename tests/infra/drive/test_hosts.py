"""Several drive hosts (docs/drive.md, "Several drive hosts"): the suite's
second drive host serves the public works ministry (mtp), the suite host the
rest. Agents use one front and one name whatever host holds their folders;
each folder is on exactly one host, with that host's locks and quota."""

from __future__ import annotations

import base64
import json
import socket

import pytest
from testinfra.host import Host

from ..testsupport import agent, host_named, suite_host_name
from .support import ABLA, DAV, DRIVE, KOKOU, SHARE, request

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.writes

ROOT = "/srv/drive"
ESSI = "essi.kpodar"  # mtp: her folders are on the second drive host
# molecule/suite names its containers after $BUREAU_SUITE.
SECOND = suite_host_name("drive2")
KEY = SECOND  # the host key in routes and link tokens


@pytest.fixture(scope="module")
def drive2(pytestconfig: pytest.Config) -> Host:
    """The second drive host, over the same connection as the suite host."""
    return host_named(pytestconfig, SECOND)


def api(host: Host, uid: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The page's API as the agent, on the suite host's Apache (the front adds
    nothing but the portal's login): status and JSON answer."""
    who = agent(uid)
    credentials = base64.b64encode(f"{who.uid}:{who.password}".encode()).decode()
    args = ["-X", method, "-H", "X-Bureau-Drive: 1", "-H", f"Authorization: Basic {credentials}"]
    if body:
        args += ["-H", "Content-Type: application/json", "--data-raw", json.dumps(body)]
    args.append(f"http://127.0.0.1:20100{path}")
    run = host.run("curl -s -w '\\n%%{http_code}' " + " ".join(["%s"] * len(args)), *args)
    assert run.rc == 0, run.stderr
    text, _, status = run.stdout.rpartition("\n")
    return int(status), json.loads(text) if text.strip().startswith("{") else {}


@pytest.mark.readonly
def test_each_drive_host_holds_only_its_ministries_folders(host, drive2) -> None:  # type: ignore[no-untyped-def]
    assert drive2.file(f"{ROOT}/users/{ESSI}").is_directory
    assert drive2.file(f"{ROOT}/groups/mtp").is_directory
    assert not host.file(f"{ROOT}/users/{ESSI}").exists
    assert not host.file(f"{ROOT}/groups/mtp").exists
    assert host.file(f"{ROOT}/users/{ABLA}").is_directory
    assert not drive2.file(f"{ROOT}/users/{ABLA}").exists
    assert not drive2.file(f"{ROOT}/groups/mef").exists
    assert not drive2.file(f"{ROOT}/shares/{SHARE}").exists
    # The front's map of the agents served elsewhere.
    assert f"{ESSI} {KEY};" in host.file("/var/lib/bureau-drive/routes/users.map").content_string
    # The second host's Apache: TLS on its backend port, for the front only.
    assert drive2.socket("tcp://0.0.0.0:20443").is_listening
    assert not drive2.socket("tcp://0.0.0.0:80").is_listening


@pytest.mark.readonly
def test_the_port_between_drive_hosts_is_tls_13_for_the_front_only(host, drive2) -> None:  # type: ignore[no-untyped-def]
    """What the second host opens (its Apache over TLS on 20443), scanned as
    the front and as anyone else: the front gets TLS 1.3 with the pki
    certificate of drive2 and must still log in (401); TLS 1.2 is refused;
    from this machine, which is not a drive host, the port does not answer."""
    address = next(a for a in drive2.interface("eth0").addresses if ":" not in a)
    target = f"--connect-to drive2.gouv.tg:20443:{address}:20443 https://drive2.gouv.tg:20443/"
    status = host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' {target}")
    assert status == "401", status
    old = host.run(
        f"openssl s_client -connect {address}:20443 -servername drive2.gouv.tg -tls1_2 </dev/null"
    )
    assert old.rc != 0, old.stdout[-500:]
    new = host.run(
        f"openssl s_client -connect {address}:20443 -servername drive2.gouv.tg -tls1_3 "
        "-verify_return_error -verify_hostname drive2.gouv.tg </dev/null"
    )
    assert new.rc == 0 and "Verify return code: 0 (ok)" in new.stdout, new.stdout[-800:]
    with pytest.raises(OSError):
        socket.create_connection((address, 20443), timeout=3).close()


def test_an_agent_of_the_second_host_works_through_the_one_front(
    host, drive2, tls, token: str
) -> None:  # type: ignore[no-untyped-def]
    """Essi writes, reads, lists and locks her folders through dav.<domain>
    (the suite host's front); they land on the second host. Colleagues of
    other ministries get 403 there as on the first host."""
    path = f"/users/{ESSI}/{token}.txt"
    assert request(tls, "PUT", path, ESSI, b"Route nationale 1")[0] == 201
    assert drive2.file(f"{ROOT}{path}").content_string == "Route nationale 1"
    assert not host.file(f"{ROOT}{path}").exists
    assert request(tls, "GET", path, ESSI)[::2] == (200, b"Route nationale 1")
    group = f"/groups/mtp/{token}.txt"
    assert request(tls, "PUT", group, ESSI, b"chantier")[0] == 201
    assert drive2.file(f"{ROOT}{group}").exists
    status, _, listing = request(tls, "PROPFIND", "/groups/mtp/", ESSI, headers={"Depth": "1"})
    assert status == 207 and token.encode() in listing
    for uid in (ABLA, KOKOU):
        assert request(tls, "GET", path, uid)[0] == 403
        assert request(tls, "PROPFIND", "/groups/mtp/", uid, headers={"Depth": "1"})[0] == 403
    # A lock taken through the front is the second host's: another writer waits.
    body = (
        b'<?xml version="1.0"?><lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope>'
        b"<locktype><write/></locktype><owner>Essi</owner></lockinfo>"
    )
    status, headers, _ = request(
        tls, "LOCK", path, ESSI, body, {"Timeout": "Second-60", "Content-Type": "application/xml"}
    )
    assert status == 200, status
    lock = headers["lock-token"]
    assert request(tls, "PUT", path, ESSI, b"sans jeton")[0] == 423
    assert request(tls, "UNLOCK", path, ESSI, headers={"Lock-Token": lock})[0] == 204
    assert request(tls, "DELETE", path, ESSI)[0] == 204
    assert request(tls, "DELETE", group, ESSI)[0] == 204


def test_a_copy_across_two_drive_hosts_is_refused(host, drive2, tls, token: str) -> None:  # type: ignore[no-untyped-def]
    """mod_dav copies within one host: a COPY from the budget share (first
    host, mtp reads it) into Essi's folder (second host) gets 502, and
    nothing lands on either host; the client copies by GET and PUT."""
    source = f"/shares/{SHARE}/{token}.txt"
    assert request(tls, "PUT", source, KOKOU, b"budget")[0] == 201
    try:
        status, _, _ = request(
            tls,
            "COPY",
            source,
            ESSI,
            headers={"Destination": f"https://{DAV}/users/{ESSI}/{token}.txt"},
        )
        assert status == 502, status
        assert not drive2.file(f"{ROOT}/users/{ESSI}/{token}.txt").exists
        assert not host.file(f"{ROOT}/users/{ESSI}").exists
    finally:
        request(tls, "DELETE", source, KOKOU)


def test_the_page_and_links_follow_the_folder_to_its_host(host, drive2, tls, token: str) -> None:  # type: ignore[no-untyped-def]
    """The page's API on the suite host answers for Essi from her host (her
    quota, her folders, the share she reads on the first host), makes a link
    to her file on the host that holds it, and the link downloads through
    the front without an account."""
    status, me = api(host, ESSI, "GET", "/.bureau/api/me")
    assert status == 200, me
    assert [place["path"] for place in me["places"]] == [
        f"/users/{ESSI}/",
        "/groups/mtp/",
        f"/shares/{SHARE}/",
    ], me
    path = f"/users/{ESSI}/{token}.txt"
    assert request(tls, "PUT", path, ESSI, b"plan de la route")[0] == 201
    try:
        status, link = api(host, ESSI, "POST", "/.bureau/api/links", {"path": path, "days": 1})
        assert status == 201, link
        assert link["token"].startswith(f"{KEY}."), link
        assert drive2.file(f"/var/lib/bureau-drive/links/{link['token']}.json").exists
        assert request(tls, "GET", f"/s/{link['token']}", name=DRIVE)[::2] == (
            200,
            b"plan de la route",
        )
        status, mine = api(host, ESSI, "GET", "/.bureau/api/links")
        assert status == 200 and link["token"] in [each["token"] for each in mine["links"]], mine
        status, _ = api(host, ESSI, "DELETE", f"/.bureau/api/links/{link['token']}")
        assert status == 200
        assert request(tls, "GET", f"/s/{link['token']}", name=DRIVE)[0] == 404
    finally:
        request(tls, "DELETE", path, ESSI)
