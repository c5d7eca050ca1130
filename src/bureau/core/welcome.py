"""What `bureau rehearse up` tells a newcomer at the end: demo agents to log
in with, the addresses and names of the services, how to reach them from this
machine, how to trust the rehearsal's CA and set up a mail client."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bureau.core import inventory as inv
from bureau.core import rehearsal, releases
from bureau.core.proc import run
from bureau.core.rehearsal import RehearsalHost, hosts_of
from bureau.core.users import connect, importer
from bureau.core.users.guard import DisableGuard

DEMO_AGENTS = Path(__file__).resolve().parent.parent / "data" / "demo-agents.csv"
CA_PATH = "/etc/ssl/bureau/ca.crt"
# The names a browser or a mail client uses, by the group whose host serves them.
NAMES = {
    "sso": ("auth",),
    "groupware": ("mail",),
    "drive": ("drive", "dav"),
    "mail_transfer": ("smtp",),
    "mailbox": ("imap",),
    "directory": ("ldap",),
    "office": ("office",),
    "video": ("turn",),
}
# Names the web front serves for a group's hosts (the office's page, meetings).
FRONT_NAMES = {"office": ("bureau",), "video": ("visio",)}


@dataclass(frozen=True)
class Welcome:
    domain: str
    addresses: dict[str, str]  # service name → address of its container
    ca_file: Path
    passwords_file: Path | None
    demo_uids: list[str]
    # Host → the Debian release it runs (e.g. "Debian 13 (trixie)").
    releases: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        names = sorted(self.addresses)
        rules = ", ".join(f"MAP {n} {a}" for n, a in sorted(self.addresses.items()))
        hosts = {}
        for name, address in self.addresses.items():
            hosts.setdefault(address, []).append(name)
        out = [
            "",
            "How to use the rehearsal",
            "",
        ]
        by_release: dict[str, list[str]] = {}
        for host, label in sorted(self.releases.items()):
            by_release.setdefault(label, []).append(host)
        for label, hosts_on in sorted(by_release.items()):
            out.append(
                f"{', '.join(hosts_on)} run{'s' * (len(hosts_on) == 1)} {label}: "
                "why, in docs/operations/releases.md."
            )
        out += [
            "",
            "Services (from this machine, on the rehearsal's Docker network):",
        ]
        out += [f"  {n:<28} {self.addresses[n]}" for n in names]
        out += [
            "",
            f"Portal: https://auth.{self.domain}/   Webmail and agendas: https://mail.{self.domain}/",
            f"Documents: https://drive.{self.domain}/   "
            f"WebDAV (Explorer, Finder, rclone): https://dav.{self.domain}/users/<login>/",
        ]
        if f"visio.{self.domain}" in self.addresses:
            out.append(f"Meetings (videoconference): https://visio.{self.domain}/")
        if f"office.{self.domain}" in self.addresses:
            out += [
                f"Bureau virtuel (LibreOffice on the State's servers): https://bureau.{self.domain}/",
                f"  in the browser: https://bureau.{self.domain}/navigateur/",
                f"  over RDP: office.{self.domain} port 3389, e.g. "
                f"xfreerdp /v:office.{self.domain} /u:<login> /sec:tls",
                "  (RDP takes the password chosen at the first portal login, not the initial one)",
            ]
        out += [
            "",
            "1. Trust the rehearsal's CA (its certificate, copied here):",
            f"     {self.ca_file}",
            "   Browsers and Thunderbird: Settings → Certificates → Authorities → Import.",
            "   Shell tools: curl --cacert " + str(self.ca_file) + " …",
            "2. Make the names reach the containers, either for one browser:",
            f'     chromium --host-resolver-rules="{rules}"',
            "   or for the whole machine (root), lines for /etc/hosts:",
        ]
        out += [f"     {address} {' '.join(sorted(ns))}" for address, ns in sorted(hosts.items())]
        if not self.demo_uids:
            out += ["3. No directory port is published: no demo agent was loaded."]
            return out
        out += [
            "3. Log in as a demo agent ("
            + ", ".join(self.demo_uids)
            + "): the first login asks for a new password.",
        ]
        if self.passwords_file:
            out.append(f"   Initial passwords (mode 0600): {self.passwords_file}")
        else:
            out.append(
                "   They were created by an earlier `up`: its passwords file is in .bureau/; "
                "an agent who lost it gets a new password from an administrator."
            )
        out += [
            "4. Thunderbird or a phone: the account's address, then",
            f"     IMAP  imap.{self.domain}  993  SSL/TLS    user: the login, e.g. "
            f"{self.demo_uids[0]}",
            f"     SMTP  smtp.{self.domain}  587  STARTTLS   same login and password",
            f"   Agendas and contacts (CalDAV/CardDAV): https://mail.{self.domain}/SOGo/dav/",
            "",
            "More agents: bureau users sample / import (docs/users.md); "
            "`bureau rehearse down` removes it all.",
        ]
        return out


def _container_address(container: str) -> str:
    found = run(
        [
            "docker",
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
            container,
        ],
        check=False,
    )
    return (found.stdout.split() or [""])[0]


def _directory_port(host: RehearsalHost) -> int | None:
    """The loopback port of the host's published LDAPS, if any."""
    for item in host.published_ports:
        parts = item.split(":")
        if len(parts) == 3 and parts[0] == "127.0.0.1" and parts[2].split("/")[0] == "636":
            return int(parts[1])
    return None


