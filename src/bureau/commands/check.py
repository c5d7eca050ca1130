"""`bureau check`: validate an inventory and its site settings before anything runs."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from bureau.commands.options import inventory_option
from bureau.core import check as core
from bureau.core.inventory import shown
from bureau.core.settings import project_root
from bureau.errors import BadInput

INVENTORY = inventory_option("Inventory directory (or its hosts.yml).")


@click.command(name="check")
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(inventory: Path, as_json: bool) -> None:
    """Validate INVENTORY: groups, host names, site settings, vault secrets.

    Prints every problem with its file, line, key and fix; exits 2 if there is any.
    """
    project = project_root(inventory if inventory.exists() else None)
    report = core.check(inventory, project)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "inventory": shown(inventory),
                    "ok": report.ok,
                    "hosts": list(report.inventory.hosts) if report.inventory else [],
                    "problems": [asdict(p) for p in report.problems],
                    "warnings": [asdict(p) for p in report.warnings],
                },
                indent=2,
            )
        )
        if not report.ok:
            raise click.exceptions.Exit(2)
        return
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        count = len(report.problems)
        raise BadInput(
            f"inventory {shown(inventory)}: {count} problem{'s' * (count != 1)}", report.problems
        )
    assert report.inventory is not None
    hosts = report.inventory.hosts
    click.echo(f"check: inventory {shown(inventory)} is valid ({len(hosts)} host(s))")
