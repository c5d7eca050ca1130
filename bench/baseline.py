"""Benchmark the foundation: base image build and the baseline converge.

Measures, on this machine, with the real commands an operator runs:
- image build, cold (`bureau image build --force`: debootstrap from the mirror
  + docker import) and warm (the image exists, its recipe hash matches);
- the rehearsal: first `bureau rehearse up` from nothing (containers + the
  whole site.yml), then no-change `bureau deploy` re-runs of site.yml and of
  baseline.yml, each with Mitogen (the project's default strategy,
  plugins/strategy/mitogen_linear.py) and without it (BUREAU_MITOGEN=0), in
  the same run, alternating, so that both see the same machine and load.

Targets (issue 11): no-change re-runs with the chosen lever, zero changes and
the same task counts as without it: baseline.yml ≤ 15 s, site.yml ≤ 60 s.
Run: `python -m bench.baseline [--rerun-only] [--rounds N]` (or `make bench`);
results go to bench/results/baseline.json and bench/results/baseline.md.
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
TARGETS_S = {"baseline.yml": 15.0, "site.yml": 60.0}
LEVER = "BUREAU_MITOGEN"  # 0: the plain linear strategy and Ansible's own connections


@dataclass
class Step:
    name: str
    command: str
    seconds: float
    returncode: int
    note: str = ""
    load: str = ""  # 1-minute load average before and after the step


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def timed(name: str, args: list[str], env: dict[str, str] | None = None) -> tuple[Step, str]:
    before = load_average()
    started = time.monotonic()
    proc = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    prefix = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    command = " ".join([*([prefix] if prefix else []), "bureau", *args[1:]])
    step = Step(
        name, command, round(elapsed, 1), proc.returncode, load=f"{before}→{load_average()}"
    )
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
    return step, output


def recap(output: str) -> dict[str, int] | None:
    """The summed counts (ok, changed, skipped, failed…) of the Ansible recap in the
    deploy log the output names."""
    log = re.search(r"log: (\S+\.log)", output)
    if log is None:
        return None
    text = (ROOT / log.group(1)).read_text(errors="replace")
    counts: dict[str, int] = {}
    for key, value in re.findall(
        r"\b(ok|changed|unreachable|failed|skipped|rescued|ignored)=(\d+)", text
    ):
        counts[key] = counts.get(key, 0) + int(value)
    return counts or None


def rerun(playbook: str, *, mitogen: bool) -> Step:
    lever = "with Mitogen" if mitogen else "without Mitogen"
    step, output = timed(
        f"deploy: no-change re-run of {playbook}, {lever}",
        [BUREAU, "deploy", "-i", INVENTORY, "--playbook", playbook],
        env={LEVER: "1" if mitogen else "0"},
    )
    counts = recap(output)
    step.note = (
        " ".join(f"{k}={counts.get(k, 0)}" for k in ("changed", "ok", "skipped", "failed"))
        if counts
        else "changed=unknown"
    )
    return step


def comparison(steps: list[Step]) -> list[dict[str, object]]:
    """Per playbook: best time with and without the lever, the ratio, the target, and
    whether both gave the same recap (changed=0 and the same task counts)."""
    rows: list[dict[str, object]] = []
    for playbook, target in TARGETS_S.items():
        runs = {
            lever: [s for s in steps if f"of {playbook}, {lever} Mitogen" in s.name]
            for lever in ("with", "without")
        }
        if not runs["with"] or not runs["without"]:
            continue
        best = {lever: min(s.seconds for s in found) for lever, found in runs.items()}
        notes = {s.note for found in runs.values() for s in found}
        same = len(notes) == 1 and next(iter(notes)).startswith("changed=0 ")
        ok = all(s.returncode == 0 for found in runs.values() for s in found)
        rows.append(
            {
                "playbook": playbook,
                "with_mitogen_s": best["with"],
                "without_mitogen_s": best["without"],
                "ratio": round(best["without"] / best["with"], 2) if best["with"] else None,
                "target_s": target,
                "identical_results": same,
                "met": ok and same and best["with"] <= target,
            }
        )
    return rows


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
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 1
    for _ in range(rounds):
        # Alternate the lever: a drift of the machine's load hits both alike.
        for playbook in TARGETS_S:
            steps.append(rerun(playbook, mitogen=False))
            steps.append(rerun(playbook, mitogen=True))
    if "--rerun-only" in args and (RESULTS / "baseline.json").exists():
        # Keep the image and first-converge figures of the last full run.
        earlier = json.loads((RESULTS / "baseline.json").read_text())["steps"]
        fresh = {s.name for s in steps}
        steps = [
            Step(**e) for e in earlier if e["name"] not in fresh and "re-run" not in e["name"]
        ] + steps
    rows = comparison(steps)
    result = {
        "benchmark": "baseline",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "steps": [asdict(s) for s in steps],
        "comparison": rows,
        "target": {f"{p}_no_change_rerun_s": t for p, t in TARGETS_S.items()},
        "met": bool(rows) and all(r["met"] for r in rows),
    }
    (RESULTS / "baseline.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Baseline benchmark",
        "",
        f"Run {result['when']} on {os.cpu_count()} cores. Reproduce: `python -m bench.baseline`.",
        "",
        "| step | seconds | exit | recap | load 1 min |",
        "|---|---:|---:|---|---|",
        *[f"| {s.name} | {s.seconds} | {s.returncode} | {s.note} | {s.load} |" for s in steps],
        "",
        "| no-change re-run | without Mitogen | with Mitogen | ratio | target | same recap | met |",
        "|---|---:|---:|---:|---:|---|---|",
        *[
            f"| {r['playbook']} | {r['without_mitogen_s']} s | {r['with_mitogen_s']} s "
            f"| {r['ratio']} x | ≤ {r['target_s']:.0f} s "
            f"| {'yes' if r['identical_results'] else 'NO'} | {'yes' if r['met'] else 'NO'} |"
            for r in rows
        ],
        "",
    ]
    (RESULTS / "baseline.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if all(s.returncode == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
