"""Benchmark the foundation: base image build and the baseline converge.

Measures, on this machine, with the real commands an operator runs:
- image build, cold (`bureau image build --force`: debootstrap from the mirror
  + docker import) and warm (the image exists, its recipe hash matches);
- the rehearsal: first `bureau rehearse up` from nothing (containers + the
  whole site.yml), then a no-change `bureau deploy` re-run of site.yml.

Target (issue: foundation): a no-change re-run of the baseline under 30 s.
Run: `python -m bench.baseline [--rerun-only]` (or `make bench`); results go to
bench/results/baseline.json and bench/results/baseline.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BUREAU = str(Path(sys.executable).parent / "bureau")
INVENTORY = "inventories/rehearsal"
TARGET_RERUN_S = 30.0


@dataclass
class Step:
    name: str
    command: str
    seconds: float
    returncode: int
    note: str = ""


def timed(name: str, args: list[str]) -> tuple[Step, str]:
    started = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    step = Step(name, " ".join(["bureau", *args[1:]]), round(elapsed, 1), proc.returncode)
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
    return step, output


def changed_count(output: str) -> int | None:
    """Sum the `changed=N` figures of the Ansible recap in the deploy log the output names."""
    log = re.search(r"log: (\S+\.log)", output)
    if log is None:
        return None
    recap = (ROOT / log.group(1)).read_text(errors="replace")
    found = re.findall(r"changed=(\d+)", recap)
    return sum(int(n) for n in found) if found else None


def rerun(name: str, playbook: str) -> Step:
    step, output = timed(name, [BUREAU, "deploy", "-i", INVENTORY, "--playbook", playbook])
    changed = changed_count(output)
    step.note = f"changed={changed}" if changed is not None else "changed=unknown"
    return step


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    RESULTS.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    # --rerun-only: time the no-change re-runs on the rehearsal as it is.
    if "--rerun-only" not in args:
        step, _ = timed("image build, cold", [BUREAU, "image", "build", "--force"])
        steps.append(step)
        step, _ = timed("image build, warm", [BUREAU, "image", "build"])
        steps.append(step)
        down = [BUREAU, "rehearse", "down", "-i", INVENTORY]
        steps.append(timed("rehearse down (clean start)", down)[0])
        up = [BUREAU, "rehearse", "up", "-i", INVENTORY]
        steps.append(timed("rehearse up: containers + first converge of site.yml", up)[0])
    steps.append(rerun("deploy: no-change re-run of site.yml (all roles)", "site.yml"))
    steps.append(rerun("deploy: no-change re-run of baseline.yml", "baseline.yml"))
    if "--rerun-only" in args and (RESULTS / "baseline.json").exists():
        # Keep the image and first-converge figures of the last full run.
        earlier = json.loads((RESULTS / "baseline.json").read_text())["steps"]
        fresh = {s.name for s in steps}
        steps = [
            Step(**e) for e in earlier if e["name"] not in fresh and "re-run" not in e["name"]
        ] + steps
    last = steps[-1]
    result = {
        "benchmark": "baseline",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "steps": [asdict(s) for s in steps],
        "target": {"baseline_no_change_rerun_s": TARGET_RERUN_S},
        "met": last.returncode == 0 and last.seconds <= TARGET_RERUN_S and last.note == "changed=0",
    }
    (RESULTS / "baseline.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Baseline benchmark",
        "",
        f"Run {result['when']} on {os.cpu_count()} cores. Reproduce: `python -m bench.baseline`.",
        "",
        "| step | seconds | exit | note |",
        "|---|---:|---:|---|",
        *[f"| {s.name} | {s.seconds} | {s.returncode} | {s.note} |" for s in steps],
        "",
        f"Target: no-change re-run of the baseline ≤ {TARGET_RERUN_S:.0f} s with zero changes — "
        f"{'met' if result['met'] else 'NOT met'}.",
        "",
    ]
    (RESULTS / "baseline.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if all(s.returncode == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
