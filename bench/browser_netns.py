"""Chromium and the host's network changes: a direct launch against one in a
network namespace of its own (tests/infra/browser_netns.py), in the same run.

Without the Bureau suite, it:

1. starts a throwaway container `bureau-netns-probe` (the newest
   localhost/bureau/debian13-systemd image, or --image) with a self-signed
   certificate and, as the suite's web front, nginx serving HTTP/2 on 443
   and HTTP on 80 (installed from Debian at start, through the package cache
   when scripts/apt-proxy finds it), in front of a Python http.server whose
   /slow?ms=T endpoint answers after T/2 ms and trickles its body over the
   other T/2 ms, so a request is in flight for T ms (--front python: the
   http.server alone, HTTP/1.1);
2. launches Chromium twice, as the browser checks do: directly (every name of
   the probe's domain mapped to the container's address) and isolated (the
   namespace and its relay);
3. while a thread churns the host's interfaces the way the other CI lane does
   (`docker network create bureau-netns-probe-net-<i>`, a `docker run --rm`
   container on it, so a veth as well, then `docker network rm`), makes
   --loads page loads with each browser, alternating: each load is a fresh
   context, a navigation to /slow and two sequential fetch()es of /slow;
4. counts the loads where Chromium reported net::ERR_NETWORK_CHANGED (the
   navigation's error or a failed request), and any other failure.

Run: `python -m bench.browser_netns [--loads 40] [--ms 1500] [--churn both]
[--pause 0] [--front nginx]`
(root, or a member of the docker group); results go to
bench/results/browser-netns-<UTC time>.json and .md. Everything it creates is
named bureau-netns-probe* and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from tests.infra import browser_netns

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHROMIUM = os.environ.get("BUREAU_CHROMIUM", "/usr/bin/chromium")
PREFIX = "bureau-netns-probe"
CONTAINER = PREFIX
DOMAIN = "netns-probe.test"
NAME = f"probe.{DOMAIN}"
IMAGE_REPOSITORY = "localhost/bureau/debian13-systemd"

# The probe's server, run by the container's python3 (stdlib only): HTTPS on
# 443 and HTTP on 80 itself (--front python, HTTP/1.1), or plain HTTP on
# 127.0.0.1:8080 behind nginx (`backend`).
SERVER = r"""
import http.server, ssl, sys, threading, time, urllib.parse

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        half = int(query.get("ms", ["0"])[0]) / 2000
        time.sleep(half)
        port = self.headers.get("X-Forwarded-Port") or self.server.server_address[1]
        body = f"<!doctype html><title>probe</title><p>port {port}</p>".encode()
        body += b"." * 32 + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body[:-32])
        for i in range(32):
            time.sleep(half / 32)
            self.wfile.write(body[len(body) - 32 + i:len(body) - 31 + i])
            self.wfile.flush()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    context = None

    def finish_request(self, request, client_address):
        if self.context is not None:
            request = self.context.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


if sys.argv[1:] == ["backend"]:
    Server(("127.0.0.1", 8080), Handler).serve_forever()
tls = Server(("", 443), Handler)
tls.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.context.load_cert_chain("/tmp/probe.pem", "/tmp/probe.key")
threading.Thread(target=Server(("", 80), Handler).serve_forever, daemon=True).start()
tls.serve_forever()
"""

# nginx in front, HTTP/2 on 443 as the suite's web front serves it
# (web_front__http2), streaming the backend's answers as they come.
NGINX = """
server {
    listen 443 ssl;
    listen 80;
    http2 on;
    ssl_certificate /tmp/probe.pem;
    ssl_certificate_key /tmp/probe.key;
    location / {
        proxy_pass http://127.0.0.1:8080;
        proxy_http_version 1.1;
        proxy_buffering off;
        proxy_set_header X-Forwarded-Port $server_port;
    }
}
"""

START = f"""set -e
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN={NAME} \\
    -keyout /tmp/probe.key -out /tmp/probe.pem >/dev/null 2>&1
