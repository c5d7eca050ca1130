"""What the host baseline refuses and allows (role `hardening`).

The network checks run from the other hosts of the inventory (`clients`): a
run that expects peers fails without them, any other run skips them with the
reason (molecule/hardening has two hosts; the suite has one).
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from testinfra.backend.base import CommandResult
from testinfra.host import Host

from .. import site

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

# A client that never asks anything and never remembers the host key. `timeout`:
# ConnectTimeout does not cover a session whose packets start being dropped
# half-way (a fail2ban ban), which would otherwise hang until TCP gives up.
SSH = (
    "timeout 15 ssh -p %s -o BatchMode=yes -o ConnectTimeout=5"
    " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
)
WEAK_KEX = ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "ecdh-sha2-nistp")
PROBE = """
import json, socket, sys

address, ports = sys.argv[1], [int(p) for p in " ".join(sys.argv[2:]).split()]
verdicts = {}
for port in ports:
    try:
        socket.create_connection((address, port), timeout=3).close()
        verdicts[port] = "open"
    except ConnectionRefusedError:
        verdicts[port] = "refused"
    except OSError:
        verdicts[port] = "dropped"
print(json.dumps(verdicts))
"""


@pytest.fixture
def clients(peers: list[Host]) -> list[Host]:
    """The peers that check this host over the network. A run that expects
    peers (BUREAU_EXPECT_PEERS, set by the hardening scenario) fails without
    them; any other run skips these checks and says why."""
    if not peers:
        if os.environ.get("BUREAU_EXPECT_PEERS"):
            pytest.fail("the run expects peer hosts to check the network from, and has none")
        pytest.skip("one host: no peer to check the network from (molecule/hardening does)")
    return peers


def sshd_settings(host: Host) -> dict[str, str]:
    output = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def is_container(host: Host) -> bool:
    return host.run("systemd-detect-virt --container").rc == 0


def address_of(host: Host) -> str:
    return host.check_output("ip -4 -o addr show scope global").split()[3].split("/")[0]


def probe(client: Host, address: str, ports: list[int]) -> dict[int, str]:
    result = client.run("python3 -c %s %s %s", PROBE, address, " ".join(map(str, ports)))
    assert result.rc == 0, result.stderr
    return {int(port): verdict for port, verdict in json.loads(result.stdout).items()}


def input_chain(host: Host) -> str:
    return host.check_output("nft list chain inet bureau_filter input")


def ruleset_ports(host: Host) -> site.FirewallPorts:
    """TCP ports the live input chain accepts: (open to all, restricted to sources)."""
    found = site.FirewallPorts()
    for line in input_chain(host).splitlines():
        match = re.search(r"tcp dport (\d+) .*accept", line)
        if match:
            found.add(match[1], "saddr" in line)
    return found


def declared_ports(host: Host) -> site.FirewallPorts:
    """What the roles the inventory gives this host declare (tests/infra/site.py),
    never what the ruleset under test says."""
    return site.firewall_ports(host.backend.get_hostname())


def listening_tcp_ports(host: Host) -> set[int]:
    """TCP ports listened on an address other hosts can reach."""
    ports = set()
    for line in host.check_output("ss -Hltn").splitlines():
        local = line.split()[3]
        address, port = local.rsplit(":", 1)
        if not re.match(r"^(127\.|\[::1\]|\[::ffff:127\.)", address):
            ports.add(int(port))
    return ports


# --- SSH ----------------------------------------------------------------


def test_sshd_accepts_keys_only(host: Host) -> None:
    settings = sshd_settings(host)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitemptypasswords"] == "no"
    assert settings["pubkeyauthentication"] == "yes"
    assert settings["permitrootlogin"] in ("prohibit-password", "without-password", "no")
    assert settings["loglevel"] == "VERBOSE"
    assert int(settings["maxauthtries"]) <= 4
    assert int(settings["clientaliveinterval"]) > 0
    assert settings["x11forwarding"] == "no"


def test_sshd_offers_modern_algorithms_only(host: Host) -> None:
    settings = sshd_settings(host)
    kex = settings["kexalgorithms"].split(",")
    assert "curve25519-sha256" in kex
    assert not [k for k in kex if k.startswith(WEAK_KEX)]
    assert not [c for c in settings["ciphers"].split(",") if "cbc" in c or "3des" in c]
    macs = settings["macs"].split(",")
    assert macs and all(m.endswith("-etm@openssh.com") for m in macs)
    assert "ssh-rsa" not in settings["hostkeyalgorithms"].split(",")


def test_sshd_is_running(host: Host) -> None:
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled
    port = sshd_settings(host)["port"]
    assert host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_ssh_client_cannot_log_in_with_a_password(host: Host, clients: list[Host]) -> None:
    port = sshd_settings(host)["port"]
    for peer in clients:
        result = peer.run(
            SSH + " -o PreferredAuthentications=password,keyboard-interactive root@%s true",
            port,
            address_of(host),
        )
        assert result.rc == 255
        assert "Permission denied (publickey)" in result.stderr, result.stderr


def test_ssh_client_with_a_weak_cipher_is_refused(host: Host, clients: list[Host]) -> None:
    port = sshd_settings(host)["port"]
    for peer in clients:
        result = peer.run(
            SSH + " -o Ciphers=aes128-cbc root@%s true",
            port,
            address_of(host),
        )
        assert result.rc == 255
        assert "no matching cipher found" in result.stderr, result.stderr


# Creates a local account for a moment (its traces stay: /etc/shadow-, logs).
@pytest.mark.writes
def test_ssh_client_logs_in_with_a_key(host: Host, peers: list[Host]) -> None:
    """Keys still open a session through PAM's account and session phases (pam_faillock)."""
    port = sshd_settings(host)["port"]
    user = "bureau-probe-ssh"
    for peer in peers:
        host.run("userdel -r %s", user)
        assert host.run("useradd -m -s /bin/sh %s", user).rc == 0
        try:
            peer.run("rm -f /tmp/bureau-probe-key /tmp/bureau-probe-key.pub")
            assert peer.run("ssh-keygen -q -t ed25519 -N '' -f /tmp/bureau-probe-key").rc == 0
            public_key = peer.check_output("cat /tmp/bureau-probe-key.pub")
            install = host.run(
                "install -d -o %s -m 0700 /home/%s/.ssh && echo %s > /home/%s/.ssh/authorized_keys",
                user,
                user,
                public_key,
                user,
            )
            assert install.rc == 0, install.stderr
            login = peer.run(
                SSH + " -i /tmp/bureau-probe-key %s@%s id -un",
                port,
                user,
                address_of(host),
            )
            assert login.rc == 0, login.stderr
            assert login.stdout.strip() == user
        finally:
            peer.run("rm -f /tmp/bureau-probe-key /tmp/bureau-probe-key.pub")
            host.run("userdel -r %s", user)


