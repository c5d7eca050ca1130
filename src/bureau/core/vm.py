"""Virtual machines for what only a kernel shows: the VM image and the QEMU command.

A container shares the kernel of the machine that runs it, so the baseline's
sysctl settings, audit rules and kernel-level firewall have to be proven on a
kernel of their own (molecule/vm, docs/testing/vm-lane.md). The image is built
like the container image (src/bureau/core/image.py): debootstrap from the
Debian mirror, then `mkfs.ext4 -d` into a disk (no loop device, no libguestfs)
converted to qcow2, kept in a directory named by the hash of its recipe and
reused while the recipe is unchanged. The SSH key that opens it is made at
build time, beside the disk, and never leaves this machine.

QEMU runs in software emulation only (`-accel tcg`): on machines whose
/dev/kvm is a nested software hypervisor a Debian kernel does not boot under
KVM, and a tool that picks KVM by itself hangs there. Every port QEMU opens is
on 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from bureau.core import image
from bureau.core.proc import require, run
from bureau.errors import BadInput, BureauError, CommandFailed

# Where built images are kept (one directory per recipe hash).
DEFAULT_IMAGES_DIR = Path("/var/lib/bureau/vm-images")
IMAGES_ENV = "BUREAU_VM_IMAGES"
# Every name a VM run leaves on the machine (run directories, processes) starts so.
PREFIX = "bureau-vm-"

# A bootable minimal Debian (kernel, init, SSH for Ansible, networkd for its
# links) and, preinstalled, what the baseline roles install (base: chrony …
# vim-tiny; hardening: auditd … python3-systemd): under emulation an apt
# install is 6-17 times slower than in a container, and package installs are
# proven in the container scenarios; the VM converges the same roles, which
# then only configure. tests/unit/test_vm.py checks this list against the
# roles' own package lists.
KERNEL_PACKAGES: tuple[str, ...] = (
    "dbus",
    "iproute2",
    "kmod",
    "linux-image-amd64",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",
    "systemd-sysv",
    "udev",
)
BASELINE_PACKAGES: tuple[str, ...] = (
    "acct",
    "auditd",
    "bind9-dnsutils",
    "ca-certificates",
    "chrony",
    "cracklib-runtime",
    "curl",
    "fail2ban",
    "less",
    "libpam-pwquality",
    "libpwquality-tools",
    "locales",
    "lsof",
    "nftables",
    "openscap-scanner",
    "openssl",
    "python3-cryptography",
    "python3-systemd",
    "rsync",
    "ssg-debian",
    "ssl-cert",
    "sysstat",
    "tmux",
    "tzdata",
    "unattended-upgrades",
    "vim-tiny",
)
# Installed with apt in the chroot after debootstrap, whose own configure
# order fails on them (python3-cryptography, 2026-12-06).
CHROOT_PACKAGES: tuple[str, ...] = ("python3-cryptography",)
# No first-boot wizard on the console. (The apt timers stay: the base role
# enables them, and a masked unit cannot be enabled.)
MASKED_UNITS: tuple[str, ...] = ("systemd-firstboot.service",)
DISK_SIZE = "4G"
# Bump when the build steps below change in a way the other fields do not show.
RECIPE_VERSION = 1

# The guest side of QEMU's user network (slirp): the host's 127.0.0.1 is
# 10.0.2.2 there, its DNS relay 10.0.2.3.
SLIRP_HOST = "10.0.2.2"
SLIRP_DNS = "10.0.2.3"

# Reads `bureau.link=ADDRESS/PREFIX` from the kernel command line and gives it to
# eth0, the point-to-point link between VMs: one image serves every VM of a run.
LINK_UNIT = """\
[Unit]
Description=Bureau VM link address from the kernel command line
Before=network-pre.target ssh.service
Wants=network-pre.target
ConditionKernelCommandLine=bureau.link

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for a in $(cat /proc/cmdline); do case $a in bureau.link=*) \
ip addr add "$${a#bureau.link=}" dev eth0;; esac; done; ip link set eth0 up'

[Install]
WantedBy=multi-user.target
"""
# eth1 is QEMU's user network: DHCP from slirp, the default route, the way out.
UPLINK_NETWORK = """\
[Match]
Name=eth1

