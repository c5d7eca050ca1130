"""The rehearsal: one systemd container per inventory host, on a private Docker network.

We drive the `docker` CLI rather than the Python SDK: the image module already
does, every command composed here is a plain list that unit tests check and an
operator can paste into a shell, and the CLI's flags are the same ones that
the molecule config (.config/molecule/config.yml) uses. Everything `up` creates
carries the label `org.bureau.rehearsal=<inventory name>`; `down` removes
exactly what has that label, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bureau.core import check, releases, settings, vault
from bureau.core import image as image_core
from bureau.core import inventory as inv
from bureau.core.proc import require, run
from bureau.errors import BadInput, BureauError, Problem

LABEL = "org.bureau.rehearsal"
HOST_LABEL = "org.bureau.rehearsal.host"
DEFAULT_NETWORK = "bureau-rehearsal"
BOOT_TIMEOUT = 120.0
# The same run flags as .config/molecule/config.yml: systemd as PID 1 without
# --privileged, which fails where CAP_SYS_RESOURCE is not in the bounding set.
SYSTEMD_FLAGS: tuple[str, ...] = (
    "--cap-add", "SYS_ADMIN",
    "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
    "--tmpfs", "/tmp",
    "--stop-signal", "SIGRTMIN+3",
)  # fmt: skip
SYSTEMD_COMMAND = "/lib/systemd/systemd"
# Devices a host of a group needs besides (molecule/suite's `devices`): an
# office host mounts the agents' drive folders with davfs2, through FUSE.
GROUP_DEVICES: dict[str, tuple[str, ...]] = {"office": ("/dev/fuse",)}


def devices_of(groups: tuple[str, ...] | list[str]) -> list[str]:
    return sorted({device for group in groups for device in GROUP_DEVICES.get(group, ())})


Log = Callable[[str], None]


@dataclass(frozen=True)
class RehearsalHost:
    name: str
    container: str
    groups: tuple[str, ...]
    published_ports: tuple[str, ...] = ()

    @property
    def services(self) -> tuple[str, ...]:
        rules = settings.group_rules()
        found: dict[str, None] = {}
        for group in self.groups:
            for service in rules[group].services if group in rules else ():
                found[service] = None
        return tuple(found)


@dataclass
class HostStatus:
    host: str
    container: str
    state: str
    published_ports: list[str] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.state == "running" and all(s == "active" for s in self.services.values())


def hosts_of(inventory: inv.Inventory) -> list[RehearsalHost]:
    hosts: list[RehearsalHost] = []
    for name in inventory.hosts:
        variables = inventory.variables(name)
        hosts.append(
            RehearsalHost(
                name=name,
                container=str(variables.get("ansible_host", name)),
                groups=tuple(inventory.groups_of(name)),
                published_ports=tuple(
                    str(p) for p in variables.get("rehearsal__published_ports") or ()
                ),
            )
        )
    return hosts


def network_name(inventory: inv.Inventory) -> str:
    return str(inventory.group_vars.get("all", {}).get("rehearsal__network", DEFAULT_NETWORK))


def suites_of(inventory: inv.Inventory) -> dict[str, str]:
    """Host → the Debian release its container starts on (`bureau__debian_release`)."""
    return {host: releases.release_of(inventory, host) for host in inventory.hosts}


def network_create_command(network: str, label: str) -> list[str]:
    return ["docker", "network", "create", "--label", f"{LABEL}={label}", network]


def docker_run_command(host: RehearsalHost, *, image: str, network: str, label: str) -> list[str]:
    """The `docker run` of one rehearsal host (pure: unit-tested)."""
    command = [
        "docker", "run", "--detach",
        "--name", host.container,
        "--hostname", host.name,
        "--network", network,
        "--network-alias", host.name,
        "--label", f"{LABEL}={label}",
        "--label", f"{HOST_LABEL}={host.name}",
        *SYSTEMD_FLAGS,
    ]  # fmt: skip
    for device in devices_of(host.groups):
        command += ["--device", device]
    for port in host.published_ports:
        command += ["--publish", port]
    return [*command, image, SYSTEMD_COMMAND]


def _inspect(kind: str, name: str, template: str) -> str | None:
    proc = run(["docker", kind, "inspect", "--format", template, name], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _label_template(target: str) -> str:
    return f'{{{{index {target} "{LABEL}"}}}}'


def ensure_docker() -> None:
    require("docker", "run scripts/host-setup (or `make host`) to install the engine")
    proc = run(["docker", "info", "--format", "{{.CgroupVersion}}"], check=False)
    if proc.returncode != 0:
        raise BureauError(
            "the Docker engine does not answer: start it (scripts/host-setup) and retry\n"
            + proc.stderr.strip()
        )
    if proc.stdout.strip() == "2":
        raise BureauError(
            "this Docker engine uses cgroup v2: the rehearsal's systemd containers mount "
            "/sys/fs/cgroup read-only, which needs cgroup v1: run the rehearsal on a cgroup v1 host"
        )


def prepare_secrets(inventory: inv.Inventory, project: Path, log: Log) -> list[str]:
    """Generate the rehearsal's missing secrets into its encrypted vault; return their names."""
    password = vault.password_file(project, inventory.name)
    if vault.ensure_password_file(password):
        log(f"created vault password {inv.shown(password)} (mode 0600)")
    path = vault.vault_file(inventory.path)
    try:
        values = vault.read(path, password) if path.exists() else {}
    except vault.VaultError as err:
        raise BadInput(
            "the rehearsal vault cannot be read; nothing was changed",
            [Problem(inv.shown(path), "(vault)", err.message, err.fix)],
        ) from err
    missing = [
        rule
        for rule in check.needed_secrets(inventory)
        if not str(values.get(rule.name) or "").strip()
    ]
    if not missing:
        return []
    for rule in missing:
        values[rule.name] = vault.random_value(rule.length)
    vault.write(path, values, password)
    names = [rule.name for rule in missing]
    log(f"generated {', '.join(names)} into {inv.shown(path)}")
    return names


