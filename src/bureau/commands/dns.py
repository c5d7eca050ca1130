"""`bureau dns`: print the DNS records the site must publish for its mail."""

from __future__ import annotations

from pathlib import Path

import click

from bureau.commands.options import inventory_option
from bureau.core import dns as core
from bureau.core import inventory as inv
from bureau.core.settings import project_root, state_dir


@click.command(name="dns")
@inventory_option("Inventory directory (or its hosts.yml).")
@click.option(
    "--dkim-directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the filtering role copied the DKIM records [.bureau/<inventory>/dkim].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
def command(inventory: Path, dkim_directory: Path | None, as_json: bool) -> None:
    """Print the MX, SPF, DKIM, DMARC, MTA-STS, SRV and autoconfig records of INVENTORY.

    Zone-file syntax by default; a DKIM record not fetched yet is reported as
    MISSING (deploy the filtering role first).
    """
    loaded = inv.load(inventory)
    if dkim_directory is None:
        project = project_root(inventory if inventory.exists() else None)
        dkim_directory = state_dir(project, loaded.name) / "dkim"
    zone = core.build(core.site_from_inventory(loaded, dkim_directory))
    click.echo(core.render_json(zone) if as_json else core.render_zone(zone), nl=False)
