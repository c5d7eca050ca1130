"""The `bureau` command line. Commands are thin; the logic lives in bureau.core."""

from __future__ import annotations

import sys

import click

from bureau import __version__
from bureau.commands import register
from bureau.errors import EXIT_FAILED, BureauError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bureau")
def cli() -> None:
    """Deploy, rehearse and verify the Bureau collaboration suite."""


register(cli)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every BureauError becomes its exit code here and nowhere else."""
    try:
        # Without standalone mode click returns a raised Exit's code instead of exiting.
        code = cli.main(args=argv, prog_name="bureau", standalone_mode=False)
    except BureauError as err:
        click.secho(f"bureau: {err}", err=True, fg="red")
        return err.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILED
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
