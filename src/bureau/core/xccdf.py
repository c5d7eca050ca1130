"""Reading an OpenSCAP XCCDF 1.2 results file (`oscap xccdf eval --results`).

The file holds the benchmark (rules with titles, ANSSI references, fixes)
and one TestResult (a result per rule). An ARF file (`--results-arf`) holds
the same elements deeper down; both are read the same way, with the standard
library's ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

NS = "http://checklists.nist.gov/xccdf/1.2"
_X = f"{{{NS}}}"
# ssg cites BP-028 v2 as a reference to the ANSSI guide on cyber.gouv.fr
# (ssi.gouv.fr in older releases), its text the recommendation id: R73.
ANSSI_HREFS = ("cyber.gouv.fr", "ssi.gouv.fr")
_RID = re.compile(r"^R\d+$")
SH_FIX = "urn:xccdf:fix:script:sh"
# Results that count against the host, and those that say nothing either way.
FAILING = frozenset({"fail", "error", "unknown"})
APPLICABLE = frozenset({"pass", "fail", "error", "unknown", "fixed", "notchecked"})


class XccdfError(Exception):
    """The file is not an XCCDF results file."""


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    result: str
    title: str = ""
    severity: str = ""
    anssi: tuple[str, ...] = ()
    rationale: str = ""
    fix: str = ""


@dataclass
class Scan:
    """One host's evaluation of one profile."""

    profile: str
    benchmark_version: str
    start: str
    end: str
    target: str
    results: list[RuleResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for rule in self.results:
            found[rule.result] = found.get(rule.result, 0) + 1
        return dict(sorted(found.items()))

    def selected(self) -> list[RuleResult]:
        """The rules the profile selects (notselected left out)."""
        return [r for r in self.results if r.result != "notselected"]


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _rules(root: ET.Element) -> dict[str, ET.Element]:
    return {rule.get("id", ""): rule for rule in root.iter(f"{_X}Rule")}


def anssi_references(rule: ET.Element) -> tuple[str, ...]:
    """The BP-028 recommendation ids a rule cites (`R73`), in order, once each."""
    found: list[str] = []
    for ref in rule.findall(f"{_X}reference"):
        href = ref.get("href", "")
        text = (ref.text or "").strip()
        if any(h in href for h in ANSSI_HREFS) and _RID.match(text) and text not in found:
            found.append(text)
    return tuple(found)


def parse(path: Path) -> Scan:
    """The scan in an XCCDF results (or ARF) file; XccdfError when it holds none."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise XccdfError(f"{path}: not readable XML: {err}") from err
    result = next(root.iter(f"{_X}TestResult"), None)
    if result is None:
        raise XccdfError(f"{path}: no XCCDF 1.2 TestResult in the file")
    rules = _rules(root)
    profile = result.find(f"{_X}profile")
    benchmark = result.find(f"{_X}benchmark")
    scan = Scan(
        profile=profile.get("idref", "") if profile is not None else "",
        benchmark_version=result.get("version", "")
        or (benchmark.get("href", "") if benchmark is not None else ""),
        start=result.get("start-time", ""),
        end=result.get("end-time", ""),
        target=_text(result.find(f"{_X}target")),
    )
    for item in result.findall(f"{_X}rule-result"):
        rule_id = item.get("idref", "")
        rule = rules.get(rule_id)
        fix = ""
        if rule is not None:
            for candidate in rule.findall(f"{_X}fix"):
                if candidate.get("system") == SH_FIX:
                    fix = "".join(candidate.itertext()).strip()
                    break
        scan.results.append(
            RuleResult(
                rule_id=rule_id,
                result=_text(item.find(f"{_X}result")),
                title=_text(rule.find(f"{_X}title")) if rule is not None else "",
                severity=item.get("severity", ""),
                anssi=anssi_references(rule) if rule is not None else (),
                rationale=_text(rule.find(f"{_X}rationale")) if rule is not None else "",
                fix=fix,
            )
        )
    return scan
