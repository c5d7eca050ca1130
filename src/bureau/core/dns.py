"""The DNS records a Bureau site must publish for its mail, from its inventory.

`bureau dns` reads the inventory as written (no Jinja evaluated): the domain,
the hosts of the mail groups and the few mail settings that name things. The
DKIM public key comes from the file the filtering role copies to the
controller (`.bureau/<inventory>/dkim/<domain>.<selector>.txt`); the private
key never leaves its host.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bureau.core import inventory as inv
from bureau.errors import BadInput, Problem

DEFAULT_TTL = 3600
# A TXT string holds at most 255 octets; longer values are split.
TXT_CHUNK = 255
DEFAULT_SELECTOR = "mail"


@dataclass(frozen=True)
class Record:
    """One resource record, relative names are completed with the origin."""

    name: str
    type: str
    value: str
    ttl: int = DEFAULT_TTL
    comment: str = ""


@dataclass(frozen=True)
class MailSite:
    """What the records depend on."""

    domain: str
    mx_hosts: list[str]
    imap_host: str
    submission_host: str
    web_host: str
    dkim_selector: str = DEFAULT_SELECTOR
    dkim_record: str | None = None
    dmarc_policy: str = "quarantine"
    mta_sts_mode: str = "testing"
    report_address: str = ""
    # The video host (group video) and its media ports, if the site has one.
    video_host: str | None = None
    video_ports: str = "UDP 3478, TCP 5349 (TURN over TLS), UDP 10000-20000 (media)"
    # The office hosts (group office): remote desktops over RDP.
    office_hosts: list[str] = field(default_factory=list)
    office_port: int = 3389

    @property
    def reports(self) -> str:
        return self.report_address or f"postmaster@{self.domain}"


@dataclass
class Zone:
    """Records plus the files that go with them (MTA-STS policy)."""

    origin: str
    records: list[Record] = field(default_factory=list)
    mta_sts_policy: str = ""
    missing: list[str] = field(default_factory=list)


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def mta_sts_policy(site: MailSite) -> str:
    """The policy file served at https://mta-sts.<domain>/.well-known/mta-sts.txt."""
    lines = ["version: STSv1", f"mode: {site.mta_sts_mode}"]
    lines += [f"mx: {host}" for host in site.mx_hosts]
    lines.append("max_age: 604800")
    return "\r\n".join(lines) + "\r\n"


