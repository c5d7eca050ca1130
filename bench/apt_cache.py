"""Benchmark the package cache: the rehearsal's first converge without the
cache, with it cold, and with it warm, in the same run.

The cache is the apt-cacher-ng that scripts/host-setup runs (found by
scripts/apt-proxy); `bureau rehearse up` gives it to the containers through
base__apt_proxy. Each of the three steps starts from no container (`bureau
rehearse down`), then times `bureau rehearse up`: a new container and the first
converge of site.yml, with:
1. no cache (BUREAU_APT_PROXY empty): apt goes to the mirror, as before;
2. a cold cache, emptied first (apt-cacher-ng stopped, its cache directory
   emptied, started again): every package goes through the cache once;
3. a warm cache: the same packages again, served from this machine.
For each it records the wall time, the load average around it, and the bytes
apt-cacher-ng fetched from the mirror and sent to the containers (its log).

Run (as root: it empties the cache): `python -m bench.apt_cache`; results go to
bench/results/apt-cache-<UTC time>.json and .md. It leaves the rehearsal up.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BUREAU = str(Path(sys.executable).parent / "bureau")
INVENTORY = "inventories/rehearsal"
ACNG_CONFIG = Path("/etc/apt-cacher-ng/acng.conf")  # Debian's package puts it there
ACNG_LOG = "apt-cacher.log"


@dataclass
class Step:
    name: str
    seconds: float
    returncode: int
    load: str
    from_mirror_mb: float
    to_containers_mb: float
    changed: int | None


def acng_setting(name: str, default: str) -> str:
    text = ACNG_CONFIG.read_text(errors="replace") if ACNG_CONFIG.exists() else ""
    found = re.search(rf"(?mi)^{name}:\s*(\S+)", text)
    return found[1] if found else default


def log_path() -> Path:
    return Path(acng_setting("LogDir", "/var/log/apt-cacher-ng")) / ACNG_LOG


def transfer(since: int) -> tuple[float, float]:
    """MB apt-cacher-ng fetched (I) and delivered (O) in its log after byte `since`.
    Its lines read `time|I or O|bytes|client|file`."""
    path = log_path()
    if not path.exists():
        return 0.0, 0.0
    with path.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    totals = {"I": 0, "O": 0}
    for kind, size in re.findall(r"(?m)^\d+\|([IO])\|(\d+)\|", text):
        totals[kind] += int(size)
    return round(totals["I"] / 1e6, 1), round(totals["O"] / 1e6, 1)


def log_size() -> int:
    path = log_path()
    return path.stat().st_size if path.exists() else 0


def empty_cache() -> None:
    """Stop apt-cacher-ng, empty its cache directory, start it and wait for it."""
    cache = Path(acng_setting("CacheDir", "/var/cache/apt-cacher-ng"))
    subprocess.run(["service", "apt-cacher-ng", "stop"], check=True, capture_output=True)
    for entry in cache.iterdir() if cache.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    subprocess.run(["service", "apt-cacher-ng", "start"], check=True, capture_output=True)
    for _ in range(40):
        if proxy():
            return
        time.sleep(0.5)
    raise SystemExit("apt-cacher-ng did not answer again after emptying its cache")


def proxy() -> str:
    found = subprocess.run(
        [str(ROOT / "scripts" / "apt-proxy")], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() if found.returncode == 0 else ""


def changed_count(output: str) -> int | None:
    log = re.search(r"log: (\S+\.log)", output)
    if log is None:
        return None
    found = re.findall(r"changed=(\d+)", (ROOT / log[1]).read_text(errors="replace"))
    return sum(int(n) for n in found) if found else None


def first_converge(name: str, apt_proxy: str) -> Step:
    env = {**os.environ, "BUREAU_APT_PROXY": apt_proxy}
    down = [BUREAU, "rehearse", "down", "-i", INVENTORY]
    subprocess.run(down, cwd=ROOT, env=env, check=True, capture_output=True)
    # The demo agents' passwords of the containers just removed: `up` imports the
    # agents into the new directory and refuses to overwrite the file.
    (ROOT / ".bureau" / Path(INVENTORY).name / "demo-passwords.csv").unlink(missing_ok=True)
    since, before = log_size(), os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run(
        [BUREAU, "rehearse", "up", "-i", INVENTORY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.monotonic() - started, 1)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
    fetched, delivered = transfer(since)
    return Step(
        name,
        seconds,
        proc.returncode,
        f"{before:.1f}→{os.getloadavg()[0]:.1f}",
        fetched,
        delivered,
        changed_count(output),
    )


def main() -> int:
    url = proxy()
    if not url:
        raise SystemExit("no package cache answers: run scripts/host-setup first")
    RESULTS.mkdir(parents=True, exist_ok=True)
    steps = [first_converge("no cache (straight to the mirror)", "")]
    empty_cache()
    steps.append(first_converge("cold cache (emptied first)", url))
    steps.append(first_converge("warm cache", url))
    when = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    result = {
        "benchmark": "apt-cache",
        "when": when,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "steps": [asdict(s) for s in steps],
        "saved_s_warm_vs_none": round(steps[0].seconds - steps[2].seconds, 1),
    }
    (RESULTS / f"apt-cache-{when}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Package cache benchmark: the rehearsal's first converge of site.yml",
        "",
        f"Run {when} on {os.cpu_count()} cores. Reproduce: `python -m bench.apt_cache`.",
        "",
        "| first converge | seconds | exit | changed | MB from the mirror "
        "| MB to the containers | load 1 min |",
        "|---|---:|---:|---:|---:|---:|---|",
        *[
            f"| {s.name} | {s.seconds} | {s.returncode} | {s.changed} | {s.from_mirror_mb} "
            f"| {s.to_containers_mb} | {s.load} |"
            for s in steps
        ],
        "",
    ]
    (RESULTS / f"apt-cache-{when}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if all(s.returncode == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
