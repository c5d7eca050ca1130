"""Mail throughput: authenticated submission → Rspamd milter → LMTP delivery.

Runs against a host where the mail roles are deployed (the molecule `suite`
scenario's container by default: `molecule converge -s suite` first; or the
rehearsal host with `--container bureau-rehearsal-suite`). It:

1. creates throwaway sender and recipient agents in the host's directory
   (ldapadd over ldapi as root), with a password generated for the run;
2. sends `--messages` small messages from `--concurrency` parallel clients,
   each an SMTP connection on 587 with STARTTLS and AUTH (Python's smtplib,
   the CA checked), spread over the senders and recipients;
3. takes each message's delivery time from Dovecot's LMTP log line
   (`msgid=<...>: saved mail to INBOX`, journald timestamps: the controller
   and the container share one clock) — latency is delivery minus the moment
   the client started the SMTP transaction;
4. repeats the run with the milter off (`smtpd_milters` empty, reloaded, then
   restored) as the yardstick, and reports the ratio.

Target (issue 4): ≥ 50 messages/s with filtering on, on 2 cores.
Run: `python -m bench.mail_throughput [--messages 1500] [--concurrency 16]`;
results go to bench/results/mail_throughput.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import smtplib
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOMAIN = "gouv.tg"
BASE_DN = "dc=gouv,dc=tg"
SUBMISSION_NAME = f"smtp.{DOMAIN}"
TARGET_RATE = 50.0
NETWORK_ADDRESSES = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"


def docker(container: str, script: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["docker", "exec", "-i", container, "bash", "-euc", script],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"in {container}: {script}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def container_address(container: str) -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", NETWORK_ADDRESSES, container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not out:
        raise RuntimeError(f"container {container} has no address; is it running?")
    return out[0]


@dataclass
class Agents:
    run: str
    password: str
    senders: list[str]
    recipients: list[str]

    def all(self) -> list[str]:
        return self.senders + self.recipients


def create_agents(container: str, senders: int, recipients: int) -> Agents:
    run = secrets.token_hex(3)
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
    agents = Agents(
        run=run,
        password=password,
        senders=[f"bench-{run}-s{n}" for n in range(senders)],
        recipients=[f"bench-{run}-r{n}" for n in range(recipients)],
    )
    ldif = "".join(
        f"dn: uid={uid},ou=people,{BASE_DN}\n"
        "objectClass: inetOrgPerson\nobjectClass: bureauAgent\n"
        f"uid: {uid}\ncn: Bench {uid}\nsn: {uid}\nmail: {uid}@{DOMAIN}\n"
        f"bureauAccountStatus: active\nbureauMailQuota: 1024\nuserPassword: {password}\n\n"
        for uid in agents.all()
    )
    docker(container, "ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null", stdin=ldif)
    return agents


def remove_agents(container: str, agents: Agents) -> None:
    dns = "\n".join(f"uid={uid},ou=people,{BASE_DN}" for uid in agents.all()) + "\n"
    docker(container, "ldapdelete -Q -Y EXTERNAL -H ldapi:/// >/dev/null", stdin=dns)
    docker(container, f"rm -rf /var/vmail/bench-{agents.run}-*")


@dataclass
class Sent:
    msgid: str
    started: float


@dataclass
class Run:
    name: str
    messages: int
    concurrency: int
    errors: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_max_ms: float = 0.0
    undelivered: int = 0
    notes: list[str] = field(default_factory=list)


def messages(agents: Agents, count: int, tag: str) -> Iterator[tuple[str, str, EmailMessage]]:
    body = "Bonjour,\n\n" + ("Note de service pour le banc d'essai. " * 40) + "\n"
    for n in range(count):
        sender = agents.senders[n % len(agents.senders)]
        recipient = agents.recipients[n % len(agents.recipients)]
        msg = EmailMessage()
        msg["From"] = f"{sender}@{DOMAIN}"
        msg["To"] = f"{recipient}@{DOMAIN}"
        msg["Subject"] = f"Banc {tag} {n}"
        msg["Message-ID"] = make_msgid(idstring=f"{tag}.{n}", domain=DOMAIN)
        msg.set_content(body)
        yield sender, recipient, msg


class Client(smtplib.SMTP):
    """Connects to the container's address, checks the certificate of SUBMISSION_NAME."""

    address = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self.address, port), timeout)


def send_all(
    address: str, tls: ssl.SSLContext, agents: Agents, count: int, concurrency: int, tag: str
) -> tuple[list[Sent], int, float, float]:
    """Send `count` messages over `concurrency` connections, one session per sender."""
    work = list(messages(agents, count, tag))
    lock = threading.Lock()
    sent: list[Sent] = []
    errors = [0]
    Client.address = address

    def worker(index: int) -> None:
        mine = work[index::concurrency]
        by_sender: dict[str, list[tuple[str, EmailMessage]]] = {}
        for sender, recipient, msg in mine:
            by_sender.setdefault(sender, []).append((recipient, msg))
        for sender, batch in by_sender.items():
            try:
                client = Client(SUBMISSION_NAME, 587, timeout=60)
                client.starttls(context=tls)
                client.login(sender, agents.password)
            except (OSError, smtplib.SMTPException):
                with lock:
                    errors[0] += len(batch)
                continue
            for recipient, msg in batch:
                started = time.time()
                try:
                    client.send_message(msg, f"{sender}@{DOMAIN}", [f"{recipient}@{DOMAIN}"])
                except (OSError, smtplib.SMTPException):
                    with lock:
                        errors[0] += 1
                    continue
                with lock:
                    sent.append(Sent(str(msg["Message-ID"]).strip("<>"), started))
            client.quit()

    first = time.time()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent, errors[0], first, time.time()


