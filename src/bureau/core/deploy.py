"""A validated, logged playbook run: check → compose → run with progress → summary."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bureau.core import apt_cache, check, runner, vault
from bureau.core.inventory import Inventory, shown
from bureau.core.progress import Progress, make_console, print_summary
from bureau.errors import BureauError

# 0 turns Mitogen off (plugins/strategy/mitogen_linear.py): the plain linear strategy.
MITOGEN_SWITCH = "BUREAU_MITOGEN"


def run_environment(project: Path, loaded: Inventory) -> tuple[tuple[str, str], ...]:
    """What a run against this inventory takes from the environment."""
    environment: tuple[tuple[str, str], ...] = ()
    if loaded.members("rehearsal"):
        # The rehearsal's containers download through the machine's package cache.
        environment += ((apt_cache.ENV, apt_cache.proxy_url(project, os.environ)),)
    if MITOGEN_SWITCH in os.environ:
        # Passed on as it is; named here so that the run's log says which strategy ran.
        environment += ((MITOGEN_SWITCH, os.environ[MITOGEN_SWITCH]),)
    return environment


def deploy(
    project: Path,
    inventory: Path,
    playbook: str = "site.yml",
    *,
    limit: str | None = None,
    tags: str | None = None,
    check_mode: bool = False,
    console: Console | None = None,
    extra_inventories: tuple[Path, ...] = (),
) -> runner.DeployResult:
    """Validate the inventory (BadInput, nothing run), then run the playbook.

    Raises BureauError (exit 1) when the run fails; returns the result otherwise.
    """
    console = console or make_console()
    loaded = check.require_valid(
        inventory, project, warn=lambda line: console.print(line, style="yellow", markup=False)
    )
    playbook_path = runner.resolve_playbook(project, playbook)
    password = vault.password_file(project, loaded.name)
    environment = run_environment(project, loaded)
    request = runner.DeployRequest(
        project=project,
        inventory=loaded.path,
        playbook=playbook_path,
        limit=limit,
        tags=tags,
        check=check_mode,
        vault_password_file=password if password.is_file() else None,
        environment=environment,
        extra_inventories=extra_inventories,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_plan = runner.plan(
        request,
        bin_dir=Path(sys.executable).parent,
        path_env=os.environ.get("PATH", ""),
        stamp=stamp,
    )
    title = f"{playbook_path.name} on {shown(loaded.path)}"
    if limit:
        title += f" (limit {limit})"
    with Progress(console, title) as progress:
        result = runner.execute(run_plan, progress.handle)
    print_summary(console, result)
    if not result.succeeded:
        raise BureauError(f"deploy failed; full output in {shown(result.log_path)}")
    return result
