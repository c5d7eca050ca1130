"""The systemd base image: debootstrap from a Debian mirror, then `docker import`.

The image is tagged with a hash of its recipe (suite, packages, apt sources,
container settings), so a changed recipe builds a new image and an unchanged
one is reused. No registry is involved at any point.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bureau.core.proc import require, run
from bureau.errors import BadInput, BureauError, CommandFailed

SUITES: dict[str, str] = {"bookworm": "debian12", "trixie": "debian13"}
DEFAULT_SUITE = "trixie"
IMAGE_REPOSITORY = "localhost/bureau/{release}-systemd"

# What every Bureau host has before any role runs: systemd as PID 1, Python for
# Ansible (with python3-apt so the apt module needs no bootstrap), dbus for
# timedatectl/hostnamectl, iproute2 for facts, CA certificates for TLS.
PACKAGES: tuple[str, ...] = (
    "ca-certificates",
    "dbus",
    "iproute2",
    "python3",
    "python3-apt",
    "systemd",
    "systemd-sysv",
)

# Units that have no meaning in a container and only log failures there.
MASKED_UNITS: tuple[str, ...] = (
    "console-getty.service",
    "getty@.service",
    "systemd-firstboot.service",
    "systemd-remount-fs.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
)

IMPORT_CHANGES: tuple[str, ...] = (
    'CMD ["/lib/systemd/systemd"]',
    "ENV container=docker",
)
# `docker import` accepts no STOPSIGNAL: containers are started with
# --stop-signal SIGRTMIN+3 instead (molecule: stop_signal; rehearse: run args).

# Bump when the build steps below change in a way the other fields do not show.
RECIPE_VERSION = 2


@dataclass(frozen=True)
class Mirrors:
    """Where the image's packages come from: the main archive and the security archive."""

    archive: str
    security: str


