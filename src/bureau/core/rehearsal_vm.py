"""`bureau rehearse up --vm`: the rehearsal on virtual machines, one per inventory host.

The container rehearsal shares this machine's kernel, so what only a kernel of
its own shows (sysctl in force, audit rules, the firewall between hosts, mount
options) is rehearsed on VMs: the VM lane's image (`bureau image build --vm`,
Debian 13 with the baseline's packages), one QEMU per inventory host on a
throw-away overlay, every host on one link (a hub carried by UDP multicast on
127.0.0.1, addresses from 10.78.0.10 in inventory order) and knowing the
others by name, SSH and the published ports forwarded from 127.0.0.1 only.
QEMU uses KVM where the CPU virtualises (a laptop: `vm.kvm_usable`), its
software emulation elsewhere.

Ansible reaches the VMs through a second inventory that `up` writes beside the
rehearsal's state (`.bureau/<inventory>/vm/inventory.yml`): its host variables
(SSH to 127.0.0.1:PORT as root with the image's key, `bureau__container:
false`, the package cache as the VMs see it) outrank the container connection
of the rehearsal's group_vars. Everything `up` leaves is in that directory and
in QEMU processes started on its overlays; `down` stops exactly those.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bureau.core import check, releases, settings
from bureau.core import inventory as inv
from bureau.core import vm as vm_core
from bureau.core.rehearsal import hosts_of, prepare_secrets
from bureau.errors import BadInput, BureauError, Problem

LINK_NETWORK = ipaddress.ip_network("10.78.0.0/24")
FIRST_HOST = 10
MAX_HOSTS = 200
DEFAULT_MEMORY_MB = 2048
BOOT_TIMEOUT = 900.0
# The package cache listens on this machine's loopback: 10.0.2.2 from a VM.
APT_PROXY = (
    "{{ lookup('ansible.builtin.env', 'BUREAU_APT_PROXY', default='')"
    " | regex_replace('^http://[^:/]+', 'http://" + vm_core.SLIRP_HOST + "') }}"
)
HOSTS_MARK = "# bureau rehearsal"

Log = Callable[[str], None]


@dataclass(frozen=True)
class VmHost:
    host: str  # the inventory's name
    spec: vm_core.VmSpec
    address: str  # on the link, without prefix


def run_dir(project: Path, inventory_name: str) -> Path:
    return settings.state_dir(project, inventory_name) / "vm"


def vm_name(inventory_name: str, host: str) -> str:
    return f"{vm_core.PREFIX}{inventory_name}-{host}"


def forwards_of(host: str, published: tuple[str, ...], path: str) -> tuple[tuple[int, int], ...]:
    """rehearsal__published_ports (`127.0.0.1:HOST:GUEST`, as for the containers)
    as QEMU forwards; a port bound elsewhere than loopback is refused."""
    found: list[tuple[int, int]] = []
    for item in published:
        parts = item.split("/")[0].split(":")
        if len(parts) == 2:
            parts = ["127.0.0.1", *parts]
        if len(parts) != 3 or parts[0] != "127.0.0.1" or not all(p.isdigit() for p in parts[1:]):
            raise BadInput(
                f"{host}: a published port of a VM is 127.0.0.1:HOST:GUEST",
                [
                    Problem(
                        path,
                        "rehearsal__published_ports",
                        f"{item!r} cannot be forwarded to a VM",
                        "write it as 127.0.0.1:HOST_PORT:GUEST_PORT (VM ports stay on loopback)",
                    )
                ],
            )
        found.append((int(parts[1]), int(parts[2])))
    return tuple(found)


def plan(
    inventory: inv.Inventory,
    directory: Path,
    *,
    ssh_ports: dict[str, int],
    hub_port: int,
    accel: str,
    memory_mb: int,
) -> list[VmHost]:
    """The VMs of the inventory, in its order (pure: unit-tested)."""
    hosts = hosts_of(inventory)
    if len(hosts) > MAX_HOSTS:
        raise BadInput(f"a VM rehearsal takes at most {MAX_HOSTS} hosts (got {len(hosts)})")
    planned: list[VmHost] = []
    for index, host in enumerate(hosts):
        address = LINK_NETWORK[FIRST_HOST + index]
        spec = vm_core.VmSpec(
            name=vm_name(inventory.name, host.name),
            run_dir=directory,
            ssh_port=ssh_ports[host.name],
            link=vm_core.Link("hub", hub_port, f"{address}/{LINK_NETWORK.prefixlen}"),
            memory_mb=memory_mb,
            hostname=host.name,
            forwards=forwards_of(
                host.name, host.published_ports, inv.shown(inventory.path / "hosts.yml")
            ),
            accel=accel,
        )
        planned.append(VmHost(host.name, spec, str(address)))
    return planned


def overlay_inventory(vms: list[VmHost], key: Path, directory: Path) -> dict:
    """The second inventory: how Ansible reaches each VM (pure: unit-tested)."""
    control = directory / "ssh-%C"
    common = (
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o ControlMaster=auto -o ControlPersist=300s -o ControlPath={control}"
    )
    return {
        "all": {
            "hosts": {
                item.host: {
                    "ansible_connection": "ssh",
                    "ansible_host": "127.0.0.1",
                    "ansible_port": item.spec.ssh_port,
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(key),
                    "ansible_ssh_common_args": common,
                    "ansible_ssh_timeout": 60,
                    "bureau__container": False,
                    "base__apt_proxy": APT_PROXY,
                    "rehearsal__vm_address": item.address,
                }
                for item in vms
            }
        }
    }


def hosts_lines(vms: list[VmHost]) -> str:
    """/etc/hosts lines that let each VM reach the others by name."""
    return "".join(f"{item.address} {item.host} {HOSTS_MARK}\n" for item in vms)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes", "-o", "ConnectTimeout=60", "-o", "LogLevel=ERROR",
)  # fmt: skip


def _ssh(item: VmHost, key: Path, command: str, stdin: str = "") -> None:
    argv = ["ssh", "-i", str(key), "-p", str(item.spec.ssh_port), *SSH_OPTIONS]
    done = subprocess.run(
        [*argv, "root@127.0.0.1", command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BureauError(f"{item.host}: `{command}` failed: {done.stderr.strip()}")


def _state_file(directory: Path) -> Path:
    return directory / "vms.json"


def start(
    project: Path,
    inventory_path: Path,
    log: Log,
    *,
    memory_mb: int = DEFAULT_MEMORY_MB,
    proxy: str = "",
) -> tuple[inv.Inventory, Path]:
    """Everything `up --vm` does before the deploy; returns the inventory and the
    second inventory's path. Running VMs of an earlier `up` are kept."""
    loaded = check.require_valid(inventory_path, project, secrets=False, rehearsal=True)
    others = sorted(
        {r for r in (releases.release_of(loaded, h) for h in loaded.hosts)} - {"trixie"}
    )
    if others:
        raise BadInput(
            "the VM rehearsal starts Debian 13 hosts only",
            [
                Problem(
                    inv.shown(loaded.path),
                    "bureau__debian_release",
                    f"hosts on {', '.join(others)}: the VM image is Debian 13's",
                    "rehearse those hosts in containers (`bureau rehearse up` without --vm)",
                )
            ],
        )
    prepare_secrets(loaded, project, log)
    check.require_valid(inventory_path, project, rehearsal=True, warn=log)
    recipe = vm_core.resolve_recipe("trixie")
    image, built = vm_core.build(recipe, proxy=proxy, log=lambda m: log(f"image: {m}"))
    log(f"VM image {'built' if built else 'reused'}: {image.directory}")
    directory = run_dir(project, loaded.name)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    state_path = _state_file(directory)
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    ssh_ports = dict(state.get("ssh_ports", {}))
    for name in loaded.hosts:
        ssh_ports.setdefault(name, vm_core.free_port())
    hub_port = int(state.get("hub_port") or _free_udp_port())
    accel = "kvm" if vm_core.kvm_usable() else "tcg"
    vms = plan(
        loaded, directory, ssh_ports=ssh_ports, hub_port=hub_port, accel=accel, memory_mb=memory_mb
    )
    state_path.write_text(json.dumps({"ssh_ports": ssh_ports, "hub_port": hub_port}, indent=2))
    log(
        "accelerator: "
        + ("KVM" if accel == "kvm" else "QEMU's software emulation (no usable KVM here)")
    )
    for item in vms:
        if vm_core.running(item.spec):
            log(f"reused {item.spec.name} ({item.host}, ssh 127.0.0.1:{item.spec.ssh_port})")
            continue
        pid = vm_core.start(item.spec, image)
        log(f"started {item.spec.name} ({item.host} at {item.address}, pid {pid})")
    lines = hosts_lines(vms)
    for item in vms:
        vm_core.wait_for_ssh(item.spec.ssh_port, BOOT_TIMEOUT)
        mark = shlex.quote(HOSTS_MARK)
        _ssh(item, image.key, f"sed -i '/{mark[1:-1]}$/d' /etc/hosts && cat >> /etc/hosts", lines)
        log(f"{item.host}: SSH answers on 127.0.0.1:{item.spec.ssh_port}")
    second = directory / "inventory.yml"
    second.write_text(
        "# Written by `bureau rehearse up --vm`: how Ansible reaches the VMs.\n"
        + yaml.safe_dump(overlay_inventory(vms, image.key, directory), sort_keys=False),
        encoding="utf-8",
    )
    second.chmod(0o600)
    return loaded, second


