"""`bureau audit` against the suite host: every Bureau check passes, ANSSI
BP-028 intermediary passes every applicable rule or waives it, nothing would
change on a deploy, and the three reports agree.

It costs a read-only audit of the suite host: Bureau's readonly checks
again, one OpenSCAP scan and a `site.yml --check` run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from testinfra.host import Host

from ..audit.support import findings, run_audit

# tests/infra/conftest.py: the audit only reads the host.
pytestmark = pytest.mark.readonly


@pytest.fixture(scope="module")
def audited(host: Host, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, Path]:
    out = tmp_path_factory.mktemp("audit")
    code, report, errors = run_audit(host, out, "--profile", "intermediary")
    return code, report, errors, out


def _failures(report: dict[str, Any], part: str) -> list[str]:
    return [
        f"{f['id']}: {f['evidence'][:300]}" for f in findings(report, "fail") if f["part"] == part
    ]


def test_the_audit_passes(audited: tuple) -> None:
    code, report, errors, _ = audited
    assert report, errors[-3000:]
    failed = [f"{f['part']} {f['id']}: {f['evidence'][:300]}" for f in findings(report, "fail")]
    assert code == 0, failed or errors[-3000:]


def test_every_bureau_check_passes(audited: tuple) -> None:
    _, report, _, _ = audited
    checks = [f for h in report["hosts"] for f in h["findings"] if f["part"] == "checks"]
    assert checks, "no Bureau check ran"
    assert _failures(report, "checks") == []


def test_anssi_intermediary_passes_or_waives_every_applicable_rule(audited: tuple) -> None:
    _, report, _, _ = audited
    rules = [f for h in report["hosts"] for f in h["findings"] if f["part"] == "anssi"]
    assert any(f["status"] == "pass" for f in rules), (
        "OpenSCAP evaluated nothing",
        _failures(report, "anssi"),
    )
    assert _failures(report, "anssi") == []
    for finding in rules:
        if finding["status"] == "waived":
            assert finding["waiver"]["justification"], finding["id"]


def test_a_deploy_would_change_nothing(audited: tuple) -> None:
    _, report, _, _ = audited
    assert _failures(report, "drift") == []


def test_the_reports_agree(audited: tuple) -> None:
    _, report, _, out = audited
    totals = report["totals"]
    suites = ET.parse(out / "report-junit.xml").getroot()
    assert int(suites.get("tests", "-1")) == sum(totals.values())
    assert int(suites.get("failures", "-1")) == totals["fail"]
    assert int(suites.get("skipped", "-1")) == totals["waived"] + totals["notapplicable"]
    html = (out / "report.html").read_text(encoding="utf-8")
    for status, count in totals.items():
        assert f'data-status="{status}">{count}<' in html
