"""`bureau audit`: what Bureau's checks, ANSSI BP-028 and a dry run say of live hosts.

Four parts, all read-only by default (docs/audit.md):

- checks:  the `readonly` testinfra checks of tests/infra for the roles each
           host carries, over Ansible's own connection (testinfra's ansible
           backend with the inventory), expected values from the inventory;
- anssi:   OpenSCAP's BP-028 profile on each host (playbooks/audit.yml), the
           XCCDF results fetched back and read here;
- drift:   what `playbooks/site.yml --check --diff` would change now;
- hygiene: pending security updates (a simulated upgrade) and certificates
           inside the pki role's renewal window.

Everything the operator gives is validated first (`prepare`): bad input is
BadInput (exit 2) before any host is contacted.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bureau.core import check, controls, runner, vault, xccdf
from bureau.core import waivers as waiver_files
from bureau.core.deploy import run_environment
from bureau.core.inventory import Inventory, shown
from bureau.core.playbooks import roles_of
from bureau.core.settings import STATE_DIR
from bureau.errors import BadInput, Problem

PROFILES = ("minimal", "intermediary", "enhanced")
PROFILE_ID = "xccdf_org.ssgproject.content_profile_anssi_bp28_{}"
PARTS = ("checks", "anssi", "drift", "hygiene")
AUDIT_PLAYBOOK = "audit.yml"
SITE_PLAYBOOK = "site.yml"
# The checks of a role live in tests/infra/<role>, or in the directory of the
# capability it serves (tests/unit/test_molecule.py holds the suite to it).
CHECK_DIRS = {
    "filtering": "mail",
    "mail_transfer": "mail",
    "mailbox": "mail",
    "postgresql": "web_front",
}
# The variable that says an inventory is production (inventory-schema.yml).
ENVIRONMENT_VAR = "bureau__environment"
STATUSES = ("pass", "fail", "waived", "notapplicable")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    inventory: Path
    limit: str | None = None
    profile: str = "intermediary"
    out: Path | None = None
    include_writes: bool = False
    parts: tuple[str, ...] = PARTS
    # Hosts whose checks run at once (each a pytest process on this machine,
    # waiting on the hosts most of the time).
    jobs: int = 4
    today: datetime.date = field(default_factory=datetime.date.today)


@dataclass
class Finding:
    """One control's outcome on one host."""

    part: str
    id: str
    title: str
    status: str
    evidence: str = ""
    remediation: str = ""
    implemented_by: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    waiver: waiver_files.Waiver | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "implemented_by": self.implemented_by,
            "references": self.references,
            "waiver": self.waiver.as_dict() if self.waiver else None,
        }


@dataclass
class HostAudit:
    host: str
    roles: list[str]
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def counts(self, part: str | None = None) -> dict[str, int]:
        found = dict.fromkeys(STATUSES, 0)
        for finding in self.findings:
            if part is None or finding.part == part:
                found[finding.status] += 1
        return found


@dataclass
class Audit:
    inventory: str
    profile: str
    parts: tuple[str, ...]
    started: str
    include_writes: bool = False
    seconds: float = 0.0
    hosts: list[HostAudit] = field(default_factory=list)
    waivers_expired: list[waiver_files.Waiver] = field(default_factory=list)
    out: Path | None = None

    def counts(self) -> dict[str, int]:
        total = dict.fromkeys(STATUSES, 0)
        for host in self.hosts:
            for status, count in host.counts().items():
                total[status] += count
        return total

    def waivers_applied(self) -> list[waiver_files.Waiver]:
        seen: dict[tuple[str, str], waiver_files.Waiver] = {}
        for host in self.hosts:
            for finding in host.findings:
                if finding.waiver:
                    seen[(finding.waiver.scope, finding.waiver.id)] = finding.waiver
        return sorted(seen.values(), key=lambda w: (w.scope, w.id))

    @property
    def exit_code(self) -> int:
        return 1 if self.counts()["fail"] else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "inventory": self.inventory,
            "profile": self.profile,
            "parts": list(self.parts),
            "include_writes": self.include_writes,
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "exit_code": self.exit_code,
            "totals": self.counts(),
            "hosts": [
                {
                    "host": h.host,
                    "roles": h.roles,
                    "seconds": {k: round(v, 1) for k, v in h.seconds.items()},
                    "totals": h.counts(),
                    "notes": h.notes,
                    "findings": [f.as_dict() for f in h.findings],
                }
                for h in self.hosts
            ],
            "waivers_applied": [w.as_dict() for w in self.waivers_applied()],
            "waivers_expired": [w.as_dict() for w in self.waivers_expired],
        }