def status(project: Path, inventory: inv.Inventory) -> list[tuple[str, str, str, int, bool]]:
    """(host, VM, link address, SSH port, running) for each VM of `up --vm`."""
    directory = run_dir(project, inventory.name)
    state_path = _state_file(directory)
    if not state_path.is_file():
        return []
    state = json.loads(state_path.read_text())
    vms = plan(
        inventory,
        directory,
        ssh_ports={h: int(state["ssh_ports"].get(h, 0)) for h in inventory.hosts},
        hub_port=int(state["hub_port"]),
        accel="tcg",
        memory_mb=DEFAULT_MEMORY_MB,
    )
    return [(i.host, i.spec.name, i.address, i.spec.ssh_port, vm_core.running(i.spec)) for i in vms]


def down(project: Path, inventory_name: str, log: Log) -> list[str]:
    """Stop the VMs `up --vm` started for this inventory and remove their files."""
    directory = run_dir(project, inventory_name)
    if not directory.is_dir():
        return []
    removed: list[str] = []
    prefix = vm_name(inventory_name, "")
    for pidfile in sorted(directory.glob(f"{prefix}*.pid")) + sorted(
        directory.glob(f"{prefix}*.qcow2")
    ):
        name = pidfile.name.rsplit(".", 1)[0]
        if name in removed:
            continue
        running = vm_core.stop(directory, name)
        log(f"{'stopped' if running else 'removed'} {name}")
        removed.append(name)
    for path in directory.iterdir():
        if path.is_file() or path.is_socket():
            path.unlink()
    directory.rmdir()
    return removed
