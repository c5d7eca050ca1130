"""What every Bureau host offers its operators and its services (role `base`)."""

from __future__ import annotations

import re

import pytest
from testinfra.host import Host

# tests/infra/conftest.py: what the checks of this module do to the host.
pytestmark = pytest.mark.readonly

SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def to_bytes(size: str) -> float:
    """`500M` or `500.0M` (journald's own notation) in bytes."""
    match = re.fullmatch(r"([\d.]+)([KMGT]?)B?", size.strip())
    assert match, f"not a size: {size!r}"
    return float(match[1]) * SIZE_UNITS[match[2]]


def test_default_locale_is_french(host: Host) -> None:
    generated = host.check_output("locale -a")
    assert "fr_FR.utf8" in generated.split()
    assert "en_US.utf8" in generated.split()
    assert "LANG=fr_FR.UTF-8" in host.file("/etc/default/locale").content_string
    # A login session (PAM reads /etc/default/locale) speaks French.
    result = host.run("su - root -c 'locale 2>&1; date +%A -d 2024-01-01'")
    assert "LANG=fr_FR.UTF-8" in result.stdout
    assert "Cannot set" not in result.stdout
    assert "lundi" in result.stdout


def test_time_zone_is_lome(host: Host) -> None:
    localtime = host.file("/etc/localtime")
    assert localtime.is_symlink
    assert localtime.linked_to.endswith("/zoneinfo/Africa/Lome")
    assert host.file("/etc/timezone").content_string.strip() == "Africa/Lome"
    assert host.check_output("date +%Z") == "GMT"


def test_chrony_runs_and_answers(host: Host) -> None:
    assert host.service("chrony").is_running
    assert host.service("chrony").is_enabled
    # chronyc talks to the daemon over its socket: it answers even before a sync.
    tracking = host.run("chronyc -n tracking")
    assert tracking.rc == 0, tracking.stderr
    assert "Reference ID" in tracking.stdout


def test_apt_sources_have_updates_and_security(host: Host) -> None:
    sources = host.file("/etc/apt/sources.list.d/debian.sources").content_string
    suite = host.check_output(". /etc/os-release && echo $VERSION_CODENAME")
    suites = " ".join(re.findall(r"(?m)^Suites:\s*(.*)$", sources)).split()
    assert {suite, f"{suite}-updates", f"{suite}-security"} <= set(suites)
    # apt itself sees the three suites (the cache was updated from them).
    policy = host.check_output("apt-cache policy")
    for name in (f"n={suite},", f"n={suite}-updates,", f"n={suite}-security,"):
        assert name in policy


# unattended-upgrade's own reading of its configuration (a full `--dry-run`
# takes over a minute: it simulates the whole upgrade).
ALLOWED_ORIGINS = """
import importlib.machinery, importlib.util
import apt_pkg

loader = importlib.machinery.SourceFileLoader("uu", "/usr/bin/unattended-upgrade")
module = importlib.util.module_from_spec(importlib.util.spec_from_loader("uu", loader))
loader.exec_module(module)
apt_pkg.init()
print("\\n".join(module.get_allowed_origins()))
"""
PATTERN_KEYS = {"origin": "o", "codename": "n", "label": "l", "archive": "a", "suite": "a"}


def release_matches(pattern: str, release: dict[str, str]) -> bool:
    wanted = dict(item.split("=", 1) for item in pattern.split(","))
    return all(release.get(PATTERN_KEYS.get(k, k)) == v for k, v in wanted.items())


def test_unattended_upgrades_selects_security_origin(host: Host) -> None:
    assert host.service("unattended-upgrades").is_running
    assert host.service("unattended-upgrades").is_enabled
    assert host.service("apt-daily-upgrade.timer").is_running
    config = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    patterns = host.check_output("python3 -c %s", ALLOWED_ORIGINS).splitlines()
    assert patterns
    releases = [
        dict(field.split("=", 1) for field in line.split()[1].split(","))
        for line in host.check_output("apt-cache policy").splitlines()
        if line.strip().startswith("release ") and "o=" in line
    ]
    selected = [r for r in releases if any(release_matches(p, r) for p in patterns)]
    # The security archive of the host's apt sources is selected, nothing else is.
    assert selected, (patterns, releases)
    assert all(r["l"] == "Debian-Security" for r in selected), selected


# Every installed package for which the security archive has a newer version
# than the installed one. Read-only (python3-apt reads the apt lists, no lock,
# no download) and exact: it asks the archive, not apt's resolver, so a fix
# that a pin or a missing dependency keeps from being the candidate still
# counts as pending. `unattended-upgrade --dry-run` would hide exactly those
# (it skips what it cannot install) and takes over a minute.
PENDING_SECURITY_UPDATES = """
import apt
for package in apt.Cache():
    installed = package.installed
    if installed is None:
        continue
    for version in package.versions:
        if version > installed and any(o.label == "Debian-Security" for o in version.origins):
            print(package.name, installed.version, "->", version.version)
            break
"""


def test_no_security_update_is_pending(host: Host) -> None:
    # As fresh as the apt lists: the deploy refreshed them (base__apt_cache_valid_time),
    # apt-daily.timer does every day.
    pending = host.check_output("python3 -c %s", PENDING_SECURITY_UPDATES)
    assert pending == "", f"security updates pending after the deploy:\n{pending}"


def test_journald_limits_in_effect(host: Host) -> None:
    dropin = host.file("/etc/systemd/journald.conf.d/50-bureau.conf")
    assert dropin.exists
    settings = dict(re.findall(r"(?m)^(\w+)=(.*)$", dropin.content_string))
    # journald reports the limits it runs with when it opens the system journal.
    messages = host.check_output(
        "journalctl -b -o cat _COMM=systemd-journal | grep 'System Journal' | tail -1"
    )
    running_max = re.search(r"max ([\d.]+[KMGT]?)B?", messages)
    assert running_max, messages
    wanted = to_bytes(settings["SystemMaxUse"])
    assert abs(to_bytes(running_max[1]) - wanted) <= wanted * 0.01
    if settings.get("Storage") == "persistent":
        assert host.file("/var/log/journal").is_directory
        assert "/var/log/journal" in messages


def test_operator_tools_are_installed(host: Host) -> None:
    for command in ("less", "vi", "curl", "lsof", "rsync", "tmux", "dig", "ps"):
        assert host.exists(command), command