def build(site: MailSite) -> Zone:
    """Every mail record of the site, in the order a zone file reads best."""
    zone = Zone(origin=fqdn(site.domain), mta_sts_policy=mta_sts_policy(site))
    add = zone.records.append
    for preference, host in enumerate(site.mx_hosts, start=1):
        add(Record("@", "MX", f"{preference * 10} {fqdn(host)}", comment="mail exchanger"))
    add(Record("@", "TXT", "v=spf1 mx -all", comment="SPF: only the MX hosts send"))
    dkim_name = f"{site.dkim_selector}._domainkey"
    if site.dkim_record:
        add(Record(dkim_name, "TXT", site.dkim_record, comment="DKIM public key"))
    else:
        zone.missing.append(dkim_name)
    add(
        Record(
            "_dmarc",
            "TXT",
            f"v=DMARC1; p={site.dmarc_policy}; adkim=s; aspf=s; rua=mailto:{site.reports}",
            comment="DMARC policy",
        )
    )
    policy_id = hashlib.sha256(zone.mta_sts_policy.encode()).hexdigest()[:20]
    add(Record("_mta-sts", "TXT", f"v=STSv1; id={policy_id}", comment="MTA-STS policy id"))
    add(Record("mta-sts", "CNAME", fqdn(site.web_host), comment="serves the MTA-STS policy"))
    add(Record("_smtp._tls", "TXT", f"v=TLSRPTv1; rua=mailto:{site.reports}", comment="TLS-RPT"))
    # RFC 6186 / RFC 8314: how mail clients find the servers.
    add(Record("_submissions._tcp", "SRV", f"0 1 465 {fqdn(site.submission_host)}"))
    add(Record("_submission._tcp", "SRV", f"0 1 587 {fqdn(site.submission_host)}"))
    add(Record("_imaps._tcp", "SRV", f"0 1 993 {fqdn(site.imap_host)}"))
    add(Record("_imap._tcp", "SRV", f"0 1 143 {fqdn(site.imap_host)}"))
    add(Record("_pop3._tcp", "SRV", "0 0 0 .", comment="no POP3"))
    add(Record("_pop3s._tcp", "SRV", "0 0 0 .", comment="no POP3"))
    add(Record("autoconfig", "CNAME", fqdn(site.web_host), comment="Thunderbird autoconfig"))
    add(Record("autodiscover", "CNAME", fqdn(site.web_host), comment="Outlook autodiscover"))
    add(Record("_autodiscover._tcp", "SRV", f"0 1 443 autodiscover.{fqdn(site.domain)}"))
    # The web services behind the front (web_front, sso, groupware, drive).
    add(Record("auth", "CNAME", fqdn(site.web_host), comment="single sign-on portal"))
    add(Record("manager", "CNAME", fqdn(site.web_host), comment="portal manager (administrators)"))
    add(Record("mail", "CNAME", fqdn(site.web_host), comment="webmail, agendas, DAV, ActiveSync"))
    add(Record("pki", "CNAME", fqdn(site.web_host), comment="the internal CA's revocation list"))
    add(Record("drive", "CNAME", fqdn(site.web_host), comment="drive, in the browser (portal)"))
    add(Record("dav", "CNAME", fqdn(site.web_host), comment="drive for native WebDAV clients"))
    if site.video_host:
        add(Record("visio", "CNAME", fqdn(site.web_host), comment="meetings (portal)"))
        add(
            Record(
                "turn",
                "CNAME",
                fqdn(site.video_host),
                comment=f"TURN and media: reachable from outside on {site.video_ports}",
            )
        )
    if site.office_hosts:
        add(Record("bureau", "CNAME", fqdn(site.web_host), comment="Bureau virtuel page (portal)"))
    # Agents' RDP clients dial office.<domain> (office1, office2… with several
    # hosts: xrdp has no broker, an agent keeps the host of her session).
    for number, host in enumerate(site.office_hosts, start=1):
        name = "office" if len(site.office_hosts) == 1 else f"office{number}"
        if fqdn(host) != fqdn(f"{name}.{site.domain}"):
            add(
                Record(
                    name,
                    "CNAME",
                    fqdn(host),
                    comment=f"remote desktops (RDP, TCP {site.office_port}, "
                    "from the networks of office__rdp_networks)",
                )
            )
    return zone