[Network]
DHCP=ipv4
"""


@dataclass(frozen=True)
class VmRecipe:
    """Everything that shapes a VM image; its hash names the image's directory."""

    suite: str
    mirrors: image.Mirrors
    packages: tuple[str, ...] = KERNEL_PACKAGES + BASELINE_PACKAGES
    masked_units: tuple[str, ...] = MASKED_UNITS
    disk_size: str = DISK_SIZE
    link_unit: str = LINK_UNIT
    uplink_network: str = UPLINK_NETWORK
    version: int = RECIPE_VERSION
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def release(self) -> str:
        return image.SUITES[self.suite]

    def apt_sources(self) -> str:
        return image.Recipe(suite=self.suite, mirrors=self.mirrors).apt_sources()

    def digest(self) -> str:
        payload = asdict(self)
        payload["sources"] = self.apt_sources()
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def tag(self) -> str:
        return self.digest()[:12]

    @property
    def dirname(self) -> str:
        return f"{self.release}-vm-{self.tag}"


def resolve_recipe(
    suite: str = image.DEFAULT_SUITE,
    mirror: str | None = None,
    security_mirror: str | None = None,
) -> VmRecipe:
    """The mirrors are chosen as for the container image (options, environment, host)."""
    base = image.resolve_recipe(suite, mirror, security_mirror)
    return VmRecipe(suite=base.suite, mirrors=base.mirrors)


def images_dir() -> Path:
    return Path(os.environ.get(IMAGES_ENV) or DEFAULT_IMAGES_DIR)


@dataclass(frozen=True)
class VmImage:
    """A built image: the disk, the kernel and initrd it boots, the key that opens it."""

    directory: Path

    @property
    def disk(self) -> Path:
        return self.directory / "disk.qcow2"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def key(self) -> Path:
        return self.directory / "id_ed25519"

    def exists(self) -> bool:
        return all(p.is_file() for p in (self.disk, self.kernel, self.initrd, self.key))


def image_for(recipe: VmRecipe) -> VmImage:
    return VmImage(images_dir() / recipe.dirname)


def build(
    recipe: VmRecipe,
    *,
    force: bool = False,
    proxy: str = "",
    log: Callable[[str], object] = print,
) -> tuple[VmImage, bool]:
    """Build the image for `recipe` unless it exists; return (image, built).
    `proxy`: an HTTP proxy (apt-cacher-ng) debootstrap and apt download through.

    Builds of one machine take turns (a lock file beside the images): a second
    build of the same recipe waits and finds the image the first one made,
    instead of replacing a disk that VMs already use as their backing file."""
    found = image_for(recipe)
    if found.exists() and not force:
        return found, False
    for program in ("debootstrap", "mkfs.ext4", "qemu-img", "ssh-keygen"):
        require(program, "run scripts/host-setup (or `make host`) to install it")
    if os.geteuid() != 0:
        raise BureauError("debootstrap needs root: run `sudo bureau image build --vm`")
    found.directory.parent.mkdir(parents=True, exist_ok=True)
    with (found.directory.parent / ".build.lock").open("w") as lock:
        return _build_locked(recipe, found, force=force, proxy=proxy, log=log, lock=lock)