# --- preparation: every input checked before a host is contacted ----------------


@dataclass
class Plan:
    project: Path
    options: Options
    inventory: Inventory
    hosts: list[str]
    roles: dict[str, list[str]]
    waivers: list[waiver_files.Waiver]
    waivers_file: Path
    out: Path
    vault_password: Path | None


def is_production(inventory: Inventory, hosts: list[str]) -> bool:
    """An inventory is production when `bureau__environment: production` is set
    for group all or for any audited host."""
    if inventory.group_vars.get("all", {}).get(ENVIRONMENT_VAR) == "production":
        return True
    return any(inventory.variables(h).get(ENVIRONMENT_VAR) == "production" for h in hosts)


def _ansible_inventory(path: Path) -> tuple[Any, Any]:
    from ansible import constants
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    # Plays of site.yml name groups an inventory may not have: not worth a warning
    # here (a --limit that matches nothing is reported by select_hosts).
    constants.HOST_PATTERN_MISMATCH = "ignore"

    loader = DataLoader()
    return loader, InventoryManager(loader=loader, sources=[str(path)])


def select_hosts(inventory: Inventory, manager: Any, limit: str | None) -> list[str]:
    """The inventory's hosts that `limit` (Ansible's pattern syntax) selects."""
    if not limit:
        return [h.name for h in manager.get_hosts()]
    hosts = [h.name for h in manager.get_hosts(limit)]
    if not hosts:
        groups = sorted(g for g in inventory.groups if g not in ("all", "ungrouped"))
        raise BadInput(
            f"--limit {limit} selects no host of the inventory",
            [
                Problem(
                    shown(inventory.hosts_file),
                    "--limit",
                    f"'{limit}' matches no host or group of {shown(inventory.hosts_file)}",
                    f"give a host or group of the inventory; groups: {', '.join(groups)}",
                )
            ],
        )
    return hosts


