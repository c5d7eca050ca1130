from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from bureau.core import check, rehearsal, vault
from bureau.core import inventory as inv

ROOT = Path(__file__).resolve().parents[2]
MOLECULE_CONFIGS = [
    ROOT / ".config" / "molecule" / "config.yml",
    *sorted((ROOT / "molecule").glob("*/molecule.yml")),
]
# Keys of a molecule docker platform that make the systemd container, and the
# `docker run` flag each becomes; the others say which host it is.
SYSTEMD_KEYS = {
    "capabilities": "--cap-add",
    "security_opts": "--security-opt",
    "volumes": "--volume",
    "tmpfs": "--tmpfs",
    "stop_signal": "--stop-signal",
}
IDENTITY_KEYS = {"name", "hostname", "groups", "children", "networks", "image", "pre_build_image"}


def molecule_platforms() -> list[tuple[str, dict[str, object]]]:
    found = []
    for path in MOLECULE_CONFIGS:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Containers only: molecule/vm's platforms are QEMU VMs (delegated driver).
        if (config.get("driver") or {}).get("name", "docker") != "docker":
            continue
        for platform in config.get("platforms") or []:
            found.append((f"{path.relative_to(ROOT)}: {platform['name']}", platform))
    return found


def flag_pairs(flags: tuple[str, ...] | list[str]) -> set[tuple[str, str]]:
    return set(zip(flags[::2], flags[1::2], strict=True))


@pytest.mark.parametrize(("where", "platform"), molecule_platforms(), ids=lambda v: str(v)[:60])
def test_the_rehearsal_runs_the_systemd_platform_of_molecule(
    where: str, platform: dict[str, object]
) -> None:
    """The rehearsal's `docker run` flags are the molecule platforms' systemd
    settings, read from the real molecule configs: a setting added to one and
    not the other fails here."""
    unknown = set(platform) - set(SYSTEMD_KEYS) - IDENTITY_KEYS - {"command", "devices"}
    assert not unknown, f"{where}: {sorted(unknown)}: add them to the rehearsal and this test"
    groups = platform.get("groups") or []
    assert isinstance(groups, list)
    assert sorted(platform.get("devices") or []) == rehearsal.devices_of(groups), where  # type: ignore[arg-type]
    molecule_flags: list[str] = []
    for key, flag in SYSTEMD_KEYS.items():
        values = platform.get(key) or []
        for value in [values] if isinstance(values, str) else values:
            molecule_flags += [flag, str(value)]
    assert flag_pairs(molecule_flags) == flag_pairs(rehearsal.SYSTEMD_FLAGS), where
    assert platform.get("command") == rehearsal.SYSTEMD_COMMAND, where
    assert "privileged" not in platform


def test_an_office_host_gets_fuse_for_the_drive_mounts() -> None:
    host = rehearsal.RehearsalHost(
        name="office.gouv.tg", container="bureau-rehearsal-office", groups=("all", "office")
    )
    command = rehearsal.docker_run_command(host, image="i", network="n", label="l")
    assert ("--device", "/dev/fuse") in itertools.pairwise(command)
    other = rehearsal.RehearsalHost(name="suite.gouv.tg", container="c", groups=("all", "drive"))
    assert "--device" not in rehearsal.docker_run_command(other, image="i", network="n", label="l")


def test_docker_run_matches_the_molecule_platform() -> None:
    host = rehearsal.RehearsalHost(
        name="suite.gouv.tg",
        container="bureau-rehearsal-suite",
        groups=("all", "rehearsal", "ca"),
        published_ports=("127.0.0.1:8443:443",),
    )
    command = rehearsal.docker_run_command(
        host,
        image="localhost/bureau/debian12-systemd:abc",
        network="bureau-rehearsal",
        label="rehearsal",
    )
    text = " ".join(command)
    assert command[:3] == ["docker", "run", "--detach"]
    assert "--name bureau-rehearsal-suite --hostname suite.gouv.tg" in text
    assert "--network bureau-rehearsal --network-alias suite.gouv.tg" in text
    assert "--label org.bureau.rehearsal=rehearsal" in text
    assert "--label org.bureau.rehearsal.host=suite.gouv.tg" in text
    for flag in (
        "--cap-add SYS_ADMIN", "--cap-add NET_ADMIN",
        "--security-opt seccomp=unconfined", "--security-opt apparmor=unconfined",
        "--volume /sys/fs/cgroup:/sys/fs/cgroup:ro",
        "--tmpfs /run --tmpfs /run/lock --tmpfs /tmp", "--stop-signal SIGRTMIN+3",
        "--publish 127.0.0.1:8443:443",
    ):  # fmt: skip
        assert flag in text
    assert "--privileged" not in command
    assert command[-2:] == ["localhost/bureau/debian12-systemd:abc", "/lib/systemd/systemd"]


def test_network_is_labelled_for_down() -> None:
    assert rehearsal.network_create_command("bureau-rehearsal", "rehearsal") == [
        "docker", "network", "create", "--label", "org.bureau.rehearsal=rehearsal",
        "bureau-rehearsal",
    ]  # fmt: skip


def test_down_forgets_what_belonged_to_the_containers(tmp_path) -> None:
    """The demo passwords and the CA of removed containers would make the next
    `up` refuse to write new ones (after its deploy); the vault stays."""
    for name in ("demo-passwords.csv", "ca.crt", "vault-pass"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    said: list[str] = []
    gone = rehearsal.forget_containers_state(tmp_path, said.append)
    assert sorted(Path(p).name for p in gone) == ["ca.crt", "demo-passwords.csv"]
    assert (tmp_path / "vault-pass").exists()
    assert len(said) == 2


def test_hosts_and_their_services_come_from_the_inventory(make_inventory) -> None:
    hosts = (
        "---\nall:\n  children:\n    rehearsal:\n      hosts:\n"
        "        suite.gouv.tg:\n          ansible_host: bureau-rehearsal-suite\n"
        "          rehearsal__published_ports: ['127.0.0.1:8389:389']\n"
        "    ca:\n      hosts:\n        suite.gouv.tg:\n"
        "    directory:\n      hosts:\n        suite.gouv.tg:\n"
    )
    loaded = inv.load(make_inventory(hosts=hosts))
    [host] = rehearsal.hosts_of(loaded)
    assert host.container == "bureau-rehearsal-suite"
    assert host.published_ports == ("127.0.0.1:8389:389",)
    assert "ssh" in host.services and "slapd" in host.services
    assert rehearsal.network_name(loaded) == "bureau-rehearsal"
    assert rehearsal.suites_of(loaded) == {"suite.gouv.tg": "trixie"}


def test_prepare_secrets_generates_once_and_keeps_values(make_inventory, project) -> None:
    root = make_inventory()
    loaded = inv.load(root)
    said: list[str] = []
    assert rehearsal.prepare_secrets(loaded, project, said.append) == ["vault_pki_ca_passphrase"]
    password = vault.password_file(project, "rehearsal")
    first = vault.read(vault.vault_file(root), password)
    assert len(first["vault_pki_ca_passphrase"]) == 40
    assert rehearsal.prepare_secrets(loaded, project, said.append) == []
    assert vault.read(vault.vault_file(root), password) == first
    assert check.check(root, project).ok
    assert any("vault-pass" in line for line in said)


def test_a_host_is_healthy_when_running_with_every_service_active() -> None:
    item = rehearsal.HostStatus("h", "c", "running", [], {"ssh": "active"})
    assert item.healthy
    item.services["slapd"] = "inactive"
    assert not item.healthy
    assert not rehearsal.HostStatus("h", "c", "absent").healthy
