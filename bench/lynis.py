"""Lynis' hardening index of a converged host: by default the first VM of the
VM lane (molecule/vm), where the kernel-level controls are real.

Run `molecule create -s vm && molecule converge -s vm` first (or keep the VMs
of `python -m bench.vm_lane --keep`), then `python -m bench.lynis`. It installs
Debian's `lynis` on the host through the host's own apt (the package cache),
runs `lynis audit system`, reads /var/log/lynis-report.dat and removes the
package again (`--keep-lynis` leaves it). The host is a throw-away test host:
never point this at production. Results go to bench/results/lynis-<UTC>.json
and .md: the index, the warnings, the suggestions by test id.

`--scenario suite --host bureau-molecule-suite` measures a container the same
way, for the comparison (a container's kernel is the machine's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from molecule.text import checksum

from bench.suite import BIN, ROOT

RESULTS = ROOT / "bench" / "results"


def ephemeral(scenario: str) -> Path:
    """Molecule's directory of this checkout's scenario (its inventory and ansible.cfg)."""
    path = Path.home() / f".ansible/tmp/molecule.{checksum(ROOT.name, 4)}.{scenario}"
    if not (path / "inventory").is_dir():
        sys.exit(f"bench.lynis: no converged {scenario}: run molecule converge -s {scenario} first")
    return path


def shell(directory: Path, host: str, command: str, timeout: int) -> str:
    """Run `command` on `host` over Ansible's connection; its standard output."""
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        ANSIBLE_CONFIG=str(directory / "ansible.cfg"),
        MOLECULE_EPHEMERAL_DIRECTORY=str(directory),
    )
    argv = [str(BIN / "ansible"), "-i", str(directory / "inventory"), host, "-o"]
    done = subprocess.run(
        [*argv, "-m", "shell", "-a", command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"bench.lynis: `{command}` failed on {host}:\n{done.stdout[-2000:]}{done.stderr}")
    # -o: one line per host, "host | CHANGED | rc=0 | (stdout) text with \n escaped".
    _, _, text = done.stdout.partition("(stdout) ")
    return text.strip().replace("\\n", "\n")


def parse_report(text: str) -> dict:
    """The key=value lines of lynis-report.dat; repeated keys (warning[]) as lists."""
    values: dict = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.startswith("#"):
            continue
        if key.endswith("[]"):
            values.setdefault(key[:-2], []).append(value)
        else:
            values[key] = value
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lynis", description=__doc__)
    parser.add_argument("--scenario", default="vm", help="the converged molecule scenario")
    parser.add_argument("--host", default="bureau-vm-host1", help="the host of its inventory")
    parser.add_argument("--keep-lynis", action="store_true", help="leave the package installed")
    args = parser.parse_args(argv)
    directory = ephemeral(args.scenario)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    started = time.monotonic()
    shell(directory, args.host, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis", 1800)
    version = shell(directory, args.host, "dpkg-query -W -f '${Version}' lynis", 120)
    scan_started = time.monotonic()
    shell(
        directory,
        args.host,
        "LC_ALL=C lynis audit system --cronjob --quick > /var/log/lynis-bench.log 2>&1; true",
        3600,
    )
    scan_seconds = round(time.monotonic() - scan_started, 1)
    report = parse_report(shell(directory, args.host, "cat /var/log/lynis-report.dat", 120))
    if not args.keep_lynis:
        shell(directory, args.host, "apt-get purge -y -q lynis; rm -f /var/log/lynis*", 600)
    result = {
        "when": stamp,
        "scenario": args.scenario,
        "host": args.host,
        "lynis": version,
        "hardening_index": int(report.get("hardening_index", "-1")),
        "tests_performed": int(report.get("lynis_tests_done", "0")),
        "scan_seconds": scan_seconds,
        "total_seconds": round(time.monotonic() - started, 1),
        "load_after": os.getloadavg()[0],
        "warnings": report.get("warning", []),
        "suggestions": report.get("suggestion", []),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"lynis-{args.scenario}-{stamp}"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Lynis {version} on {args.host} ({args.scenario}), {stamp} UTC",
        "",
        f"**Hardening index: {result['hardening_index']}** "
        f"({result['tests_performed']} tests, scan {scan_seconds} s).",
        "",
        f"## Warnings ({len(result['warnings'])})",
        "",
        *(f"- `{w}`" for w in result["warnings"]),
        "",
        f"## Suggestions ({len(result['suggestions'])})",
        "",
        *(f"- `{s}`" for s in result["suggestions"]),
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print(f"lynis: hardening index {result['hardening_index']} on {args.host} ({name}.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
