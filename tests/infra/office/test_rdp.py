"""RDP on the office host with real clients: TLS only with the pki
certificate, an agent logs in with her directory password and finds her
session again, and a wrong password, a disabled agent and a service account
are refused (and counted by fail2ban)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testinfra.host import Host

from ..site import BASE_DN
from ..testsupport import agent, artifacts_dir, scan_tls_suites, secret
from .support import (
    PROTOCOL_RDP,
    SSL_REQUIRED_BY_SERVER,
    in_session,
    login_command,
    negotiate,
    screenshot,
    session_environment,
    sessions_of,
    start,
    stop,
    tls_certificate,
    wait_for,
)

pytestmark = pytest.mark.readonly

PORT = 3389
SESMAN_LOG = "/var/log/xrdp-sesman.log"


def test_plain_rdp_security_is_refused(office_address: str) -> None:
    kind, value, sock = negotiate(office_address, PORT, PROTOCOL_RDP)
    sock.close()
    assert (kind, value) == ("failure", SSL_REQUIRED_BY_SERVER)


def test_the_certificate_is_the_pki_one_for_the_host_name(
    office: Host, office_address: str, office_name: str, ca_file: str
) -> None:
    presented = tls_certificate(office_address, PORT, office_name, ca_file)
    names = [value for kind, value in presented.get("subjectAltName", ()) if kind == "DNS"]
    assert office_name in names
    # The very certificate of the pki role, not one signed by the same CA.
    serial = office.run("openssl x509 -noout -serial -in /etc/ssl/bureau/host.crt").stdout
    assert (
        serial.strip().split("=")[1].lstrip("0").upper()
        == presented["serialNumber"].lstrip("0").upper()
    )


def test_rdp_offers_modern_tls_only(office_address: str, office_name: str) -> None:
    """Every suite of every version, tried over RDP's own TLS upgrade (an
    attacker's scanner, sslyze): TLS 1.2 and 1.3 only, and in TLS 1.2 only
    suites with forward secrecy and authenticated encryption (the web
    front's and the mail's list), no anonymous, static-RSA or CBC suite."""
    offered = scan_tls_suites(office_address, PORT, office_name, starttls="RDP")
    assert set(offered) == {"TLS 1.2", "TLS 1.3"}, offered
    weak = [
        suite for suite in offered["TLS 1.2"]
        if not suite.startswith(("TLS_ECDHE_", "TLS_DHE_"))
        or not ("_GCM_" in suite or "CHACHA20_POLY1305" in suite)
    ]  # fmt: skip
    assert not weak, f"TLS 1.2 suites without forward secrecy or AEAD: {weak}"


@pytest.fixture
def end_sessions(office: Host) -> Iterator[list[str]]:
    """Agents whose sessions the check leaves: logged out afterwards."""
    uids: list[str] = []
    yield uids
    for uid in uids:
        office.run("loginctl terminate-user %s || pkill -KILL -u %s", uid, uid)


def connect(
    prefix: list[str], name: str, uid: str, password: str, log_name: str
) -> subprocess.Popen:
    return start(login_command(prefix, name, uid, password), artifacts_dir("office") / log_name)


def test_an_agent_logs_in_with_her_directory_password_and_finds_her_session_again(
    office: Host, rdp_prefix: list[str], office_name: str, screen: Path, end_sessions: list[str]
) -> None:
    who = agent("kokou.agbeko")
    end_sessions.append(who.uid)
    # From no session of his (an earlier check's may still be ending).
    office.run("loginctl terminate-user %s", who.uid)
    assert wait_for(lambda: not sessions_of(office, who.uid), 30), sessions_of(office, who.uid)
    client = connect(rdp_prefix, office_name, who.uid, who.password, "login-1.log")
    try:
        first = wait_for(lambda: sessions_of(office, who.uid), 60)
        assert first, f"no desktop for {who.uid}; client exit status {client.poll()}"
        assert client.poll() is None, "the client left a session it had opened"
        home = office.file(f"/home/{who.uid}")
        assert home.is_directory and home.user == who.uid and home.mode == 0o700
        # Her desktop runs in her user slice, under the role's limits (whether
        # the kernel enforces them is not shown here: docs/office.md).
        number = office.run("id -u %s", who.uid).stdout.strip()
        cgroups = office.file(f"/proc/{first[0]}/cgroup").content_string
        assert f"/user.slice/user-{number}.slice/" in cgroups, cgroups
        limits = office.run(
            "systemctl show -p MemoryMax -p CPUQuotaPerSecUSec user-%s.slice", number
        ).stdout.split()
        assert "MemoryMax=2147483648" in limits and "CPUQuotaPerSecUSec=1s" in limits, limits
    finally:
        stop(client)
    # Disconnected, the session waits for its agent; reconnecting finds it.
    assert sessions_of(office, who.uid) == first
    again = connect(rdp_prefix, office_name, who.uid, who.password, "login-2.log")
    try:
        time.sleep(10)
        assert again.poll() is None
        assert sessions_of(office, who.uid) == first
        # LibreOffice, started as her with her session's environment (display,
        # session bus, French locale), shows on the client's screen.
        session_env = session_environment(office, first[0])
        assert any(v.startswith("LANG=fr_FR") for v in session_env), session_env
        in_session(
            office, who.uid, session_env,
            "setsid -f soffice --writer --norestore --nologo >/dev/null 2>&1",
        )  # fmt: skip
        writer = wait_for(
            lambda: office.run("pgrep -u %s -x soffice.bin", who.uid).stdout.split(), 90
        )
        assert writer, "LibreOffice did not start as the agent"
        time.sleep(15)
        colours = screenshot(screen, artifacts_dir("office") / "session-writer.png")
        assert again.poll() is None
        assert colours > 16, f"the client's screen is blank ({colours} colour(s))"
    finally:
        stop(again)


@pytest.mark.writes  # each refusal is a failed bind in the directory's ppolicy records
@pytest.mark.parametrize(
    ("who", "password"),
    [
        ("abla.adjo-amegan", "wrong"),  # a wrong password
        ("afi.dalmeida", "agent_afi.dalmeida"),  # a disabled agent, with the password she chose
        ("office", "directory_office"),  # a service account, with its own password
    ],
    ids=["wrong-password", "disabled-agent", "service-account"],
)
def test_refused_logins(
    office: Host, rdp_prefix: list[str], office_name: str, who: str, password: str
) -> None:
    secret_value = "Mauvais-mot-de-passe-1" if password == "wrong" else secret(password)
    before = int(office.run("wc -l < %s", SESMAN_LOG).stdout.strip() or 0)
    client = connect(rdp_prefix, office_name, who, secret_value, f"refused-{who}.log")
    try:
        status = client.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the client stayed connected as {who}")
    finally:
        stop(client)
    assert status != 0
    new = office.run("tail -n +%s %s", str(before + 1), SESMAN_LOG).stdout
    assert f"AUTHFAIL: user={who} " in new, new
    assert not sessions_of(office, who)


@pytest.mark.writes
def test_fail2ban_counts_the_refused_logins(office: Host) -> None:
    status = office.run("fail2ban-client status bureau-xrdp")
    assert status.rc == 0, status.stderr
    total = next(
        int(line.rsplit(":", 1)[1]) for line in status.stdout.splitlines() if "Total failed" in line
    )
    assert total >= 1, status.stdout


@pytest.mark.destructive  # locks an account for the time of the check
@pytest.mark.parametrize(
    ("attribute", "value", "reason"),
    [
        # An administrator reset her password: SSSD reads ppolicy's
        # changeAfterReset and asks for a new one, which xrdp cannot.
        ("pwdReset", "TRUE", "pam_acct_mgmt failed: Authentication token is no longer valid"),
        # An administrator locked her account: the bind is refused.
        ("pwdAccountLockedTime", "000001010000Z", "AUTHFAIL: user=yao.de-souza "),
    ],
    ids=["password-reset", "account-locked"],
)
def test_the_directory_password_policy_applies(
    host: Host,
    office: Host,
    rdp_prefix: list[str],
    office_name: str,
    attribute: str,
    value: str,
    reason: str,
) -> None:
    who = agent("yao.de-souza")
    dn = f"uid={who.uid},ou=people,{BASE_DN}"

    def modify(change: str) -> None:
        run = host.run(
            "printf %s | ldapmodify -Q -Y EXTERNAL -H ldapi:///",
            f"dn: {dn}\nchangetype: modify\n{change}: {attribute}\n"
            + (f"{attribute}: {value}\n" if change == "replace" else ""),
        )
        assert run.rc == 0, run.stderr

    before = int(office.run("wc -l < %s", SESMAN_LOG).stdout.strip() or 0)
    modify("replace")
    try:
        client = connect(rdp_prefix, office_name, who.uid, who.password, f"policy-{attribute}.log")
        try:
            status = client.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{who.uid} logged in with {attribute}: {value}")
        finally:
            stop(client)
        assert status != 0
        assert not sessions_of(office, who.uid)
        new = office.run("tail -n +%s %s", str(before + 1), SESMAN_LOG).stdout
        assert reason in new, new
    finally:
        modify("delete")


@pytest.mark.destructive  # kills the session manager (it comes back)
def test_an_agent_cannot_take_the_session_manager_down(
    office: Host, rdp_prefix: list[str], office_name: str, end_sessions: list[str]
) -> None:
    """A hostile agent with a terminal in her desktop: xrdp-sesrun, which
    crashed xrdp-sesman 0.10.1 when an agent with a session called it, is
    not hers (root's, and a group nobody is in: the browser's session helper
    lends it for one call); and a session manager that dies anyway comes back, so the next
    agent still logs in."""
    who = agent("kokou.agbeko")
    sesrun = office.check_output("command -v xrdp-sesrun")
    refused = office.run("runuser -u %s -- %s -t Xorg", who.uid, sesrun)
    assert refused.rc != 0 and "Permission denied" in refused.stderr, refused
    assert office.file(sesrun).mode == 0o750
    assert office.file(sesrun).group == "bureau-sesrun"
    assert office.run("getent group bureau-sesrun").stdout.strip().endswith(":"), "a member"

    def main_pid() -> str:
        return office.check_output("systemctl show -p MainPID --value xrdp-sesman")

    crashed = main_pid()
    assert crashed != "0"
    office.run("kill -SEGV %s", crashed)
    back = wait_for(lambda: main_pid() not in ("0", crashed), 30)
    assert back, "xrdp-sesman stayed down after a crash"
    end_sessions.append(who.uid)
    client = connect(rdp_prefix, office_name, who.uid, who.password, "login-after-crash.log")
    try:
        assert wait_for(lambda: sessions_of(office, who.uid), 60), "no desktop after the restart"
    finally:
        stop(client)
