"""Running `bureau audit` from a check, against the host under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from testinfra.host import Host

ROOT = Path(__file__).resolve().parents[3]


def inventory() -> str:
    """The inventory the checks run with (as tests/infra/site.py reads it)."""
    source = os.environ.get("BUREAU_INVENTORY") or os.environ.get("MOLECULE_INVENTORY_FILE")
    assert source, "run under molecule or give the inventory in BUREAU_INVENTORY"
    return source


def host_name(host: Host) -> str:
    """The inventory name of the host under test (testinfra's id is ansible://NAME)."""
    return host.backend.get_pytest_id().split("://", 1)[-1]


def run_audit(host: Host, out: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """`bureau audit --json` limited to the host: exit code, report, standard error."""
    return run_audit_of(host_name(host), out, *options)


def run_audit_of(name: str, out: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """`bureau audit --json` limited to the inventory's host `name`."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "bureau"),
            "audit",
            "-i",
            inventory(),
            "--limit",
            name,
            "--out",
            str(out),
            "--json",
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, report, done.stderr


def fingerprint(host: Host) -> dict[str, str]:
    """What an audit must leave as it found it: the installed packages and the
    content, mode and owner of every file under /etc, /usr and /var/lib/dpkg
    (Python's bytecode caches aside: the first import of a module by Ansible
    on a fresh host writes its __pycache__, which is no state of the host)."""
    packages = host.check_output("dpkg-query -W -f '${Package} ${Version} ${Status}\\n'")
    prune = "-path '*/__pycache__' -prune -o"
    files = host.check_output(
        f"find /etc /usr /var/lib/dpkg -xdev {prune} -type f -printf '%m %u:%g %p\\n' | sort"
    )
    hashes = host.check_output(
        f"find /etc /usr/local /var/lib/dpkg -xdev {prune} -type f -print0"
        " | sort -z | xargs -0 sha256sum"
    )
    return {"packages": packages, "files": files, "hashes": hashes}


def findings(report: dict[str, Any], status: str) -> list[dict[str, Any]]:
    return [f for h in report.get("hosts", []) for f in h["findings"] if f["status"] == status]
