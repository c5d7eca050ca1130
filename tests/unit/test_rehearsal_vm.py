"""The rehearsal on VMs (src/bureau/core/rehearsal_vm.py): what `up --vm` plans
and writes, without starting anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bureau.core import inventory as inv
from bureau.core import rehearsal_vm, runner, vm
from bureau.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventories" / "rehearsal-vm"


def _plan(tmp_path: Path, **kwargs: object) -> list[rehearsal_vm.VmHost]:
    loaded = inv.load(INVENTORY)
    ports = {name: 41000 + i for i, name in enumerate(loaded.hosts)}
    values: dict[str, object] = {
        "ssh_ports": ports,
        "hub_port": 42000,
        "accel": "tcg",
        "memory_mb": 1024,
    }
    values.update(kwargs)
    return rehearsal_vm.plan(loaded, tmp_path, **values)  # type: ignore[arg-type]


def test_one_vm_per_host_on_one_hub_with_distinct_addresses_and_macs(tmp_path: Path) -> None:
    vms = _plan(tmp_path)
    assert [v.host for v in vms] == ["host1.gouv.tg", "host2.gouv.tg"]
    assert [v.address for v in vms] == ["10.78.0.10", "10.78.0.11"]
    assert {v.spec.name for v in vms} == {
        "bureau-vm-rehearsal-vm-host1.gouv.tg",
        "bureau-vm-rehearsal-vm-host2.gouv.tg",
    }
    commands = [" ".join(vm.qemu_command(v.spec, vm.VmImage(Path("/i")))) for v in vms]
    for command in commands:
        # Multicast on loopback only: the frames never leave this machine.
        assert "mcast=230.77.0.1:42000,localaddr=127.0.0.1" in command
        assert "0.0.0.0" not in command
        assert "accel tcg" in command
    macs = {c.split("mac=")[1].split()[0] for c in commands}
    assert len(macs) == 2


def test_published_ports_are_forwarded_from_loopback_only(tmp_path: Path) -> None:
    assert rehearsal_vm.forwards_of("h", ("127.0.0.1:10636:636", "8443:443"), "f") == (
        (10636, 636),
        (8443, 443),
    )
    with pytest.raises(BadInput) as raised:
        rehearsal_vm.forwards_of("h", ("0.0.0.0:10636:636",), "hosts.yml")
    assert raised.value.problems[0].key == "rehearsal__published_ports"
    spec = vm.VmSpec("bureau-vm-x", tmp_path, 41000, forwards=((10636, 636),))
    assert "hostfwd=tcp:127.0.0.1:10636-:636" in " ".join(
        vm.qemu_command(spec, vm.VmImage(tmp_path))
    )


def test_the_second_inventory_outranks_the_container_connection(tmp_path: Path) -> None:
    vms = _plan(tmp_path)
    hosts = rehearsal_vm.overlay_inventory(vms, Path("/k/id_ed25519"), tmp_path)["all"]["hosts"]
    first = hosts["host1.gouv.tg"]
    assert first["ansible_connection"] == "ssh"
    assert (first["ansible_host"], first["ansible_port"]) == ("127.0.0.1", 41000)
    assert first["bureau__container"] is False
    assert "10.0.2.2" in first["base__apt_proxy"]
    lines = rehearsal_vm.hosts_lines(vms).splitlines()
    assert lines == [
        "10.78.0.10 host1.gouv.tg # bureau rehearsal",
        "10.78.0.11 host2.gouv.tg # bureau rehearsal",
    ]


def test_kvm_only_where_the_cpu_virtualises(tmp_path: Path) -> None:
    dev = tmp_path / "kvm"
    dev.write_text("")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu vme sse2 hypervisor\n")
    # This machine's case: /dev/kvm without vmx/svm is a software nested hypervisor.
    assert not vm.kvm_usable(dev, cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu vme vmx sse2\n")
    assert vm.kvm_usable(dev, cpuinfo)
    assert not vm.kvm_usable(tmp_path / "absent", cpuinfo)
    command = vm.qemu_command(
        vm.VmSpec("bureau-vm-x", tmp_path, 1, accel="kvm"), vm.VmImage(tmp_path)
    )
    assert command[command.index("-accel") + 1] == "kvm"
    with pytest.raises(BadInput):
        vm.VmSpec("bureau-vm-x", tmp_path, 1, accel="xen")


def test_ansible_reads_the_vm_connection_over_the_inventory(tmp_path: Path) -> None:
    """Loaded after the inventory (as `bureau deploy` passes them), the second
    inventory's host variables win over hosts.yml's ansible_host and the
    group_vars' container connection: Ansible itself says so."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    second = tmp_path / "inventory.yml"
    second.write_text(
        yaml.safe_dump(rehearsal_vm.overlay_inventory(_plan(tmp_path), Path("/k"), tmp_path))
    )
    # A copy without the vault `up` may have generated here (no password in a unit test).
    copy = tmp_path / "rehearsal-vm"
    shutil.copytree(INVENTORY, copy, ignore=shutil.ignore_patterns("vault.yml"))
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(copy), str(second)])
    variables = VariableManager(loader=loader, inventory=manager).get_vars(
        host=manager.get_host("host2.gouv.tg")
    )
    assert variables["ansible_host"] == "127.0.0.1"
    assert variables["ansible_port"] == 41001
    assert variables["ansible_connection"] == "ssh"
    assert variables["bureau__container"] is False


def test_deploy_loads_the_extra_inventory_last(tmp_path: Path) -> None:
    request = runner.DeployRequest(
        project=tmp_path,
        inventory=INVENTORY,
        playbook=tmp_path / "site.yml",
        extra_inventories=(tmp_path / "vm.yml",),
    )
    plan = runner.plan(request, bin_dir=Path("/b"), path_env="", stamp="T")
    assert plan.inventories() == [str(INVENTORY.resolve()), str(tmp_path / "vm.yml")]
    assert plan.argv()[:5] == [
        "ansible-playbook",
        "-i",
        str(INVENTORY.resolve()),
        "-i",
        str(tmp_path / "vm.yml"),
    ]
