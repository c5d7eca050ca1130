"""How slapd's CPU per added agent changes as the directory grows.

One throwaway directory container (bench/directory.py: the real pki and
directory roles), emptied, then the sample agents added in batches with
`ldapadd` inside the host over ldapi:/// (no TLS, no docker-proxy: only what
slapd itself does), bound as the provisioning account like the importer.
After each batch: slapd's CPU seconds (utime + stime of its process, which
other test runs on the machine disturb less than wall time), the size of the
database and of its free list (`mdb_stat`). The ministry groups (and the
memberOf writes they cause) are a last, separate step.

Run: `python -m bench.slapd_growth [--count 70000] [--batch 10000]
[--config FILE.ldif] [--sync] [--keep | --reuse]`. `--config` applies an LDIF of
cn=config modifications (ldapmodify as root) before loading, to measure one
change at a time. Results: bench/results/slapd-growth-<time>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import directory, import_agents
from bureau.core.users import csvinput, sample

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"
# Beside the users-import benchmark's container, not instead of it.
CONTAINER = "bureau-research-slapd-growth"
LDAP_PORT = 14489
LDAPS_PORT = 14736
TICKS = os.sysconf("SC_CLK_TCK")


def slapd_cpu() -> tuple[float, float]:
    """CPU seconds slapd has used since it started: in user space, in the kernel."""
    fields = directory.in_container("cat /proc/$(cat /run/slapd/slapd.pid)/stat").split()
    # Fields 14 and 15 of proc_pid_stat(5): utime, stime, in clock ticks.
    return int(fields[13]) / TICKS, int(fields[14]) / TICKS


def db_stat() -> dict[str, int]:
    """Pages in use, map pages used and free pages of the mdb environment."""
    out = directory.in_container("mdb_stat -ef /var/lib/ldap")
    found: dict[str, int] = {}
    for name, pattern in (
        ("last_page", r"Number of pages used: (\d+)"),
        ("free_pages", r"Free pages: (\d+)"),
        ("freelist_entries", r"Entries: (\d+)"),
    ):
        match = re.search(pattern, out)
        if match:
            found[name] = int(match.group(1))
    return found


def split_ldif(path: Path) -> list[str]:
    """The LDIF's records, in order."""
    return [r.strip() + "\n" for r in path.read_text(encoding="utf-8").split("\n\n") if r.strip()]


def load(records: list[str], name: str, where: directory.Directory) -> dict[str, Any]:
    """ldapadd these records inside the host over ldapi:///, bound as provisioning."""
    scratch = where.work / f"{name}.ldif"
    scratch.write_text("\n".join(records), encoding="utf-8")
    directory.sh("docker", "cp", str(scratch), f"{CONTAINER}:/root/{name}.ldif")
    scratch.unlink()
    before = slapd_cpu()
    started = time.monotonic()
    directory.in_container(
        f"ldapadd -x -H ldapi:/// -D {where.provisioning_dn} -y /root/provisioning-password "
        f"-f /root/{name}.ldif > /dev/null && rm /root/{name}.ldif"
    )
    wall = time.monotonic() - started
    after = slapd_cpu()
    user, system = after[0] - before[0], after[1] - before[1]
    return {
        "entries": len(records),
        "wall_seconds": round(wall, 2),
        "slapd_cpu_seconds": round(user + system, 2),
        "slapd_cpu_ms_per_entry": round(1000 * (user + system) / len(records), 3),
        "slapd_user_ms_per_entry": round(1000 * user / len(records), 3),
        "slapd_system_ms_per_entry": round(1000 * system / len(records), 3),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **db_stat(),
    }


