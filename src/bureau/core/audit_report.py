"""The audit's reports: one HTML page for an officer, JUnit XML for CI, JSON.

All three are written from the same `Audit` and carry the same counts
(tests/unit/test_audit_report.py holds them to it). The HTML page is one file
with its style inline: nothing is fetched from the Internet to read it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jinja2

from bureau.core.audit import STATUSES, Audit

REPORT_HTML = "report.html"
REPORT_JUNIT = "report-junit.xml"
REPORT_JSON = "report.json"
PART_TITLES = {
    "checks": "Bureau's checks",
    "anssi": "ANSSI BP-028 (OpenSCAP)",
    "drift": "Drift (site.yml --check)",
    "hygiene": "Updates and certificates",
}


def to_json(audit: Audit) -> str:
    return json.dumps(audit.as_dict(), indent=2, ensure_ascii=False)


def to_junit(audit: Audit) -> str:
    """One testsuite per host and part, one testcase per finding: a failure is a
    <failure>, a waived or not applicable control a <skipped> with the reason."""
    suites = ET.Element("testsuites", name=f"bureau audit {audit.inventory}")
    total = dict.fromkeys(STATUSES, 0)
    for host in audit.hosts:
        for part in audit.parts:
            findings = [f for f in host.findings if f.part == part]
            if not findings:
                continue
            counts = host.counts(part)
            suite = ET.SubElement(
                suites,
                "testsuite",
                name=f"{host.host} {part}",
                tests=str(len(findings)),
                failures=str(counts["fail"]),
                errors="0",
                skipped=str(counts["waived"] + counts["notapplicable"]),
                time=f"{host.seconds.get(part, host.seconds.get('gather', 0.0)):.1f}",
            )
            for finding in findings:
                total[finding.status] += 1
                case = ET.SubElement(
                    suite, "testcase", classname=f"{host.host}.{part}", name=finding.id
                )
                if finding.status == "fail":
                    failure = ET.SubElement(case, "failure", message=finding.title)
                    failure.text = f"{finding.evidence}\n\nremediation: {finding.remediation}"
                elif finding.status == "waived" and finding.waiver:
                    ET.SubElement(
                        case,
                        "skipped",
                        message=f"waived: {finding.waiver.justification} "
                        f"({finding.waiver.owner}, until {finding.waiver.expires})",
                    )
                elif finding.status == "notapplicable":
                    ET.SubElement(case, "skipped", message="not applicable")
    suites.set("tests", str(sum(total.values())))
    suites.set("failures", str(total["fail"]))
    suites.set("skipped", str(total["waived"] + total["notapplicable"]))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_html(audit: Audit) -> str:
    template = resources.files("bureau").joinpath("data", "audit-report.html.j2")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(template.read_text(encoding="utf-8"))
    return page.render(
        audit=audit,
        data=audit.as_dict(),
        statuses=STATUSES,
        parts=PART_TITLES,
    )


def write(audit: Audit, out: Path) -> dict[str, Path]:
    """Write the three reports into `out`; their paths by kind."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / REPORT_HTML,
        "junit": out / REPORT_JUNIT,
        "json": out / REPORT_JSON,
    }
    paths["html"].write_text(to_html(audit), encoding="utf-8")
    paths["junit"].write_text(to_junit(audit), encoding="utf-8")
    paths["json"].write_text(to_json(audit) + "\n", encoding="utf-8")
    return paths