def _build_locked(
    recipe: VmRecipe,
    found: VmImage,
    *,
    force: bool,
    proxy: str,
    log: Callable[[str], object],
    lock: IO[str],
) -> tuple[VmImage, bool]:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another build of a VM image runs on this machine: waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
        if found.exists() and not force:
            return found, False
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}image-", dir=found.directory.parent))
    rootfs = work / "rootfs"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if proxy:
        env["http_proxy"] = proxy
    try:
        log(f"debootstrap {recipe.suite} from {recipe.mirrors.archive}")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(p for p in recipe.packages if p not in CHROOT_PACKAGES)}",
                recipe.suite,
                str(rootfs),
                recipe.mirrors.archive,
            ],
            env,
        )
        _configure(rootfs, recipe, work)
        log("apt-get dist-upgrade from the updates and security suites")
        _upgrade(rootfs, env, [p for p in recipe.packages if p in CHROOT_PACKAGES])
        log(f"mkfs.ext4 -d and qemu-img convert ({recipe.disk_size})")
        _make_disk(rootfs, work, recipe)
        # Not yet proven in a whole build (docs/testing/vm-lane.md): opt in.
        if os.environ.get("BUREAU_VM_FIRST_BOOT") == "1":
            log("first boot (AppArmor's profile cache, first-boot units), then power off")
            _first_boot(work)
        if found.directory.exists():
            shutil.rmtree(found.directory)
        (work / "recipe.json").write_text(json.dumps(asdict(recipe), indent=2, sort_keys=True))
        shutil.rmtree(rootfs)
        work.rename(found.directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return found, True


def _run(command: Sequence[str], env: dict[str, str]) -> None:
    proc = subprocess.run(list(command), env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CommandFailed(list(command), proc.returncode, (proc.stdout + proc.stderr)[-4000:])


def _configure(rootfs: Path, recipe: VmRecipe, work: Path) -> None:
    """Boot settings, apt sources, networks, root's SSH key; nothing a role sets."""
    etc = rootfs / "etc"
    (etc / "apt/sources.list").unlink(missing_ok=True)
    (etc / "apt/sources.list.d/debian.sources").write_text(recipe.apt_sources())
    (etc / "fstab").write_text("LABEL=root / ext4 rw,errors=remount-ro 0 1\n")
    (etc / "hostname").write_text("localhost\n")
    (etc / "machine-id").write_text("")
    # resolv.conf from slirp's DNS relay: networkd gets it by DHCP but only
    # resolved would write it, and the image has no need for resolved.
    resolv = etc / "resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text(f"nameserver {SLIRP_DNS}\n")
    network = etc / "systemd/network"
    network.mkdir(parents=True, exist_ok=True)
    (network / "20-uplink.network").write_text(recipe.uplink_network)
    units = etc / "systemd/system"
    (units / "bureau-vm-link.service").write_text(recipe.link_unit)
    wants = units / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    for name, target in (
        ("bureau-vm-link.service", "/etc/systemd/system/bureau-vm-link.service"),
        ("systemd-networkd.service", "/lib/systemd/system/systemd-networkd.service"),
    ):
        link = wants / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    for unit in recipe.masked_units:
        link = units / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    key = work / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bureau-vm", "-f", str(key)])
    ssh = rootfs / "root/.ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "authorized_keys").write_text((work / "id_ed25519.pub").read_text())
    (ssh / "authorized_keys").chmod(0o600)


def _upgrade(rootfs: Path, env: dict[str, str], install: Sequence[str] = ()) -> None:
    """Bring the image to the level of the updates and security suites (debootstrap
    takes the release only): the baseline's first deploy then has nothing to
    install. No service starts in the chroot (policy-rc.d)."""
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    proc_dir = rootfs / "proc"
    run(["mount", "-t", "proc", "proc", str(proc_dir)])
    try:
        _run(["chroot", str(rootfs), "apt-get", "update", "-qq"], env)
        _run(["chroot", str(rootfs), "apt-get", "dist-upgrade", "-y", "-qq"], env)
        if install:
            _run(["chroot", str(rootfs), "apt-get", "install", "-y", "-qq", *install], env)
        _run(["chroot", str(rootfs), "apt-get", "clean"], env)
    finally:
        run(["umount", str(proc_dir)], check=False)
        policy.unlink(missing_ok=True)
    for path in (rootfs / "var/lib/apt/lists").glob("*_*"):
        path.unlink()
    os.utime(rootfs / "var/lib/apt/lists", (0, 0))


def _make_disk(rootfs: Path, work: Path, recipe: VmRecipe) -> None:
    # The kernel package keeps /vmlinuz and /initrd.img pointing at the newest.
    for name in ("vmlinuz", "initrd.img"):
        link = rootfs / name
        if not link.exists():
            raise BureauError(f"the image has no /{name}: is linux-image-amd64 installed?")
        shutil.copyfile(rootfs / "boot" / os.path.basename(os.readlink(link)), work / name)
    raw = work / "root.raw"
    run(["mkfs.ext4", "-q", "-L", "root", "-d", str(rootfs), str(raw), recipe.disk_size])
    run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(work / "disk.qcow2")])
    raw.unlink()


