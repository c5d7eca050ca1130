"""`bureau users`: import agents from a CSV file into the directory; sample data."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bureau.commands.options import inventory_option
from bureau.core.users import connect, guard, importer, sample
from bureau.core.users.ldapdir import Progress as Tick
from bureau.core.users.reference import ministries

# Below this many writes a progress bar is noise.
PROGRESS_FROM = 500


@click.group(name="users")
def command() -> None:
    """Agents in the directory: import a CSV file, make sample data."""


@contextmanager
def _progress(enabled: bool) -> Iterator[object]:
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("users: applying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:

        def start(total: int) -> Tick | None:
            if total < PROGRESS_FROM:
                return None
            task = bar.add_task("apply", total=total)
            return lambda n: bar.advance(task, n)

        yield start


@command.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@inventory_option(
    "Inventory: gives the domain (base DN) and the vault with the provisioning password."
)
@click.option("--uri", help="Directory URI (default: BUREAU_LDAP_URI, else ldaps://ldap.<domain>).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA certificate.")
@click.option(
    "--tls-name",
    help="Name the directory's certificate must carry when it differs from the URI's host "
    "(e.g. ldap.gouv.tg behind ldaps://127.0.0.1:13636); needs --ca-file.",
)
@click.option("--bind-dn", help="Default: cn=provisioning,ou=services,<base DN>.")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File holding the bind password (default: BUREAU_LDAP_PASSWORD, else the vault's "
    "vault_directory_provisioning_password).",
)
@click.option("--domain", help="Mail domain, instead of the inventory's bureau__domain.")
@click.option("--dry-run", is_flag=True, help="Print the difference; write nothing.")
@click.option(
    "--disable-missing",
    is_flag=True,
    help="Disable and lock agents of the directory that are not in the file (never deleted).",
)
@click.option(
    "--allow-mass-disable",
    type=click.IntRange(0),
    metavar="N",
    help="Accept up to N disables, beyond the --max-disable-percent limit "
    "(needed too when the file holds no agent).",
)
@click.option(
    "--max-disable-percent",
    type=click.FloatRange(0, 100),
    metavar="P",
    default=guard.DEFAULT_MAX_PERCENT,
    show_default=True,
    help=f"Without --allow-mass-disable, refuse to disable more than this share of the "
    f"active agents (at least {guard.ALWAYS_ALLOWED} are always accepted).",
)
@click.option(
    "--passwords-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where the new agents' initial passwords go (mode 0600; "
    "default agents-passwords-<timestamp>.csv).",
)
@click.option(
    "--default-quota", type=click.IntRange(1), default=2048, show_default=True, help="MiB."
)
@click.option(
    "--no-starttls",
    is_flag=True,
    help="With an ldap:// URI, bind without StartTLS (ldapi or test directories only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def import_(
    file: Path,
    inventory: Path,
    uri: str | None,
    ca_file: str | None,
    tls_name: str | None,
    bind_dn: str | None,
    password_file: Path | None,
    domain: str | None,
    dry_run: bool,
    disable_missing: bool,
    allow_mass_disable: int | None,
    max_disable_percent: float,
    passwords_out: Path | None,
    default_quota: int,
    no_starttls: bool,
    as_json: bool,
) -> None:
    """Synchronise the agents of FILE (CSV, UTF-8) into the directory.

    The whole file is validated first (exit 2 and nothing written on any error);
    then only the difference is applied: create, update, disable — never delete.
    Columns: given_name, surname, ministry, title, phone, mail, aliases, quota,
    uid, employee_id (see docs/users.md).
    """
    options = connect.Options(
        inventory=inventory,
        uri=uri,
        ca_file=ca_file,
        bind_dn=bind_dn,
        password_file=password_file,
        domain=domain,
        default_quota=default_quota,
        starttls=not no_starttls,
        tls_name=tls_name,
    )
    started = time.monotonic()
    domain, _ = connect.domain_of(options)
    rows = importer.validate(file, domain)
    validated = time.monotonic() - started
    connection, target = connect.resolve(options)
    out = passwords_out or Path(time.strftime("agents-passwords-%Y%m%d-%H%M%S.csv"))
    with _progress(sys.stderr.isatty() and not as_json) as progress:
        report = importer.run(
            file,
            rows,
            connection,
            target,
            dry_run=dry_run,
            disable_missing=disable_missing,
            passwords_out=out,
            progress=progress,  # type: ignore[arg-type]
            guard=guard.DisableGuard(max_disable_percent, allow_mass_disable),
        )
    report.timings = {"validate": round(validated, 3), **report.timings}
    plan = report.plan
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "created": len(plan.creates),
                    "updated": len(plan.updates),
                    "disabled": len(plan.disables),
                    "unchanged": plan.unchanged,
                    "untouched": plan.untouched,
                    "groups": len(plan.groups),
                    "disable_guard": report.guard.as_json() if report.guard else None,
                    "failures": report.failures,
                    "passwords_file": str(report.passwords_file) if report.passwords_file else None,
                    "seconds": report.timings,
                },
                indent=2,
            )
        )
    elif dry_run:
        for line in plan.describe():
            click.echo(line)
        click.echo(f"users: dry run: {plan.summary()}")
        for line in report.guard.describe() if report.guard else []:
            click.echo(line)
    else:
        verb = "nothing to do" if plan.empty else "applied"
        click.echo(f"users: {verb}: {plan.summary()}")
        if report.passwords_file:
            click.echo(
                f"users: initial passwords of {len(plan.creates)} new agent(s) in "
                f"{report.passwords_file} (mode 0600): hand them out, then delete the file"
            )
        total = sum(v for k, v in report.timings.items() if not k.startswith("apply_"))
        click.echo(f"users: done in {total:.1f} s")
    if report.failures:
        raise importer.ImportFailed(report)


@command.command(name="sample")
@click.option("--count", type=click.IntRange(1), required=True, help="Number of agents.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same file.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Default: stdout."
)
def sample_(count: int, seed: int, output: Path | None) -> None:
    """Print COUNT realistic sample agents as an import CSV file (UTF-8)."""
    text = sample.csv_text(count, seed)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"users: {count} sample agents written to {output}", err=True)


@command.command(name="ministries")
def ministries_() -> None:
    """List the ministry codes the CSV `ministry` column accepts."""
    for ministry in ministries().values():
        click.echo(f"{ministry.code:<12} {ministry.name}")
