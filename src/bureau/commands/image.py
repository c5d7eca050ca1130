"""`bureau image`: the systemd base image every rehearsal and test container runs."""

from __future__ import annotations

import time

import click

from bureau.core import image as core

SUITE = click.option(
    "--suite",
    type=click.Choice(sorted(core.SUITES)),
    default=core.DEFAULT_SUITE,
    show_default=True,
    help="Debian release of the image.",
)
MIRROR = click.option(
    "--mirror",
    metavar="URL",
    help="Debian archive to build from (default: BUREAU_MIRROR, else this host's apt sources).",
)
SECURITY = click.option(
    "--security-mirror",
    metavar="URL",
    help="Debian security archive (default: BUREAU_SECURITY_MIRROR, else the host's, "
    "else MIRROR-security).",
)


@click.group(name="image")
def command() -> None:
    """Build and name the systemd base image (debootstrap + docker import, no registry)."""


@command.command()
@SUITE
@MIRROR
@SECURITY
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
def build(suite: str, mirror: str | None, security_mirror: str | None, force: bool) -> None:
    """Build the image for SUITE, or reuse it when its recipe has not changed."""
    recipe = core.resolve_recipe(suite, mirror, security_mirror)
    started = time.monotonic()
    name, built = core.build(recipe, force=force, log=lambda m: click.echo(f"image: {m}"))
    elapsed = time.monotonic() - started
    verb = "built" if built else "reused"
    click.echo(f"image: {verb} {name} in {elapsed:.1f} s")


@command.command()
@SUITE
@MIRROR
@SECURITY
def name(suite: str, mirror: str | None, security_mirror: str | None) -> None:
    """Print the name the image for SUITE has (or will have once built)."""
    click.echo(core.resolve_recipe(suite, mirror, security_mirror).name)