# --- Firewall -----------------------------------------------------------


def test_firewall_input_policy_is_drop(host: Host) -> None:
    assert host.service("nftables").is_enabled
    chain = input_chain(host)
    assert re.search(r"type filter hook input priority filter; policy drop;", chain), chain
    assert host.run("nft -c -f /etc/nftables.conf").rc == 0


def test_firewall_opens_only_the_ports_the_roles_declare(host: Host) -> None:
    """The live ruleset accepts exactly the roles' `<role>__firewall_ports` and SSH:
    a port opened by hand, or by a role that did not declare it, fails here."""
    declared, live = declared_ports(host), ruleset_ports(host)
    undeclared = (live.open_to_all - declared.open_to_all) | (live.restricted - declared.restricted)
    assert not undeclared, f"open in the ruleset, declared by no role: {sorted(undeclared)}"
    missing = (declared.open_to_all - live.open_to_all) | (declared.restricted - live.restricted)
    assert not missing, f"declared by a role, not open in the ruleset: {sorted(missing)}"


def test_firewall_lets_only_declared_ports_through(host: Host, clients: list[Host]) -> None:
    """From every peer: a declared port answers; any other port that listens or
    that the ruleset accepts is dropped (not refused: the firewall drops it
    before anything could answer)."""
    declared, live = declared_ports(host), ruleset_ports(host)
    ssh_port = int(sshd_settings(host)["port"])
    listening = listening_tcp_ports(host)
    assert ssh_port in listening
    assert ssh_port in declared.open_to_all | declared.restricted
    checked = sorted((listening | live.open_to_all | declared.open_to_all) - declared.restricted)
    expected = {port: "open" if port in declared.open_to_all else "dropped" for port in checked}
    for peer in clients:
        seen = probe(peer, address_of(host), checked)
        assert seen == expected, f"from {peer.backend.get_pytest_id()}: {seen}"