def ensure_network(network: str, label: str, log: Log) -> None:
    owner = _inspect("network", network, _label_template(".Labels"))
    if owner is None:
        run(network_create_command(network, label))
        log(f"created network {network}")
    elif owner != label:
        raise BureauError(
            f"Docker network '{network}' exists but was not created by `bureau rehearse up` "
            f"for '{label}': remove it or set another rehearsal__network"
        )


def ensure_container(
    host: RehearsalHost, *, image: str, network: str, label: str, log: Log
) -> None:
    found = _inspect(
        "container", host.container, _label_template(".Config.Labels") + "|{{.State.Status}}"
    )
    if found is None:
        run(docker_run_command(host, image=image, network=network, label=label))
        log(f"started {host.container} ({host.name})")
        return
    owner, _, state = found.partition("|")
    if owner != label:
        raise BureauError(
            f"a container named '{host.container}' exists but is not part of rehearsal "
            f"'{label}': remove it or change ansible_host of {host.name}"
        )
    if state != "running":
        run(["docker", "start", host.container])
        log(f"restarted {host.container} (was {state})")
    else:
        log(f"reused {host.container}")


def wait_for_systemd(container: str, timeout: float = BOOT_TIMEOUT) -> str:
    """Wait until systemd says running or degraded; return what it said."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        proc = run(["docker", "exec", container, "systemctl", "is-system-running"], check=False)
        state = proc.stdout.strip() or "unknown"
        if state in ("running", "degraded"):
            return state
        time.sleep(1.0)
    raise BureauError(
        f"systemd in {container} is '{state}' after {timeout:.0f} s: "
        f"see `docker exec {container} systemctl --failed` and `docker logs {container}`"
    )


def start(project: Path, inventory_path: Path, log: Log) -> inv.Inventory:
    """Everything `up` does before the deploy: validate, secrets, image, network, containers."""
    # Bad input changes nothing: validate all but the secrets before any side effect.
    loaded = check.require_valid(inventory_path, project, secrets=False, rehearsal=True)
    ensure_docker()
    prepare_secrets(loaded, project, log)
    check.require_valid(inventory_path, project, rehearsal=True, warn=log)
    # Each host starts on the image of the release its inventory names.
    images: dict[str, str] = {}
    for suite in sorted(set(suites_of(loaded).values())):
        recipe = image_core.resolve_recipe(suite)
        images[suite], built = image_core.build(recipe, log=lambda m: log(f"image: {m}"))
        log(f"image {'built' if built else 'reused'}: {images[suite]}")
    label = loaded.name
    network = network_name(loaded)
    ensure_network(network, label, log)
    hosts = hosts_of(loaded)
    suites = suites_of(loaded)
    for host in hosts:
        image = images[suites[host.name]]
        ensure_container(host, image=image, network=network, label=label, log=log)
    for host in hosts:
        state = wait_for_systemd(host.container)
        log(f"{host.container}: systemd {state}")
    return loaded


def down(inventory_name: str, log: Log, state: Path | None = None) -> list[str]:
    """Remove the containers and network labelled for this rehearsal, and what `up`
    wrote about those containers in `state` (.bureau/<name>); return what went."""
    require("docker", "run scripts/host-setup (or `make host`) to install the engine")
    selector = f"label={LABEL}={inventory_name}"
    removed: list[str] = []
    names = run(["docker", "ps", "--all", "--filter", selector, "--format", "{{.Names}}"])
    containers = names.stdout.split()
    if containers:
        run(["docker", "rm", "--force", "--volumes", *containers])
        for name in containers:
            log(f"removed container {name}")
        removed += containers
    networks = run(["docker", "network", "ls", "--filter", selector, "--format", "{{.Name}}"])
    for network in networks.stdout.split():
        run(["docker", "network", "rm", network])
        log(f"removed network {network}")
        removed.append(network)
    if containers and state is not None:
        removed += forget_containers_state(state, log)
    return removed


# What `up` wrote about the containers themselves: the demo agents' initial
# passwords and the CA lived in the removed directory and pki host. Kept, the
# passwords file made the next `up` refuse to write new ones after its deploy.
CONTAINER_STATE = ("demo-passwords.csv", "ca.crt")


def forget_containers_state(state: Path, log: Log) -> list[str]:
    gone: list[str] = []
    for name in CONTAINER_STATE:
        path = state / name
        if path.exists():
            path.unlink()
            log(f"removed {path.name} (it belonged to the removed containers)")
            gone.append(str(path))
    return gone


def status(inventory: inv.Inventory) -> list[HostStatus]:
    """Each host's container state and the state of its Bureau services."""
    result: list[HostStatus] = []
    for host in hosts_of(inventory):
        state = _inspect("container", host.container, "{{.State.Status}}") or "absent"
        item = HostStatus(host.name, host.container, state, list(host.published_ports))
        if host.services:
            if state == "running":
                proc = run(
                    ["docker", "exec", host.container, "systemctl", "is-active", *host.services],
                    check=False,
                )
                states = proc.stdout.split()
                if len(states) != len(host.services):
                    states = ["unknown"] * len(host.services)
            else:
                states = ["unknown"] * len(host.services)
            item.services = dict(zip(host.services, states, strict=True))
        result.append(item)
    return result