def prepare(project: Path, inventory: inv.Inventory, inventory_path: Path) -> Welcome:
    """Copy the CA out, import the demo agents once, find the addresses."""
    domain = str(inventory.group_vars.get("all", {}).get("bureau__domain", "")).lower()
    state = project / ".bureau" / inventory.name
    state.mkdir(parents=True, exist_ok=True)
    hosts = hosts_of(inventory)
    groups = {
        name: set(inventory.members(name)) for name in [*NAMES, "ca", "directory", "web_front"]
    }
    addresses: dict[str, str] = {}
    ca_file = state / "ca.crt"
    for host in hosts:
        address = _container_address(host.container)
        for group, services in NAMES.items():
            if host.name in groups.get(group, set()):
                for service in services:
                    addresses[f"{service}.{domain}"] = address
        if host.name in groups.get("web_front", set()):
            for group, services in FRONT_NAMES.items():
                if groups.get(group):
                    for service in services:
                        addresses.setdefault(f"{service}.{domain}", address)
        if host.name in groups.get("ca", set()):
            ca = run(["docker", "exec", host.container, "cat", CA_PATH])
            ca_file.write_text(ca.stdout, encoding="utf-8")
    passwords = None
    directory = next((h for h in hosts if h.name in groups.get("directory", set())), None)
    port = _directory_port(directory) if directory else None
    if port is not None:
        out = state / "demo-passwords.csv"
        options = connect.Options(
            inventory=inventory_path,
            uri=f"ldaps://127.0.0.1:{port}",
            ca_file=str(ca_file),
            tls_name=f"ldap.{domain}",
        )
        rows = importer.validate(DEMO_AGENTS, domain)
        connection, target = connect.resolve(options)
        report = importer.run(
            DEMO_AGENTS,
            rows,
            connection,
            target,
            dry_run=False,
            disable_missing=False,
            passwords_out=out,
            guard=DisableGuard(),
        )
        if report.passwords_file:
            os.chmod(report.passwords_file, 0o600)
            passwords = report.passwords_file
        uids = [row.uid or "" for row in rows]
    else:
        uids = []
    known = releases.releases()
    on = {
        host: known[codename].label if codename in known else codename
        for host, codename in rehearsal.suites_of(inventory).items()
    }
    return Welcome(domain, addresses, ca_file, passwords, uids, on)
