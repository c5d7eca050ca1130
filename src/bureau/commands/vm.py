"""`bureau vm`: start and stop the QEMU VMs of the VM lane (molecule/vm).

The VM image itself is built by `bureau image build --vm`."""

from __future__ import annotations

from pathlib import Path

import click

from bureau.core import vm as core


@click.group(name="vm")
def command() -> None:
    """Start and stop test VMs (QEMU software emulation, ports on 127.0.0.1 only)."""


@command.command()
@click.argument("name")
@click.option(
    "--image",
    "image_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="The VM image's directory (`bureau image name --vm`).",
)
@click.option(
    "--run-dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the VM's overlay disk, PID file and console log go.",
)
@click.option("--ssh-port", required=True, type=int, help="Port of 127.0.0.1 forwarded to its SSH.")
@click.option(
    "--link",
    "link",
    type=(click.Choice(["listen", "connect"]), int, str),
    default=None,
    metavar="listen|connect PORT ADDRESS/PREFIX",
    help="A link to another VM over 127.0.0.1:PORT; ADDRESS: the guest's eth0.",
)
@click.option("--memory", "memory_mb", default=1024, show_default=True, help="MiB of RAM.")
@click.option("--hostname", default="", help="The guest's host name.")
def start(
    name: str,
    image_dir: Path,
    run_dir: Path,
    ssh_port: int,
    link: tuple[str, int, str] | None,
    memory_mb: int,
    hostname: str,
) -> None:
    """Start the VM NAME (prefix bureau-vm-) on an overlay of the image, in the background."""
    spec = core.VmSpec(
        name=name,
        run_dir=run_dir,
        ssh_port=ssh_port,
        link=core.Link(*link) if link else None,
        memory_mb=memory_mb,
        hostname=hostname,
    )
    pid = core.start(spec, core.VmImage(image_dir))
    click.echo(f"vm: started {name} (pid {pid}, ssh 127.0.0.1:{ssh_port})")


@command.command()
@click.argument("name")
@click.option("--run-dir", required=True, type=click.Path(path_type=Path))
def stop(name: str, run_dir: Path) -> None:
    """Stop the VM NAME started in RUN_DIR and remove its overlay disk."""
    running = core.stop(run_dir, name)
    click.echo(f"vm: {'stopped' if running else 'not running:'} {name}")


@command.command(name="free-port")
def free_port() -> None:
    """Print a TCP port of 127.0.0.1 that nothing listens on now."""
    click.echo(core.free_port())
