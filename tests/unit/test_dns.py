"""`bureau dns`: the records, their zone-file and JSON forms, reading the inventory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bureau.cli import main
from bureau.core import dns
from bureau.core import inventory as inv
from bureau.errors import BadInput

KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 348 + "IDAQAB"
RECORD = f"v=DKIM1; k=rsa; p={KEY}"


def site(**changes: object) -> dns.MailSite:
    values: dict[str, object] = {
        "domain": "gouv.tg",
        "mx_hosts": ["mx1.gouv.tg", "mx2.gouv.tg"],
        "imap_host": "imap.gouv.tg",
        "submission_host": "smtp.gouv.tg",
        "web_host": "web.gouv.tg",
        "dkim_selector": "mail",
        "dkim_record": RECORD,
    }
    values.update(changes)
    return dns.MailSite(**values)  # type: ignore[arg-type]


def by_name(zone: dns.Zone) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for r in zone.records:
        found.setdefault((r.name, r.type), []).append(r.value)
    return found


def test_records_cover_mail_delivery_authentication_and_clients() -> None:
    records = by_name(dns.build(site()))
    assert records[("@", "MX")] == ["10 mx1.gouv.tg.", "20 mx2.gouv.tg."]
    assert records[("@", "TXT")] == ["v=spf1 mx -all"]
    assert records[("mail._domainkey", "TXT")] == [RECORD]
    assert records[("_dmarc", "TXT")][0].startswith("v=DMARC1; p=quarantine;")
    assert records[("_mta-sts", "TXT")][0].startswith("v=STSv1; id=")
    assert records[("_submission._tcp", "SRV")] == ["0 1 587 smtp.gouv.tg."]
    assert records[("_submissions._tcp", "SRV")] == ["0 1 465 smtp.gouv.tg."]
    assert records[("_imaps._tcp", "SRV")] == ["0 1 993 imap.gouv.tg."]
    assert records[("_imap._tcp", "SRV")] == ["0 1 143 imap.gouv.tg."]
    assert records[("autoconfig", "CNAME")] == ["web.gouv.tg."]
    # The drive's two names, on the web front like the other web services.
    assert records[("drive", "CNAME")] == records[("dav", "CNAME")] == ["web.gouv.tg."]


def test_mta_sts_policy_lists_every_mx_and_its_id_follows_the_policy() -> None:
    first = dns.build(site())
    assert "mx: mx1.gouv.tg\r\nmx: mx2.gouv.tg\r\n" in first.mta_sts_policy
    assert first.mta_sts_policy.startswith("version: STSv1\r\nmode: testing\r\n")
    changed = dns.build(site(mx_hosts=["mx1.gouv.tg"]))
    ids = [by_name(z)[("_mta-sts", "TXT")][0] for z in (first, changed)]
    assert ids[0] != ids[1]


def test_long_txt_values_are_split_into_255_character_strings() -> None:
    text = dns.render_zone(dns.build(site()))
    line = next(x for x in text.splitlines() if x.startswith("mail._domainkey"))
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
    assert len(strings) == 2
    assert all(len(s) <= 255 for s in strings)
    assert "".join(strings) == RECORD


def test_short_txt_values_are_one_string() -> None:
    assert dns.txt_strings("v=spf1 mx -all") == '"v=spf1 mx -all"'


def test_zone_file_names_a_missing_dkim_key() -> None:
    zone = dns.build(site(dkim_record=None))
    assert zone.missing == ["mail._domainkey"]
    assert "; MISSING mail._domainkey TXT" in dns.render_zone(zone)


def test_json_form_has_every_record() -> None:
    zone = dns.build(site())
    data = json.loads(dns.render_json(zone))
    assert data["origin"] == "gouv.tg."
    assert len(data["records"]) == len(zone.records)
    assert {"name", "type", "value", "ttl", "comment"} <= set(data["records"][0])


def write_inventory(root: Path, selector_line: str = "") -> Path:
    path = root / "inventories" / "site"
    (path / "group_vars" / "all").mkdir(parents=True)
    (path / "host_vars").mkdir()
    (path / "hosts.yml").write_text(
        "all:\n  children:\n"
        "    mail_transfer:\n      hosts:\n        mx1.gouv.tg:\n        mx2.gouv.tg:\n"
        "    mailbox:\n      hosts:\n        mx1.gouv.tg:\n"
        "    filtering:\n      hosts:\n        mx1.gouv.tg:\n",
        encoding="utf-8",
    )
    (path / "group_vars" / "all" / "site.yml").write_text(
        "bureau__domain: gouv.tg\nbureau__organisation: Test\n", encoding="utf-8"
    )
    (path / "host_vars" / "mx1.gouv.tg.yml").write_text(
        selector_line or "filtering__dkim_selector: s2026\n", encoding="utf-8"
    )
    return path


def add_group(path: Path, group: str, host: str) -> None:
    """One more group of one host in the inventory write_inventory made."""
    hosts = path / "hosts.yml"
    hosts.write_text(
        hosts.read_text(encoding="utf-8") + f"    {group}:\n      hosts:\n        {host}:\n",
        encoding="utf-8",
    )


def test_a_site_with_a_video_host_gets_visio_and_turn_and_what_to_open() -> None:
    assert ("visio", "CNAME") not in by_name(dns.build(site()))
    zone = dns.build(site(video_host="video1.gouv.tg"))
    records = by_name(zone)
    assert records[("visio", "CNAME")] == ["web.gouv.tg."]
    assert records[("turn", "CNAME")] == ["video1.gouv.tg."]
    [turn] = [r for r in zone.records if r.name == "turn"]
    assert "UDP 3478" in turn.comment and "TCP 5349" in turn.comment
    assert "UDP 10000-20000" in turn.comment


def test_the_video_host_and_its_ports_are_read_from_the_inventory(tmp_path: Path) -> None:
    path = write_inventory(tmp_path)
    add_group(path, "video", "visio1.gouv.tg")
    (path / "host_vars" / "visio1.gouv.tg.yml").write_text(
        "video__rtp_port_range: 30000-39999\n", encoding="utf-8"
    )
    found = dns.site_from_inventory(inv.load(path), tmp_path)
    assert found.video_host == "visio1.gouv.tg"
    assert "UDP 30000-39999 (media)" in found.video_ports


def test_office_hosts_get_the_names_agents_dial() -> None:
    assert not [r for r in dns.build(site()).records if r.name.startswith("office")]
    records = by_name(dns.build(site(office_hosts=["rdp1.gouv.tg"])))
    assert records[("office", "CNAME")] == ["rdp1.gouv.tg."]
    assert records[("bureau", "CNAME")] == ["web.gouv.tg."]
    # Several hosts: one name each (an agent's session stays on its host).
    records = by_name(dns.build(site(office_hosts=["rdp1.gouv.tg", "rdp2.gouv.tg"])))
    assert records[("office1", "CNAME")] == ["rdp1.gouv.tg."]
    assert records[("office2", "CNAME")] == ["rdp2.gouv.tg."]
    # A host already named office.<domain> needs no alias.
    assert not [
        r for r in dns.build(site(office_hosts=["office.gouv.tg"])).records if r.name == "office"
    ]


def test_the_office_hosts_are_read_from_the_inventory(tmp_path: Path) -> None:
    path = write_inventory(tmp_path)
    add_group(path, "office", "rdp1.gouv.tg")
    found = dns.site_from_inventory(inv.load(path), tmp_path)
    assert found.office_hosts == ["rdp1.gouv.tg"]
    [record] = [r for r in dns.build(found).records if r.name == "office"]
    assert "TCP 3389" in record.comment


def test_site_is_read_from_the_inventory_and_the_fetched_key(tmp_path: Path) -> None:
    path = write_inventory(tmp_path)
    keys = tmp_path / "dkim"
    keys.mkdir()
    (keys / "gouv.tg.s2026.txt").write_text(RECORD + "\n", encoding="utf-8")
    found = dns.site_from_inventory(inv.load(path), keys)
    assert found.mx_hosts == ["mx1.gouv.tg", "mx2.gouv.tg"]
    assert found.dkim_selector == "s2026"
    assert found.dkim_record == RECORD
    assert found.web_host == "mx1.gouv.tg"


def test_a_broken_dkim_file_is_bad_input(tmp_path: Path) -> None:
    path = write_inventory(tmp_path)
    (tmp_path / "gouv.tg.s2026.txt").write_text("garbage", encoding="utf-8")
    with pytest.raises(BadInput, match="not a DKIM record"):
        dns.site_from_inventory(inv.load(path), tmp_path)


def test_an_inventory_without_mail_hosts_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "inv"
    (path / "group_vars" / "all").mkdir(parents=True)
    (path / "hosts.yml").write_text("all:\n  hosts:\n    a.gouv.tg:\n", encoding="utf-8")
    (path / "group_vars" / "all" / "site.yml").write_text("bureau__domain: gouv.tg\n")
    with pytest.raises(BadInput, match="no mail hosts"):
        dns.site_from_inventory(inv.load(path), tmp_path)


def test_command_prints_json_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_inventory(tmp_path)
    assert main(["dns", "-i", str(path), "--dkim-directory", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["missing"] == ["s2026._domainkey"]
