"""Video: what Janus' VideoRoom spends per forwarded stream as a meeting grows.

Runs against the converged `suite` scenario (`molecule converge -s suite`,
BUREAU_SUITE naming its containers): one meeting on the suite's video host,
filled with Chromium participants (Debian's, fake camera and microphone at
the role's default resolution and bitrate, simulcast on), all through the
portal and the meeting page as agents use them. The participants are pages
of one browser in its own network namespace (tests/infra/browser_netns.py),
so their media flows through coturn's TLS port, as in the suite's checks.

For each size of `--participants` (default 2,4,6,8), after a warm-up, over
`--seconds`: the CPU seconds Janus and coturn spent (/proc of the video
host), the forwarded streams (n x (n - 1) video and as many audio), and what
the receivers saw: video frames decoded, packets lost of those expected, mean
jitter. The clients' own encoders run on the same machine: their CPU is noted
(load average) because it bounds what this box can show.

Run: `python -m bench.video [--participants 2,4,6,8] [--seconds 20]`;
results go to bench/results/video-<UTC time>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from tests.infra import browser_netns

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CHROMIUM = os.environ.get("BUREAU_CHROMIUM", "/usr/bin/chromium")
DOMAIN = "gouv.tg"
VISIO = f"visio.{DOMAIN}"
CREATOR, JOINER = "abla.adjo-amegan", "kokou.agbeko"
FAKE_MEDIA = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--ignore-certificate-errors",
)
STATS = """async () => {
  let frames = 0, received = 0, lost = 0, jitter = [];
  for (const c of window.bureauVisio.connections()) {
    if (c.role !== "subscriber" || !c.pc) continue;
    (await c.pc.getStats()).forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "video") frames += r.framesDecoded || 0;
      received += r.packetsReceived || 0;
      lost += r.packetsLost || 0;
      if (r.jitter !== undefined) jitter.push(r.jitter);
    });
  }
  return {frames, received, lost, jitter};
}"""


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def address_of(container: str) -> str:
    return docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container
    ).split()[0]


def cpu_seconds(container: str, process: str) -> float:
    """utime + stime of the process's threads, in seconds (USER_HZ 100)."""
    text = docker("exec", container, "sh", "-c", f"cat /proc/$(pidof -s {process})/stat")
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def password(uid: str) -> str:
    from molecule.text import checksum

    path = Path.home() / f".ansible/tmp/molecule.{checksum(ROOT.name, 4)}.suite/secrets/agent_{uid}"
    return path.read_text(encoding="utf-8").split()[0]


def login(page: Page, uid: str) -> None:
    page.wait_for_selector("form#lform input[name=user]")
    page.fill("input[name=user]", uid)
    page.fill("input[name=password]", password(uid))
    with page.expect_navigation(wait_until="load"):
        page.click("form#lform button[type=submit]")


def measure(pages: list[Page], suite_video: str, seconds: float) -> dict:
    before = [page.evaluate(STATS) for page in pages]
    janus0, turn0 = cpu_seconds(suite_video, "janus"), cpu_seconds(suite_video, "turnserver")
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    janus1, turn1 = cpu_seconds(suite_video, "janus"), cpu_seconds(suite_video, "turnserver")
    after = [page.evaluate(STATS) for page in pages]
    n = len(pages)
    received = sum(a["received"] - b["received"] for a, b in zip(after, before, strict=True))
    lost = sum(a["lost"] - b["lost"] for a, b in zip(after, before, strict=True))
    jitters = [j for a in after for j in a["jitter"]]
    video_streams = n * (n - 1)
    janus_cpu = (janus1 - janus0) / elapsed
    return {
        "participants": n,
        "forwarded_video_streams": video_streams,
        "forwarded_streams": 2 * video_streams,
        "janus_cpu_cores": round(janus_cpu, 4),
        "coturn_cpu_cores": round((turn1 - turn0) / elapsed, 4),
        "janus_cpu_percent_per_stream": round(100 * janus_cpu / (2 * video_streams), 3),
        "frames_decoded_per_s": round(
            sum(a["frames"] - b["frames"] for a, b in zip(after, before, strict=True)) / elapsed, 1
        ),
        "loss_percent": round(100 * lost / max(1, received + lost), 3),
        "jitter_ms": round(1000 * sum(jitters) / max(1, len(jitters)), 1),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__)
    parser.add_argument("--participants", default="2,4,6,8")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=10)
    options = parser.parse_args(argv)
    sizes = sorted({int(n) for n in options.participants.split(",")})
    if not sizes or sizes[0] < 2:
        print("bench.video: --participants lists sizes of 2 or more", file=sys.stderr)
        return 2
    suite = os.environ.get("BUREAU_SUITE", "bureau-molecule-suite")
    suite_video = f"{suite}-video"
    front, video = address_of(suite), address_of(suite_video)
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    rows = []
    with (
        sync_playwright() as playwright,
        browser_netns.launch(
            playwright.chromium,
            CHROMIUM,
            DOMAIN,
            front,
            args=FAKE_MEDIA,
            relays={5349: (video, 5349)},
        ) as browser,
    ):
        pages: list[Page] = []

        def participant(uid: str, link: str | None) -> Page:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(60_000)
            page.goto(link or f"https://{VISIO}/")
            login(page, uid)
            if link is None:
                page.click("#create")
                page.locator("#created").wait_for()
                link = page.input_value("#link")
                page.goto(link)
            page.locator("#state:text('Connecté')").wait_for()
            return page

        first = participant(CREATOR, None)
        link = first.url
        pages.append(first)
        for size in sizes:
            while len(pages) < size:
                pages.append(participant(JOINER, link))
            time.sleep(options.warmup)
            row = measure(pages, suite_video, options.seconds)
            print(json.dumps(row), flush=True)
            rows.append(row)
    report = {"started": started, "seconds": options.seconds, "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"video-{started}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Video: Janus VideoRoom per forwarded stream",
        "",
        f"{started}; one meeting, Chromium participants with fake media (640x360, simulcast, "
        f"500 kbit/s cap), media through coturn's TLS port; {options.seconds:.0f} s per size.",
        "",
        "| participants | forwarded streams (video + audio) | Janus CPU (cores) "
        "| % of a core per stream | coturn CPU (cores) | frames decoded/s | loss % "
        "| jitter ms | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['participants']} | {r['forwarded_streams']} | {r['janus_cpu_cores']} "
            f"| {r['janus_cpu_percent_per_stream']} | {r['coturn_cpu_cores']} "
            f"| {r['frames_decoded_per_s']} | {r['loss_percent']} | {r['jitter_ms']} "
            f"| {r['load_average']:.1f} |"
        )
    (RESULTS / f"video-{started}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