def prepare(options: Options, project: Path) -> Plan:
    """Validate the options, the inventory and the waivers; nothing is contacted."""
    if options.profile not in PROFILES:
        raise BadInput(
            f"unknown profile '{options.profile}'",
            [Problem("--profile", "--profile", "unknown", f"one of: {', '.join(PROFILES)}")],
        )
    if options.jobs < 1:
        raise BadInput(
            f"--jobs {options.jobs}",
            [Problem("--jobs", "--jobs", "must be 1 or more", "e.g. --jobs 4")],
        )
    unknown = [p for p in options.parts if p not in PARTS]
    if unknown or not options.parts:
        raise BadInput(
            f"unknown part(s): {', '.join(unknown) or '(none)'}",
            [Problem("--part", "--part", "unknown", f"one or more of: {', '.join(PARTS)}")],
        )
    # The vault is not read: the audit reads the hosts, `bureau check` the secrets.
    inventory = check.require_valid(
        options.inventory, project, secrets=False, unchanged="no host was contacted"
    )
    loader, manager = _ansible_inventory(inventory.hosts_file)
    hosts = select_hosts(inventory, manager, options.limit)
    if options.include_writes and is_production(inventory, hosts):
        raise BadInput(
            "--include-writes is refused on a production inventory",
            [
                Problem(
                    shown(inventory.path / "group_vars" / "all"),
                    ENVIRONMENT_VAR,
                    "the inventory says production; checks that write (mails, events, "
                    "test agents) are never run against it",
                    "audit without --include-writes (the read-only checks), or run the "
                    "writing checks against staging",
                )
            ],
        )
    waivers_file = waiver_files.inventory_file(inventory.path)
    waivers = waiver_files.merged(waiver_files.default_file(), waivers_file)
    if "checks" in options.parts and importlib.util.find_spec("testinfra") is None:
        raise BadInput(
            "the checks need pytest-testinfra",
            [
                Problem(
                    "(python environment)",
                    "testinfra",
                    "pytest and pytest-testinfra are not installed beside bureau",
                    "install the test tools: pip install -e '.[test]' (or `make venv`), "
                    "or leave the checks out: --part anssi --part drift --part hygiene",
                )
            ],
        )
    out = options.out or (
        project
        / STATE_DIR
        / "audit"
        / f"{inventory.name}-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"
    )
    if out.exists() and not out.is_dir():
        raise BadInput(
            f"--out {shown(out)} is a file",
            [Problem(shown(out), "--out", "not a directory", "give a directory (made if missing)")],
        )
    password = vault.password_file(project, inventory.name)
    site = project / "playbooks" / SITE_PLAYBOOK
    roles = {host: roles_of(loader, manager, host, site) for host in hosts}
    return Plan(
        project=project,
        options=options,
        inventory=inventory,
        hosts=hosts,
        roles=roles,
        waivers=waivers,
        waivers_file=waivers_file,
        out=out,
        vault_password=password if password.is_file() else None,
    )


# --- running -------------------------------------------------------------------


def run(plan: Plan, log: Log = lambda _line: None) -> Audit:
    """Audit every host of the plan; never changes a host (unless --include-writes)."""
    options = plan.options
    plan.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    audit = Audit(
        inventory=shown(plan.inventory.path),
        profile=options.profile,
        parts=options.parts,
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        include_writes=options.include_writes,
        waivers_expired=waiver_files.expired(plan.waivers, options.today),
        out=plan.out,
    )
    by_host = {host: HostAudit(host, plan.roles[host]) for host in plan.hosts}
    audit.hosts = list(by_host.values())
    if "anssi" in options.parts or "hygiene" in options.parts:
        log(f"audit: OpenSCAP, updates and certificates on {len(plan.hosts)} host(s)")
        gather(plan, by_host)
    if "drift" in options.parts:
        log(f"audit: what a deploy would change ({SITE_PLAYBOOK} --check --diff)")
        drift(plan, by_host)
    if "checks" in options.parts:
        log(f"audit: Bureau's checks on {len(plan.hosts)} host(s), {options.jobs} at a time")
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            list(pool.map(lambda host: run_checks(plan, by_host[host]), plan.hosts))
    apply_waivers(audit, plan.waivers, options.today)
    audit.seconds = time.monotonic() - started
    return audit


def apply_waivers(audit: Audit, waivers: list[waiver_files.Waiver], today: datetime.date) -> None:
    """A failing finding with a live waiver of its scope becomes `waived`."""
    scopes = {"checks": "testinfra", "anssi": "openscap", "drift": "audit", "hygiene": "audit"}
    live = {scope: waiver_files.live(waivers, today, scope) for scope in set(scopes.values())}
    for host in audit.hosts:
        for finding in host.findings:
            if finding.status != "fail":
                continue
            waiver = live[scopes[finding.part]].get(finding.id)
            if waiver is not None:
                finding.status = "waived"
                finding.waiver = waiver


