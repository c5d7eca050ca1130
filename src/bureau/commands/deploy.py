"""`bureau deploy`: a validated, logged ansible run with a progress display."""

from __future__ import annotations

from pathlib import Path

import click

from bureau.commands.options import inventory_option
from bureau.core.deploy import deploy
from bureau.core.settings import project_root


@click.command(name="deploy")
@inventory_option("Inventory directory, e.g. inventories/staging.", required=True)
@click.option(
    "--playbook",
    default="site.yml",
    show_default=True,
    help="A playbook under playbooks/, or a path.",
)
@click.option("--limit", metavar="PATTERN", help="Only these hosts or groups (ansible --limit).")
@click.option("--tags", metavar="TAGS", help="Only tasks with these tags (ansible --tags).")
@click.option("--check", "check_mode", is_flag=True, help="Dry run: report changes, make none.")
def command(
    inventory: Path, playbook: str, limit: str | None, tags: str | None, check_mode: bool
) -> None:
    """Validate INVENTORY, then run PLAYBOOK against it.

    Exit codes: 0 ok, 1 the run failed, 2 bad input (nothing was run).
    """
    project = project_root(inventory if inventory.exists() else None)
    deploy(project, inventory, playbook, limit=limit, tags=tags, check_mode=check_mode)