@dataclass(frozen=True)
class Recipe:
    suite: str
    mirrors: Mirrors
    packages: tuple[str, ...] = PACKAGES
    masked_units: tuple[str, ...] = MASKED_UNITS
    changes: tuple[str, ...] = IMPORT_CHANGES
    version: int = RECIPE_VERSION
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def release(self) -> str:
        return SUITES[self.suite]

    @property
    def repository(self) -> str:
        return IMAGE_REPOSITORY.format(release=self.release)

    def digest(self) -> str:
        """A content hash of everything that shapes the image."""
        payload = asdict(self)
        payload["sources"] = self.apt_sources()
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def tag(self) -> str:
        return self.digest()[:12]

    @property
    def name(self) -> str:
        return f"{self.repository}:{self.tag}"

    def apt_sources(self) -> str:
        """The deb822 sources file the image carries: release, updates and security."""
        return (
            "Types: deb\n"
            f"URIs: {self.mirrors.archive}\n"
            f"Suites: {self.suite} {self.suite}-updates\n"
            "Components: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            "\n"
            "Types: deb\n"
            f"URIs: {self.mirrors.security}\n"
            f"Suites: {self.suite}-security\n"
            "Components: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )


_URL = re.compile(r"^(https?|file)://\S+$")


def parse_apt_sources(texts: list[str]) -> Mirrors | None:
    """Find the Debian archive and security URIs in apt sources (deb822 or one-line form)."""
    archive: str | None = None
    security: str | None = None

    def consider(uri: str, suites: list[str]) -> None:
        nonlocal archive, security
        uri = uri.rstrip("/")
        if any(s.endswith("-security") or s.endswith("/updates") for s in suites):
            security = security or uri
        else:
            archive = archive or uri

    for text in texts:
        if "URIs:" in text or "Suites:" in text:
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split():
                    continue
                for uri in fields.get("uris", "").split():
                    consider(uri, fields.get("suites", "").split())
        else:
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 3 and parts[0] == "deb":
                    rest = [p for p in parts[1:] if not p.startswith("[")]
                    if len(rest) >= 2:
                        consider(rest[0], [rest[1]])
    if archive is None:
        return None
    return Mirrors(archive=archive, security=security or f"{archive}-security")


def host_mirrors(root: Path = Path("/")) -> Mirrors | None:
    """The mirrors this machine's own apt uses: what an air-gapped site has set up already."""
    texts: list[str] = []
    sources = root / "etc/apt/sources.list"
    if sources.is_file():
        texts.append(sources.read_text(errors="replace"))
    directory = root / "etc/apt/sources.list.d"
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.suffix in (".sources", ".list"):
                texts.append(path.read_text(errors="replace"))
    return parse_apt_sources(texts)


def resolve_recipe(
    suite: str = DEFAULT_SUITE,
    mirror: str | None = None,
    security_mirror: str | None = None,
) -> Recipe:
    """Build the recipe from options, then BUREAU_MIRROR, then the host's apt sources."""
    if suite not in SUITES:
        raise BadInput(f"unknown suite '{suite}': choose one of {', '.join(SUITES)}")
    mirror = mirror or os.environ.get("BUREAU_MIRROR") or None
    security_mirror = security_mirror or os.environ.get("BUREAU_SECURITY_MIRROR") or None
    found = host_mirrors()
    if mirror is None:
        if found is None:
            raise BadInput(
                "no Debian mirror given and none found in /etc/apt/sources*: "
                "pass --mirror URL or set BUREAU_MIRROR"
            )
        mirror = found.archive
        security_mirror = security_mirror or found.security
    for label, value in (("--mirror", mirror), ("--security-mirror", security_mirror)):
        if value is not None and not _URL.match(value):
            raise BadInput(f"{label} '{value}' is not a URL (http://, https:// or file://)")
    mirror = mirror.rstrip("/")
    security = (security_mirror or f"{mirror}-security").rstrip("/")
    return Recipe(suite=suite, mirrors=Mirrors(archive=mirror, security=security))


def image_exists(name: str) -> bool:
    proc = run(["docker", "image", "inspect", name], check=False)
    return proc.returncode == 0


def build(recipe: Recipe, *, force: bool = False, log=print) -> tuple[str, bool]:
    """Build the image for `recipe` unless it exists; return (name, built)."""
    require("docker", "run scripts/host-setup (or `make host`) to install the engine")
    if image_exists(recipe.name) and not force:
        return recipe.name, False
    require("debootstrap", "run scripts/host-setup (or `make host`) to install it")
    if os.geteuid() != 0:
        raise BureauError("debootstrap needs root: run `sudo bureau image build`")
    workdir = Path(tempfile.mkdtemp(prefix="bureau-image-", dir="/var/tmp"))
    rootfs = workdir / "rootfs"
    try:
        log(f"debootstrap {recipe.suite} from {recipe.mirrors.archive}")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(recipe.packages)}",
                recipe.suite,
                str(rootfs),
                recipe.mirrors.archive,
            ]
        )
        _customise(rootfs, recipe)
        log(f"docker import {recipe.name}")
        _import(rootfs, recipe)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    run(["docker", "tag", recipe.name, f"{recipe.repository}:latest"])
    return recipe.name, True


def _customise(rootfs: Path, recipe: Recipe) -> None:
    """Apt sources with updates and security, masked container-useless units, no caches."""
    legacy = rootfs / "etc/apt/sources.list"
    if legacy.exists():
        legacy.unlink()
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(recipe.apt_sources())
    systemd_dir = rootfs / "etc/systemd/system"
    for unit in recipe.masked_units:
        link = systemd_dir / unit
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to("/dev/null")
    # An empty machine-id makes systemd create a fresh one for every container.
    (rootfs / "etc/machine-id").write_text("")
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log"):
        for path in rootfs.glob(pattern):
            if path.is_file():
                path.unlink()
    # With the lists gone, an old modification time makes apt's cache_valid_time
    # see a stale cache, so the first role's `apt update_cache` really updates.
    os.utime(rootfs / "var/lib/apt/lists", (0, 0))


def _import(rootfs: Path, recipe: Recipe) -> None:
    changes: list[str] = []
    for change in recipe.changes:
        changes += ["--change", change]
    label = f"LABEL org.bureau.recipe={recipe.digest()}"
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE,
    )
    assert tar.stdout is not None
    importer = subprocess.run(
        ["docker", "import", *changes, "--change", label, "-", recipe.name],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    tar.stdout.close()
    tar_rc = tar.wait()
    if importer.returncode != 0:
        raise CommandFailed(["docker", "import", recipe.name], importer.returncode, importer.stderr)
    if tar_rc != 0:
        raise CommandFailed(["tar", "-c", str(rootfs)], tar_rc)