def _ansible_run(
    plan: Plan, playbook: str, *, check_mode: bool, extra: dict[str, str], handle: Callable
) -> runner.DeployResult:
    request = runner.DeployRequest(
        project=plan.project,
        inventory=plan.inventory.hosts_file
        if plan.inventory.hosts_file.name not in ("hosts.yml", "hosts.yaml")
        else plan.inventory.path,
        playbook=runner.resolve_playbook(plan.project, playbook),
        limit=",".join(plan.hosts),
        check=check_mode,
        vault_password_file=plan.vault_password,
        environment=run_environment(plan.project, plan.inventory),
        extra_vars=tuple(extra.items()),
        log_name="audit",
    )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run_plan = runner.plan(
        request,
        bin_dir=Path(sys.executable).parent,
        path_env=os.environ.get("PATH", ""),
        stamp=stamp,
    )
    return runner.execute(run_plan, handle)


def _event_host_task(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    data = event.get("event_data") or {}
    return str(data.get("host", "")), str(data.get("task", "")), data.get("res") or {}


# ANSSI and hygiene: playbooks/audit.yml gathers, this reads.


def gather(plan: Plan, by_host: dict[str, HostAudit]) -> None:
    found: dict[str, dict[str, Any]] = {}
    unreachable: dict[str, str] = {}
    started = time.monotonic()

    def handle(event: dict[str, Any]) -> None:
        host, task, res = _event_host_task(event)
        kind = event.get("event")
        if kind == "runner_on_ok" and "audit__found" in res:
            found[host] = res["audit__found"]
        elif kind in ("runner_on_unreachable", "runner_on_failed") and host in by_host:
            unreachable[host] = f"{task}: {res.get('msg', '')}".strip()

    extra = {
        "audit__out": str(plan.out.resolve()),
        "audit__profile": PROFILE_ID.format(plan.options.profile),
    }
    result = _ansible_run(plan, AUDIT_PLAYBOOK, check_mode=False, extra=extra, handle=handle)
    elapsed = time.monotonic() - started
    tasks = controls.hardening_tasks(plan.project)
    for host, audited in by_host.items():
        audited.seconds["gather"] = elapsed
        facts = found.get(host)
        if facts is None:
            reason = unreachable.get(host) or f"no answer; see {shown(result.log_path)}"
            for part in ("anssi", "hygiene"):
                if part in plan.options.parts:
                    audited.findings.append(
                        Finding(
                            part,
                            f"{part}-run",
                            f"{part} facts gathered",
                            "fail",
                            reason,
                            f"reach the host with Ansible; log: {shown(result.log_path)}",
                        )
                    )
            continue
        if "anssi" in plan.options.parts:
            audited.findings += anssi_findings(plan, host, facts, tasks)
            if facts.get("datastream"):
                lifted = facts.get("platform_lifted") in (True, "True", "true")
                audited.notes.append(
                    f"OpenSCAP evaluated {facts['datastream']} on Debian {facts.get('release')}"
                    + (
                        " (the content's own Debian release lifted from its platforms)"
                        if lifted
                        else ""
                    )
                )
            skipped = facts.get("skipped_rules") or []
            if skipped:
                audited.notes.append(
                    f"OpenSCAP left out {len(skipped)} rule(s) on this host, as its inventory's "
                    f"audit__skip_rules says: {', '.join(map(str, skipped))}"
                )
        if "hygiene" in plan.options.parts:
            audited.findings += hygiene_findings(facts, plan.options.today)


def anssi_findings(
    plan: Plan, host: str, facts: dict[str, Any], tasks: list[controls.Task]
) -> list[Finding]:
    deploy = f"bureau deploy -i {shown(plan.inventory.path)} --limit {host} --tags hardening"
    if not facts.get("scanner"):
        return [
            Finding(
                "anssi",
                "anssi-scanner",
                "OpenSCAP scanner installed",
                "fail",
                "oscap is not installed on the host",
                "keep hardening__compliance_scanner true (the default) and run "
                f"`{deploy}`: it installs openscap-scanner and ssg-debian from the site's mirror",
            )
        ]
    if not facts.get("datastream"):
        return [
            Finding(
                "anssi",
                "anssi-content",
                "ANSSI BP-028 content installed",
                "fail",
                "no ssg-debian data stream with BP-028 profiles "
                f"(looked for {', '.join(facts.get('datastreams_sought') or [])})",
                f"install ssg-debian 0.1.76 or newer (Debian 13's): `{deploy}`",
            )
        ]
    results = plan.out / host / "xccdf-results.xml"
    try:
        scan = xccdf.parse(results)
    except xccdf.XccdfError as err:
        return [
            Finding(
                "anssi",
                "anssi-scan",
                "OpenSCAP evaluation",
                "fail",
                f"{err}; oscap said: {facts.get('oscap_stderr', '')[-500:]}",
                "run the same oscap command on the host by hand (docs/audit.md)",
            )
        ]
    findings = []
    for rule in scan.selected():
        status = {
            "pass": "pass",
            "fixed": "pass",
            "notapplicable": "notapplicable",
            "informational": "notapplicable",
        }.get(rule.result, "fail")
        implemented = controls.implementing(tasks, rule.rule_id, rule.anssi)
        remediation = (
            f"Bureau implements it: {'; '.join(str(t) for t in implemented)} — `{deploy}`"
            if implemented
            else (
                "not implemented by Bureau; the content's own fix (sh):\n" + rule.fix[:1500]
                if rule.fix
                else "not implemented by Bureau; the content gives no fix"
            )
        )
        findings.append(
            Finding(
                "anssi",
                rule.rule_id,
                rule.title,
                status,
                f"oscap: {rule.result} (severity {rule.severity or 'unknown'})",
                remediation if status == "fail" else "",
                [str(t) for t in implemented],
                list(rule.anssi),
            )
        )
    return findings


_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.+?)(?: \[\S+\])?\)")


