"""Drive: WebDAV (Apache mod_dav_fs) through the web front, with TLS.

Runs against a host where the drive role is deployed (the molecule `suite`
scenario's container by default: `molecule converge -s suite` first), as the
fixtures' agent kokou.agbeko (ministry mef; the password from molecule's
secrets directory). Every request goes to the container's address with
`dav.<domain>` in SNI and Host, the internal CA checked (http.client, one
keep-alive connection per client thread, HTTP Basic sent with each request:
never a wrong password, fail2ban bans after 5). In one run it measures:

1. big files: a PUT of `--size-mib` (1 GiB) streamed from a file of random
   bytes made once, and its GET streamed back with the sha256 compared, of
   /users/kokou.agbeko/bench-<id>.bin, against the yardstick: nginx serving a
   static file of the same size (put in static.gouv.tg's root for the run)
   over the same TLS, read and hashed the same way. `--rounds` of each,
   alternating; the best of each is compared (target: download ≥ 0.7 times
   the yardstick);
2. small files: PUTs per second of `--files` files of 4 KiB from
   `--clients` threads into /groups/mef/bench-<id>/, while the ministry's
   folder holds a handful of files, then the same into a folder that already
   holds `--big` files. quota.lua, an Apache fixup, walks the whole ministry
   folder at each PUT: Apache's own time per PUT (%D, from its access log)
   in both runs isolates the walk's cost;
3. listing: PROPFIND Depth: 1 of that folder of `--big` entries (made inside
   the container as www-data), median and p95 of `--propfinds` requests
   after one unmeasured, for allprop and for a client's property list
   (target: ≤ 1 s).

Each phase notes the CPU seconds nginx, Apache and slapd spent in the
container (/proc) and this client (its rusage), to tell what limited it; the
load average is noted before and after. Everything the run creates is removed
at the end, whether it succeeded or not.

Several drive hosts: `--agent essi.kpodar --ministry mtp --storage
bureau-molecule-suite-drive2` runs the same through the suite host's front
to the second drive host's Apache (TLS between them), whose container holds
the files and the access log; compare with a run as kokou.agbeko made just
before (the machines are shared: same session, same load).

Run: `python -m bench.drive [--container NAME] [--size-mib 1024] [--files 2000]`;
results go to bench/results/drive-<UTC time>.json and .md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shlex
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.mail_throughput import container_address

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOMAIN = "gouv.tg"
DAV = f"dav.{DOMAIN}"
STATIC = f"static.{DOMAIN}"
AGENT = "kokou.agbeko"
MINISTRY = "mef"
DRIVE_ROOT = "/srv/drive"
STATIC_SITE = "/etc/nginx/sites-enabled/bureau-static.conf"
SECRETS = Path.home() / ".ansible" / "tmp"
BLOCK = 1 << 20
MB = 1_000_000
TIMEOUT = 600
TARGET_DOWNLOAD_RATIO = 0.7
TARGET_PROPFIND_S = 1.0
# Containers' processes whose CPU each phase notes.
SERVERS = ("nginx", "apache2", "slapd")

PROPFIND_BODIES = {
    "allprop": (
        b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><allprop/></propfind>'
    ),
    "client props": (
        b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop>'
        b"<resourcetype/><getcontentlength/><getlastmodified/><getetag/><getcontenttype/>"
        b"</prop></propfind>"
    ),
}

# CPU seconds (user + system) of the container's processes, by command name,
# from /proc inside the container (its PID namespace: its processes only).
CPU_SCRIPT = """
import json, os
ticks = os.sysconf("SC_CLK_TCK")
totals = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open(f"/proc/{pid}/stat") as handle:
            data = handle.read()
    except OSError:
        continue
    comm = data[data.index("(") + 1 : data.rindex(")")]
    fields = data[data.rindex(")") + 2 :].split()
    totals[comm] = totals.get(comm, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
print(json.dumps(totals))
"""

# Files of the big folder, written inside the container as www-data.
FILL_SCRIPT = """
import os, sys
folder, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.mkdir(folder, 0o750)
body = os.urandom(size)
for n in range(count):
    with open(f"{folder}/f{n:05d}.txt", "wb") as handle:
        handle.write(body)
"""

ACCESS_LINE = re.compile(r'"(\S+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+) "([^"]*)"$')


def docker(container: str, *argv: str, user: str | None = None, stdin: str | None = None) -> str:
    command = ["docker", "exec", "-i", *(["-u", user] if user else []), container, *argv]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def agent_password(uid: str) -> str:
    """The fixture agent's password from molecule's secrets of the suite scenario."""
    found = list(SECRETS.glob(f"molecule.*.suite/secrets/agent_{uid}"))
    if not found:
        raise RuntimeError(f"no password for {uid} under {SECRETS}/molecule.*.suite/secrets")
    newest = max(found, key=lambda path: path.stat().st_mtime)
    return newest.read_text(encoding="utf-8").split()[0]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Front:
    """HTTPS connections to a name of the web front, at the container's address."""

    def __init__(self, address: str, tls: ssl.SSLContext, name: str, headers: dict[str, str]):
        self.address = address
        self.tls = tls
        self.name = name
        self.headers = headers

    def connection(self) -> http.client.HTTPSConnection:
        connection = http.client.HTTPSConnection(
            self.name, 443, context=self.tls, timeout=TIMEOUT, blocksize=BLOCK
        )
        address = self.address

        def connect(where: tuple[str, int], timeout: float, source: object = None) -> socket.socket:
            # The name's certificate and Host, the container's address.
            return socket.create_connection((address, where[1]), timeout)

        connection._create_connection = connect  # type: ignore[attr-defined]
        return connection

    def call(
        self,
        connection: http.client.HTTPSConnection,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request on a keep-alive connection; once more on a new one if
        the front had closed it (keepalive_requests, idle timeout)."""
        for attempt in (1, 2):
            try:
                connection.request(
                    method, path, body=body, headers={**self.headers, **(headers or {})}
                )
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def once(self, method: str, path: str, body: bytes | None = None, **headers: str) -> int:
        connection = self.connection()
        try:
            return self.call(connection, method, path, body, headers)[0]
        finally:
            connection.close()


@dataclass
class Phase:
    """Wall time of a phase and the CPU seconds spent during it."""

    seconds: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    load_after: float = 0.0


class Meter:
    """Wall time, this process's CPU and the container's servers' CPU around a phase."""

    def __init__(self, container: str):
        self.container = container

    def cpu(self) -> dict[str, float]:
        return json.loads(docker(self.container, "python3", "-c", CPU_SCRIPT))

    def run(self, work: Callable[[], None]) -> Phase:
        before = self.cpu()
        client = time.process_time()
        started = time.monotonic()
        work()
        seconds = time.monotonic() - started
        client = time.process_time() - client
        after = self.cpu()
        servers = {name: round(after.get(name, 0.0) - before.get(name, 0.0), 2) for name in SERVERS}
        servers["container (all)"] = round(sum(after.values()) - sum(before.values()), 2)
        return Phase(round(seconds, 3), round(client, 2), servers, round(os.getloadavg()[0], 2))


@dataclass
class Transfer:
    name: str
    round: int
    bytes: int
    status: int
    sha256_ok: bool
    mb_per_s: float
    phase: Phase


def upload(front: Front, path: str, source: Path, size: int) -> int:
    connection = front.connection()
    try:
        with source.open("rb") as handle:
            connection.request(
                "PUT",
                path,
                body=handle,
                headers={
                    **front.headers,
                    "Content-Length": str(size),
                    "Content-Type": "application/octet-stream",
                },
            )
            response = connection.getresponse()
            response.read()
            return response.status
    finally:
        connection.close()


def download(front: Front, path: str) -> tuple[int, int, str]:
    """Status, bytes read and their sha256: the body streamed, never held whole."""
    connection = front.connection()
    digest = hashlib.sha256()
    total = 0
    try:
        connection.request("GET", path, headers=front.headers)
        response = connection.getresponse()
        buffer = memoryview(bytearray(BLOCK))
        while count := response.readinto(buffer):
            digest.update(buffer[:count])
            total += count
        return response.status, total, digest.hexdigest()
    finally:
        connection.close()


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(BLOCK, left))
            digest.update(chunk)
            handle.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


@dataclass
class Puts:
    name: str
    folder: str
    files: int
    clients: int
    # find(1)'s lines under the ministry folder (itself included).
    entries_in_quota_root_before: int
    created: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    rate: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    # Apache's own time per PUT (%D), all of them, the first and the last tenth.
    apache_p50_ms: float = 0.0
    apache_p95_ms: float = 0.0
    apache_first_tenth_p50_ms: float = 0.0
    apache_last_tenth_p50_ms: float = 0.0
    # Apache's CPU per PUT (apache2's CPU seconds over the run / PUTs).
    apache_cpu_ms_per_put: float = 0.0
    # Then `--probe` PUTs from one client, one at a time: Apache's time
    # per PUT without the other clients' requests competing for the CPU.
    single_client_puts: int = 0
    single_client_apache_p50_ms: float = 0.0
    phase: Phase = field(default_factory=Phase)


def put_many(
    front: Front, folder: str, files: int, clients: int, size: int, prefix: str = "p"
) -> Puts:
    """`files` PUTs of `size` bytes from `clients` threads, each on its keep-alive connection."""
    body = os.urandom(size)
    paths = [f"{folder}{prefix}{n:05d}.txt" for n in range(files)]
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    ready = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        connection = front.connection()
        connection.connect()
        ready.wait()
        try:
            for path in paths[index::clients]:
                started = time.monotonic()
                try:
                    status = str(
                        front.call(
                            connection,
                            "PUT",
                            path,
                            body,
                            {"Content-Type": "text/plain"},
                        )[0]
                    )
                except (OSError, http.client.HTTPException) as error:
                    status = type(error).__name__
                with lock:
                    latencies.append((time.monotonic() - started) * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    puts = Puts("", folder, files, clients, 0)
    puts.created = statuses.pop("201", 0) + statuses.pop("204", 0)
    puts.errors = statuses
    puts.latency_p50_ms = round(percentile(latencies, 0.50), 1)
    puts.latency_p95_ms = round(percentile(latencies, 0.95), 1)
    return puts


def apache_times(container: str, tag: str, method: str, prefix: str) -> list[float]:
    """Apache's time (ms, %D) of this run's requests of `method` under `prefix`,
    in the order of its access log."""
    out = docker(
        container,
        "bash",
        "-c",
        f"grep -F {shlex.quote(tag)} /var/log/apache2/bureau-drive-access.log || true",
    )
    times = []
    for line in out.splitlines():
        found = ACCESS_LINE.search(line)
        if found and found[1] == method and found[2].startswith(prefix) and found[5] == tag:
            times.append(int(found[4]) / 1000)
    return times


def count_files(container: str, path: str) -> int:
    return int(docker(container, "bash", "-c", f"find {shlex.quote(path)} | wc -l").strip())


@dataclass
class Listing:
    name: str
    entries: int
    response_bytes: int
    seconds: list[float]
    median_s: float
    p95_s: float
    phase: Phase


def propfinds(front: Front, meter: Meter, path: str, body: bytes, count: int, name: str) -> Listing:
    connection = front.connection()
    headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
    seconds: list[float] = []
    size = entries = 0
    try:
        status, _ = front.call(connection, "PROPFIND", path, body, headers)  # unmeasured
        if status != 207:
            raise RuntimeError(f"PROPFIND {path}: {status}")

        def work() -> None:
            nonlocal size, entries
            for _ in range(count):
                started = time.monotonic()
                status, answer = front.call(connection, "PROPFIND", path, body, headers)
                seconds.append(time.monotonic() - started)
                if status != 207:
                    raise RuntimeError(f"PROPFIND {path}: {status}")
                size, entries = len(answer), answer.count(b"<D:response")

        phase = meter.run(work)
    finally:
        connection.close()
    return Listing(
        name,
        entries,
        size,
        [round(s, 3) for s in seconds],
        round(statistics.median(seconds), 3),
        round(percentile(seconds, 0.95), 3),
        phase,
    )


def wait_for_drive(front: Front, path: str, wait: float) -> None:
    """The container may be re-converged by someone else: wait while the
    front or Apache is down (no answer, 5xx), until the agent's folder
    answers. Any other answer ends it at once: a 401 asked again would be
    one more failure for fail2ban."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status = front.once("PROPFIND", path, Depth="0")
        except OSError as error:
            status = -1
            reason = str(error)
        else:
            reason = f"HTTP {status}"
        if status == 207:
            return
        if 0 < status < 500:
            raise RuntimeError(f"PROPFIND {path} as {AGENT}: {reason}; is the drive deployed?")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the drive does not answer ({reason}) after {wait:.0f} s")
        print(f"drive not ready ({reason}); waiting", file=sys.stderr, flush=True)
        time.sleep(10)


def cleanup(container: str, front: Front, dav_paths: list[str], paths: list[str]) -> list[str]:
    """DELETE what the run made over WebDAV, then remove whatever is left
    inside the container; the paths still there afterwards (none, normally)."""
    for path in dav_paths:
        with contextlib.suppress(OSError, http.client.HTTPException):
            front.once("DELETE", path)
    quoted = " ".join(shlex.quote(p) for p in paths)
    try:
        docker(container, "bash", "-c", f"rm -rf -- {quoted}")
        left = docker(container, "bash", "-c", f"ls -d -- {quoted} 2>/dev/null || true")
    except RuntimeError as error:
        return [f"cleanup failed: {error}"]
    return left.split()


def markdown(report: dict) -> str:
    big = report["big_files"]
    lines = [
        f"# Drive: WebDAV through the web front, with TLS ({report['when']} UTC)",
        "",
        f"Host: {report['machine']}; front `{report['container']}`, folders on "
        f"`{report.get('storage', report['container'])}`; load average "
        f"(1, 5, 15 min) {report['load_before']} before, {report['load_after']} after. "
        f"Agent {AGENT} on `{DAV}`, the front's TLS checked with the internal CA.",
        "",
        f"## Big files: {big['size_mib']} MiB, one connection, best of {big['rounds']}",
        "",
        "| transfer | MB/s (best) | all rounds MB/s | / yardstick | client CPU s "
        "| nginx CPU s | apache2 CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("yardstick GET", "WebDAV GET", "WebDAV PUT"):
        runs = [t for t in big["transfers"] if t["name"] == name]
        best = max(runs, key=lambda t: t["mb_per_s"])
        ratio = big["ratios"].get(name, 1.0)
        lines.append(
            f"| {name} | {best['mb_per_s']} | {', '.join(str(t['mb_per_s']) for t in runs)} "
            f"| {ratio} | {best['phase']['client_cpu_s']} "
            f"| {best['phase']['server_cpu_s']['nginx']} "
            f"| {best['phase']['server_cpu_s']['apache2']} |"
        )
    lines += [
        "",
        f"Download / yardstick **{big['ratios']['WebDAV GET']}** (target ≥ "
        f"{TARGET_DOWNLOAD_RATIO}: **{'met' if big['download_target_met'] else 'NOT met'}**); "
        f"upload / yardstick **{big['ratios']['WebDAV PUT']}**. MB = 10⁶ bytes; every "
        "GET's sha256 was compared (yardstick included). CPU seconds are those of the "
        "best round; the wall time is in the JSON.",
        "",
        "## Small files: 4 KiB PUTs",
        "",
        "| run | entries in the quota root before | PUT/s | p50 ms | p95 ms | Apache p50 ms "
        "| Apache p95 ms | Apache p50, first / last tenth | Apache p50 ms, one client "
        "| apache2 CPU ms per PUT | apache2 CPU s | nginx CPU s | client CPU s | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in report["small_files"]:
        lines.append(
            f"| {p['name']} | {p['entries_in_quota_root_before']} | {p['rate']} "
            f"| {p['latency_p50_ms']} | {p['latency_p95_ms']} | {p['apache_p50_ms']} "
            f"| {p['apache_p95_ms']} | {p['apache_first_tenth_p50_ms']} / "
            f"{p['apache_last_tenth_p50_ms']} | {p['single_client_apache_p50_ms']} "
            f"| {p['apache_cpu_ms_per_put']} | {p['phase']['server_cpu_s']['apache2']} "
            f"| {p['phase']['server_cpu_s']['nginx']} | {p['phase']['client_cpu_s']} "
            f"| {p['errors'] or 'none'} |"
        )
    small = report["small_files"]
    lines += [
        "",
        f"{small[0]['files']} files, {small[0]['clients']} clients. Into the full folder / "
        f'into the empty one: **{report["small_files_ratio"]}**. "Apache" is Apache\'s '
        "own time per PUT (%D in its access log: authentication, quota.lua's walk of "
        "the ministry folder, the write), with the clients competing for the CPU; "
        f'"one client": {small[0]["single_client_puts"]} PUTs more, one at a time, '
        "after each run. The quota root is the ministry folder (groups/mef), whose "
        "entries, other than the run's, are someone else's.",
        "",
        f"## PROPFIND Depth: 1 of a folder of {report['big_folder_files']} files",
        "",
        "| body | entries | response MB | median ms | p95 ms | all ms | apache2 CPU s "
        "| nginx CPU s | client CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for item in report["propfind"]:
        lines.append(
            f"| {item['name']} | {item['entries']} | {item['response_bytes'] / MB:.1f} "
            f"| {item['median_s'] * 1000:.0f} | {item['p95_s'] * 1000:.0f} "
            f"| {', '.join(f'{s * 1000:.0f}' for s in item['seconds'])} "
            f"| {item['phase']['server_cpu_s']['apache2']} "
            f"| {item['phase']['server_cpu_s']['nginx']} | {item['phase']['client_cpu_s']} |"
        )
    lines += [
        "",
        f"Target p95 ≤ {TARGET_PROPFIND_S * 1000:.0f} ms: "
        f"**{'met' if report['propfind_target_met'] else 'NOT met'}** "
        "(one unmeasured request first, then one connection, one after another).",
        "",
        f"Cleaned up: {'yes' if not report['left_behind'] else report['left_behind']}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    global AGENT, MINISTRY  # the report's wording uses them
    parser = argparse.ArgumentParser(prog="python -m bench.drive", description=__doc__)
    parser.add_argument("--container", default="bureau-molecule-suite")
    parser.add_argument("--size-mib", type=int, default=1024, help="the big file")
    parser.add_argument("--rounds", type=int, default=2, help="of each big transfer")
    parser.add_argument("--files", type=int, default=2000, help="small files per run")
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--big", type=int, default=10_000, help="files of the big folder")
    parser.add_argument(
        "--probe", type=int, default=50, help="PUTs from one client after each small-file run"
    )
    parser.add_argument("--propfinds", type=int, default=10)
    parser.add_argument("--wait", type=float, default=900, help="for the drive to answer, s")
    parser.add_argument("--agent", default=AGENT, help="the fixture agent who runs it")
    parser.add_argument("--ministry", default=MINISTRY, help="her ministry's folder")
    parser.add_argument(
        "--storage",
        help="the container of the drive host holding her folders (default: --container)",
    )
    args = parser.parse_args(argv)

    AGENT, MINISTRY = args.agent, args.ministry
    container = args.container
    storage = args.storage or container
    run = secrets.token_hex(3)
    tag = f"bureau-bench-drive/{run}"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    address = container_address(container)
    token = base64.b64encode(f"{AGENT}:{agent_password(AGENT)}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "User-Agent": tag}
    meter = Meter(container)
    size = args.size_mib * 1024 * 1024

    user_folder = f"/users/{AGENT}/"
    big_file = f"{user_folder}bench-{run}.bin"
    small_folder = f"/groups/{MINISTRY}/bench-{run}/"
    full_folder = f"/groups/{MINISTRY}/bench-{run}-big/"
    quota_root = f"{DRIVE_ROOT}/groups/{MINISTRY}"
    static_root = docker(
        container, "sed", "-n", r"s/^ *root \([^;]*\);.*/\1/p", STATIC_SITE
    ).split()
    if not static_root:
        raise RuntimeError(f"no root in {STATIC_SITE}")
    yardstick_name = f"bench-drive-{run}.bin"
    yardstick_file = f"{static_root[0]}/{yardstick_name}"

    report: dict = {
        "when": stamp,
        "container": container,
        "storage": storage,
        "agent": AGENT,
        "machine": f"{os.cpu_count()} CPUs (nproc), Python {sys.version.split()[0]}",
        "run": run,
        "load_before": load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="bureau-bench-drive-") as tmp:
        ca = Path(tmp, "ca.crt")
        ca.write_text(docker(container, "cat", "/etc/ssl/bureau/ca.crt"))
        tls = ssl.create_default_context(cafile=str(ca))
        dav = Front(address, tls, DAV, headers)
        static = Front(address, tls, STATIC, {"User-Agent": tag})
        wait_for_drive(dav, user_folder, args.wait)
        try:
            # 1. Big files.
            source = Path(tmp, "big.bin")
            print(f"drive {run}: {args.size_mib} MiB of random bytes", flush=True)
            expected = random_file(source, size)
            docker(
                container,
                "bash",
                "-c",
                f"umask 022; head -c {size} /dev/urandom > {shlex.quote(yardstick_file)}",
            )
            yardstick_sum = docker(container, "sha256sum", yardstick_file).split()[0]
            transfers: list[Transfer] = []

            def measured(name: str, turn: int, action: Callable[[], tuple[int, int, bool]]) -> None:
                outcome: list[tuple[int, int, bool]] = []
                phase = meter.run(lambda: outcome.append(action()))
                status, count, ok = outcome[0]
                rate = round(count / phase.seconds / MB, 1) if phase.seconds else 0.0
                transfers.append(Transfer(name, turn, count, status, ok, rate, phase))
                print(f"  {name} #{turn}: HTTP {status}, {rate} MB/s", flush=True)
                if not ok:
                    raise RuntimeError(f"{name} #{turn}: HTTP {status}, {count} bytes, bad sum")

            def get(front: Front, path: str, digest: str) -> Callable[[], tuple[int, int, bool]]:
                def action() -> tuple[int, int, bool]:
                    status, count, got = download(front, path)
                    return status, count, status == 200 and count == size and got == digest

                return action

            def put() -> tuple[int, int, bool]:
                status = upload(dav, big_file, source, size)
                return status, size, status in (201, 204)

            for turn in range(1, args.rounds + 1):
                measured("yardstick GET", turn, get(static, f"/{yardstick_name}", yardstick_sum))
                measured("WebDAV PUT", turn, put)
                measured("WebDAV GET", turn, get(dav, big_file, expected))
            best = {
                name: max(t.mb_per_s for t in transfers if t.name == name)
                for name in ("yardstick GET", "WebDAV GET", "WebDAV PUT")
            }
            ratios = {
                name: round(best[name] / best["yardstick GET"], 2)
                for name in ("WebDAV GET", "WebDAV PUT")
            }
            report["big_files"] = {
                "size_mib": args.size_mib,
                "rounds": args.rounds,
                "best_mb_per_s": best,
                "ratios": ratios,
                "download_target_met": ratios["WebDAV GET"] >= TARGET_DOWNLOAD_RATIO,
                "transfers": [asdict(t) for t in transfers],
            }
            source.unlink()
            dav.once("DELETE", big_file)
            docker(container, "rm", "-f", "--", yardstick_file)

            # 2a. Small files into a ministry folder that holds a handful.
            def small(name: str, folder: str) -> Puts:
                before = count_files(storage, quota_root)
                outcome: list[Puts] = []
                phase = meter.run(
                    lambda: outcome.append(
                        put_many(dav, folder, args.files, args.clients, args.file_kib * 1024)
                    )
                )
                puts = outcome[0]
                puts.name, puts.entries_in_quota_root_before, puts.phase = name, before, phase
                puts.rate = round(puts.created / phase.seconds, 1) if phase.seconds else 0.0
                server = apache_times(storage, tag, "PUT", folder)
                tenth = max(1, len(server) // 10)
                puts.apache_p50_ms = round(percentile(server, 0.5), 1)
                puts.apache_p95_ms = round(percentile(server, 0.95), 1)
                puts.apache_first_tenth_p50_ms = round(percentile(server[:tenth], 0.5), 1)
                puts.apache_last_tenth_p50_ms = round(percentile(server[-tenth:], 0.5), 1)
                if puts.created:
                    cpu = phase.server_cpu_s["apache2"]
                    puts.apache_cpu_ms_per_put = round(cpu / puts.created * 1000, 2)
                if args.probe:
                    put_many(dav, folder, args.probe, 1, args.file_kib * 1024, prefix="s")
                    alone = apache_times(storage, tag, "PUT", f"{folder}s")
                    puts.single_client_puts = len(alone)
                    puts.single_client_apache_p50_ms = round(percentile(alone, 0.5), 1)
                print(
                    f"  PUTs {name}: {puts.rate}/s, Apache p50 {puts.apache_p50_ms} ms, "
                    f"errors {puts.errors or 'none'}",
                    flush=True,
                )
                return puts

            if dav.once("MKCOL", small_folder) != 201:
                raise RuntimeError(f"MKCOL {small_folder} failed")
            runs = [small("empty folder", small_folder)]
            dav.once("DELETE", small_folder)

            # 3. The big folder, made inside the container, then listed.
            print(f"  {args.big} files in {full_folder}", flush=True)
            docker(
                storage,
                "python3",
                "-c",
                FILL_SCRIPT,
                f"{DRIVE_ROOT}{full_folder.rstrip('/')}",
                str(args.big),
                str(args.file_kib * 1024),
                user="www-data",
            )
            report["big_folder_files"] = args.big
            report["propfind"] = []
            for name, body in PROPFIND_BODIES.items():
                listing = propfinds(dav, meter, full_folder, body, args.propfinds, name)
                report["propfind"].append(asdict(listing))
                print(
                    f"  PROPFIND {name}: {listing.entries} entries, median "
                    f"{listing.median_s * 1000:.0f} ms, p95 {listing.p95_s * 1000:.0f} ms",
                    flush=True,
                )
            report["propfind_target_met"] = all(
                item["p95_s"] <= TARGET_PROPFIND_S for item in report["propfind"]
            )

            # 2b. Small files into the folder of `--big` files.
            runs.append(small(f"folder of {args.big} files", full_folder))
            started = time.monotonic()
            status = dav.once("DELETE", full_folder)
            report["delete_big_folder"] = {
                "status": status,
                "files": args.big + args.files + args.probe,
                "seconds": round(time.monotonic() - started, 2),
            }
            report["small_files"] = [asdict(p) for p in runs]
            report["small_files_ratio"] = (
                round(runs[1].rate / runs[0].rate, 2) if runs[0].rate else 0.0
            )
        finally:
            report["left_behind"] = cleanup(
                storage,
                dav,
                [big_file, small_folder, full_folder],
                [
                    f"{DRIVE_ROOT}{big_file}",
                    f"{DRIVE_ROOT}{small_folder.rstrip('/')}",
                    f"{DRIVE_ROOT}{full_folder.rstrip('/')}",
                ],
            ) + cleanup(container, dav, [], [yardstick_file])
            report["load_after"] = load_average()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"drive-{stamp}"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(report))
    print((RESULTS / f"{name}.md").read_text())
    met = report["big_files"]["download_target_met"] and report["propfind_target_met"]
    return 0 if met and not report["left_behind"] else 1


if __name__ == "__main__":
    sys.exit(main())
