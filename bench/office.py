"""Office desktops: what one agent's session costs, and how many sessions an
office host holds before typing feels slow.

Runs against the converged `suite` scenario (`molecule converge -s suite`,
BUREAU_SUITE naming its containers), with the clients agents use: FreeRDP
(Debian's xfreerdp, each under its own Xvfb on this machine, TLS, the
internal CA, the French keyboard) logs the suite's test agents in to the
office host, LibreOffice runs in their desktops as they would start it.

1. **One session, three workloads** (the issue's): the XFCE desktop idle;
   Writer with a 20-page document, the agent typing; Calc with a 5,000-row
   sheet (a product per row and their sum), the agent entering figures. For
   each: the memory of the agent's processes (PSS: shared pages counted once
   across sessions, in proportion) and the CPU they spend (their Xorg, XFCE,
   LibreOffice), over `--seconds`.
2. **Input latency as sessions grow**: 1 to N agents (the suite knows five),
   each with Writer and the document, all but the first typing at a typist's
   pace (5 keys/s; `--rate` for more); on the first, `--presses` key presses
   are sent to her client's X display (XTEST) and timed until her client's
   screen changes:
   the round trip an agent feels, key to FreeRDP, RDP to xrdp, Xorg to
   Writer, Writer's drawing back to her screen. Each press waits for the
   screen to be still first (the cursor does not blink: the bench turns
   blinking off in her settings, as an agent may).

Every client, its Xvfb and the office host's containers share this machine's
cores: the figures are a floor for a dedicated host, and the report gives the
load around each step. Sessions are logged out and the bench's documents
removed at the end.

Run: `python -m bench.office [--agents N] [--seconds S] [--presses P] [--rate K]`;
results go to bench/results/office-<UTC time>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import mmap
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import testinfra
from tests.infra.office.support import (
    in_session,
    login_command,
    rdp_client,
    screenshot,
    session_environment,
    sessions_of,
    start,
    stop,
    wait_for,
)
from Xlib import XK, X, display
from Xlib.ext import xtest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOMAIN = "gouv.tg"
OFFICE_NAME = f"office.{DOMAIN}"
AGENTS = ["kokou.agbeko", "abla.adjo-amegan", "yao.de-souza", "edem.kodjo", "essi.kpodar"]
WIDTH, HEIGHT = 1280, 800
# The rows of the screen watched for a change: the document, not XFCE's panels.
TOP, BOTTOM = 80, 720
FOLDER = "bench-office"
# What a typing agent sends, as X keysym names: a word and a space (letters
# that are where they are on both the client's US and the session's French
# keyboard: FreeRDP sends the key's position, the session maps it).
TYPIST = ["p", "o", "r", "t", "e", "space"]
X_CONNECT = threading.Lock()

# Run in the office host: per agent, the PSS of her processes (KiB) and their
# CPU (utime + stime, clock ticks); "xrdp": xrdp's own processes (root's).
PROBE = r"""
import json, os, pwd, sys
names = sys.argv[1:]
uids = {pwd.getpwnam(n).pw_uid: n for n in names}
out = {n: {"pss_kib": 0, "ticks": 0, "processes": 0} for n in names + ["xrdp"]}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        who = uids.get(uid) or ("xrdp" if comm.startswith("xrdp") else None)
        if who is None:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
        out[who]["pss_kib"] += pss
        out[who]["ticks"] += int(fields[11]) + int(fields[12])
        out[who]["processes"] += 1
    except (FileNotFoundError, ProcessLookupError, ValueError, PermissionError):
        pass