def pending_upgrades(simulation: str) -> list[tuple[str, str, str, bool]]:
    """(package, installed, candidate, security) of an `apt-get -s upgrade` output."""
    found = []
    for line in simulation.splitlines():
        match = _INST.match(line)
        if match:
            origin = match[4]
            security = "security" in origin.lower()
            found.append((match[1], match[2] or "", match[3], security))
    return found


def hygiene_findings(facts: dict[str, Any], today: datetime.date) -> list[Finding]:
    findings = []
    listed = facts.get("pending_updates")
    if isinstance(listed, dict):
        # /usr/local/sbin/bureau-pending-updates of the base role
        upgrades = [
            (str(item["name"]), str(item["installed"]), str(item["available"]), kind == "security")
            for kind in ("security", "other")
            for item in listed.get(kind) or []
        ]
    else:
        upgrades = pending_upgrades(str(facts.get("apt_simulation", "")))
    security = [u for u in upgrades if u[3]]
    lists = facts.get("apt_lists_updated") or "unknown"
    evidence = (
        f"{len(security)} security update(s) pending, {len(upgrades) - len(security)} other(s); "
        f"package lists of {lists}; "
        + ("bureau-pending-updates" if isinstance(listed, dict) else "apt-get --simulate upgrade")
    )
    if security:
        evidence += ": " + ", ".join(f"{p} {old} → {new}" for p, old, new, _ in security[:40])
    findings.append(
        Finding(
            "hygiene",
            "security-updates",
            "No security update pending",
            "fail" if security else "pass",
            evidence,
            "let unattended-upgrades run, or `apt-get upgrade` from the site's mirror "
            "(the base role's `base__upgrade`); the audit reads the host's package lists "
            "as they are (it does not update them)"
            if security
            else "",
        )
    )
    window = int(facts.get("renew_before_days") or 30)
    for path, output in facts.get("certificates") or []:
        fields = dict(line.split("=", 1) for line in str(output).splitlines() if "=" in line)
        end = _openssl_date(fields.get("notAfter", ""))
        if end is None:
            findings.append(
                Finding(
                    "hygiene",
                    f"certificate:{path}",
                    f"Certificate {path}",
                    "fail",
                    f"openssl cannot read it: {str(output)[:300]}",
                    "check the file (pki role)",
                )
            )
            continue
        days = (end.date() - today).days
        ok = days > window
        findings.append(
            Finding(
                "hygiene",
                f"certificate:{path}",
                f"Certificate {path} outside the renewal window",
                "pass" if ok else "fail",
                f"{fields.get('subject', '').strip()}; expires {end:%Y-%m-%d} ({days} days); "
                f"renewal window {window} days (pki__renew_before_days)",
                ""
                if ok
                else "run `bureau deploy --tags pki` on the host: the pki role "
                "renews certificates inside the window",
            )
        )
    return findings