if [ "$FRONT" = python ]; then exec python3 -c "$SERVER"; fi
apt="apt-get -qq ${{APT_PROXY:+-o Acquire::http::Proxy=$APT_PROXY}}"
$apt update
DEBIAN_FRONTEND=noninteractive $apt install -y --no-install-recommends nginx >/dev/null
rm -f /etc/nginx/sites-enabled/default
printf '%s\\n' "$NGINX" > /etc/nginx/conf.d/probe.conf
python3 -c "$SERVER" backend &
exec nginx -g 'daemon off;'
"""

# One load: a navigation in flight for `ms`, then two fetches in flight as long.
FETCHES = """async (ms) => {
    for (let i = 0; i < 2; i++) {
        const r = await fetch(`/slow?ms=${ms}&fetch=${i}`, {cache: "no-store"});
        await r.text();
    }
}"""


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def newest_image() -> str:
    for line in docker(
        "images", IMAGE_REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}"
    ).splitlines():
        if line.endswith(":latest"):
            return line
    images = docker("images", IMAGE_REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}")
    if not images:
        raise SystemExit(f"no {IMAGE_REPOSITORY} image: build it (make image) or give --image")
    return images.splitlines()[0]


def apt_proxy() -> str:
    """The package cache scripts/host-setup runs, when it answers (scripts/apt-proxy)."""
    if "BUREAU_APT_PROXY" in os.environ:
        return os.environ["BUREAU_APT_PROXY"]
    done = subprocess.run(
        [str(ROOT / "scripts" / "apt-proxy")], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def start_probe(image: str, front: str) -> str:
    """The probe container, serving; its address on Docker's default bridge."""
    docker(
        "run", "-d", "--name", CONTAINER,
        "-e", f"SERVER={SERVER}", "-e", f"NGINX={NGINX}", "-e", f"FRONT={front}",
        "-e", f"APT_PROXY={apt_proxy()}",
        "--entrypoint", "sh", image, "-c", START,
    )  # fmt: skip
    address = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", CONTAINER)
    deadline = time.monotonic() + 180
    while True:
        try:
            with socket.create_connection((address, 443), timeout=1):
                return address
        except OSError:
            running = docker("inspect", "-f", "{{.State.Running}}", CONTAINER, check=False)
            if time.monotonic() > deadline or running != "true":
                logs = docker("logs", CONTAINER, check=False)
                raise RuntimeError(f"the probe does not answer on {address}:443: {logs}") from None
            time.sleep(0.5)


def clean_up() -> list[str]:
    """Every container and network of ours (named bureau-netns-probe*), removed."""
    removed = []
    names = docker("ps", "-a", "--filter", f"name={PREFIX}", "--format", "{{.Names}}", check=False)
    for name in names.split():
        if name.startswith(PREFIX):
            docker("rm", "-f", name, check=False)
            removed.append(name)
    names = docker("network", "ls", "--filter", f"name={PREFIX}", "--format", "{{.Name}}")
    for name in names.split():
        if name.startswith(PREFIX):
            docker("network", "rm", name, check=False)
            removed.append(name)
    return removed


@dataclass
class Churn:
    """The other CI lane: Docker networks (bridges) and containers (veths)
    made and removed on the host, in a loop, until stopped."""

    image: str
    mode: str
    pause: float = 0.0
    cycles: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churn", daemon=True)

    def _steps(self, i: int) -> list[list[str]]:
        network = f"{PREFIX}-net-{0 if self.mode == 'containers' else i}"
        container = ["run", "--rm", "--name", f"{PREFIX}-churn-{i}", "--network", network,
                     "--entrypoint", "true", self.image]  # fmt: skip
        if self.mode == "networks":
            return [["network", "create", network], ["network", "rm", network]]
        if self.mode == "containers":
            return [container]
        return [["network", "create", network], container, ["network", "rm", network]]

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            for step in self._steps(i):
                done = subprocess.run(["docker", *step], capture_output=True, text=True)
                if done.returncode != 0 and len(self.errors) < 10:
                    self.errors.append(f"docker {' '.join(step)}: {done.stderr.strip()}")
            self.cycles += 1
            self._stop.wait(self.pause)

    def __enter__(self) -> Churn:
        if self.mode == "containers":
            docker("network", "create", f"{PREFIX}-net-0")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Tally:
    launch: str
    loads: int = 0
    network_changed: int = 0
    other_failures: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)
    # Each load's seconds, and whether Chromium said ERR_NETWORK_CHANGED in it.
    durations: list[tuple[float, bool]] = field(default_factory=list)


def load(browser: Browser, ms: int, tally: Tally) -> None:
    """One page load against the probe; what failed, counted in `tally`."""
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    failures: list[str] = []
    page.on("requestfailed", lambda r: failures.append(f"{r.failure} {r.url}"))
    started = time.monotonic()
    try:
        page.goto(f"https://{NAME}/slow?ms={ms}")
        page.evaluate(FETCHES, ms)
    except PlaywrightError as error:
        failures.append(str(error).splitlines()[0])
    finally:
        context.close()
    seconds = time.monotonic() - started
    changed = any("ERR_NETWORK_CHANGED" in f for f in failures)
    tally.seconds += seconds
    tally.durations.append((round(seconds, 2), changed))
    tally.loads += 1
    if changed:
        tally.network_changed += 1
    elif failures:
        tally.other_failures += 1
    if failures and len(tally.examples) < 5:
        tally.examples.append(failures[0])


def check(browser: Browser, url: str) -> str:
    """Where a navigation to `url` ends, on which port and in which protocol."""
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        response = page.goto(url)
        protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        status = response.status if response else "?"
        return f"{status} {page.url} {page.inner_text('p')}, {protocol}"
    except PlaywrightError as error:
        return f"failed: {str(error).splitlines()[0]}"
    finally:
        context.close()


