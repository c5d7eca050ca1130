"""`bureau rehearse`: the suite in local systemd containers, deployed like real hosts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bureau.commands.options import inventory_option
from bureau.core import inventory as inv
from bureau.core import rehearsal, welcome
from bureau.core.deploy import deploy
from bureau.core.progress import make_console
from bureau.core.settings import project_root, state_dir

INVENTORY = inventory_option("A rehearsal inventory (its hosts become containers).")


def _log(message: str) -> None:
    click.echo(f"rehearse: {message}")


@click.group(name="rehearse")
def command() -> None:
    """Start, inspect and remove the rehearsal containers."""


@command.command()
@INVENTORY
@click.option(
    "--playbook",
    default="site.yml",
    show_default=True,
    help="What to deploy once the containers run.",
)
@click.option("--no-deploy", is_flag=True, help="Start the containers only.")
def up(inventory: Path, playbook: str, no_deploy: bool) -> None:
    """Validate, generate secrets, start one container per host, deploy, show status.

    Safe to run again: existing containers are reused.
    """
    project = project_root(inventory if inventory.exists() else None)
    loaded = rehearsal.start(project, inventory, _log)
    if not no_deploy:
        deploy(project, inventory, playbook)
    console = make_console()
    _print_status(rehearsal.status(loaded), console)
    if not no_deploy:
        for line in welcome.prepare(project, loaded, inventory).lines():
            click.echo(line)


@command.command()
@INVENTORY
def down(inventory: Path) -> None:
    """Remove the containers and network `up` created for INVENTORY, nothing else."""
    name = (inventory if inventory.is_dir() else inventory.parent).resolve().name
    project = project_root(inventory if inventory.exists() else None)
    removed = rehearsal.down(name, _log, state_dir(project, name))
    if not removed:
        _log(f"nothing to remove for rehearsal '{name}'")


@command.command()
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(inventory: Path, as_json: bool) -> None:
    """Show each host's container and the state of its Bureau services.

    Exits 1 when a container is not running or one of its services is not active.
    """
    loaded = inv.load(inventory)
    found = rehearsal.status(loaded)
    if as_json:
        click.echo(json.dumps([asdict(item) for item in found], indent=2))
    else:
        _print_status(found, make_console())
    if not all(item.healthy for item in found):
        raise click.exceptions.Exit(1)


def _print_status(found: list[rehearsal.HostStatus], console: Console) -> None:
    table = Table(title="rehearsal", title_justify="left")
    for column in ("host", "container", "state", "published", "service", "active"):
        table.add_column(column, no_wrap=True)
    for item in found:
        head = [item.host, item.container, item.state, " ".join(item.published_ports) or "-"]
        services = list(item.services.items()) or [("-", "-")]
        for index, (service, state) in enumerate(services):
            style = None if state in ("active", "-") else "red"
            cells = head if index == 0 else ["", "", "", ""]
            table.add_row(*cells, service, state, style=style)
    console.print(table)