def _openssl_date(text: str) -> datetime.datetime | None:
    """`notAfter=Jan  5 12:00:00 2027 GMT` → datetime."""
    value = text.split("=", 1)[-1].strip()
    value = " ".join(value.split())
    try:
        return datetime.datetime.strptime(value, "%b %d %H:%M:%S %Y %Z")
    except ValueError:
        return None


# Drift: a dry run of site.yml.


def drift(plan: Plan, by_host: dict[str, HostAudit]) -> None:
    changed: dict[str, list[str]] = {h: [] for h in plan.hosts}
    failed: dict[str, list[str]] = {h: [] for h in plan.hosts}
    started = time.monotonic()

    def handle(event: dict[str, Any]) -> None:
        host, task, res = _event_host_task(event)
        if host not in changed:
            return
        kind = event.get("event")
        if kind == "runner_on_ok" and res.get("changed"):
            changed[host].append(task)
        elif kind == "runner_on_failed" and not (event.get("event_data") or {}).get(
            "ignore_errors"
        ):
            failed[host].append(f"{task}: {str(res.get('msg', ''))[:200]}")
        elif kind == "runner_on_unreachable":
            failed[host].append(f"unreachable: {str(res.get('msg', ''))[:200]}")

    result = _ansible_run(plan, SITE_PLAYBOOK, check_mode=True, extra={}, handle=handle)
    elapsed = time.monotonic() - started
    deploy = f"bureau deploy -i {shown(plan.inventory.path)} --limit"
    for host, audited in by_host.items():
        audited.seconds["drift"] = elapsed
        names = changed[host]
        problems = failed[host]
        if problems:
            evidence = "the dry run failed: " + "; ".join(problems[:10])
        elif names:
            evidence = f"{len(names)} task(s) would change: " + "; ".join(names)
        else:
            evidence = "no task would change"
        audited.findings.append(
            Finding(
                "drift",
                "drift",
                f"A deploy of {SITE_PLAYBOOK} changes nothing",
                "fail" if names or problems else "pass",
                evidence,
                f"review with `{deploy} {host} --check`, then deploy; "
                f"full output: {shown(result.log_path)}"
                if names or problems
                else "",
            )
        )


# Bureau's checks: the testinfra modules of tests/infra.


def check_files(project: Path, roles: list[str]) -> list[Path]:
    """The test modules of the roles a host carries, in the roles' order."""
    dirs: list[str] = []
    for role in roles:
        name = CHECK_DIRS.get(role, role)
        if name not in dirs and (project / "tests" / "infra" / name).is_dir():
            dirs.append(name)
    return [f for d in dirs for f in sorted((project / "tests" / "infra" / d).glob("test_*.py"))]


def pytest_command(plan: Plan, host: str, junit: Path, files: list[Path]) -> list[str]:
    kind = "writes" if plan.options.include_writes else "readonly"
    source = (
        plan.inventory.hosts_file
        if plan.inventory.hosts_file.name
        not in (
            "hosts.yml",
            "hosts.yaml",
        )
        else plan.inventory.path
    )
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--connection=ansible",
        f"--ansible-inventory={source}",
        f"--hosts={host}",
        f"--bureau-max-kind={kind}",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        *(str(f) for f in files),
    ]


