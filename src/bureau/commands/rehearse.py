"""`bureau rehearse`: the suite in local systemd containers, deployed like real hosts."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bureau.commands.options import inventory_option
from bureau.core import apt_cache, rehearsal, rehearsal_vm, welcome
from bureau.core import inventory as inv
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
@click.option(
    "--vm",
    "on_vms",
    is_flag=True,
    help="One VM per host instead of a container (Debian 13; KVM where the CPU "
    "virtualises, QEMU's emulation elsewhere): docs/rehearsal-vm.md.",
)
@click.option(
    "--memory",
    "memory_mb",
    type=click.IntRange(512, 65536),
    default=rehearsal_vm.DEFAULT_MEMORY_MB,
    show_default=True,
    help="MiB of RAM per VM (with --vm).",
)
def up(inventory: Path, playbook: str, no_deploy: bool, on_vms: bool, memory_mb: int) -> None:
    """Validate, generate secrets, start one container (or VM) per host, deploy, show status.

    Safe to run again: existing containers and running VMs are reused.
    """
    project = project_root(inventory if inventory.exists() else None)
    if on_vms:
        _up_on_vms(project, inventory, playbook, no_deploy, memory_mb)
        return
    loaded = rehearsal.start(project, inventory, _log)
    if not no_deploy:
        deploy(project, inventory, playbook)
    console = make_console()
    _print_status(rehearsal.status(loaded), console)
    if not no_deploy:
        for line in welcome.prepare(project, loaded, inventory).lines():
            click.echo(line)


def _up_on_vms(
    project: Path, inventory: Path, playbook: str, no_deploy: bool, memory_mb: int
) -> None:
    proxy = apt_cache.proxy_url(project, os.environ)
    loaded, second = rehearsal_vm.start(project, inventory, _log, memory_mb=memory_mb, proxy=proxy)
    if not no_deploy:
        deploy(project, inventory, playbook, extra_inventories=(second,))
    _print_vms(rehearsal_vm.status(project, loaded), make_console())
    key = rehearsal_vm.vm_core.image_for(rehearsal_vm.vm_core.resolve_recipe("trixie")).key
    _log(f"a shell on a host: ssh -i {key} -p PORT root@127.0.0.1 (PORT: the table's ssh)")
    _log(f"Ansible: -i {inventory} -i {second}; `bureau rehearse down` stops the VMs")


def _print_vms(found: list[tuple[str, str, str, int, bool]], console: Console) -> None:
    table = Table(title="rehearsal on VMs", title_justify="left")
    for column in ("host", "VM", "link address", "ssh (127.0.0.1)", "state"):
        table.add_column(column, no_wrap=True)
    for host, name, address, port, running in found:
        state = "running" if running else "stopped"
        table.add_row(host, name, address, str(port), state, style=None if running else "red")
    console.print(table)


@command.command()
@INVENTORY
def down(inventory: Path) -> None:
    """Remove the containers, VMs and network `up` created for INVENTORY, nothing else."""
    name = (inventory if inventory.is_dir() else inventory.parent).resolve().name
    project = project_root(inventory if inventory.exists() else None)
    removed = rehearsal_vm.down(project, name, _log)
    removed += rehearsal.down(name, _log, state_dir(project, name))
    if not removed:
        _log(f"nothing to remove for rehearsal '{name}'")


@command.command()
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(inventory: Path, as_json: bool) -> None:
    """Show each host's container and the state of its Bureau services (or, after
    `up --vm`, each host's VM).

    Exits 1 when a container or VM is not running or a service is not active.
    """
    loaded = inv.load(inventory)
    project = project_root(inventory if inventory.exists() else None)
    vms = rehearsal_vm.status(project, loaded)
    if vms:
        if as_json:
            keys = ("host", "vm", "address", "ssh_port", "running")
            click.echo(json.dumps([dict(zip(keys, item, strict=True)) for item in vms], indent=2))
        else:
            _print_vms(vms, make_console())
        if not all(item[-1] for item in vms):
            raise click.exceptions.Exit(1)
        return
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
