"""`bureau audit` on a real kernel: the first VM of the VM lane (molecule/vm),
where the kernel-level ANSSI BP-028 rules that a container leaves "not
applicable" (sysctl, audit rules, kernel modules, mount options) are evaluated.

The intermediary profile passes every applicable rule or waives it with a
justification, the audit passes and its reports agree: the suite's assertions
(tests/infra/suite/test_audit.py), on this host. Two parts are left out, each
proven elsewhere: Bureau's checks (this scenario's verify has just run every
one of them on this host, and the audit's `checks` part is the same checks,
again, at emulation's speed: 3-4 minutes) and drift (the lane converges base,
hardening and pki, not site.yml; the suite audits drift on a host that
site.yml deployed, and runs the `checks` part through `bureau audit`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..audit.support import run_audit_of
from ..suite.test_audit import (  # noqa: F401 (collected here, with this module's fixture)
    test_anssi_intermediary_passes_or_waives_every_applicable_rule,
    test_the_audit_passes,
    test_the_reports_agree,
)

pytestmark = pytest.mark.readonly

AUDITED = "bureau-vm-host1"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, Path]:
    out = tmp_path_factory.mktemp("audit")
    parts = ("--part", "anssi", "--part", "hygiene")
    code, report, errors = run_audit_of(AUDITED, out, "--profile", "intermediary", *parts)
    return code, report, errors, out


def test_the_rules_left_out_are_named_and_not_evaluated(
    audited: tuple[int, dict, str, Path],
) -> None:
    """The inventory's audit__skip_rules (molecule/vm: the file-system walks)
    are not evaluated, and the report says which, rather than dropping them."""
    _, report, errors, _ = audited
    (host,) = report["hosts"]
    left_out = [n for n in host["notes"] if "audit__skip_rules" in n]
    assert len(left_out) == 1, (host["notes"], errors)
    for rule in ("file_permissions_unauthorized_world_writable", "no_files_unowned_by_user"):
        assert rule in left_out[0]
        assert not [f for f in host["findings"] if f["id"].endswith(rule)], rule