def _first_boot(work: Path, timeout: float = 900) -> None:
    """Boot the new disk once and keep what the first boot leaves: AppArmor
    compiles its profiles then (a minute under emulation), which every VM of
    every run would otherwise pay again. The machine id is emptied again, so
    that each VM makes its own."""
    built = VmImage(work)
    spec = VmSpec(name=f"{PREFIX}first-boot", run_dir=work / "first-boot", ssh_port=free_port())
    pid = start(spec, built)
    try:
        wait_for_ssh(spec.ssh_port, timeout)
        ssh = [
            "ssh", "-i", str(built.key), "-p", str(spec.ssh_port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=60", "root@127.0.0.1",
        ]  # fmt: skip
        run(
            [
                *ssh,
                "systemctl is-system-running --wait; : > /etc/machine-id;"
                " rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed;"
                " rm -rf /var/log/journal/* /var/lib/systemd/network/*; systemctl poweroff",
            ],
            check=False,
        )
        _wait_gone(pid, 180)
    finally:
        if _is_our_qemu(pid, spec.overlay):
            os.kill(pid, 15)
            _wait_gone(pid, 30)
    run(["qemu-img", "commit", "-q", str(spec.overlay)])
    shutil.rmtree(spec.run_dir)


def wait_for_ssh(port: int, timeout: float) -> None:
    """Until sshd's banner comes through 127.0.0.1:port (QEMU accepts at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(2)
    raise BureauError(f"no SSH answer on 127.0.0.1:{port} after {timeout:.0f} s")


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(1)


# --- Running a VM -------------------------------------------------------


# The multicast group of a hub link (`Link(role="hub")`): QEMU sends the
# frames to it on 127.0.0.1 only (localaddr), so they never leave loopback.
HUB_GROUP = "230.77.0.1"


@dataclass(frozen=True)
class Link:
    """An Ethernet link between VMs, carried on 127.0.0.1: point to point over
    TCP (one VM listens, the other connects), or a hub that any number of VMs
    join (UDP multicast on loopback, the rehearsal's network); the frames never
    leave loopback."""

    role: str  # "listen", "connect" or "hub"
    port: int
    address: str  # the guest's eth0 address, CIDR

    def __post_init__(self) -> None:
        if self.role not in ("listen", "connect", "hub"):
            raise BadInput(f"a link listens, connects or is a hub, not {self.role!r}")

    @property
    def netdev(self) -> str:
        if self.role == "hub":
            return f"socket,id=link,mcast={HUB_GROUP}:{self.port},localaddr=127.0.0.1"
        return f"socket,id=link,{self.role}=127.0.0.1:{self.port}"


def mac_of(name: str) -> str:
    """A stable, locally administered MAC for the VM `name`'s link (QEMU gives
    every VM the same one, which a hub of three cannot tell apart)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def kvm_usable(dev: Path = Path("/dev/kvm"), cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """KVM only where the CPU says it virtualises (vmx or svm) and /dev/kvm
    opens: a laptop's hardware. A /dev/kvm without those flags is a software
    nested hypervisor on which a Debian kernel does not boot
    (ENVIRONMENT.md, "Virtual machines"): QEMU's emulation there."""
    try:
        flags = {
            word
            for line in cpuinfo.read_text(encoding="utf-8").splitlines()
            if line.startswith("flags")
            for word in line.split(":", 1)[1].split()
        }
    except OSError:
        return False
    return bool(flags & {"vmx", "svm"}) and os.access(dev, os.R_OK | os.W_OK)


@dataclass(frozen=True)
class VmSpec:
    name: str
    run_dir: Path
    ssh_port: int
    link: Link | None = None
    memory_mb: int = 1024
    cpus: int = 2
    hostname: str = ""
    # More ports of 127.0.0.1 forwarded to the guest: (host port, guest port).
    forwards: tuple[tuple[int, int], ...] = ()
    # "tcg" (QEMU's emulation, the test lanes' only choice) or "kvm" (the
    # operators' rehearsal on a machine where kvm_usable()).
    accel: str = "tcg"

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise BadInput(f"VM names start with {PREFIX!r} (got {self.name!r})")
        if self.accel not in ("tcg", "kvm"):
            raise BadInput(f"a VM runs under tcg or kvm, not {self.accel!r}")

    @property
    def overlay(self) -> Path:
        return self.run_dir / f"{self.name}.qcow2"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def console(self) -> Path:
        return self.run_dir / f"{self.name}.console.log"


def qemu_command(spec: VmSpec, base: VmImage) -> list[str]:
    """The QEMU command line: software emulation, never KVM; ports on 127.0.0.1 only.
    The link (if any) comes first so that it is eth0, the address other hosts
    reach; QEMU's user network is eth1, the way to the mirror and to SSH."""
    append = ["root=LABEL=root", "rw", "console=ttyS0", "net.ifnames=0", "quiet"]
    if spec.hostname:
        append.append(f"systemd.hostname={spec.hostname}")
    devices: list[str] = []
    if spec.link is not None:
        devices += [
            "-netdev",
            spec.link.netdev,
            "-device",
            f"virtio-net-pci,netdev=link,mac={mac_of(spec.name)}",
        ]
        append.append(f"bureau.link={spec.link.address}")
    forwards = [(spec.ssh_port, 22), *spec.forwards]
    devices += [
        "-netdev",
        "user,id=uplink," + ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in forwards),
        "-device",
        "virtio-net-pci,netdev=uplink",
    ]
    accel = ["tcg,thread=multi", "-cpu", "qemu64"]
    if spec.accel == "kvm":
        accel = ["kvm", "-cpu", "host"]
    return [
        "qemu-system-x86_64",
        "-name",
        spec.name,
        "-accel",
        *accel,
        "-smp",
        str(spec.cpus),
        "-m",
        str(spec.memory_mb),
        "-drive",
        f"file={spec.overlay},if=virtio,format=qcow2,cache=unsafe",
        "-kernel",
        str(base.kernel),
        "-initrd",
        str(base.initrd),
        "-append",
        " ".join(append),
        *devices,
        "-display",
        "none",
        "-serial",
        f"file:{spec.console}",
        "-pidfile",
        str(spec.pidfile),
        "-daemonize",
    ]


def start(spec: VmSpec, base: VmImage) -> int:
    """Start the VM on a throw-away overlay of the image; return QEMU's PID."""
    if not base.exists():
        raise BureauError(f"no VM image in {base.directory}: run `bureau image build --vm`")
    require("qemu-system-x86_64", "run scripts/host-setup (or `make host`) to install QEMU")
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    # A VM stopped by a reboot of this machine starts again on its own overlay.
    if spec.overlay.is_file():
        run(qemu_command(spec, base))
        return int(spec.pidfile.read_text().strip())
    run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            str(base.disk),
            "-F",
            "qcow2",
            str(spec.overlay),
        ]
    )
    run(qemu_command(spec, base))
    return int(spec.pidfile.read_text().strip())


def running(spec: VmSpec) -> bool:
    """Whether the QEMU of this VM's overlay runs (its PID file, checked)."""
    if not spec.pidfile.is_file():
        return False
    pid = int(spec.pidfile.read_text().strip() or 0)
    return pid > 0 and _is_our_qemu(pid, spec.overlay)


def stop(run_dir: Path, name: str) -> bool:
    """Stop the VM `name` of `run_dir` (the PID QEMU wrote) and remove its files;
    return whether it was running."""
    spec = VmSpec(name=name, run_dir=run_dir, ssh_port=0)
    running = False
    if spec.pidfile.is_file():
        pid = int(spec.pidfile.read_text().strip() or 0)
        if pid > 0 and _is_our_qemu(pid, spec.overlay):
            os.kill(pid, 15)
            running = True
    for path in (spec.overlay, spec.pidfile, spec.console):
        path.unlink(missing_ok=True)
    return running


def _is_our_qemu(pid: int, overlay: Path) -> bool:
    """Only the QEMU that runs this overlay is stopped: never a recycled PID,
    never a VM of the same name that another run started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return cmdline[0].endswith(b"qemu-system-x86_64") and any(
        f"file={overlay},".encode() in arg for arg in cmdline
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
