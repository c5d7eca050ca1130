"""Helpers of the drive checks (plain code, no fixtures): HTTPS requests to
the two names of the drive, and real WebDAV clients (rclone, litmus) run so
that they reach the host under test by the names agents use."""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..site import DOMAIN
from ..testsupport import agent, basic_auth, https_request

DRIVE = f"drive.{DOMAIN}"
DAV = f"dav.{DOMAIN}"
TIMEOUT = 60

ABLA = "abla.adjo-amegan"  # mef
KOKOU = "kokou.agbeko"  # mef, Abla's colleague
YAO = "yao.de-souza"  # msh; a 2 MiB drive quota (fixtures.yml)
AFI = "afi.dalmeida"  # mef, disabled by the second HR import
MINISTRY = "mef"
OTHER_MINISTRY = "msh"
SHARE = "budget-2027"  # mef writes, msh reads, 8 MiB (molecule.yml)


def basic(uid: str, password: str | None = None) -> str:
    return basic_auth(uid, password)


def request(
    tls: ssl.SSLContext,
    method: str,
    path: str,
    uid: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    name: str = DAV,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request to a name of the drive (dav.<domain> by default),
    with the agent's HTTP Basic credentials when `uid` is given."""
    return https_request(tls, name, method, path, uid, body, headers, timeout=TIMEOUT)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def named_host(address: str, ca_file: str) -> Iterator[list[str]]:
    """The command prefix that runs a client program (rclone, litmus) where
    every name of the site resolves to `address` and the internal CA is
    trusted: its own mount namespace (unshare --map-root-user --mount),
    with /etc/hosts and the system CA bundle replaced by copies for this run
    only. The machine's own files are never touched."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is missing on this machine"
    with tempfile.TemporaryDirectory(prefix="bureau-drive-client-") as folder:
        hosts = Path(folder, "hosts")
        names = " ".join(f"{n}.{DOMAIN}" for n in ("drive", "dav", "auth"))
        hosts.write_text(f"127.0.0.1 localhost\n{address} {names}\n", encoding="utf-8")
        bundle = Path(folder, "ca-certificates.crt")
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        bundle.write_text(
            (system.read_text(encoding="utf-8") if system.exists() else "")
            + Path(ca_file).read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        script = (
            'mount --bind "$0" /etc/hosts && '
            "if [ -e /etc/ssl/certs/ca-certificates.crt ]; then "
            'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt; fi && '
            'shift && exec "$@"'
        )
        yield [unshare, "--map-root-user", "--mount", "sh", "-c", script, str(hosts), str(bundle)]


def rclone(
    prefix: list[str], uid: str, url: str, *args: str, password: str | None = None
) -> subprocess.CompletedProcess:
    """rclone as `uid`, on the WebDAV remote at `url` (":webdav:" in args)."""
    who = agent(uid)
    obscured = subprocess.run(
        ["rclone", "obscure", password or who.password], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        **os.environ,
        "RCLONE_CONFIG": "/dev/null",
        "RCLONE_WEBDAV_URL": url,
        "RCLONE_WEBDAV_VENDOR": "other",
        "RCLONE_WEBDAV_USER": who.uid,
        "RCLONE_WEBDAV_PASS": obscured,
    }
    return subprocess.run(
        [*prefix, "rclone", "--low-level-retries", "1", "--retries", "1", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
