"""Running a playbook through ansible-runner: composition (pure), execution, tallies.

`plan` composes everything ansible needs from a request and is unit-tested;
`execute` hands it to ansible_runner.run, writes the full output to a log file
and returns per-host counts from the playbook's final stats.
"""

from __future__ import annotations

import json
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bureau.core.inventory import shown
from bureau.core.settings import logs_dir
from bureau.errors import BadInput, Problem

Event = dict[str, Any]
PLAYBOOKS_DIR = "playbooks"
SLOWEST = 5  # slowest task results named in the summary and the log


@dataclass(frozen=True)
class DeployRequest:
    """What the operator asked for."""

    project: Path
    inventory: Path
    playbook: Path
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    vault_password_file: Path | None = None
    # Variables the inventory reads from the environment (the rehearsal's package cache).
    environment: tuple[tuple[str, str], ...] = ()
    # Extra variables (-e), as JSON: the audit's playbook takes its options so.
    extra_vars: tuple[tuple[str, str], ...] = ()
    # The log file's first word: deploy-<inventory>-<playbook>-<time>.log
    log_name: str = "deploy"
    # More inventory sources after the inventory (the VM rehearsal's connections).
    extra_inventories: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RunPlan:
    """Everything ansible-runner gets, composed without side effects."""

    playbook: str
    inventory: str
    cmdline: tuple[str, ...]
    envvars: dict[str, str]
    project_dir: str
    log_path: Path
    # Loaded after `inventory`, so that their host variables win a tie.
    extra_inventories: tuple[str, ...] = ()

    def inventories(self) -> list[str]:
        return [self.inventory, *self.extra_inventories]

    def argv(self) -> list[str]:
        """The equivalent ansible-playbook command line, for the log and for humans."""
        sources = [option for path in self.inventories() for option in ("-i", path)]
        return ["ansible-playbook", *sources, *self.cmdline, self.playbook]


def resolve_playbook(project: Path, name: str) -> Path:
    """A playbook given as a path, or as a name under playbooks/ (site.yml)."""
    candidates = [Path(name), project / PLAYBOOKS_DIR / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    available = sorted(p.name for p in (project / PLAYBOOKS_DIR).glob("*.yml"))
    raise BadInput(
        f"no playbook '{name}'",
        [
            Problem(
                shown(project / PLAYBOOKS_DIR),
                "--playbook",
                f"'{name}' is neither a file nor a playbook of the project",
                f"choose one of: {', '.join(available) or '(none)'}",
            )
        ],
    )


def plan(request: DeployRequest, *, bin_dir: Path, path_env: str, stamp: str) -> RunPlan:
    """Compose the run: arguments, environment, where its data and log go."""
    inventory_dir = request.inventory.resolve()
    cmdline: list[str] = []
    if request.limit:
        cmdline += ["--limit", request.limit]
    if request.tags:
        cmdline += ["--tags", request.tags]
    if request.check:
        cmdline += ["--check", "--diff"]
    if request.extra_vars:
        cmdline += ["-e", json.dumps(dict(request.extra_vars), sort_keys=True)]
    envvars = {
        # Ansible finds the project's roles, collections and defaults wherever it runs.
        "ANSIBLE_CONFIG": str(request.project / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        # ansible-playbook lives beside the Python running bureau (the venv).
        "PATH": f"{bin_dir}:{path_env}" if path_env else str(bin_dir),
    }
    if request.vault_password_file is not None:
        envvars["ANSIBLE_VAULT_PASSWORD_FILE"] = str(request.vault_password_file)
    envvars.update(request.environment)
    name = inventory_dir.name
    log_path = (
        logs_dir(request.project) / f"{request.log_name}-{name}-{request.playbook.stem}-{stamp}.log"
    )
    return RunPlan(
        playbook=str(request.playbook),
        inventory=str(inventory_dir),
        cmdline=tuple(cmdline),
        envvars=envvars,
        project_dir=str(request.project),
        log_path=log_path,
        extra_inventories=tuple(str(p.resolve()) for p in request.extra_inventories),
    )


@dataclass
class HostTally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass
class DeployResult:
    status: str
    rc: int
    duration: float
    log_path: Path
    hosts: dict[str, HostTally] = field(default_factory=dict)
    # (seconds, host, task) of the slowest task results, slowest first
    slowest: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.rc == 0 and not any(t.failed or t.unreachable for t in self.hosts.values())


_STATS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


def tally_from_stats(stats: Event) -> dict[str, HostTally]:
    """Per-host counts from a `playbook_on_stats` event's data."""
    hosts: dict[str, HostTally] = {}
    for key, attr in _STATS.items():
        for host, count in (stats.get(key) or {}).items():
            setattr(hosts.setdefault(host, HostTally()), attr, int(count))
    for host in stats.get("processed") or {}:
        hosts.setdefault(host, HostTally())
    return dict(sorted(hosts.items()))


def execute(run_plan: RunPlan, on_event: Callable[[Event], None]) -> DeployResult:
    """Run the playbook; every event's output goes to the log, then to `on_event`."""
    import ansible_runner  # slow to import: only when a run really starts

    run_plan.log_path.parent.mkdir(parents=True, exist_ok=True)
    stats: Event = {}
    durations: list[tuple[float, str, str]] = []
    started = time.monotonic()
    # A fresh private data dir per run: ansible-runner saves the last run's cmdline
    # and environment there and would replay them (a past --tags) on the next run.
    with (
        tempfile.TemporaryDirectory(prefix="bureau-runner-") as private_data_dir,
        run_plan.log_path.open("w", encoding="utf-8") as log,
    ):
        log.write(f"# {shlex.join(run_plan.argv())}\n")
        for key in sorted(run_plan.envvars):
            if key != "PATH":
                log.write(f"# {key}={run_plan.envvars[key]}\n")
        log.flush()

        def handle(event: Event) -> bool:
            text = event.get("stdout")
            if text:
                log.write(text + "\n")
                log.flush()
            data = event.get("event_data") or {}
            if event.get("event") == "playbook_on_stats":
                stats.update(data)
            elif str(event.get("event", "")).startswith("runner_on_") and data.get("duration"):
                durations.append(
                    (float(data["duration"]), str(data.get("host")), str(data.get("task")))
                )
            on_event(event)
            return True

        runner = ansible_runner.run(
            private_data_dir=private_data_dir,
            project_dir=run_plan.project_dir,
            playbook=run_plan.playbook,
            inventory=run_plan.inventories() if run_plan.extra_inventories else run_plan.inventory,
            cmdline=shlex.join(run_plan.cmdline) if run_plan.cmdline else None,
            envvars=run_plan.envvars,
            event_handler=handle,
            quiet=True,
        )
        slowest = sorted(durations, reverse=True)[:SLOWEST]
        for seconds, host, task in slowest:
            log.write(f"# slow: {seconds:6.1f} s  {host}  {task}\n")
        log.write(f"# status={runner.status} rc={runner.rc}\n")
    return DeployResult(
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        duration=time.monotonic() - started,
        log_path=run_plan.log_path,
        hosts=tally_from_stats(stats),
        slowest=slowest,
    )