def prepare(reuse: bool, work: Path) -> directory.Directory:
    directory.use(CONTAINER, LDAP_PORT, LDAPS_PORT)
    if reuse:
        where = directory.reuse(work)
    else:
        where = directory.start(PROJECT, work, work / "converge.log")
    directory.in_container(
        "command -v mdb_stat > /dev/null || "
        "(apt-get -qq update && apt-get -qq install -y --no-install-recommends lmdb-utils) "
        "> /dev/null"
    )
    directory.sh(
        "docker", "cp", str(where.provisioning_password_file),
        f"{CONTAINER}:/root/provisioning-password",
    )  # fmt: skip
    return where


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bureau-bench-"))
    where = prepare(args.reuse, work)
    directory.set_no_sync(not args.sync)
    if args.config:
        directory.in_container(
            "ldapmodify -Q -Y EXTERNAL -H ldapi:/// <<'EOF'\n"
            + Path(args.config).read_text(encoding="utf-8")
            + "\nEOF"
        )
    directory.reset()
    results: dict[str, Any] = {
        "benchmark": "slapd-growth",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "count": args.count,
        "config": Path(args.config).read_text(encoding="utf-8") if args.config else "",
        "directory": directory.settings(),
        "env_flags": directory.in_container(
            "grep -h olcDbEnvFlags '/etc/ldap/slapd.d/cn=config/olcDatabase={1}mdb.ldif' || true"
        )
        .replace("olcDbEnvFlags: ", "")
        .split(),
        "batches": [],
    }
    try:
        sample_file = work / "agents.csv"
        sample_file.write_text(sample.csv_text(args.count, seed=70), encoding="utf-8")
        rows = csvinput.read(sample_file, directory.DOMAIN)
        ldif_file = work / "agents.ldif"
        import_agents.equivalent_ldif(rows, ldif_file)
        records = split_ldif(ldif_file)
        agents, groups = records[: args.count], records[args.count :]
        for start in range(0, len(agents), args.batch):
            batch = load(agents[start : start + args.batch], f"agents-{start}", where)
            batch["people_before"] = start
            results["batches"].append(batch)
            print(
                f"agents {start:>6}-{start + batch['entries']:<6} "
                f"{batch['slapd_cpu_ms_per_entry']:.3f} ms/add  {batch}",
                flush=True,
            )
        if groups and not args.no_groups:
            results["groups"] = load(groups, "groups", where)
            print(f"groups {results['groups']}", flush=True)
    finally:
        if not args.keep:
            directory.stop()
    shutil.rmtree(work)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"slapd-growth-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"slapd-growth-{stamp}.md").write_text(markdown(results))
    print(markdown(results))
    return results


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# slapd CPU per added agent as the directory grows, {r['date']}",
        "",
        f"{r['count']} sample agents (seed 70) added with `ldapadd` over ldapi:/// inside the",
        "directory host, bound as the provisioning account, dbnosync "
        f"{r['directory']['dbnosync']}; slapd CPU is utime + stime of its process.",
        "Indexes: " + r["directory"]["indexes"] + ".",
        f"olcDbEnvFlags: {' '.join(r.get('env_flags', [])) or '(none)'}.",
    ]
    if r["config"]:
        lines += ["", "cn=config changed before loading:", "", "```", r["config"].strip(), "```"]
    lines += [
        "",
        "| agents before | added | slapd CPU | per add | of which user | of which kernel "
        "| wall | pages used | free pages |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(str(b["people_before"]), b) for b in r["batches"]]
    if "groups" in r:
        rows.append(("groups", r["groups"]))
    for label, b in rows:
        lines.append(
            f"| {label} | {b['entries']} | {b['slapd_cpu_seconds']} s "
            f"| {b['slapd_cpu_ms_per_entry']} ms | {b['slapd_user_ms_per_entry']} ms "
            f"| {b['slapd_system_ms_per_entry']} ms | {b['wall_seconds']} s "
            f"| {b.get('last_page', '?')} | {b.get('free_pages', '?')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slapd_growth", description=__doc__)
    parser.add_argument("--count", type=int, default=70_000, help="agents to add")
    parser.add_argument("--batch", type=int, default=10_000, help="agents per measured batch")
    parser.add_argument("--config", help="LDIF of cn=config modifications to apply first")
    parser.add_argument(
        "--sync", action="store_true", help="keep fsync after each write (the role's default)"
    )
    parser.add_argument("--no-groups", action="store_true", help="skip the ministry groups")
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    parser.add_argument("--reuse", action="store_true", help="use the container --keep left")
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