print(json.dumps(out))
"""


def docker(*args: str, input_text: str | None = None) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, input=input_text
    ).stdout


def ephemeral() -> Path:
    from molecule.text import checksum

    return Path.home() / f".ansible/tmp/molecule.{checksum(ROOT.name, 4)}.suite"


def password(uid: str) -> str:
    return (ephemeral() / "secrets" / f"agent_{uid}").read_text(encoding="utf-8").split()[0]


def writer_document(pages: int = 20) -> str:
    """A flat ODF text of `pages` pages: a heading and six paragraphs each."""
    words = " ".join(
        [
            "Le ministère transmet aux directions régionales le compte rendu de la",
            "réunion du comité de pilotage, les décisions prises et le calendrier",
            "des travaux pour le trimestre à venir, avec les crédits correspondants",
        ]
    ).split()
    body = []
    for page in range(1, pages + 1):
        body.append(f'<text:h text:style-name="Break" text:outline-level="1">Page {page}</text:h>')
        for n in range(6):
            text = " ".join(words[(n + i) % len(words)] for i in range(70))
            body.append(f"<text:p>{text}.</text:p>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
        'office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">'
        '<office:automatic-styles><style:style style:name="Break" style:family="paragraph">'
        '<style:paragraph-properties fo:break-before="page"/></style:style>'
        "</office:automatic-styles>"
        f"<office:body><office:text>{''.join(body)}</office:text></office:body></office:document>\n"
    )


def calc_document(rows: int = 5000) -> str:
    """A flat ODF sheet: `rows` lines of a quantity, a price, their product, and the sum."""
    lines = [
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Article</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Quantité</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Prix</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Total</text:p>'
        "</table:table-cell></table:table-row>"
    ]
    for n in range(2, rows + 2):
        lines.append(
            f'<table:table-row><table:table-cell office:value-type="string"><text:p>Article {n - 1}'
            f'</text:p></table:table-cell><table:table-cell office:value-type="float" '
            f'office:value="{n % 17 + 1}"/><table:table-cell office:value-type="float" '
            f'office:value="{(n * 37) % 1000 + 0.5}"/><table:table-cell '
            f'table:formula="of:=[.B{n}]*[.C{n}]" office:value-type="float"/></table:table-row>'
        )
    lines.append(
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Somme</text:p>'
        "</table:table-cell><table:table-cell/><table:table-cell/><table:table-cell "
        f'table:formula="of:=SUM([.D2:.D{rows + 1}])" office:value-type="float"/></table:table-row>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
        'office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        '<office:body><office:spreadsheet><table:table table:name="Budget">'
        f"{''.join(lines)}</table:table></office:spreadsheet></office:body></office:document>\n"
    )


@dataclass
class Session:
    """One agent's RDP client on this machine and her desktop on the office host."""

    uid: str
    number: int  # the client's X display
    folder: Path
    client: subprocess.Popen | None = None
    environment: list[str] = field(default_factory=list)
    typist: threading.Thread | None = None
    stop_typing: threading.Event = field(default_factory=threading.Event)

    @property
    def x_display(self) -> str:
        return f":{self.number}"

    def connect_x(self) -> display.Display:
        # python-xlib reads the cookie's file from the environment: one at a time.
        with X_CONNECT:
            os.environ["XAUTHORITY"] = str(self.folder / "Xauthority")
            return display.Display(self.x_display)


class Office:
    """The office host, through testinfra's docker backend (the office checks' helpers take it)."""

    def __init__(self, container: str, address: str) -> None:
        self.container = container
        self.address = address
        self.host = testinfra.get_host(f"docker://{container}")

    def desktop(self, uid: str) -> str:
        return (sessions_of(self.host, uid) or [""])[0]

    def probe(self, uids: list[str]) -> dict:
        return json.loads(self.host.check_output("python3 -c %s" + " %s" * len(uids), PROBE, *uids))

    def put(self, uid: str, name: str, text: str) -> str:
        """A document in the agent's home, hers, 0600 (through docker exec's stdin:
        a 1.6 MB sheet is too long for a command line)."""
        folder = f"/home/{uid}/{FOLDER}"
        path = f"{folder}/{name}"
        self.host.check_output("install -d -o %s -m 0700 %s", uid, folder)
        docker("exec", "-i", self.container, "sh", "-c", f"cat > {path}", input_text=text)
        self.host.check_output("chown %s %s && chmod 0600 %s", uid, path, path)
        return path


def clk_tck() -> int:
    return os.sysconf("SC_CLK_TCK")


def wait(condition, seconds: float, what: str):  # type: ignore[no-untyped-def]
    """condition()'s first true answer within `seconds`, or the bench stops, naming `what`."""
    found = wait_for(condition, seconds)
    if not found:
        raise SystemExit(f"bench.office: no {what} within {seconds:.0f} s")
    return found


