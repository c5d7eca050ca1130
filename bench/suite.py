"""Benchmark the test architecture: the suite scenario, step by step.

Runs `molecule destroy/create/converge/idempotence/verify -s suite` with the
project's base image and records each step's wall time and result, with the
load average around it (the machines are shared: compare runs by the load
they had). The steps are what `molecule test -s suite` runs in CI.

Run: `python -m bench.suite [--keep]`; results go to
bench/results/suite-<UTC time>.json and .md. --keep leaves the converged
container for `make verify ROLE=…`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
STEPS = ("destroy", "create", "converge", "idempotence", "verify")


@dataclass
class Step:
    name: str
    seconds: float
    returncode: int
    load_before: float
    load_after: float


def run_command(name: str, argv: list[str], env: dict[str, str], log: Path) -> Step:
    """Run one step's command with its output in `log`; time it, note the load around it."""
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    return Step(
        name, round(time.monotonic() - started, 1), proc.returncode, load_before, os.getloadavg()[0]
    )


def write_results(name: str, title: str, result: dict, steps: list[Step], logs: str) -> None:
    """bench/results/<name>.json (the whole result) and .md (a table of the steps)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# {title}",
        "",
        "| step | seconds | exit | load before → after |",
        "|---|---|---|---|",
        *(
            f"| {s.name} | {s.seconds} | {s.returncode} "
            f"| {s.load_before:.1f} → {s.load_after:.1f} |"
            for s in steps
        ),
        "",
        f"Logs: `.bureau/logs/{logs}/` (not kept in the repository).",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def run_step(name: str, env: dict[str, str], log: Path) -> Step:
    return run_command(name, [str(BIN / "molecule"), name, "-s", "suite"], env, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="do not destroy the suite at the end")
    args = parser.parse_args(argv)
    image = subprocess.run(
        [str(BIN / "bureau"), "image", "name"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = dict(os.environ, BUREAU_IMAGE=image, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    logs = ROOT / ".bureau" / "logs" / f"bench-suite-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    for name in STEPS + (() if args.keep else ("destroy",)):
        step = run_step(name, env, logs / f"{len(steps):02d}-{name}.log")
        steps.append(step)
        print(f"suite {name}: {step.seconds} s, exit {step.returncode}", flush=True)
        if step.returncode != 0 and name != "verify":
            break
    result = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "image": image,
        "steps": [asdict(s) for s in steps],
        "ok": all(s.returncode == 0 for s in steps),
    }
    write_results(
        f"suite-{stamp}",
        f"Suite scenario, step by step ({stamp} UTC, {os.cpu_count()} CPUs)",
        result,
        steps,
        f"bench-suite-{stamp}",
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
