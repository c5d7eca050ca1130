"""Benchmark the VM lane (molecule/vm) step by step.

Builds the VM image (`bureau image build --vm`: with --cold it is rebuilt
from the mirror, else reused when its recipe is unchanged), then runs
`molecule destroy/create/converge/idempotence/verify/destroy -s vm` and records
each step's wall time, its result and the load around it. `create` is the
boot of both VMs to SSH under QEMU's emulation. Results go to
bench/results/vm-lane-<UTC time>.json and .md.

Run as root (debootstrap): `python -m bench.vm_lane [--cold] [--keep]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict

from bench.suite import BIN, ROOT, Step, run_command, write_results

STEPS = ("destroy", "create", "converge", "idempotence", "verify")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vm_lane", description=__doc__)
    parser.add_argument("--cold", action="store_true", help="rebuild the VM image first")
    parser.add_argument("--keep", action="store_true", help="leave the VMs running at the end")
    args = parser.parse_args(argv)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if "BUREAU_APT_PROXY" not in env:
        proxy = subprocess.run(
            [str(ROOT / "scripts" / "apt-proxy")], capture_output=True, text=True, check=False
        )
        env["BUREAU_APT_PROXY"] = proxy.stdout.strip()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    logs = ROOT / ".bureau" / "logs" / f"bench-vm-lane-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    bureau = str(BIN / "bureau")
    steps: list[Step] = []
    builds = [("image build (cold)", [bureau, "image", "build", "--vm", "--force"])] * args.cold
    builds.append(("image build (cached)", [bureau, "image", "build", "--vm"]))
    for name, command in builds:
        steps.append(run_command(name, command, env, logs / f"{len(steps):02d}-image.log"))
        print(f"vm {name}: {steps[-1].seconds} s, exit {steps[-1].returncode}", flush=True)
    for name in STEPS + (() if args.keep else ("destroy",)):
        if any(s.returncode != 0 and s.name != "verify" for s in steps):
            break
        command = [str(BIN / "molecule"), name, "-s", "vm"]
        steps.append(run_command(name, command, env, logs / f"{len(steps):02d}-{name}.log"))
        print(f"vm {name}: {steps[-1].seconds} s, exit {steps[-1].returncode}", flush=True)
    image = subprocess.run(
        [bureau, "image", "name", "--vm"], capture_output=True, text=True, check=False, env=env
    ).stdout.strip()
    result = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "image": os.path.basename(image),
        "steps": [asdict(s) for s in steps],
        "scenario_seconds": round(sum(s.seconds for s in steps if "image" not in s.name), 1),
        "ok": all(s.returncode == 0 for s in steps),
    }
    write_results(
        f"vm-lane-{stamp}",
        f"VM lane (molecule/vm), step by step ({stamp} UTC, {os.cpu_count()} CPUs)",
        result,
        steps,
        f"bench-vm-lane-{stamp}",
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