# --- Kernel settings and audit (hosts with a kernel of their own) --------


def test_kernel_network_settings(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container shares its host's kernel: sysctl is the host's business")
    for key, value in {
        "net.ipv4.conf.all.rp_filter": "1",
        "net.ipv4.conf.all.accept_redirects": "0",
        "net.ipv4.conf.all.send_redirects": "0",
        "net.ipv4.conf.all.accept_source_route": "0",
        "net.ipv4.conf.all.log_martians": "1",
        "net.ipv4.tcp_syncookies": "1",
    }.items():
        assert host.sysctl(key) == int(value), key


def test_auditd_records_identity_changes(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container cannot load audit rules: auditd is the host's business")
    assert host.service("auditd").is_running
    assert "-w /etc/shadow -p wa -k identity" in host.check_output("auditctl -l")


# --- Passwords ----------------------------------------------------------


def test_weak_password_is_rejected(host: Host) -> None:
    assert "pam_pwquality.so" in host.file("/etc/pam.d/common-password").content_string
    weak = host.run("echo 'Lome#2024' | pwscore")  # every class, too short
    assert weak.rc != 0
    assert "shorter than" in weak.stderr, weak.stderr
    strong = host.run("echo 'Tj9#vQ2m!Lx7@pR4' | pwscore")
    assert strong.rc == 0, strong.stderr


def login_defs(host: Host) -> dict[str, str]:
    content = host.file("/etc/login.defs").content_string
    return dict(re.findall(r"(?m)^([A-Z_]+)\s+(\S+)", content))


def test_password_ageing(host: Host) -> None:
    settings = login_defs(host)
    assert 0 < int(settings["PASS_MAX_DAYS"]) <= 365
    assert int(settings["PASS_MIN_DAYS"]) >= 1
    assert settings["ENCRYPT_METHOD"] == "YESCRYPT"
    assert settings["UMASK"] == "027"
    # root's own password ages too (field 5 of shadow: maximum age in days).
    root = host.check_output("getent shadow root").split(":")
    assert root[4] and 0 < int(root[4]) <= 365, root[4]


def pwquality_settings(host: Host) -> dict[str, str]:
    """The settings pam_pwquality reads, as ssg's checks read them: pwquality.conf itself."""
    content = host.file("/etc/security/pwquality.conf").content_string
    settings = dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(\S+)", content))
    settings.update({flag: "" for flag in re.findall(r"(?m)^\s*(\w+)\s*$", content)})
    return settings


def test_passwords_need_15_characters_of_every_class(host: Host) -> None:
    settings = pwquality_settings(host)
    assert int(settings["minlen"]) >= 15
    assert int(settings["minclass"]) == 4
    for credit in ("dcredit", "ucredit", "lcredit", "ocredit"):
        assert int(settings[credit]) <= -1, credit
    assert "enforce_for_root" in settings
    # pwscore applies the same library and configuration as pam_pwquality.
    refused = {
        "Tj9#vQ2m!Lx7@p": "shorter than",  # 14 characters
        "Tj9vQ2mkLx7pR4wZ": "non-alphanumeric",  # no other character
        "tj9#vq2m!lx7@pr4": "uppercase",  # no capital
    }
    for password, reason in refused.items():
        result = host.run("echo %s | pwscore", password)
        assert result.rc != 0, password
        assert reason in result.stderr, (password, result.stderr)
    accepted = host.run("echo %s | pwscore", "Tj9#vQ2m!Lx7@pR")
    assert accepted.rc == 0, accepted.stderr


def test_former_passwords_are_refused(host: Host) -> None:
    """pam_pwhistory checks the new password before pam_unix stores it."""
    stack = [
        line.split()
        for line in host.file("/etc/pam.d/common-password").content_string.splitlines()
        if line.startswith("password")
    ]
    modules = [next(f for f in fields if f.endswith(".so")) for fields in stack]
    assert "pam_pwhistory.so" in modules
    assert modules.index("pam_pwhistory.so") < modules.index("pam_unix.so")
    history = stack[modules.index("pam_pwhistory.so")]
    remember = [int(f.split("=")[1]) for f in history if f.startswith("remember=")]
    assert remember and remember[0] >= 2, history


PROBE_USER = "bureau-probe"
PROBE_PASSWORD = "Tj9#vQ2m!Lx7@pR4z"


def su_as_nobody(host: Host, password: str) -> CommandResult:
    """An authentication through PAM as an unprivileged user (root would skip it)."""
    return host.run(
        "echo %s | setpriv --reuid=65534 --regid=65534 --clear-groups su %s -c true",
        password,
        PROBE_USER,
    )


# Creates a local account with a password and locks it: `bureau audit` found
# that the module's readonly mark let it run against production (/etc/shadow-
# differed after an audit).
@pytest.mark.destructive
def test_repeated_password_failures_lock_the_account(host: Host) -> None:
    content = host.file("/etc/security/faillock.conf").content_string
    settings = dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(\S+)", content))
    deny = int(settings["deny"])
    assert 1 <= deny <= 3
    assert int(settings["fail_interval"]) >= 900
    assert int(settings["unlock_time"]) in range(900, 86401) or settings["unlock_time"] == "0"
    host.run("userdel -r %s", PROBE_USER)
    assert host.run("useradd -m %s", PROBE_USER).rc == 0
    try:
        chpasswd = host.run("echo %s | chpasswd", f"{PROBE_USER}:{PROBE_PASSWORD}")
        assert chpasswd.rc == 0, chpasswd.stderr
        assert su_as_nobody(host, PROBE_PASSWORD).rc == 0
        for _ in range(deny):
            assert su_as_nobody(host, "not-the-password").rc != 0
        # Locked: the right password is refused too, until the lock is lifted.
        locked = su_as_nobody(host, PROBE_PASSWORD)
        assert locked.rc != 0
        assert "locked" in locked.stdout + locked.stderr, locked.stderr
        assert host.run("faillock --user %s --reset", PROBE_USER).rc == 0
        assert su_as_nobody(host, PROBE_PASSWORD).rc == 0
    finally:
        host.run("faillock --user %s --reset", PROBE_USER)
        host.run("userdel -r %s", PROBE_USER)


# --- fail2ban (last: it bans a peer for a moment) ------------------------


def test_fail2ban_watches_sshd(host: Host) -> None:
    status = host.run("fail2ban-client status sshd")
    assert status.rc == 0, status.stderr
    assert "Journal matches" in status.stdout or "File list" in status.stdout


@pytest.mark.destructive
def test_fail2ban_bans_a_peer_after_repeated_ssh_failures(host: Host, clients: list[Host]) -> None:
    peer = clients[0]
    peer_address = address_of(peer)
    port = sshd_settings(host)["port"]
    maxretry = int(host.check_output("fail2ban-client get sshd maxretry"))
    try:
        for _ in range(maxretry + 1):
            peer.run(SSH + " no-such-user@%s true", port, address_of(host))
        banned = ""
        for _ in range(20):
            banned = host.check_output("fail2ban-client get sshd banip")
            if peer_address in banned.split():
                break
            time.sleep(1)
        assert peer_address in banned.split(), banned
        assert probe(peer, address_of(host), [int(port)])[int(port)] != "open"
    finally:
        host.run("fail2ban-client set sshd unbanip %s", peer_address)
