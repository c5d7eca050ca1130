"""Several office hosts: the front gives each agent one host, for her
connection file and her desktop in the browser alike, so that both paths
find the same session. The choice is nginx's split_clients over her uid
(MurmurHash2), each host's share its office__max_sessions over the sum.
The suite's second office host (office2.gouv.tg) takes 3 sessions against
the first's 20: of the test agents, Yao's uid falls in its share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from testinfra.host import Host

from .. import site
from ..site import DOMAIN
from ..sso.support import PORTAL, Portal
from ..testsupport import agent, artifacts_dir, chromium
from .support import login_command, open_desktop, rdp_client, start, stop, wait_for, xorg_of

pytestmark = pytest.mark.readonly

# The test agents who log in to the portal with a password alone (the
# administrator, edem.kodjo, needs his second factor there).
AGENTS = ["kokou.agbeko", "abla.adjo-amegan", "yao.de-souza", "essi.kpodar"]
YAO = "yao.de-souza"
MASK = 0xFFFFFFFF


@pytest.fixture(scope="module", autouse=True)
def _site_names(resolve_site_names: None) -> None:
    """The site's names resolve to the suite host (its front)."""


def murmur2(data: bytes) -> int:
    """nginx's ngx_murmur_hash2 (MurmurHash2, seeded with the length), the
    hash split_clients takes of its string."""
    m = 0x5BD1E995
    h = len(data)
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & MASK
        k ^= k >> 24
        k = (k * m) & MASK
        h = ((h * m) & MASK) ^ k
    tail = data[whole:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & MASK
    h ^= h >> 13
    h = (h * m) & MASK
    return h ^ (h >> 15)


def host_of(uid: str, hosts: list[tuple[str, int]]) -> str:
    """The host split_clients gives her: each host's share in hundredths of
    a percent, rounded down (as the role writes it), the last one the rest."""
    weighted = [(name, weight) for name, weight in hosts if weight > 0]
    total = sum(weight for _, weight in weighted)
    hashed, bound = murmur2(uid.encode()), 0
    for name, weight in weighted[:-1]:
        bound += (10000 * weight // total) * MASK // 10000
        if hashed < bound:
            return name
    return weighted[-1][0]


def max_sessions(office: Host) -> int:
    return int(office.check_output("sed -n 's/^MaxSessions=//p' /etc/xrdp/sesman.ini"))


@pytest.fixture(scope="module")
def hosts(
    office: Host, office2: Host, office_name: str, office2_name: str
) -> list[tuple[str, int]]:
    """The office hosts in the inventory's order, with their session limits."""
    return [(office_name, max_sessions(office)), (office2_name, max_sessions(office2))]


def page_of(browser: Browser, uid: str, tmp_path: Path, headers: dict | None = None) -> tuple:
    """What the "Bureau virtuel" page and her connection file say to the
    agent logged in to the portal (with `headers` on every later request):
    (the page's login, the page's host, the file's lines)."""
    context = browser.new_context(accept_downloads=True, ignore_https_errors=True, locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(PORTAL)
        Portal(artifacts_dir("office")).login(page, uid, agent(uid).password)
        if headers:
            context.set_extra_http_headers(headers)
        page.goto(f"https://bureau.{DOMAIN}/")
        page.screenshot(path=str(artifacts_dir("office") / f"hosts-{uid}.png"))
        shown = (page.inner_text("#uid"), page.inner_text("#adresse"))
        with page.expect_download() as download:
            page.click("#rdp")
        saved = tmp_path / f"{uid}.rdp"
        download.value.save_as(saved)
        return (*shown, saved.read_text(encoding="utf-8").splitlines())
    finally:
        context.close()


def test_each_agent_is_given_the_host_her_uid_falls_on(
    address: str, hosts: list[tuple[str, int]], tmp_path: Path
) -> None:
    expected = {uid: host_of(uid, hosts) for uid in AGENTS}
    # The suite's limits put somebody on each host (else this proves little).
    assert {name for name, _ in hosts} == set(expected.values()), expected
    given = {}
    with chromium(DOMAIN, address) as browser:
        for uid in AGENTS:
            login, given[uid], rdp = page_of(browser, uid, tmp_path)
            assert login == uid
            # Her connection file names the host the page names.
            assert f"full address:s:{given[uid]}" in rdp, rdp
    assert given == expected


def test_a_forged_identity_does_not_choose_her_host(
    address: str, hosts: list[tuple[str, int]], tmp_path: Path
) -> None:
    """Abla (first host) sends Yao's uid (second host) in every identity
    header the front or a gateway reads: the host, the login and the file
    stay hers. The choice hashes the portal's session, never the client's
    headers."""
    abla = "abla.adjo-amegan"
    forged = {"Auth-User": YAO, "Lm-Remote-User": YAO, "X-Bureau-User": YAO}
    with chromium(DOMAIN, address) as browser:
        login, host, rdp = page_of(browser, abla, tmp_path, headers=forged)
    assert (login, host) == (abla, host_of(abla, hosts)), (login, host)
    assert host != host_of(YAO, hosts)
    assert f"username:s:{abla}" in rdp and f"full address:s:{host}" in rdp, rdp


@pytest.fixture
def yao_rdp_prefix(
    office2: Host, office2_name: str, ca_file: str, tmp_path: Path
) -> Iterator[list[str]]:
    with rdp_client(site.address(office2), office2_name, ca_file, tmp_path) as prefix:
        yield prefix


# It opens a desktop session on the second host (closed after the check).
@pytest.mark.writes
def test_her_browser_desktop_is_the_session_she_opened_over_rdp(
    office: Host, office2: Host, office2_name: str, address: str, yao_rdp_prefix: list[str]
) -> None:
    """Yao logs in over RDP to the host her file names, leaves without
    logging out, then opens her desktop in the browser: the same Xorg, on the
    same host, and none of hers on the first."""
    office2.run("loginctl terminate-user %s", YAO)
    assert wait_for(lambda: not xorg_of(office2, YAO), 30) is not False
    login = login_command(yao_rdp_prefix, office2_name, YAO, agent(YAO).password)
    client = start(login, artifacts_dir("office") / "office2-rdp.log")
    try:
        first = wait_for(lambda: xorg_of(office2, YAO), 90)
        assert first, f"no desktop of {YAO} on the second office host over RDP"
    finally:
        stop(client)
    try:
        with chromium(DOMAIN, address) as browser:
            page = open_desktop(browser, YAO, "navigateur-office2.png")
            try:
                assert xorg_of(office2, YAO) == first
                assert not xorg_of(office, YAO), "a desktop of hers opened on the first host"
            finally:
                page.context.close()
    finally:
        office2.run("loginctl terminate-user %s", YAO)
        wait_for(lambda: not xorg_of(office2, YAO), 30)
