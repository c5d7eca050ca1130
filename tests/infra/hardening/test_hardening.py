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
from testinfra.host import Host

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


def declared_ports(host: Host) -> tuple[set[int], set[int]]:
    """TCP ports accepted by the live input chain: (open to all, restricted to sources)."""
    open_to_all: set[int] = set()
    restricted: set[int] = set()
    for line in input_chain(host).splitlines():
        match = re.search(r"tcp dport (\d+) .*accept", line)
        if match:
            (restricted if "saddr" in line else open_to_all).add(int(match[1]))
    return open_to_all, restricted


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


# --- Firewall -----------------------------------------------------------


def test_firewall_input_policy_is_drop(host: Host) -> None:
    assert host.service("nftables").is_enabled
    chain = input_chain(host)
    assert re.search(r"type filter hook input priority filter; policy drop;", chain), chain
    assert host.run("nft -c -f /etc/nftables.conf").rc == 0


def test_firewall_lets_only_declared_ports_through(host: Host, clients: list[Host]) -> None:
    """From every peer: a declared port answers, a listening undeclared one does not."""
    open_to_all, restricted = declared_ports(host)
    ssh_port = int(sshd_settings(host)["port"])
    listening = listening_tcp_ports(host)
    assert ssh_port in listening
    checked = sorted(listening - restricted)
    expected = {port: "open" if port in open_to_all else "blocked" for port in checked}
    for peer in clients:
        seen = probe(peer, address_of(host), checked)
        verdicts = {p: "open" if v == "open" else "blocked" for p, v in seen.items()}
        assert verdicts == expected, f"from {peer.backend.get_pytest_id()}: {seen}"


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
    weak = host.run("echo 'Lome2024' | pwscore")
    assert weak.rc != 0
    assert "shorter than" in weak.stderr, weak.stderr
    strong = host.run("echo 'Tj9#vQ2m!Lx7@pR4' | pwscore")
    assert strong.rc == 0, strong.stderr


def test_password_ageing(host: Host) -> None:
    login_defs = host.file("/etc/login.defs").content_string
    max_days = re.search(r"(?m)^PASS_MAX_DAYS\s+(\d+)", login_defs)
    assert max_days and int(max_days[1]) <= 365


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
