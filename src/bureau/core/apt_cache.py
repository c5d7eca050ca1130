"""The package cache of the development machine, for the rehearsal's containers.

`scripts/host-setup` runs apt-cacher-ng (from Debian) on this machine's address
on Docker's default bridge; `scripts/apt-proxy` prints its URL when it answers.
A deploy to a rehearsal inventory passes that URL to Ansible as
BUREAU_APT_PROXY, which the rehearsal inventory gives to `base__apt_proxy`:
every container then downloads each package through one cache. The same
variable set in the environment wins (empty: no cache). Production inventories
set `base__apt_proxy` themselves, if they have a cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bureau.core.proc import run

ENV = "BUREAU_APT_PROXY"
DETECT = Path("scripts") / "apt-proxy"


def proxy_url(project: Path, environ: Mapping[str, str]) -> str:
    """The cache's URL: BUREAU_APT_PROXY when set (even empty), else what
    scripts/apt-proxy finds, else "" (no cache: apt goes to the mirror)."""
    if ENV in environ:
        return environ[ENV].strip()
    script = project / DETECT
    if not script.is_file():
        return ""
    found = run([str(script)], check=False)
    return found.stdout.strip() if found.returncode == 0 else ""
