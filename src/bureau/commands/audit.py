"""`bureau audit`: Bureau's checks, ANSSI BP-028 and drift against live hosts."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from bureau.commands.options import inventory_option
from bureau.core import audit as core
from bureau.core import audit_report
from bureau.core.inventory import shown
from bureau.core.progress import make_console
from bureau.core.settings import project_root


@click.command(name="audit")
@inventory_option(
    "Inventory directory (or its hosts file), e.g. inventories/production.", required=True
)
@click.option("--limit", metavar="PATTERN", help="Only these hosts or groups (Ansible's pattern).")
@click.option(
    "--profile",
    type=click.Choice(core.PROFILES),
    default="intermediary",
    show_default=True,
    help="ANSSI BP-028 level OpenSCAP evaluates.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Directory for the reports and the hosts' result files "
    "[.bureau/audit/<inventory>-<time>].",
)
@click.option(
    "--part",
    "parts",
    type=click.Choice(core.PARTS),
    multiple=True,
    help="Only this part (repeatable): checks, anssi, drift, hygiene [all].",
)
@click.option(
    "--include-writes",
    is_flag=True,
    help="Also run the checks that write (mails, events, test agents); refused on production.",
)
@click.option(
    "--jobs",
    type=int,
    default=4,
    show_default=True,
    help="Hosts whose checks run at the same time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on standard output.")
def command(
    inventory: Path,
    limit: str | None,
    profile: str,
    out: Path | None,
    parts: tuple[str, ...],
    include_writes: bool,
    jobs: int,
    as_json: bool,
) -> None:
    """Audit the hosts of INVENTORY: Bureau's read-only checks, the ANSSI BP-028
    profile (OpenSCAP), what a deploy would change, security updates and
    certificates. Writes HTML, JUnit and JSON reports.

    Exit codes: 0 everything passes or is waived, 1 failures, 2 bad input
    (nothing was contacted).
    """
    project = project_root(inventory if inventory.exists() else None)
    options = core.Options(
        inventory=inventory,
        limit=limit,
        profile=profile,
        out=out,
        include_writes=include_writes,
        parts=parts or core.PARTS,
        jobs=jobs,
    )
    plan = core.prepare(options, project)
    console = make_console(stderr=as_json)
    result = core.run(plan, log=lambda line: console.print(line, markup=False))
    paths = audit_report.write(result, plan.out)
    if as_json:
        click.echo(audit_report.to_json(result))
    else:
        print_summary(console, result)
        for kind, path in paths.items():
            console.print(f"{kind}: {shown(path)}", markup=False)
    raise click.exceptions.Exit(result.exit_code)


def print_summary(console, result: core.Audit) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"bureau audit {result.inventory} ({result.profile})")
    table.add_column("host")
    table.add_column("part")
    for status in core.STATUSES:
        table.add_column(status, justify="right")
    for host in result.hosts:
        for part in result.parts:
            counts = host.counts(part)
            table.add_row(host.host, part, *(str(counts[s]) for s in core.STATUSES))
    totals = result.counts()
    table.add_row("total", "", *(str(totals[s]) for s in core.STATUSES))
    console.print(table)
    for host in result.hosts:
        for finding in host.findings:
            if finding.status == "fail":
                first = finding.evidence.splitlines()[0] if finding.evidence else ""
                console.print(
                    f"FAIL {host.host} {finding.part} {finding.id}: {finding.title}"
                    f" — {first[:200]}",
                    markup=False,
                )
    applied = result.waivers_applied()
    if applied:
        console.print(f"{len(applied)} waiver(s) applied (listed in the reports)", markup=False)
    for waiver in result.waivers_expired:
        console.print(
            f"expired waiver, not applied: {waiver.scope} {waiver.id} ({waiver.expires})",
            markup=False,
        )
    console.print(f"audit: {result.seconds:.0f} s, exit {result.exit_code}", markup=False)
