"""The office role's per-agent limits on a real kernel: the first VM of the VM
lane (molecule/vm) carries the role's `tasks/limits.yml` (the drop-in of
every user-<uid>.slice, MemoryMax 192M there). A process in one agent's
slice that goes over the limit is killed by the kernel in that slice only;
another agent's process, running at the same time, goes on. (The suite's
containers see a read-only cgroup v1 tree: they cannot show this.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from testinfra.host import Host

pytestmark = pytest.mark.writes

LIMIT = 192 * 1024 * 1024
# Two agents' slices, as logind names them (user-<uid>.slice); the drop-in
# user-.slice.d applies to every one. Their processes run as nobody: the
# slice, not the user, carries the limits.
HERS = "user-61001.slice"
OTHERS = "user-61002.slice"
# What a runaway document does: memory written (so resident) 16 MiB at a time.
RUNAWAY = """
import time
chunks = []
while True:
    chunks.append(b"\\x01" * (16 << 20))
    time.sleep(0.05)
"""
# A colleague's session meanwhile: 32 MiB in use, idle.
QUIET = """
import time
kept = b"\\x01" * (32 << 20)
time.sleep(600)
"""


@pytest.fixture
def colleague(host: Host) -> Iterator[str]:
    unit = "bureau-limits-colleague"
    host.run("systemctl stop %s", unit)
    started = host.run(
        "systemd-run --unit=%s --slice=%s --uid=nobody --collect -p RuntimeMaxSec=300 "
        "python3 -c %s",
        unit, OTHERS, QUIET,
    )  # fmt: skip
    assert started.rc == 0, started.stderr
    yield unit
    host.run("systemctl stop %s", unit)


def test_the_slices_carry_the_roles_limits(host: Host, colleague: str) -> None:
    shown = host.check_output(
        "systemctl show %s -p MemoryMax -p MemorySwapMax -p TasksMax -p CPUQuotaPerSecUSec", OTHERS
    )
    values = dict(line.split("=", 1) for line in shown.splitlines())
    assert values == {
        "MemoryMax": str(LIMIT),
        "MemorySwapMax": "0",
        "TasksMax": "512",
        "CPUQuotaPerSecUSec": "1s",
    }, values
    # What the kernel enforces (cgroup v2), not only what systemd says.
    enforced = host.file(f"/sys/fs/cgroup/user.slice/{OTHERS}/memory.max").content_string
    assert enforced.strip() == str(LIMIT), enforced


def test_a_session_over_its_memory_limit_is_stopped_and_only_it(host: Host, colleague: str) -> None:
    runaway = host.run(
        "systemd-run --unit=bureau-limits-runaway --slice=%s --uid=nobody --wait --collect "
        "-p RuntimeMaxSec=180 python3 -c %s",
        HERS, RUNAWAY,
    )  # fmt: skip
    # systemd-run --wait: the unit's result, from the kernel's memory.events.
    assert runaway.rc != 0, runaway.stderr
    assert "oom-kill" in runaway.stderr, runaway.stderr
    assert host.check_output("systemctl is-active %s", colleague) == "active"
    killed = host.check_output(
        "journalctl -k -o cat --since -5min --no-pager | grep -E 'oom-kill|Memory cgroup out' "
        "| tail -n 4"
    )
    assert HERS in killed, killed
    assert OTHERS not in killed, killed
