"""The upgrade drill: the suite deployed on Debian 12, loaded with real data,
upgraded to Debian 13 the way Debian's release notes describe, deployed again
with Bureau, and checked with the same clients: nothing lost, every service
answering. Each step is timed (docs/operations/upgrade-12-to-13.md quotes
them).

Steps, on the suite scenario's container:
  destroy, create (Debian 12 image)
  converge-12        site.yml + the suite's test agents, on Debian 12
  idempotence-12     a second deploy on Debian 12 changes nothing
  verify-12          every role's checks on Debian 12 (skipped with --quick)
  load               mails, a shared agenda, a contact, a TOTP enrolment and
                     a portal session, with real clients (tests/infra/upgrade)
  upgrade            playbooks/upgrade-release.yml (molecule side-effect), the
                     inventory now naming Debian 13
  reboot             the container restarted (a host reboots)
  converge-13        site.yml again: every role writes its Debian 13 configuration
  idempotence-13     a second deploy changes nothing
  check              the same clients find everything loaded (-k check)
  verify-13          every role's checks on Debian 13
  destroy            (not with --keep)

Run: `python -m bench.upgrade_drill [--quick] [--keep]` (or `make upgrade-drill`);
results in bench/results/upgrade-drill-<UTC time>.json and .md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import asdict

from bench.suite import BIN, ROOT, Step, run_command, write_results

CONTAINER = "bureau-molecule-suite"


def image(suite: str) -> str:
    return subprocess.run(
        [str(BIN / "bureau"), "image", "name", "--suite", suite],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def reboot_command() -> list[str]:
    """Restart the container and wait for systemd, as a host comes back from a reboot."""
    wait = (
        f"docker restart {CONTAINER} >/dev/null && for i in $(seq 120); do "
        f"s=$(docker exec {CONTAINER} systemctl is-system-running 2>/dev/null); "
        'case "$s" in running|degraded) echo "systemd: $s"; exit 0;; esac; sleep 1; done; exit 1'
    )
    return ["bash", "-c", wait]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upgrade_drill", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the checks on Debian 12")
    parser.add_argument("--keep", action="store_true", help="leave the upgraded suite running")
    args = parser.parse_args(argv)
    old, new = image("bookworm"), image("trixie")
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    on_12 = dict(os.environ, BUREAU_IMAGE=old, BUREAU_DEBIAN_RELEASE="bookworm", PATH=path)
    # The container keeps the image it was created from; what changes is what
    # the inventory names, as an operator changes it before upgrading.
    on_13 = dict(on_12, BUREAU_DEBIAN_RELEASE="trixie")
    molecule = [str(BIN / "molecule")]
    verify = [str(BIN / "python"), str(ROOT / "scripts" / "verify-role")]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    logs = ROOT / ".bureau" / "logs" / f"upgrade-drill-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[str, list[str], dict[str, str]]] = [
        ("destroy", [*molecule, "destroy", "-s", "suite"], on_12),
        ("create", [*molecule, "create", "-s", "suite"], on_12),
        ("converge-12", [*molecule, "converge", "-s", "suite"], on_12),
        ("idempotence-12", [*molecule, "idempotence", "-s", "suite"], on_12),
        *([] if args.quick else [("verify-12", [*molecule, "verify", "-s", "suite"], on_12)]),
        ("load", [*verify, "--every-file", "suite", "upgrade", "-k", "agents_keep"], on_12),
        ("upgrade", [*molecule, "side-effect", "-s", "suite"], on_13),
        ("reboot", reboot_command(), on_13),
        ("converge-13", [*molecule, "converge", "-s", "suite"], on_13),
        ("idempotence-13", [*molecule, "idempotence", "-s", "suite"], on_13),
        ("check", [*verify, "--every-file", "suite", "upgrade", "-k", "still_there"], on_13),
        ("verify-13", [*molecule, "verify", "-s", "suite"], on_13),
        *([] if args.keep else [("destroy", [*molecule, "destroy", "-s", "suite"], on_13)]),
    ]
    steps: list[Step] = []
    for name, command, env in plan:
        step = run_command(name, command, env, logs / f"{len(steps):02d}-{name}.log")
        steps.append(step)
        print(f"upgrade drill {name}: {step.seconds} s, exit {step.returncode}", flush=True)
        # Checks report and go on (what else survived?); a failed deploy stops the drill.
        if step.returncode != 0 and not name.startswith(("verify", "check", "idempotence")):
            break
    ok = len(steps) == len(plan) and all(s.returncode == 0 for s in steps)
    result = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "images": {"bookworm": old, "trixie": new},
        "steps": [asdict(s) for s in steps],
        "ok": ok,
    }
    write_results(
        f"upgrade-drill-{stamp}",
        f"Upgrade drill, Debian 12 → 13 ({stamp} UTC, {os.cpu_count()} CPUs): "
        + ("passed" if ok else "FAILED"),
        result,
        steps,
        f"upgrade-drill-{stamp}",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
