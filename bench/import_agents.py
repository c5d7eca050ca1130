"""Benchmark of `bureau users import` against the real directory role.

Steps, on one throwaway directory container (bench/directory.py):
  1. yardstick: a plain `ldapadd` of the LDIF equivalent to the sample file
     (the same entries, passwords and ministry groups with their members);
  2. reset to the empty tree; `bureau users import` of the same sample file;
  3. re-import with a fraction of the agents changed (title, phone, quota, ministry);
  4. re-import of the same file again (must change nothing).
Both tools take the same path: controller → the container's address on the Docker
bridge (not docker-proxy's published port) → slapd,
over LDAPS, bound as the provisioning account. Targets: first import ≤ 60 s
and ≤ 1.5 times ldapadd; re-import of 1 % ≤ 15 s.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import ldif

from bench import directory
from bureau.core.users import csvinput, passwords, plan, sample
from bureau.core.users.reference import ministries

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"
TARGET = plan.Target(base_dn=directory.BASE_DN, domain=directory.DOMAIN)


def equivalent_ldif(rows: list[csvinput.AgentRow], out: Path) -> int:
    """The LDIF a plain ldapadd needs to reach the state the importer reaches."""
    reference = ministries()
    first = plan.build(rows, [], {}, reference, TARGET, file="sample")
    with out.open("w", encoding="utf-8") as stream:
        writer = ldif.LDIFWriter(stream, cols=1000)
        for create in first.creates:
            entry = {name: [v.encode() for v in values] for name, values in create.attrs.items()}
            entry["userPassword"] = [passwords.ssha(passwords.generate()).encode()]
            entry["pwdReset"] = [b"TRUE"]
            writer.unparse(create.dn, entry)
        for group in first.groups:
            writer.unparse(
                group.dn,
                {
                    "objectClass": [b"groupOfNames"],
                    "cn": [group.ministry.code.encode()],
                    "description": [group.ministry.name.encode()],
                    "member": [m.encode() for m in group.add],
                },
            )
    return len(first.creates) + len(first.groups)


def changed_copy(text: str, fraction: float) -> tuple[str, int]:
    """The sample with every 1/fraction-th agent changed, in rotation: title, phone,
    quota, ministry."""
    reader = csv.DictReader(io.StringIO(text))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or []), lineterminator="\n")
    writer.writeheader()
    step = max(1, round(1 / fraction))
    codes = list(ministries())
    changed = 0
    for number, row in enumerate(reader):
        if number % step == 0:
            kind = changed % 4
            if kind == 0:
                row["title"] = "Directeur de cabinet"
            elif kind == 1:
                row["phone"] = f"+228 70 {number % 100:02d} {number // 100 % 100:02d} 00"
            elif kind == 2:
                row["quota"] = "20480"
            else:
                current = row["ministry"].lower()
                row["ministry"] = codes[(codes.index(current) + 1) % len(codes)].upper()
            changed += 1
        writer.writerow(row)
    return out.getvalue(), changed


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bureau_import(where: directory.Directory, csv_file: Path, out: Path) -> dict[str, Any]:
    elapsed, stdout = timed(
        [
            str(PROJECT / ".venv/bin/bureau"), "users", "import", str(csv_file),
            "--domain", directory.DOMAIN, "--uri", where.ldaps_uri,
            "--tls-name", directory.HOST, "--ca-file", str(where.ca_file),
            "--password-file", str(where.provisioning_password_file),
            "--passwords-out", str(out), "--json",
        ]
    )  # fmt: skip
    report = json.loads(stdout)
    report["wall_seconds"] = round(elapsed, 2)
    report["load_average_after"] = _load()
    if report.get("passwords_file"):
        report["passwords_file"] = Path(report["passwords_file"]).name  # a scratch file, deleted
    return report


def run(count: int, changed: float, keep: bool, reuse: bool, no_sync: bool) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "benchmark": "users-import",
        "count": count,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": _load(),
            "python": platform.python_version(),
        },
    }
    # Kept when something fails (logs, generated secrets), removed otherwise.
    work = Path(tempfile.mkdtemp(prefix="bureau-bench-"))
    started = time.monotonic()
    if reuse:
        print(f"bench: reusing {directory.CONTAINER}")
        where = directory.reuse(work)
    else:
        print(f"bench: starting {directory.CONTAINER} and converging the directory role")
        where = directory.start(PROJECT, work, work / "converge.log")
    results["setup_seconds"] = round(time.monotonic() - started, 1)
    directory.set_no_sync(no_sync)
    results["directory"] = directory.settings()
    try:
        text = sample.csv_text(count, seed=70)
        sample_file = work / "agents.csv"
        sample_file.write_text(text, encoding="utf-8")
        rows = csvinput.read(sample_file, directory.DOMAIN)
        ldif_file = work / "agents.ldif"
        operations = equivalent_ldif(rows, ldif_file)

        print(f"bench: yardstick: ldapadd of {operations} entries")
        env = dict(
            os.environ,
            LDAPTLS_CACERT=str(where.ca_file),
            # The certificate names ldap.gouv.tg, the URI an address: libldap cannot be told
            # another name; the TLS work is the same.
            LDAPTLS_REQCERT="allow",
        )
        seconds, _ = timed(
            [
                "ldapadd", "-x", "-H", where.ldaps_uri, "-D", where.provisioning_dn,
                "-y", str(where.provisioning_password_file), "-f", str(ldif_file),
            ],
            env=env,
        )  # fmt: skip
        results["ldapadd"] = {
            "entries": operations,
            "seconds": round(seconds, 2),
            "load_average_after": _load(),
        }
        results["ldapadd"]["people_in_directory"] = directory.count_people()
        directory.reset()

        print(f"bench: bureau users import of {count} agents")
        first = bureau_import(where, sample_file, work / "passwords-1.csv")
        first["people_in_directory"] = directory.count_people()
        results["first_import"] = first

        changed_text, changes = changed_copy(text, changed)
        changed_file = work / "agents-changed.csv"
        changed_file.write_text(changed_text, encoding="utf-8")
        print(f"bench: re-import with {changes} agents changed")
        results["changed_import"] = bureau_import(where, changed_file, work / "passwords-2.csv")
        results["changed_import"]["changed_rows"] = changes

        print("bench: the same file again")
        results["same_import"] = bureau_import(where, changed_file, work / "passwords-3.csv")
    finally:
        if not keep:
            directory.stop()
    shutil.rmtree(work)
    first_seconds = results["first_import"]["wall_seconds"]
    results["ratio_to_ldapadd"] = round(first_seconds / results["ldapadd"]["seconds"], 2)
    results["targets"] = {
        "first_import_le_60s": first_seconds <= 60,
        "first_import_le_1.5x_ldapadd": results["ratio_to_ldapadd"] <= 1.5,
        "changed_import_le_15s": results["changed_import"]["wall_seconds"] <= 15,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    (RESULTS / f"users-import-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    summary = markdown(results)
    (RESULTS / f"users-import-{stamp}.md").write_text(summary)
    print(summary)
    return results


def markdown(r: dict[str, Any]) -> str:
    first, again, same = r["first_import"], r["changed_import"], r["same_import"]
    verdict = {True: "met", False: "**missed**"}
    targets = r["targets"]
    lines = [
        f"# users import benchmark, {r['date']}",
        "",
        f"{r['count']} sample agents (`bureau users sample --seed 70`) on one directory container",
        f"(pki + directory roles; slapd threads {r['directory']['threads']}, "
        f"dbnosync {r['directory']['dbnosync']}), from the controller over LDAPS to the",
        "container's bridge address, bound as the provisioning account. "
        f"{r['machine']['cpus']} CPUs, "
        f"load average at start {r['machine']['load_average_at_start']}.",
        "",
        "Both tools send the same entries: the LDIF is written from the importer's own plan,",
        "with the same attributes, a `{SSHA}` initial password hashed on the controller and",
        "`pwdReset: TRUE` on every agent, and the ministry groups with all their members.",
        f"slapd: indexes {r['directory'].get('indexes', '?')}; log level "
        f"{r['directory'].get('log_level', '?')}.",
        "",
        "| step | wall time | detail | load average after (1, 5, 15 min) |",
        "|---|---|---|---|",
        f"| yardstick: `ldapadd` of the equivalent LDIF | {r['ldapadd']['seconds']} s "
        f"| {r['ldapadd']['entries']} entries (agents + ministry groups) "
        f"| {r['ldapadd'].get('load_average_after', '')} |",
        f"| first `bureau users import` | {first['wall_seconds']} s "
        f"| created {first['created']}, {first['groups']} groups; phases {first['seconds']} "
        f"| {first.get('load_average_after', '')} |",
        f"| re-import, {again['changed_rows']} agents changed | {again['wall_seconds']} s "
        f"| updated {again['updated']}, groups {again['groups']}; phases {again['seconds']} "
        f"| {again.get('load_average_after', '')} |",
        f"| same file again | {same['wall_seconds']} s "
        f"| updated {same['updated']}, created {same['created']}; phases {same['seconds']} "
        f"| {same.get('load_average_after', '')} |",
        "",
        f"- first import / ldapadd: **{r['ratio_to_ldapadd']} times**",
        f"- first import at most 60 s: {verdict[targets['first_import_le_60s']]}; "
        f"at most 1.5 times ldapadd: {verdict[targets['first_import_le_1.5x_ldapadd']]}",
        f"- re-import of 1 % at most 15 s: {verdict[targets['changed_import_le_15s']]}",
        "",
    ]
    return "\n".join(lines)