class Screen:
    """The watched rows of a client's Xvfb screen (its -fbdir file, XWD)."""

    def __init__(self, folder: Path) -> None:
        self.handle = (folder / "Xvfb_screen0").open("rb")
        self.map = mmap.mmap(self.handle.fileno(), 0, access=mmap.ACCESS_READ)
        fields = struct.unpack(">25I", self.map[:100])
        start = fields[0] + fields[19] * 12
        line = fields[12]
        self.window = (start + TOP * line, start + BOTTOM * line)

    def pixels(self) -> bytes:
        return self.map[self.window[0] : self.window[1]]

    def still(self, seconds: float, limit: float = 15) -> bool:
        """Wait for the screen to stay unchanged `seconds`; False if it never does."""
        deadline = time.monotonic() + limit
        last, since = self.pixels(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            now = self.pixels()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return True
        return False

    def changed_after(self, before: bytes, limit: float = 5) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.pixels() != before:
                return time.monotonic() - started
            time.sleep(0.002)
        return None


MODIFIERS = {"ctrl": "Control_L", "shift": "Shift_L"}


def press(x: display.Display, name: str) -> None:
    """One key on the client's keyboard, as X keysym names: `x`, `space`,
    `ctrl+Home`, `shift+1` (the session's keyboard is French: its digits
    are shifted)."""
    *held, key = name.split("+")
    codes = [x.keysym_to_keycode(XK.string_to_keysym(MODIFIERS[m])) for m in held]
    code = x.keysym_to_keycode(XK.string_to_keysym(key))
    for modifier in codes:
        xtest.fake_input(x, X.KeyPress, modifier)
    xtest.fake_input(x, X.KeyPress, code)
    xtest.fake_input(x, X.KeyRelease, code)
    for modifier in reversed(codes):
        xtest.fake_input(x, X.KeyRelease, modifier)
    x.sync()


def focus(session: Session) -> None:
    """Click in the middle of the document, as an agent does before typing."""
    x = session.connect_x()
    xtest.fake_input(x, X.MotionNotify, x=WIDTH // 2, y=HEIGHT // 2)
    xtest.fake_input(x, X.ButtonPress, 1)
    xtest.fake_input(x, X.ButtonRelease, 1)
    x.sync()
    x.close()


def keys(session: Session, *names: str) -> None:
    """A few key presses on the session's client (names as `press` takes them)."""
    x = session.connect_x()
    for name in names:
        press(x, name)
        time.sleep(0.3)
    x.close()


def typist(session: Session, keys: list[str], every: float) -> None:
    x = session.connect_x()
    n = 0
    while not session.stop_typing.wait(every):
        press(x, keys[n % len(keys)])
        n += 1
    x.close()


def start_typing(session: Session, keys: list[str], every: float = 0.2) -> None:
    session.stop_typing.clear()
    session.typist = threading.Thread(target=typist, args=(session, keys, every), daemon=True)
    session.typist.start()


def stop_typing(session: Session) -> None:
    session.stop_typing.set()
    if session.typist:
        session.typist.join(timeout=5)
        session.typist = None


def open_document(office: Office, session: Session, path: str, module: str) -> None:
    in_session(
        office.host, session.uid, session.environment,
        "setsid -f soffice --%s --norestore --nologo %s >/dev/null 2>&1", module, path,
    )  # fmt: skip
    wait(
        lambda: office.host.run("pgrep -u %s -x soffice.bin", session.uid).rc == 0,
        120, f"LibreOffice as {session.uid}",
    )  # fmt: skip


def close_documents(office: Office, session: Session) -> None:
    office.host.run("pkill -u %s -x soffice.bin", session.uid)
    time.sleep(3)


def measure(office: Office, uids: list[str], seconds: float) -> dict:
    before, t0 = office.probe(uids), time.monotonic()
    time.sleep(seconds)
    after, elapsed = office.probe(uids), time.monotonic() - t0
    rows = {}
    for who in [*uids, "xrdp"]:
        ticks = after[who]["ticks"] - before[who]["ticks"]
        rows[who] = {
            "pss_mib": round(after[who]["pss_kib"] / 1024, 1),
            "cpu_cores": round(ticks / clk_tck() / elapsed, 3),
            "processes": after[who]["processes"],
        }
    rows["load_average"] = round(os.getloadavg()[0], 1)
    return rows


def latency(session: Session, screen: Screen, presses: int) -> dict:
    x = session.connect_x()
    times, lost, restless = [], 0, 0
    for n in range(presses):
        if not screen.still(0.7):
            restless += 1
        before = screen.pixels()
        press(x, "x" if n % 6 else "space")
        found = screen.changed_after(before)
        if found is None:
            lost += 1
        else:
            times.append(found)
    x.close()
    times.sort()
    ms = [round(1000 * t, 1) for t in times]
    return {
        "presses": presses,
        "answered": len(ms),
        "unanswered_5s": lost,
        "never_still": restless,
        "p50_ms": ms[len(ms) // 2] if ms else None,
        "p95_ms": ms[min(len(ms) - 1, int(len(ms) * 0.95))] if ms else None,
        "max_ms": ms[-1] if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.office", description=__doc__)
    parser.add_argument("--agents", type=int, default=len(AGENTS), help="sessions at most (≤ 5)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument(
        "--rate", type=float, default=5, help="keys per second of each other agent (a typist: 5)"
    )
    parser.add_argument("--settle", type=float, default=20, help="seconds after a document opens")
    parser.add_argument(
        "--screenshots", type=Path, help="save the first agent's screen after each workload here"
    )
    options = parser.parse_args(argv)
    if not 1 <= options.agents <= len(AGENTS):
        print(f"bench.office: --agents is 1 to {len(AGENTS)} (the suite's test agents); "
              f"got {options.agents}", file=sys.stderr)  # fmt: skip
        return 2
    suite = os.environ.get("BUREAU_SUITE", "bureau-molecule-suite")
    container = f"{suite}-office"
    try:
        address = docker(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container
        ).split()[0]
    except subprocess.CalledProcessError:
        print(f"bench.office: no container {container}: converge the suite first "
              "(molecule converge -s suite)", file=sys.stderr)  # fmt: skip
        return 2
    office = Office(container, address)
    # Stopped, the bench still logs its agents out and ends its clients.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ca_file = ephemeral() / "ca.crt"
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    uids = AGENTS[: options.agents]
    settings = {k: v for k, v in vars(options).items() if k != "screenshots"}
    report: dict = {"started": started, "options": settings, "cores": os.cpu_count()}
    sessions: list[Session] = []
    with ExitStack() as stack:

        def open_session(uid: str) -> tuple[Session, Screen]:
            number = 90 + len(sessions)
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bureau-bench-")))
            prefix = stack.enter_context(
                rdp_client(office.address, OFFICE_NAME, ca_file, folder, display=number)
            )
            session = Session(uid, number, folder)
            log = folder / "client.log"
            session.client = start(login_command(prefix, OFFICE_NAME, uid, password(uid)), log)
            sessions.append(session)
            pid = wait(lambda: office.desktop(uid), 90, f"desktop for {uid}")
            time.sleep(10)  # XFCE's panel and desktop draw
            session.environment = session_environment(office.host, pid)
            in_session(
                office.host, uid, session.environment,
                "xfconf-query -c xsettings -p /Net/CursorBlink -n -t bool -s false",
            )  # fmt: skip
            return session, Screen(folder)

        def cleanup() -> None:
            for session in sessions:
                stop_typing(session)
                if session.client:
                    stop(session.client)
                office.host.run(
                    "loginctl terminate-user %s || pkill -KILL -u %s; rm -rf %s",
                    session.uid, session.uid, f"/home/{session.uid}/{FOLDER}",
                )  # fmt: skip

        try:
            report.update(run_steps(office, options, uids, open_session))
        finally:
            cleanup()
    write(report, started)
    return 0


def keep_screen(options: argparse.Namespace, session: Session, name: str) -> None:
    if options.screenshots:
        options.screenshots.mkdir(parents=True, exist_ok=True)
        colours = screenshot(session.folder, options.screenshots / f"{name}.png")
        print(f"bench.office: {options.screenshots / name}.png, {colours} colours", flush=True)


def run_steps(
    office: Office,
    options: argparse.Namespace,
    uids: list[str],
    open_session: Callable[[str], tuple[Session, Screen]],
) -> dict:
    """The two parts of the bench (the module's docstring), sessions opened by `open_session`."""
    report: dict = {}
    first, screen = open_session(uids[0])
    writer = office.put(first.uid, "rapport.fodt", writer_document())
    calc = office.put(first.uid, "budget.fods", calc_document())
    # 1. One session, three workloads.
    workloads = {}
    time.sleep(options.settle)
    workloads["idle desktop"] = measure(office, [first.uid], options.seconds)
    open_document(office, first, writer, "writer")
    time.sleep(options.settle)
    focus(first)
    start_typing(first, TYPIST)
    workloads["Writer, 20 pages, typing"] = measure(office, [first.uid], options.seconds)
    stop_typing(first)
    keep_screen(options, first, "writer")
    close_documents(office, first)
    open_document(office, first, calc, "calc")
    time.sleep(options.settle)
    focus(first)
    keys(first, "ctrl+Home", "Right", "Down")  # B2, the first quantity: each entry recalculates
    start_typing(first, ["shift+1", "shift+2", "Return"])
    workloads["Calc, 5,000 rows, entering figures"] = measure(office, [first.uid], options.seconds)
    stop_typing(first)
    keep_screen(options, first, "calc")
    close_documents(office, first)
    report["workloads"] = workloads
    for name, row in workloads.items():
        print(json.dumps({name: row}), flush=True)
    # 2. Input latency as sessions grow (Writer in each, the others typing).
    open_document(office, first, writer, "writer")
    time.sleep(options.settle)
    focus(first)
    steps = []
    for size in range(1, len(uids) + 1):
        if size > 1:
            other, _ = open_session(uids[size - 1])
            path = office.put(other.uid, "rapport.fodt", writer_document())
            open_document(office, other, path, "writer")
            time.sleep(options.settle)
            focus(other)
            start_typing(other, TYPIST, every=1 / options.rate)
        row = {"sessions": size, **latency(first, screen, options.presses)}
        row["usage"] = measure(office, uids[:size], options.seconds)
        print(json.dumps(row), flush=True)
        steps.append(row)
    report["latency"] = steps
    return report


def write(report: dict, started: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"office-{started}.json").write_text(json.dumps(report, indent=2) + "\n")
    o = report["options"]
    lines = [
        "# Office desktops: cost of a session, input latency as sessions grow",
        "",
        f"{started}; the suite's office host (a container), FreeRDP clients under Xvfb on the "
        f"same {report['cores']}-core machine; {o['seconds']:.0f} s per measure, "
        f"{o['presses']} key presses per latency step; the other agents type "
        f"{o['rate']:g} keys/s each.",
        "",
        "## One session",
        "",
        "| workload | agent's processes PSS (MiB) | agent's CPU (cores) | xrdp CPU (cores) "
        "| load average |",
        "|---|---|---|---|---|",
    ]
    for name, row in report["workloads"].items():
        uid = next(k for k in row if k not in ("xrdp", "load_average"))
        lines.append(
            f"| {name} | {row[uid]['pss_mib']} | {row[uid]['cpu_cores']} "
            f"| {row['xrdp']['cpu_cores']} | {row['load_average']} |"
        )
    lines += [
        "",
        "## Key to screen, first agent, the others typing in Writer",
        "",
        "| sessions | p50 ms | p95 ms | max ms | unanswered (5 s) | agents' CPU (cores) "
        "| agents' PSS (MiB) | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["latency"]:
        usage = row["usage"]
        agents = [k for k in usage if k not in ("xrdp", "load_average")]
        cpu = round(sum(usage[a]["cpu_cores"] for a in agents), 3)
        pss = round(sum(usage[a]["pss_mib"] for a in agents), 1)
        lines.append(
            f"| {row['sessions']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} "
            f"| {row['unanswered_5s']} | {cpu} | {pss} | {usage['load_average']} |"
        )
    (RESULTS / f"office-{started}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
