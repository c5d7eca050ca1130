"""A throwaway directory for the benchmark: one systemd container from the base
image, configured by the real pki and directory roles, its slapd published on
127.0.0.1 like the molecule `directory` scenario's."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shlex
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONTAINER = "bureau-bench-directory"
HOST = "ldap.gouv.tg"
DOMAIN = "gouv.tg"
BASE_DN = "dc=gouv,dc=tg"
LDAP_PORT = 14389
LDAPS_PORT = 14636
SERVICES = ("mail", "groupware", "sso", "drive", "office", "provisioning")


def use(container: str, ldap_port: int, ldaps_port: int) -> None:
    """Point this module at another container and ports, for a benchmark that runs
    beside the users-import one (bench/slapd_growth.py)."""
    global CONTAINER, LDAP_PORT, LDAPS_PORT
    CONTAINER, LDAP_PORT, LDAPS_PORT = container, ldap_port, ldaps_port


def sh(*command: str, input_text: str | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, input=input_text, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def in_container(script: str) -> str:
    return sh("docker", "exec", CONTAINER, "bash", "-euc", script)


def address() -> str:
    """The container's IPv4 address on its Docker network."""
    found = sh(
        "docker",
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        CONTAINER,
    ).split()
    if not found:
        raise RuntimeError(f"{CONTAINER} has no address on a Docker network")
    return found[0]


def _secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


@dataclass(frozen=True)
class Directory:
    work: Path
    ca_file: Path
    provisioning_password_file: Path

    @property
    def ldaps_uri(self) -> str:
        """The container's own address on the Docker bridge, as a client on the
        network reaches a directory server. The published port (127.0.0.1:LDAPS_PORT)
        goes through docker-proxy, a userland copy of every byte that production
        does not have: it made reading 70,000 agents back about 3 times slower."""
        return f"ldaps://{address()}:636"

    @property
    def provisioning_dn(self) -> str:
        return f"cn=provisioning,ou=services,{BASE_DN}"


def start(project: Path, work: Path, log: Path) -> Directory:
    """Start the container, converge the roles, snapshot the empty tree."""
    image = sh(str(project / ".venv/bin/bureau"), "image", "name").strip()
    stop()
    sh(
        "docker",
        "run",
        "-d",
        "--name",
        CONTAINER,
        "--hostname",
        HOST,
        "--stop-signal",
        "SIGRTMIN+3",
        "--cap-add",
        "SYS_ADMIN",
        "--cap-add",
        "NET_ADMIN",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--tmpfs",
        "/tmp",
        "-p",
        f"127.0.0.1:{LDAP_PORT}:389",
        "-p",
        f"127.0.0.1:{LDAPS_PORT}:636",
        image,
        "/lib/systemd/systemd",
    )
    for _ in range(60):
        state = subprocess.run(
            ["docker", "exec", CONTAINER, "systemctl", "is-system-running"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    passwords = {name: _secret() for name in SERVICES}
    variables = {
        "bureau__domain": DOMAIN,
        "bureau__organisation": "République Togolaise",
        "bureau__container": True,
        "pki__ca_passphrase": _secret(),
        "pki__host_name": HOST,
        "directory__admin_password": _secret(),
        "directory__service_passwords": passwords,
        "directory__firewall": False,
    }
    inventory = {
        "all": {
            "hosts": {
                HOST: {
                    "ansible_host": CONTAINER,
                    "ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            },
            "children": {"ca": {"hosts": {HOST: None}}, "directory": {"hosts": {HOST: None}}},
            "vars": variables,
        }
    }
    inventory_file = work / "inventory.json"
    fd = os.open(inventory_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(inventory, out)
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(project / "roles"), ANSIBLE_FORCE_COLOR="0")
    with log.open("w") as out:
        done = subprocess.run(
            [
                str(project / ".venv/bin/ansible-playbook"),
                "-i",
                str(inventory_file),
                str(project / "bench/directory.yml"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=project,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"converging the directory failed: see {log}")
    ca_file = work / "ca.crt"
    ca_file.write_text(in_container("cat /etc/ssl/bureau/ca.crt"))
    password_file = work / "provisioning-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(passwords["provisioning"])  # no newline: `ldapadd -y` reads every byte
    in_container(f"slapcat -b {BASE_DN} -l /root/empty.ldif")
    return Directory(work, ca_file, password_file)


def reuse(work: Path) -> Directory:
    """Take over a directory container left by `--keep`: new provisioning password
    (set as root over ldapi), its CA, back to the empty tree."""
    reset()
    password = _secret()
    salt = secrets.token_bytes(8)
    hashed = (
        "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()
    )
    in_container(
        "ldapmodify -Q -Y EXTERNAL -H ldapi:/// <<'EOF'\n"
        f"dn: cn=provisioning,ou=services,{BASE_DN}\nchangetype: modify\n"
        f"replace: userPassword\nuserPassword: {hashed}\n-\nEOF"
    )
    in_container(f"slapcat -b {BASE_DN} -l /root/empty.ldif")  # reset() keeps the new password
    ca_file = work / "ca.crt"
    ca_file.write_text(in_container("cat /etc/ssl/bureau/ca.crt"))
    password_file = work / "provisioning-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password)
    return Directory(work, ca_file, password_file)


def set_no_sync(enabled: bool) -> None:
    """olcDbNoSync of the mdb database (the role's directory__db_no_sync)."""
    value = "TRUE" if enabled else "FALSE"
    in_container(
        "ldapmodify -Q -Y EXTERNAL -H ldapi:/// <<'EOF'\n"
        "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\n"
        f"replace: olcDbNoSync\nolcDbNoSync: {value}\n-\nEOF"
    )


def reset() -> None:
    """Back to the freshly converged tree (offline: stop, reload, start)."""
    in_container(
        "systemctl stop slapd; rm -f /var/lib/ldap/data.mdb /var/lib/ldap/lock.mdb; "
        f"slapadd -q -b {BASE_DN} -l /root/empty.ldif; chown -R openldap:openldap /var/lib/ldap; "
        "systemctl start slapd"
    )


def count_people() -> int:
    out = in_container(
        f"slapcat -b {BASE_DN} -a '(objectClass=inetOrgPerson)' | grep -c '^dn: uid=' || true"
    )
    return int(out.strip() or 0)


def settings() -> dict[str, str]:
    """What the benchmark's directory runs with, for the report."""
    config = in_container("cat '/etc/ldap/slapd.d/cn=config/olcDatabase={1}mdb.ldif'")
    indexes = [
        line.removeprefix("olcDbIndex: ")
        for line in config.splitlines()
        if line.startswith("olcDbIndex:")
    ]
    return {
        "indexes": "; ".join(indexes),
        "log_level": in_container("grep -h olcLogLevel /etc/ldap/slapd.d/cn=config.ldif || true")
        .strip()
        .removeprefix("olcLogLevel: "),
        "threads": in_container("grep -h olcThreads /etc/ldap/slapd.d/cn=config.ldif || true")
        .strip()
        .removeprefix("olcThreads: "),
        "dbnosync": in_container(
            "grep -rh olcDbNoSync '/etc/ldap/slapd.d/cn=config/' || echo 'olcDbNoSync: (unset)'"
        )
        .strip()
        .removeprefix("olcDbNoSync: "),
    }


def stop() -> None:
    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
