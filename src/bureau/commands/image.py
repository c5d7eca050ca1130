"""`bureau image`: the systemd base image every rehearsal and test container runs."""

from __future__ import annotations

import time

import click

from bureau.core import image as core
from bureau.core import vm as vm_core

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
VM = click.option(
    "--vm",
    is_flag=True,
    help="The VM image instead (a disk, kernel and SSH key for QEMU: molecule/vm).",
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
@VM
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@click.option(
    "--proxy",
    metavar="URL",
    default="",
    envvar="BUREAU_APT_PROXY",
    help="HTTP proxy the VM image's packages are fetched through (default: BUREAU_APT_PROXY).",
)
def build(
    suite: str, mirror: str | None, security_mirror: str | None, vm: bool, force: bool, proxy: str
) -> None:
    """Build the image for SUITE, or reuse it when its recipe has not changed."""
    started = time.monotonic()
    if vm:
        vm_recipe = vm_core.resolve_recipe(suite, mirror, security_mirror)
        found, made = vm_core.build(
            vm_recipe, force=force, proxy=proxy, log=lambda m: click.echo(f"image: {m}")
        )
        elapsed = time.monotonic() - started
        click.echo(f"image: {'built' if made else 'reused'} {found.directory} in {elapsed:.1f} s")
        return
    recipe = core.resolve_recipe(suite, mirror, security_mirror)
    name, built = core.build(recipe, force=force, log=lambda m: click.echo(f"image: {m}"))
    elapsed = time.monotonic() - started
    verb = "built" if built else "reused"
    click.echo(f"image: {verb} {name} in {elapsed:.1f} s")


@command.command()
@SUITE
@MIRROR
@SECURITY
@VM
def name(suite: str, mirror: str | None, security_mirror: str | None, vm: bool) -> None:
    """Print the name the image for SUITE has (or will have once built);
    with --vm, the directory of the VM image."""
    if vm:
        recipe = vm_core.resolve_recipe(suite, mirror, security_mirror)
        click.echo(vm_core.image_for(recipe).directory)
        return
    click.echo(core.resolve_recipe(suite, mirror, security_mirror).name)