def deliveries(container: str, since: float, expected: set[str], wait: float) -> dict[str, float]:
    """msgid → delivery time, from Dovecot's LMTP log lines in the journal."""
    found: dict[str, float] = {}
    deadline = time.time() + wait
    while True:
        out = docker(
            container,
            f"journalctl -u dovecot -o json --since=@{int(since) - 1} --no-pager "
            "| grep -F 'saved mail to' || true",
        )
        for line in out.splitlines():
            entry = json.loads(line)
            text = entry.get("MESSAGE", "")
            if isinstance(text, list):
                text = bytes(text).decode("utf-8", "replace")
            if "msgid=<" not in text:
                continue
            msgid = text.split("msgid=<", 1)[1].split(">", 1)[0]
            if msgid in expected:
                found[msgid] = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        if len(found) >= len(expected) or time.time() > deadline:
            return found
        time.sleep(1)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(
    name: str,
    container: str,
    address: str,
    tls: ssl.SSLContext,
    agents: Agents,
    count: int,
    concurrency: int,
) -> Run:
    run = Run(name, count, concurrency)
    tag = f"{agents.run}-{name.split()[0]}"
    sent, run.errors, first, _ = send_all(address, tls, agents, count, concurrency, tag)
    done = deliveries(container, first, {s.msgid for s in sent}, wait=120)
    latencies = [(done[s.msgid] - s.started) * 1000 for s in sent if s.msgid in done]
    run.undelivered = len(sent) - len(latencies)
    if done:
        run.seconds = round(max(done.values()) - first, 2)
        run.rate = round(len(done) / run.seconds, 1) if run.seconds else 0.0
    run.latency_p50_ms = round(percentile(latencies, 0.50), 1)
    run.latency_p95_ms = round(percentile(latencies, 0.95), 1)
    run.latency_max_ms = round(max(latencies, default=0.0), 1)
    return run


def set_milters(container: str, value: str) -> None:
    docker(
        container,
        f"postconf -e 'smtpd_milters = {value}' 'non_smtpd_milters = $smtpd_milters' "
        "&& postfix reload >/dev/null 2>&1",
    )
    time.sleep(2)


def write_results(report: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mail_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    runs = report["runs"]
    assert isinstance(runs, list)
    lines = [
        "# Mail throughput: submission → Rspamd milter → LMTP delivery",
        "",
        f"Host: {report['machine']}; target container `{report['container']}`; "
        f"{report['messages']} messages, {report['concurrency']} parallel clients.",
        "",
        "| run | msg/s | p50 ms | p95 ms | max ms | errors | undelivered |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['name']} | {r['rate']} | {r['latency_p50_ms']} | {r['latency_p95_ms']} "
            f"| {r['latency_max_ms']} | {r['errors']} | {r['undelivered']} |"
        )
    lines += [
        "",
        f"Filtering on / off throughput ratio: **{report['ratio']}**. "
        f"Target ≥ {TARGET_RATE} msg/s with filtering on: "
        f"**{'met' if report['target_met'] else 'NOT met'}**.",
        "",
    ]
    (RESULTS / "mail_throughput.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail_throughput", description=__doc__)
    parser.add_argument("--container", default="bureau-molecule-suite")
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--recipients", type=int, default=32)
    args = parser.parse_args(argv)

    address = container_address(args.container)
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp, "ca.crt")
        ca.write_text(docker(args.container, "cat /etc/ssl/bureau/ca.crt"))
        tls = ssl.create_default_context(cafile=str(ca))
    milters = docker(args.container, "postconf -h smtpd_milters").strip()
    if not milters:
        sys.stderr.write("the milter is off on this host: nothing to compare\n")
        return 1
    agents = create_agents(args.container, args.senders, args.recipients)
    runs: list[Run] = []
    try:
        # A short warm-up: first LDAP lookups, TLS session cache, Rspamd maps.
        measure("warm-up", args.container, address, tls, agents, 50, 4)

        def measured(name: str) -> Run:
            """One timed run; both runs send the same load."""
            return measure(
                name, args.container, address, tls, agents, args.messages, args.concurrency
            )

        runs.append(measured("filtering on"))
        set_milters(args.container, "")
        try:
            runs.append(measured("filtering off"))
        finally:
            set_milters(args.container, milters)
    finally:
        remove_agents(args.container, agents)
    on, off = runs
    ratio = round(on.rate / off.rate, 2) if off.rate else 0.0
    report: dict[str, object] = {
        "container": args.container,
        "machine": f"{os.cpu_count()} CPUs",
        "messages": args.messages,
        "concurrency": args.concurrency,
        "runs": [asdict(r) for r in runs],
        "ratio": ratio,
        "target_msgs_per_s": TARGET_RATE,
        "target_met": on.rate >= TARGET_RATE and on.errors == 0 and on.undelivered == 0,
    }
    write_results(report)
    print((RESULTS / "mail_throughput.md").read_text())
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
