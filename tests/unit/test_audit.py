"""`bureau audit` without hosts: bad input, waivers, XCCDF results, the
R-id → task map, and reports that agree."""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bureau.cli import main
from bureau.core import audit, audit_report, controls, waivers, xccdf
from bureau.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "data" / "xccdf-results.xml"
TODAY = datetime.date(2026, 12, 6)

PRODUCTION_SITE = """\
---
bureau__domain: gouv.tg
bureau__organisation: République Togolaise
bureau__environment: production
"""
PRODUCTION_HOSTS = """\
---
all:
  children:
    ca:
      hosts:
        ca1.gouv.tg:
"""

SITE_ONLY = """\
---
bureau__domain: gouv.tg
bureau__organisation: République Togolaise
ansible_connection: community.docker.docker
rehearsal__network: bureau-rehearsal
"""

WAIVER = """\
- id: {id}
  scope: {scope}
  justification: >-
    A reason long enough for an auditor who never saw the code to judge it.
  owner: site security officer
  expires: {expires}
"""


@pytest.fixture
def no_hosts_contacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the audit goes as far as Ansible or pytest."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a host was contacted")

    monkeypatch.setattr(audit, "gather", refuse)
    monkeypatch.setattr(audit, "drift", refuse)
    monkeypatch.setattr(audit, "run_checks", refuse)


# --- bad input: exit 2, a message naming what and the fix, nothing contacted ---


def test_unknown_profile_exits_2(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory()
    assert main(["audit", "-i", str(root), "--profile", "high"]) == 2
    assert "minimal" in capsys.readouterr().err


def test_unknown_limit_exits_2_naming_the_groups(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory()
    assert main(["audit", "-i", str(root), "--limit", "mail9.gouv.tg"]) == 2
    err = capsys.readouterr().err
    assert "mail9.gouv.tg" in err and "fix:" in err and "ca" in err
    assert "Traceback" not in err
    assert not (project / ".bureau" / "audit").exists()


def test_zero_jobs_exit_2(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "-i", str(make_inventory()), "--jobs", "0"]) == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_missing_and_broken_inventories_exit_2(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "-i", str(project / "inventories" / "nowhere")]) == 2
    assert "no such inventory" in capsys.readouterr().err
    root = make_inventory(hosts="---\nall:\n  children:\n    ca: [\n")
    assert main(["audit", "-i", str(root)]) == 2
    err = capsys.readouterr().err
    assert "hosts.yml:" in err and "no host was contacted" in err


