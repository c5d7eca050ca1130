"""The VM lane's image recipe and QEMU command (src/bureau/core/vm.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bureau.core import image, vm
from bureau.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
MIRRORS = image.Mirrors(
    archive="http://mirror.gouv.tg/debian", security="http://mirror.gouv.tg/debian-security"
)


def _spec(**kwargs: object) -> vm.VmSpec:
    values: dict[str, object] = {
        "name": "bureau-vm-host1",
        "run_dir": Path("/x"),
        "ssh_port": 40022,
    }
    values.update(kwargs)
    return vm.VmSpec(**values)  # type: ignore[arg-type]


def _image() -> vm.VmImage:
    return vm.VmImage(Path("/images/debian13-vm-abc"))


def test_recipe_hash_names_the_image_directory() -> None:
    recipe = vm.VmRecipe(suite="trixie", mirrors=MIRRORS)
    assert recipe.tag == vm.VmRecipe(suite="trixie", mirrors=MIRRORS).tag
    assert recipe.dirname == f"debian13-vm-{recipe.tag}"
    other = image.Mirrors(archive="http://other.gouv.tg/debian", security="http://other.gouv.tg/s")
    more = vm.VmRecipe(suite="trixie", mirrors=MIRRORS, packages=(*recipe.packages, "vim"))
    assert len({recipe.tag, vm.VmRecipe(suite="trixie", mirrors=other).tag, more.tag}) == 3


def test_images_directory_can_be_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(vm.IMAGES_ENV, str(tmp_path))
    recipe = vm.VmRecipe(suite="trixie", mirrors=MIRRORS)
    assert vm.image_for(recipe).directory == tmp_path / recipe.dirname


def test_qemu_never_uses_kvm_and_binds_loopback_only() -> None:
    """/dev/kvm on these machines is a nested software hypervisor on which a
    Debian kernel hangs: QEMU must emulate (tcg) and never be offered KVM."""
    spec = _spec(link=vm.Link("listen", 40100, "10.77.0.1/24"))
    command = vm.qemu_command(spec, _image())
    joined = " ".join(command)
    assert command[command.index("-accel") + 1].startswith("tcg")
    assert "kvm" not in joined.replace("-vm-", "")
    assert "-enable-kvm" not in command
    assert "-cpu" in command and command[command.index("-cpu") + 1] == "qemu64"
    assert "hostfwd=tcp:127.0.0.1:40022-:22" in joined
    assert "listen=127.0.0.1:40100" in joined
    assert "0.0.0.0" not in joined


def test_the_link_is_eth0_and_its_address_is_on_the_command_line() -> None:
    command = vm.qemu_command(_spec(link=vm.Link("connect", 40100, "10.77.0.2/24")), _image())
    netdevs = [command[i + 1] for i, arg in enumerate(command) if arg == "-netdev"]
    assert netdevs[0].startswith("socket,id=link,connect=127.0.0.1:40100")
    assert netdevs[1].startswith("user,")
    assert "bureau.link=10.77.0.2/24" in command[command.index("-append") + 1]


def test_vm_names_and_links_are_checked() -> None:
    with pytest.raises(BadInput):
        _spec(name="host1")
    with pytest.raises(BadInput):
        vm.Link("both", 1, "10.77.0.1/24")


def _role_packages() -> set[str]:
    """What the baseline roles install, read from the roles themselves."""
    base_vars = yaml.safe_load((ROOT / "roles/base/vars/main.yml").read_text())
    base_defaults = yaml.safe_load((ROOT / "roles/base/defaults/main.yml").read_text())
    hardening = yaml.safe_load((ROOT / "roles/hardening/vars/main.yml").read_text())
    pki = yaml.safe_load((ROOT / "roles/pki/defaults/main.yml").read_text())
    return {
        *base_vars["__base__packages"],
        *base_defaults["base__default_packages"],
        *hardening["__hardening__packages"],
        *hardening["__hardening__audit_packages"],
        *hardening["__hardening__accounting_packages"],
        *hardening["__hardening__compliance_packages"],
        *pki["pki__packages"],
    }


def test_the_image_carries_every_package_the_baseline_installs() -> None:
    """Under emulation an apt install is 6-17x slower than in a container: the
    VM image has the baseline's packages, so its converge only configures."""
    missing = _role_packages() - set(vm.VmRecipe(suite="trixie", mirrors=MIRRORS).packages)
    assert not missing, f"add to bureau.core.vm.BASELINE_PACKAGES: {sorted(missing)}"