def txt_strings(value: str) -> str:
    """A TXT value as quoted strings of at most 255 characters each."""
    chunks = [value[i : i + TXT_CHUNK] for i in range(0, len(value), TXT_CHUNK)] or [""]
    quoted = ['"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks]
    return quoted[0] if len(quoted) == 1 else "( " + " ".join(quoted) + " )"


def render_zone(zone: Zone) -> str:
    """The records in zone-file syntax, ready to paste into the domain's zone."""
    lines = [
        f"; Mail records of {zone.origin} (generated by `bureau dns`)",
        f"$ORIGIN {zone.origin}",
    ]
    for record in zone.records:
        value = txt_strings(record.value) if record.type == "TXT" else record.value
        line = f"{record.name:<20} {record.ttl:>6} IN {record.type:<5} {value}"
        lines.append(f"{line} ; {record.comment}" if record.comment else line)
    for name in zone.missing:
        lines.append(
            f"; MISSING {name} TXT: no DKIM key found; deploy the filtering role, then run again"
        )
    lines.append("")
    lines.append(f"; https://mta-sts.{zone.origin.rstrip('.')}/.well-known/mta-sts.txt:")
    lines += [f";   {line}" for line in zone.mta_sts_policy.splitlines()]
    return "\n".join(lines) + "\n"


def render_json(zone: Zone) -> str:
    data: dict[str, Any] = {
        "origin": zone.origin,
        "records": [asdict(r) for r in zone.records],
        "mta_sts_policy": zone.mta_sts_policy,
        "missing": zone.missing,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _literal(value: Any) -> str | None:
    """A string setting written literally (not a Jinja expression), else None."""
    if isinstance(value, str) and value and "{{" not in value and "{%" not in value:
        return value
    return None


def _host_name(variables: dict[str, Any], host: str, keys: tuple[str, ...]) -> str:
    for key in keys:
        name = _literal(variables.get(key))
        if name:
            return name
    return host


def site_from_inventory(inventory: inv.Inventory, dkim_directory: Path) -> MailSite:
    """Read the mail site of an inventory; BadInput names what is missing."""
    settings = inventory.group_vars.get("all", {})
    domain = _literal(settings.get("bureau__domain"))
    hosts_file = inv.shown(inventory.hosts_file)
    if not domain:
        raise BadInput(
            "the inventory sets no domain",
            [
                Problem(
                    file=f"{inv.shown(inventory.path)}/group_vars/all",
                    key="bureau__domain",
                    message="missing (or not a plain value)",
                    fix="set `bureau__domain: gouv.tg` in group_vars/all/site.yml",
                )
            ],
        )
    mx = inventory.members("mail_transfer")
    mailbox = inventory.members("mailbox")
    if not mx or not mailbox:
        raise BadInput(
            "the inventory has no mail hosts",
            [
                Problem(
                    file=hosts_file,
                    key="mail_transfer" if not mx else "mailbox",
                    message="the group has no hosts",
                    fix="add the mail hosts to the mail_transfer and mailbox groups",
                )
            ],
        )
    mx_names = [
        _host_name(inventory.variables(h), h, ("mail_transfer__hostname", "pki__host_name"))
        for h in mx
    ]
    first_mailbox = inventory.variables(mailbox[0])
    imap = _literal(first_mailbox.get("mailbox__imap_hostname")) or f"imap.{domain}"
    submission = _literal(first_mailbox.get("mailbox__submission_hostname")) or f"smtp.{domain}"
    web = inventory.members("web_front") or mailbox
    web_host = _host_name(inventory.variables(web[0]), web[0], ("pki__host_name",))
    filters = inventory.members("filtering")
    selector = DEFAULT_SELECTOR
    if filters:
        selector = (
            _literal(inventory.variables(filters[0]).get("filtering__dkim_selector"))
            or DEFAULT_SELECTOR
        )
    video = inventory.members("video")
    video_host = None
    video_ports = MailSite.video_ports
    if video:
        found = inventory.variables(video[0])
        video_host = _host_name(found, video[0], ("pki__host_name",))
        turn = str(found.get("video__turn_port", 3478))
        tls = str(found.get("video__turn_tls_port", 5349))
        rtp = _literal(found.get("video__rtp_port_range")) or "10000-20000"
        video_ports = f"UDP {turn}, TCP {tls} (TURN over TLS), UDP {rtp} (media)"
    office = inventory.members("office")
    office_hosts = [
        _host_name(inventory.variables(host), host, ("pki__host_name",)) for host in office
    ]
    port = str(inventory.variables(office[0]).get("office__rdp_port", "")) if office else ""
    office_port = int(port) if port.isdigit() else 3389
    return MailSite(
        domain=domain,
        video_host=video_host,
        video_ports=video_ports,
        office_hosts=office_hosts,
        office_port=office_port,
        mx_hosts=mx_names,
        imap_host=imap,
        submission_host=submission,
        web_host=web_host,
        dkim_selector=selector,
        dkim_record=read_dkim_record(dkim_directory, domain, selector),
        dmarc_policy=_literal(settings.get("bureau__dmarc_policy")) or "quarantine",
        mta_sts_mode=_literal(settings.get("bureau__mta_sts_mode")) or "testing",
    )


def read_dkim_record(directory: Path, domain: str, selector: str) -> str | None:
    """The TXT value written by the filtering role, or None when not fetched yet."""
    path = directory / f"{domain}.{selector}.txt"
    if not path.is_file():
        return None
    text = " ".join(path.read_text(encoding="utf-8").split())
    if not text.startswith("v=DKIM1;") or "p=" not in text:
        raise BadInput(
            f"{path} is not a DKIM record",
            [
                Problem(
                    file=str(path),
                    key="p",
                    message="expected `v=DKIM1; k=rsa; p=<base64 key>`",
                    fix="delete the file and run the filtering role again to fetch it",
                )
            ],
        )
    return text