def test_malformed_waivers_exit_2_with_file_line_field_and_fix(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    good = WAIVER.format(id="rule_a", scope="openscap", expires="2027-01-01")
    bad = (
        "- id: rule_b\n  scope: openscap\n  justification: short\n"
        "  owner: me\n  expires: next year\n"
    )
    root = make_inventory(extra={"audit-waivers.yml": good + bad})
    assert main(["audit", "-i", str(root)]) == 2
    err = capsys.readouterr().err
    assert "audit-waivers.yml:9: [1].justification: too short" in err
    assert "audit-waivers.yml:11: [1].expires: 'next year' is not a date" in err
    assert "YYYY-MM-DD" in err and "Traceback" not in err


def test_waivers_file_that_is_not_a_list_or_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "audit-waivers.yml"
    path.write_text("id: x\n", encoding="utf-8")
    with pytest.raises(BadInput, match="must be a list"):
        waivers.load(path)
    path.write_text("- id: [\n", encoding="utf-8")
    with pytest.raises(BadInput) as raised:
        waivers.load(path)
    assert raised.value.problems[0].line is not None


def test_an_impossible_date_is_bad_input_with_its_line(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory(
        extra={"audit-waivers.yml": WAIVER.format(id="r", scope="openscap", expires="2027-13-01")}
    )
    assert main(["audit", "-i", str(root)]) == 2
    err = capsys.readouterr().err
    assert "audit-waivers.yml:6: (value): a value cannot be read: month must be in 1..12" in err
    assert "Traceback" not in err


def test_include_writes_is_refused_on_production(
    make_inventory, project: Path, no_hosts_contacted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_inventory(
        name="production", hosts=PRODUCTION_HOSTS, site=PRODUCTION_SITE, rehearsal=None
    )
    assert main(["audit", "-i", str(root), "--include-writes"]) == 2
    err = capsys.readouterr().err
    assert "refused on a production inventory" in err and "bureau__environment" in err


def test_the_inventories_say_what_they_are() -> None:
    for name, expected in (("production", "production"), ("staging", "staging")):
        text = (ROOT / "inventories" / name / "group_vars" / "all" / "site.yml").read_text()
        assert f"bureau__environment: {expected}" in text


def test_an_inventory_as_molecule_writes_it_is_read(make_inventory, project: Path) -> None:
    """Molecule names its group variables file `group_vars/all`, without an
    extension; Ansible reads it, so do bureau check and bureau audit."""
    root = make_inventory(site=None, rehearsal=None)
    (root / "group_vars" / "all").rmdir()
    (root / "group_vars" / "all").write_text(SITE_ONLY, encoding="utf-8")
    plan = audit.prepare(audit.Options(inventory=root / "hosts.yml"), project)
    assert plan.inventory.variables("suite.gouv.tg")["bureau__domain"] == "gouv.tg"


def test_a_valid_inventory_makes_a_plan(make_inventory, project: Path) -> None:
    root = make_inventory()
    plan = audit.prepare(audit.Options(inventory=root, limit="ca"), project)
    assert plan.hosts == ["suite.gouv.tg"]
    assert plan.out.parent == project / ".bureau" / "audit"
    assert not plan.out.exists()  # made when the audit runs, not before


# --- waivers: merge and expiry ---------------------------------------------------


def test_the_inventory_waivers_override_the_project_ones_and_expire(tmp_path: Path) -> None:
    default = tmp_path / "default.yml"
    default.write_text(
        WAIVER.format(id="rule_a", scope="openscap", expires="2027-01-01")
        + WAIVER.format(id="rule_b", scope="openscap", expires="2026-12-01"),
        encoding="utf-8",
    )
    site = tmp_path / "audit-waivers.yml"
    site.write_text(WAIVER.format(id="rule_a", scope="openscap", expires="2026-11-30"))
    merged = waivers.merged(default, site, tmp_path / "absent.yml")
    assert {w.id: w.file for w in merged}["rule_a"].endswith("audit-waivers.yml")
    assert waivers.live(merged, TODAY) == {}
    assert {w.id for w in waivers.expired(merged, TODAY)} == {"rule_a", "rule_b"}
    assert set(waivers.live(merged, datetime.date(2026, 11, 30))) == {"rule_a", "rule_b"}


def test_the_project_waivers_load_with_the_shared_loader() -> None:
    loaded = waivers.load(waivers.default_file())
    assert {w.scope for w in loaded} >= {"openscap", "testinfra"}
    assert all(w.line for w in loaded)


def test_a_waiver_applies_to_a_failure_of_its_scope_only_while_live() -> None:
    waiver = waivers.Waiver(
        "xccdf_org.ssgproject.content_rule_sudo_add_umask",
        "openscap",
        "x" * 50,
        "hardening role",
        datetime.date(2027, 6, 1),
        "waivers.yml",
        3,
    )
    host = audit.HostAudit("h", [])
    host.findings = [
        audit.Finding("anssi", waiver.id, "sudo umask", "fail"),
        audit.Finding("checks", waiver.id, "same id, other scope", "fail"),
    ]
    report = audit.Audit("inv", "intermediary", audit.PARTS, "now", hosts=[host])
    audit.apply_waivers(report, [waiver], datetime.date(2027, 7, 1))
    assert [f.status for f in host.findings] == ["fail", "fail"]
    audit.apply_waivers(report, [waiver], TODAY)
    assert [f.status for f in host.findings] == ["waived", "fail"]
    assert report.waivers_applied() == [waiver]
    assert report.exit_code == 1


# --- XCCDF results ----------------------------------------------------------------


def test_xccdf_results_are_read_with_titles_references_and_fixes() -> None:
    scan = xccdf.parse(FIXTURE)
    assert scan.profile.endswith("anssi_bp28_intermediary")
    assert scan.benchmark_version == "0.1.76"
    assert scan.target == "audit1.gouv.tg"
    assert scan.counts() == {"fail": 2, "notapplicable": 1, "notselected": 1, "pass": 1}
    assert len(scan.selected()) == 4
    minlen = scan.results[0]
    assert minlen.title == "Ensure PAM Enforces a Minimum Password Length"
    assert minlen.anssi == ("R31", "R68")  # the CIS reference "5" is not an ANSSI id
    assert minlen.fix.startswith("echo minlen = 15 >>")


def test_a_file_without_results_is_an_xccdf_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text('<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2"/>')
    with pytest.raises(xccdf.XccdfError, match=r"no XCCDF 1\.2 TestResult"):
        xccdf.parse(path)
    path.write_text("<not xml")
    with pytest.raises(xccdf.XccdfError, match="not readable XML"):
        xccdf.parse(path)


# --- R-id → Bureau task ------------------------------------------------------------


def test_task_names_give_their_recommendations_and_ssg_rules() -> None:
    task = controls.parse_name(
        "R31 R68 | Require long passwords (ssg: accounts_password_pam_minlen, _minclass)", "f"
    )
    assert task is not None and task.ids == ("R31", "R68")
    assert task.ssg_rules == (
        "xccdf_org.ssgproject.content_rule_accounts_password_pam_minlen",
        "xccdf_org.ssgproject.content_rule_accounts_password_pam_minclass",
    )
    assert controls.parse_name("Install the hardening packages", "f") is None


def test_every_hardening_task_id_is_read_and_rules_find_their_tasks() -> None:
    tasks = controls.hardening_tasks(ROOT)
    ids = {i for t in tasks for i in t.ids}
    assert {"R31", "R68", "R73", "R79", "R80", "R9", "R12"} <= ids
    names = [t.name for t in tasks]
    # Every `Rnn |` task name of the role is read (blocks included).
    written = re.findall(
        r"^\s*(?:- name: \"?|name: >-\n\s*)?(R\d+(?: R\d+)* \|)",
        "\n".join(p.read_text() for p in (ROOT / "roles/hardening/tasks").glob("*.yml")),
        re.MULTILINE,
    )
    assert len(names) == len(written)
    scan = xccdf.parse(FIXTURE)
    by_rule = {r.rule_id: controls.implementing(tasks, r.rule_id, r.anssi) for r in scan.results}
    minlen = by_rule["xccdf_org.ssgproject.content_rule_accounts_password_pam_minlen"]
    assert [t.ids for t in minlen] == [("R31", "R68")]  # named by the task itself
    nft = by_rule["xccdf_org.ssgproject.content_rule_service_nftables_enabled"]
    assert nft and all("R80" in t.ids for t in nft)  # through its BP-028 reference
    assert by_rule["xccdf_org.ssgproject.content_rule_sudo_add_umask"] == []


# --- hygiene and checks' results ---------------------------------------------------

APT = """\
NOTE: This is only a simulation!
Inst libssl3t64 [3.5.1-1] (3.5.4-1~deb13u1 Debian-Security:13/stable-security [amd64])
Inst tzdata [2025b-4] (2025b-4+deb13u1 Debian:13.2/stable [all])
Conf libssl3t64 (3.5.4-1~deb13u1 Debian-Security:13/stable-security [amd64])
"""


def test_pending_upgrades_tell_security_from_the_rest() -> None:
    assert audit.pending_upgrades(APT) == [
        ("libssl3t64", "3.5.1-1", "3.5.4-1~deb13u1", True),
        ("tzdata", "2025b-4", "2025b-4+deb13u1", False),
    ]


def test_the_base_roles_listing_is_preferred_to_the_simulation() -> None:
    facts = {
        "pending_updates": {
            "security": [{"name": "libssl3t64", "installed": "3.5.1-1", "available": "3.5.4-1"}],
            "other": [],
        },
        "apt_simulation": "",
    }
    [updates] = audit.hygiene_findings(facts, TODAY)
    assert updates.status == "fail" and "libssl3t64 3.5.1-1 → 3.5.4-1" in updates.evidence
    [updates] = audit.hygiene_findings({"pending_updates": None, "apt_simulation": APT}, TODAY)
    assert updates.status == "fail" and "1 security update(s) pending, 1 other(s)" in (
        updates.evidence
    )


def test_certificates_inside_the_renewal_window_fail() -> None:
    facts = {
        "apt_simulation": "",
        "renew_before_days": "30",
        "certificates": [
            ["/etc/ssl/bureau/host.crt", "notAfter=Dec 20 10:00:00 2026 GMT\nsubject=CN=h"],
            ["/etc/ssl/bureau/ca.crt", "notAfter=Dec  3 10:00:00 2036 GMT\nsubject=CN=ca"],
            ["/etc/ssl/bureau/bad.crt", "Could not read certificate"],
        ],
    }
    found = {f.id: f for f in audit.hygiene_findings(facts, TODAY)}
    assert found["security-updates"].status == "pass"
    assert found["certificate:/etc/ssl/bureau/host.crt"].status == "fail"
    assert "14 days" in found["certificate:/etc/ssl/bureau/host.crt"].evidence
    assert found["certificate:/etc/ssl/bureau/ca.crt"].status == "pass"
    assert found["certificate:/etc/ssl/bureau/bad.crt"].status == "fail"


def test_check_results_become_findings_with_waiver_ids(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        """<testsuites><testsuite name="pytest">
        <testcase classname="tests.infra.base.test_base" name="test_time_is_synced[ansible://h]"/>
        <testcase classname="tests.infra.hardening.test_hardening"
                  name="test_sshd_refuses_passwords[ansible://h]">
          <failure message="AssertionError: PasswordAuthentication yes">details</failure>
        </testcase>
        <testcase classname="tests.infra.hardening.test_hardening"
                  name="test_kernel_network_settings[ansible://h]">
          <skipped message="no kernel of its own"/>
        </testcase></testsuite></testsuites>""",
        encoding="utf-8",
    )
    found = audit.junit_findings(
        junit, ["base", "hardening"], "bureau deploy -i x --limit h", tmp_path / "w.yml"
    )
    assert [(f.id, f.status) for f in found] == [
        ("tests/infra/base/test_base.py::test_time_is_synced", "pass"),
        ("tests/infra/hardening/test_hardening.py::test_sshd_refuses_passwords", "fail"),
        ("tests/infra/hardening/test_hardening.py::test_kernel_network_settings", "fail"),
    ]
    assert "PasswordAuthentication yes" in found[1].evidence
    assert found[1].implemented_by == ["role hardening"]


def test_a_host_gets_the_checks_of_its_roles() -> None:
    files = audit.check_files(ROOT, ["base", "mailbox", "postgresql", "filtering"])
    dirs = [f.parent.name for f in files]
    assert dirs[0] == "base" and "mail" in dirs and "web_front" in dirs
    assert dirs.index("mail") < dirs.index("web_front")


# --- reports agree -----------------------------------------------------------------


def _sample_audit() -> audit.Audit:
    waiver = waivers.Waiver("r2", "openscap", "y" * 50, "o", datetime.date(2027, 1, 1), "w.yml")
    one = audit.HostAudit("ldap1.gouv.tg", ["base", "hardening"], seconds={"checks": 3.0})
    one.findings = [
        audit.Finding("checks", "tests/infra/base/test_base.py::test_a", "A", "pass"),
        audit.Finding("checks", "tests/infra/base/test_base.py::test_b", "B <b>", "fail", "e"),
        audit.Finding("anssi", "r1", "R1", "pass", references=["R31"]),
        audit.Finding("anssi", "r2", "R2", "waived", waiver=waiver),
        audit.Finding("anssi", "r3", "R3", "notapplicable"),
        audit.Finding("drift", "drift", "D", "pass"),
    ]
    two = audit.HostAudit("ldap2.gouv.tg", ["base"])
    two.findings = [audit.Finding("hygiene", "security-updates", "U", "fail", "libssl3")]
    return audit.Audit("inventories/x", "intermediary", audit.PARTS, "t", hosts=[one, two])


def test_html_junit_and_json_reports_carry_the_same_counts(tmp_path: Path) -> None:
    report = _sample_audit()
    paths = audit_report.write(report, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["totals"] == {"pass": 3, "fail": 2, "waived": 1, "notapplicable": 1}
    assert data["exit_code"] == 1
    assert [w["id"] for w in data["waivers_applied"]] == ["r2"]
    suites = ET.parse(paths["junit"]).getroot()
    assert int(suites.get("tests", "")) == sum(data["totals"].values())
    assert int(suites.get("failures", "")) == data["totals"]["fail"]
    assert int(suites.get("skipped", "")) == data["totals"]["waived"] + 1
    assert len(suites.findall(".//failure")) == data["totals"]["fail"]
    html = paths["html"].read_text()
    for status, count in data["totals"].items():
        assert f'data-status="{status}">{count}<' in html
    assert "B &lt;b&gt;" in html  # escaped
    assert "http" not in html.split("<body>")[0]  # nothing loaded from elsewhere
