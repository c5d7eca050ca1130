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
from dataclasses import dataclass

import pytest
from testinfra.backend.base import CommandResult
from testinfra.host import Host

from .. import site
from ..testsupport import wait_for_ban

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

# A client that never asks anything and never remembers the host key. `timeout`:
# ConnectTimeout does not cover a session whose packets start being dropped
# half-way (a fail2ban ban), which would otherwise hang until TCP gives up.
SSH_OPTIONS = (
    "-p %s -o BatchMode=yes -o ConnectTimeout=5"
    " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
)
SSH = "timeout 15 ssh " + SSH_OPTIONS
# A login that is meant to succeed: under emulation, beside the suite's
# converge, it starts the new user's systemd manager at TCG's speed, and 15 s
# killed one half-way in CI (2026-12-07: the banner printed, then nothing).
SSH_LOGIN = "timeout 90 ssh " + SSH_OPTIONS
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

PROBE_FROM = """
import socket, sys

source, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
probe = socket.socket()
probe.settimeout(3)
probe.bind((source, 0))
try:
    probe.connect((address, port))
    print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("dropped")
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


@dataclass
class SshOutcome:
    rc: int
    stdout: str
    stderr: str


def ssh_from(peer: Host, command: str, *args: object) -> SshOutcome:
    """Run an SSH client on the peer. The checks expect its own failures (exit
    255), which testinfra's SSH backend (molecule/vm, real hosts) takes for its
    own connection failing: the status comes back as text instead."""
    result = peer.run(command + "; echo bureau-ssh-exit=$? >&2", *args)
    stderr, _, code = result.stderr.rpartition("bureau-ssh-exit=")
    return SshOutcome(int(code.strip()), result.stdout, stderr)


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
        match = re.search(r"tcp dport (\d+(?:-\d+)?) .*accept", line)
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
    # The legal banner before authentication; dead clients found by the
    # encrypted ClientAlive messages, not by spoofable TCP keepalives.
    assert settings.get("banner") == "/etc/issue.net", settings.get("banner")
    assert settings["tcpkeepalive"] == "no"


def test_sshd_offers_modern_algorithms_only(host: Host) -> None:
    settings = sshd_settings(host)
    kex = settings["kexalgorithms"].split(",")
    assert "curve25519-sha256" in kex
    assert not [k for k in kex if k.startswith(WEAK_KEX)]
    assert not [c for c in settings["ciphers"].split(",") if "cbc" in c or "3des" in c]
    macs = settings["macs"].split(",")
    assert macs and all(m.endswith("-etm@openssh.com") for m in macs)
    assert "ssh-rsa" not in settings["hostkeyalgorithms"].split(",")


def test_sshd_configuration_is_root_only(host: Host) -> None:
    for path in ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/50-bureau.conf"):
        config = host.file(path)
        assert (config.user, config.group, config.mode) == ("root", "root", 0o600), path


def test_idle_interactive_shells_end(host: Host) -> None:
    """R32: a login shell gets a read-only TMOUT; dash reads the same file
    without an error."""
    probe = "echo $TMOUT; (TMOUT=0) 2>/dev/null && echo writable || echo fixed"
    bash = host.run("bash -l -c %s", probe)
    assert bash.stdout.split() == ["600", "fixed"], bash.stdout + bash.stderr
    dash = host.run("sh -l -c 'echo $TMOUT'")
    assert dash.stdout.strip() == "600" and "bureau-tmout" not in dash.stderr, dash.stderr


def test_sshd_is_running(host: Host) -> None:
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled
    port = sshd_settings(host)["port"]
    assert host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_ssh_client_cannot_log_in_with_a_password(host: Host, clients: list[Host]) -> None:
    port = sshd_settings(host)["port"]
    for peer in clients:
        result = ssh_from(
            peer,
            SSH + " -o PreferredAuthentications=password,keyboard-interactive root@%s true",
            port,
            address_of(host),
        )
        assert result.rc == 255
        assert "Permission denied (publickey)" in result.stderr, result.stderr


def test_ssh_shows_the_legal_banner_before_authentication(host: Host, clients: list[Host]) -> None:
    """Anyone who reaches sshd is told, before any login, whose system it is
    and that access is restricted and logged (the client prints sshd's Banner)."""
    settings = sshd_settings(host)
    for peer in clients:
        result = ssh_from(peer, SSH + " root@%s true", settings["port"], address_of(host))
        assert "Access is restricted to authorised users" in result.stderr, result.stderr


def test_the_consoles_show_the_legal_banner(host: Host) -> None:
    for path in ("/etc/issue", "/etc/issue.net"):
        banner = host.file(path)
        assert (banner.user, banner.mode) == ("root", 0o644), path
        assert "Accès réservé aux personnes autorisées" in banner.content_string, path
        # agetty expands backslash sequences of /etc/issue (\n, \l…): none are meant.
        assert "\\" not in banner.content_string, path


def test_ssh_client_with_a_weak_cipher_is_refused(host: Host, clients: list[Host]) -> None:
    port = sshd_settings(host)["port"]
    for peer in clients:
        result = ssh_from(
            peer,
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
                # The user's own file: sshd reads it as the user, and a root shell
                # on a real host creates files 0640 (login.defs UMASK 027).
                "install -d -o %s -m 0700 /home/%s/.ssh && echo %s > /home/%s/.ssh/authorized_keys"
                " && chown %s /home/%s/.ssh/authorized_keys",
                user,
                user,
                public_key,
                user,
                user,
                user,
            )
            assert install.rc == 0, install.stderr
            login = ssh_from(
                peer,
                SSH_LOGIN + " -i /tmp/bureau-probe-key %s@%s id -un",
                port,
                user,
                address_of(host),
            )
            assert login.rc == 0, login.stderr
            assert login.stdout.strip() == user
        finally:
            peer.run("rm -f /tmp/bureau-probe-key /tmp/bureau-probe-key.pub")
            host.run("userdel -r %s", user)


@pytest.mark.writes
def test_ssh_is_dropped_outside_the_admin_network(host: Host, clients: list[Host]) -> None:
    """With `hardening__ssh_sources` set, SSH from any other address is dropped.
    The peer takes for a moment an address outside those networks
    (BUREAU_OUTSIDE_ADDRESS, on the link to the host) and connects from it."""
    outside = os.environ.get("BUREAU_OUTSIDE_ADDRESS")
    if not outside:
        pytest.skip("no peer address outside the administration network (molecule/vm has one)")
    declared = declared_ports(host)
    port = int(sshd_settings(host)["port"])
    assert port in declared.restricted, "the inventory gives SSH no source networks"
    peer = clients[0]
    interface = peer.check_output("ip -4 -o addr show scope global").split()[1]
    assert peer.run("ip addr add %s dev %s", outside, interface).rc == 0
    try:
        source = outside.split("/")[0]
        seen = peer.run("python3 -c %s %s %s %s", PROBE_FROM, source, address_of(host), str(port))
        assert seen.rc == 0, seen.stderr
        assert seen.stdout.strip() == "dropped", seen.stdout
    finally:
        peer.run("ip addr del %s dev %s", outside, interface)


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
# A container shares the kernel of the machine that runs it: these run on
# hosts with their own (molecule/vm in CI, production under `bureau audit`).

# ANSSI BP-028 R9 (kernel) and R12 (network), as the kernel reads them.
KERNEL_SETTINGS = {
    "net.ipv4.conf.all.rp_filter": 1,
    "net.ipv4.conf.default.rp_filter": 1,
    "net.ipv4.conf.all.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.all.log_martians": 1,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv4.ip_forward": 0,
    "net.ipv6.conf.all.accept_redirects": 0,
    "net.ipv6.conf.all.accept_source_route": 0,
    "kernel.dmesg_restrict": 1,
    "kernel.kptr_restrict": 2,
    "kernel.core_uses_pid": 1,
    "dev.tty.ldisc_autoload": 0,
    "kernel.yama.ptrace_scope": 1,
    "fs.protected_symlinks": 1,
    "fs.protected_hardlinks": 1,
    "fs.suid_dumpable": 0,
    # What the ANSSI profile's audit of a real kernel found missing (molecule/vm).
    "fs.protected_fifos": 2,
    "fs.protected_regular": 2,
    "kernel.sysrq": 0,
    "kernel.pid_max": 65536,
    "kernel.perf_event_paranoid": 2,
    "kernel.unprivileged_bpf_disabled": 1,
    "net.core.bpf_jit_harden": 2,
    "net.ipv4.conf.all.arp_ignore": 2,
    "net.ipv4.ip_local_port_range": "32768 65535",
    "net.ipv6.conf.all.autoconf": 0,
    "net.ipv6.conf.all.max_addresses": 1,
}
# Settings the kernel reads per interface: an IPv4 redirect is accepted or sent
# when `all` OR the interface says so, and IPv6 reads only the interface's own
# value. `all` and `default` are not enough: every interface must carry them.
INTERFACE_SETTINGS = {
    "ipv4": {"accept_redirects": 0, "secure_redirects": 0, "send_redirects": 0},
    "ipv6": {"accept_redirects": 0, "accept_source_route": 0, "accept_ra": 0},
}


def kernel_settings(host: Host) -> dict[str, str]:
    output = host.check_output("sysctl -a 2>/dev/null")
    # Values of several fields come tab-separated (ip_local_port_range): one space.
    return {
        key: " ".join(value.split())
        for key, value in (line.split(" = ", 1) for line in output.splitlines() if " = " in line)
    }


def test_kernel_settings_are_in_force(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container shares its host's kernel: sysctl is the host's business")
    live = kernel_settings(host)
    wrong = {k: live.get(k) for k, v in KERNEL_SETTINGS.items() if live.get(k) != str(v)}
    assert not wrong, f"not in force (expected {KERNEL_SETTINGS}): {wrong}"


def test_every_interface_refuses_redirects_and_router_adverts(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container shares its host's kernel: sysctl is the host's business")
    live = kernel_settings(host)
    wrong = {}
    for family, settings in INTERFACE_SETTINGS.items():
        interfaces = {
            key.split(".")[3] for key in live if key.startswith(f"net.{family}.conf.")
        } - {"all"}
        assert interfaces - {"default", "lo"}, f"no {family} interface found"
        for interface in interfaces:
            for name, value in settings.items():
                key = f"net.{family}.conf.{interface}.{name}"
                if key in live and live[key] != str(value):
                    wrong[key] = live[key]
    assert not wrong, f"interfaces that still accept or send redirects, or take RAs: {wrong}"


def audit_rules_file(host: Host) -> list[str]:
    content = host.file("/etc/audit/rules.d/50-bureau.rules").content_string
    return [line.strip() for line in content.splitlines() if line.startswith("-")]


def normalised_audit_rule(rule: str) -> str:
    """A rule as auditctl -l prints it and as rules.d writes it, made equal:
    auditctl drops a directory's trailing slash, writes -k as -F key= and
    orders the syscalls by number."""
    words = rule.replace("-F key=", "-k ").split()
    if words[:1] == ["-w"]:
        words[1] = words[1].rstrip("/") or "/"
    if "-S" in words:
        words[words.index("-S") + 1] = ",".join(sorted(words[words.index("-S") + 1].split(",")))
    return " ".join(words)


def test_auditd_runs_with_every_rule_loaded(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container cannot load audit rules: auditd is the host's business")
    assert host.service("auditd").is_running
    assert host.service("auditd").is_enabled
    status = host.check_output("auditctl -s")
    assert re.search(r"(?m)^enabled [12]$", status), status
    loaded = host.check_output("auditctl -l")
    assert "-w /etc/shadow -p wa -k identity" in loaded
    # auditctl prints a syscall rule's key as -F key=…: compare the watches as
    # written and the syscall rules by their key and syscalls.
    rules = {normalised_audit_rule(line) for line in loaded.splitlines()}
    missing = [r for r in audit_rules_file(host) if normalised_audit_rule(r) not in rules]
    assert not missing, f"in 50-bureau.rules, not loaded in the kernel: {missing}\n{loaded}"


@pytest.mark.writes
def test_auditd_logs_a_change_to_a_watched_file(host: Host) -> None:
    """An attribute change to /etc/passwd (mode set to what it is) is logged with
    the rule's key; the record lands in audit.log, which ausearch reads."""
    if is_container(host):
        pytest.skip("a container cannot load audit rules: auditd is the host's business")
    mode = host.file("/etc/passwd").mode
    start = host.check_output("date +%H:%M:%S")
    assert host.run("chmod %s /etc/passwd", f"{mode:o}").rc == 0
    found = None
    for _ in range(10):
        # Over a non-tty session ausearch reads stdin unless told to read the logs.
        found = host.run("ausearch --input-logs -i -k identity -ts %s -c chmod", start)
        if found.rc == 0 and "passwd" in found.stdout:
            break
        time.sleep(1)
    assert found is not None and found.rc == 0 and "passwd" in found.stdout, found


# --- Kernel modules and process accounting -------------------------------

# What no host of the suite needs and a hostile insider could use: uncommon
# network protocols (kernel attack surface), rare file systems, removable storage.
DISABLED_MODULES = ("dccp", "sctp", "rds", "tipc", "usb-storage", "firewire-core", "cramfs")


def test_unused_kernel_modules_are_disabled(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container loads no module: the machine's kernel does (no kmod)")
    config = host.file("/etc/modprobe.d/bureau-disabled.conf").content_string.splitlines()
    missing = [
        module
        for module in DISABLED_MODULES
        if f"install {module} /bin/false" not in config or f"blacklist {module}" not in config
    ]
    assert not missing, f"not disabled in /etc/modprobe.d/bureau-disabled.conf: {missing}"


def test_the_kernel_refuses_to_load_a_disabled_module(host: Host) -> None:
    """modprobe, asked for a disabled protocol, runs /bin/false instead of
    loading it; opening a socket of that protocol loads nothing either."""
    if is_container(host):
        pytest.skip("a container shares its host's kernel: its modules are the host's business")
    for module in ("dccp", "sctp"):
        plan = host.run("modprobe --show-depends %s", module)
        assert "install /bin/false" in plan.stdout, plan.stdout + plan.stderr
        loaded = host.run("modprobe %s", module)
        assert loaded.rc != 0, f"modprobe {module} succeeded"
    socket = host.run(
        "python3 -c %s",
        "import socket\n"
        "try:\n socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)\n"
        "except OSError as e: print('refused', e.errno)\nelse: print('opened')",
    )
    assert socket.stdout.startswith("refused"), socket.stdout + socket.stderr
    modules = host.check_output("cut -d' ' -f1 /proc/modules").split()
    assert not {"dccp", "sctp"} & set(modules), modules


def test_processes_are_accounted(host: Host) -> None:
    if is_container(host):
        pytest.skip("a container may not switch process accounting on")
    for unit in ("acct.service", "sysstat-collect.timer"):
        assert host.service(unit).is_enabled, unit
    assert host.run("systemctl is-active acct.service sysstat-collect.timer").rc == 0
    pacct = host.file("/var/log/account/pacct")
    assert pacct.exists and pacct.user == "root" and not pacct.mode & 0o004, pacct.mode


@pytest.mark.writes
def test_a_command_run_is_in_the_process_accounts(host: Host) -> None:
    """After an incident the investigator finds what ran: a command of an
    unusual name, run once, is in lastcomm's record."""
    if is_container(host):
        pytest.skip("a container may not switch process accounting on")
    name = f"bureauacct{int(time.time()) % 100000}"
    ran = host.run("cp /bin/true /root/%s && /root/%s; rm -f /root/%s", name, name, name)
    assert ran.rc == 0, ran.stderr
    found = None
    for _ in range(10):
        found = host.run("lastcomm --command %s", name)
        if name in found.stdout:
            break
        time.sleep(1)
    assert found is not None and name in found.stdout, found


# --- Passwords ----------------------------------------------------------


def test_weak_password_is_rejected(host: Host) -> None:
    assert "pam_pwquality.so" in host.file("/etc/pam.d/common-password").content_string
    weak = host.run("echo 'Lome#2024' | LC_ALL=C pwscore")  # every class, too short
    assert weak.rc != 0
    assert "shorter than" in weak.stderr, weak.stderr
    strong = host.run("echo 'Tj9#vQ2m!Lx7@pR4' | LC_ALL=C pwscore")
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
        result = host.run("echo %s | LC_ALL=C pwscore", password)
        assert result.rc != 0, password
        assert reason in result.stderr, (password, result.stderr)
    accepted = host.run("echo %s | LC_ALL=C pwscore", "Tj9#vQ2m!Lx7@pR")
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
        "echo %s | LC_ALL=C setpriv --reuid=65534 --regid=65534 --clear-groups su %s -c true",
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
            ssh_from(peer, SSH + " no-such-user@%s true", port, address_of(host))
        wait_for_ban(host, "sshd", peer_address)
        assert probe(peer, address_of(host), [int(port)])[int(port)] != "open"
    finally:
        host.run("fail2ban-client set sshd unbanip %s", peer_address)