def run_checks(plan: Plan, audited: HostAudit) -> None:
    started = time.monotonic()
    files = check_files(plan.project, audited.roles)
    if not files:
        audited.notes.append("no Bureau check for this host's roles")
        return
    junit = plan.out / audited.host / "checks-junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        BUREAU_INVENTORY=str(plan.inventory.path),
        ANSIBLE_CONFIG=str(plan.project / "ansible.cfg"),
        BUREAU_WAIVERS=str(plan.waivers_file),
        BUREAU_TEST_ARTIFACTS=str(plan.out / audited.host / "artifacts"),
        # testinfra calls ansible-inventory, beside the Python running bureau (the venv).
        PATH=os.pathsep.join(
            p for p in (str(Path(sys.executable).parent), os.environ.get("PATH", "")) if p
        ),
    )
    env.update(run_environment(plan.project, plan.inventory))
    if plan.vault_password:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(plan.vault_password)
    done = subprocess.run(
        pytest_command(plan, audited.host, junit, files),
        cwd=plan.project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    (plan.out / audited.host / "checks-output.txt").write_text(done.stdout + done.stderr)
    audited.seconds["checks"] = time.monotonic() - started
    roles = [r for r in audited.roles if CHECK_DIRS.get(r, r) in {f.parent.name for f in files}]
    if done.returncode not in (0, 1, 5) or not junit.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        audited.findings.append(
            Finding(
                "checks",
                "checks-run",
                "Bureau's checks ran",
                "fail",
                f"pytest exited {done.returncode}:\n{tail}",
                f"see {shown(plan.out / audited.host / 'checks-output.txt')}",
            )
        )
        return
    deploy = f"bureau deploy -i {shown(plan.inventory.path)} --limit {audited.host}"
    audited.findings += junit_findings(junit, roles, deploy, plan.waivers_file)


def check_id(classname: str, name: str) -> str:
    """A JUnit test case as the waivers name it: tests/infra/<role>/<module>.py::<check>."""
    path = classname.replace(".", "/") + ".py"
    if "tests/infra/" in path:
        path = "tests/infra/" + path.split("tests/infra/", 1)[1]
    return f"{path}::{name.split('[', 1)[0]}"


def junit_findings(junit: Path, roles: list[str], deploy: str, waivers_file: Path) -> list[Finding]:
    """Findings from pytest's JUnit file: a skip without a live waiver is a failure."""
    findings = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        ident = check_id(case.get("classname", ""), case.get("name", ""))
        name = ident.rsplit("::", 1)[-1]
        title = name.removeprefix("test_").replace("_", " ").capitalize()
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped")
        role = ident.split("/")[2] if ident.count("/") >= 3 else ""
        implemented = [r for r in roles if CHECK_DIRS.get(r, r) == role] or [role]
        if failure is not None:
            text = (failure.get("message") or "") + "\n" + (failure.text or "")
            status, evidence = "fail", _tail(text, 25)
            remediation = f"the role(s) {', '.join(implemented)} set this: `{deploy}`"
        elif skipped is not None:
            status = "fail"
            evidence = "skipped: " + (skipped.get("message") or "")
            remediation = (
                "a check skips only with a waiver (scope testinfra) in "
                f"{shown(waivers_file)} or src/bureau/data/waivers.yml"
            )
        else:
            status, evidence, remediation = "pass", "", ""
        findings.append(
            Finding(
                "checks",
                ident,
                title,
                status,
                evidence,
                remediation,
                [f"role {r}" for r in implemented],
            )
        )
    return findings


def _tail(text: str, lines: int) -> str:
    kept = text.strip().splitlines()
    return "\n".join(kept[:lines] + (["…"] if len(kept) > lines else []))


def load_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))
