"""A deliberately broken host: `bureau audit` exits 1 and names each failure,
and leaves the host exactly as it found it.

Three faults an officer must see: sshd accepting passwords, a private key
readable by every user, a stopped service (fail2ban). The module breaks the
host, fingerprints it (packages, file contents, modes and owners), audits it,
fingerprints it again, and repairs it. Runs on a host deployed with
playbooks/baseline.yml (base, hardening, pki) — a small scenario of its own
(docs/audit.md, "Tests"); by hand: BUREAU_INVENTORY=INV pytest
--connection=ansible --ansible-inventory=INV --hosts=HOST tests/infra/audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testinfra.host import Host

from .support import findings, fingerprint, run_audit

# tests/infra/conftest.py: it breaks the host on purpose (and repairs it).
pytestmark = pytest.mark.destructive

DROP_IN = "/etc/ssh/sshd_config.d/00-audit-broken.conf"
KEY = "/etc/ssl/bureau/private/host.key"


@pytest.fixture(scope="module")
def broken(host: Host) -> Iterator[None]:
    # The checks enter as root (docker exec, or Ansible's become), as the others do.
    mode = host.file(KEY).mode
    # sshd keeps the first value it reads: a drop-in sorted before the role's wins.
    host.check_output(f"printf 'PasswordAuthentication yes\\n' > {DROP_IN}")
    host.check_output("systemctl reload ssh")
    host.check_output(f"chmod 0644 {KEY}")
    host.check_output("systemctl stop fail2ban")
    try:
        yield
    finally:
        host.run(f"rm -f {DROP_IN}")
        host.run("systemctl reload ssh")
        host.run(f"chmod {mode:o} {KEY}")
        host.run("systemctl start fail2ban")


@pytest.fixture(scope="module")
def audited(
    host: Host, broken: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, Any], str, dict[str, str], dict[str, str], Path]:
    out = tmp_path_factory.mktemp("audit")
    before = fingerprint(host)
    code, report, errors = run_audit(host, out)
    after = fingerprint(host)
    return code, report, errors, before, after, out


def test_the_audit_of_a_broken_host_exits_1(audited: tuple) -> None:
    code, report, errors, *_ = audited
    assert code == 1, errors[-3000:]
    assert report["exit_code"] == 1


@pytest.mark.parametrize(
    ("part", "fragment"),
    [
        # sshd accepting passwords (ssg's sshd rules are not applicable in a
        # container: their group's platform is system_with_kernel)
        ("checks", "test_hardening.py::test_sshd_accepts_keys_only"),
        # the private key readable by every user (its directory, 0710, still
        # keeps others out, so the documented mode is what fails)
        ("checks", "test_pki.py::test_files_have_the_documented_owners_and_modes"),
        # the stopped service
        ("checks", "test_hardening.py::test_fail2ban_watches_sshd"),
        # and a deploy would repair all three
        ("drift", "drift"),
    ],
)
def test_the_audit_names_each_failure(audited: tuple, part: str, fragment: str) -> None:
    _, report, *_ = audited
    failed = {f["id"] for f in findings(report, "fail") if f["part"] == part}
    assert any(fragment in ident for ident in failed), sorted(failed)


def test_the_audit_changed_nothing_on_the_host(audited: tuple) -> None:
    _, _, _, before, after, _ = audited
    for key in before:
        was, now = set(before[key].splitlines()), set(after[key].splitlines())
        assert was == now, (
            f"the audit changed the host's {key}: gone {sorted(was - now)[:20]}, "
            f"new {sorted(now - was)[:20]}"
        )


def test_the_reports_are_written(audited: tuple) -> None:
    *_, out = audited
    for name in ("report.html", "report-junit.xml", "report.json"):
        assert (out / name).stat().st_size > 0