def write_results(name: str, report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Chromium and the host's network changes: direct launch against network namespace",
        "",
        f"{report['started']}, {report['machine']}; Chromium `{report['chromium']}`; "
        f"front `{report['front']}`; churn `{report['churn']}`, pause {report['pause']} s "
        f"({report['churn_cycles']} cycles, "
        f"load average {report['load_before']:.1f} → {report['load_after']:.1f}); "
        f"each load: a navigation and two fetches, each in flight {report['ms']} ms.",
        "",
        "| launch | loads | ERR_NETWORK_CHANGED | other failures | seconds |",
        "|---|---|---|---|---|",
    ]
    for t in report["tallies"]:
        lines.append(
            f"| {t['launch']} | {t['loads']} | {t['network_changed']} "
            f"| {t['other_failures']} | {t['seconds']:.0f} |"
        )
    lines += ["", "Before the churn, through each launch:", ""]
    lines += [f"- {k}: {v}" for k, v in report["checks"].items()]
    examples = [(t["launch"], e) for t in report["tallies"] for e in t["examples"]]
    if examples:
        lines += ["", "Examples of failures:", ""]
        lines += [f"- {launch}: `{e}`" for launch, e in examples]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_netns", description=__doc__)
    parser.add_argument("--loads", type=int, default=40, help="page loads per launch")
    parser.add_argument("--ms", type=int, default=1500, help="how long each request is in flight")
    parser.add_argument(
        "--churn",
        choices=["networks", "containers", "both"],
        default="both",
        help="what the churn makes and removes: bridges, veths (containers on one "
        "network), or both (the default)",
    )
    parser.add_argument(
        "--front",
        choices=["nginx", "python"],
        default="nginx",
        help="what serves the browser: nginx with HTTP/2 (as the suite's web front; "
        "the default) or Python's http.server itself (HTTP/1.1)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds between two churn cycles (0, the default: one after the other)",
    )
    parser.add_argument("--image", help=f"the probe's image (default: {IMAGE_REPOSITORY})")
    args = parser.parse_args(argv)

    if not browser_netns.isolation_available():
        print("no network namespace on this machine: nothing to compare", file=sys.stderr)
        return 2
    image = args.image or newest_image()
    clean_up()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tallies = {"direct": Tally("direct"), "isolated": Tally("isolated")}
    checks: dict[str, str] = {}
    try:
        address = start_probe(image, args.front)
        print(f"probe {CONTAINER} at {address} ({image}, {args.front})", file=sys.stderr)
        with (
            sync_playwright() as playwright,
            browser_netns.launch(
                playwright.chromium, CHROMIUM, DOMAIN, address, isolate=False
            ) as direct,
            browser_netns.launch(
                playwright.chromium, CHROMIUM, DOMAIN, address, isolate=True
            ) as isolated,
        ):
            browsers = {"direct": direct, "isolated": isolated}
            for launch, browser in browsers.items():
                for url in (f"https://{NAME}/", f"http://{NAME}/"):
                    checks[f"{launch} {url}"] = check(browser, url)
            version = direct.version
            load_before = os.getloadavg()[0]
            with Churn(image, args.churn, args.pause) as churn:
                time.sleep(1)
                for i in range(args.loads):
                    order = ("direct", "isolated") if i % 2 == 0 else ("isolated", "direct")
                    for launch in order:
                        load(browsers[launch], args.ms, tallies[launch])
                    print(
                        f"{i + 1}/{args.loads}: "
                        + ", ".join(
                            f"{t.launch} {t.network_changed} ERR_NETWORK_CHANGED"
                            f" {t.other_failures} other"
                            for t in tallies.values()
                        ),
                        file=sys.stderr,
                    )
            load_after = os.getloadavg()[0]
    finally:
        removed = clean_up()
        print(f"removed: {' '.join(removed)}", file=sys.stderr)

    report = {
        "started": started,
        "machine": f"{platform.node()} ({os.cpu_count()} cores, {platform.release()})",
        "chromium": version,
        "image": image,
        "ms": args.ms,
        "churn": args.churn,
        "pause": args.pause,
        "churn_cycles": churn.cycles,
        "churn_errors": churn.errors,
        "load_before": load_before,
        "load_after": load_after,
        "front": args.front,
        "checks": checks,
        "tallies": [asdict(t) for t in tallies.values()],
    }
    name = "browser-netns-" + started.replace("-", "").replace(":", "").replace("T", "-")[:15]
    write_results(name, report)
    for t in tallies.values():
        print(
            f"{t.launch}: {t.network_changed} ERR_NETWORK_CHANGED of {t.loads} loads"
            f" ({t.other_failures} other failures)"
        )
    print(f"results: bench/results/{name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
