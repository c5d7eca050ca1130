#!/usr/bin/python3
"""The browser gateway's session helper (roles/office, docs/office.md).

Started by systemd for each connection to bureau-office-vnc.socket (root,
Accept=yes: the connection is standard input), which only the gateway's
group can open. The gateway writes an agent's uid, then, where the office
host mounts the drive, a space and the password she logged in to the portal
with (base64), and a newline; the helper answers one line: "ok", with a
connected socket to her desktop's VNC server attached (SCM_RIGHTS), or the
reason there is none.

Her desktop: each session's VNC server (X0tigervnc) listens on a Unix socket in her
runtime folder (/run/user/<uid>/bureau-vnc, started by startwm.sh; the
folder is hers, 0700). The helper connects as root, then checks who serves
that socket (SO_PEERCRED): it must be the agent herself, so a link she put
there to another's socket gets nothing. Without a desktop it starts one
with xrdp-sesman's own login for the calling user (xrdp-sesrun run as her:
no password), never while a desktop of hers runs (xrdp-sesman 0.10.1 then
crashes).

The password, when there is one, goes to the drive's PAM helper
(bureau-office-drive) as at an RDP login: kept root-only for the session
that opens next, whose PAM session step mounts her folders with it; when
her desktop already runs without them, they are mounted at once.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import pwd
import re
import socket
import struct
import subprocess
import sys
import syslog
import time
from pathlib import Path

UID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SOCKET_NAME = "bureau-vnc"
LOCKS = Path("/run/bureau-office-vnc")


class Refused(Exception):
    pass


def desktop_socket(user: pwd.struct_passwd) -> socket.socket | None:
    """Her VNC server, connected and checked, or None when nothing answers."""
    path = f"/run/user/{user.pw_uid}/{SOCKET_NAME}"
    vnc = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    vnc.settimeout(5)
    try:
        vnc.connect(path)
    except OSError:
        vnc.close()
        return None
    credentials = vnc.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _ = struct.unpack("3i", credentials)
    if uid != user.pw_uid:
        vnc.close()
        raise Refused(f"{path} is served by uid {uid} (pid {pid}), not by {user.pw_name}")
    return vnc


def desktop_running(user: pwd.struct_passwd) -> bool:
    """A desktop of hers (her Xorg) runs, reached over RDP or being started."""
    found = subprocess.run(
        ["pgrep", "-u", str(user.pw_uid), "-x", "Xorg"], capture_output=True, check=False
    )
    return found.returncode == 0


def start_desktop(user: pwd.struct_passwd, config: dict) -> None:
    """A new session for her, through xrdp-sesman's login of the calling user."""
    command = [
        "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
        f"--groups={config['sesrun_group']}", "--inh-caps=-all", "--",
        "xrdp-sesrun", "-t", "Xorg", "-g", config["geometry"],
    ]  # fmt: skip
    environment = {
        "HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
    }  # fmt: skip
    started = subprocess.run(
        command, env=environment, cwd="/", capture_output=True, text=True, timeout=60, check=False
    )
    output = " ".join((started.stdout + started.stderr).split())
    syslog.syslog(f"new browser session for {user.pw_name}: {output}")
    if started.returncode != 0:
        raise Refused(f"no new session: {output or started.returncode}")


def drive_step(user: pwd.struct_passwd, config: dict, step: str, password: bytes = b"") -> None:
    """One step of the drive's PAM helper for her: "auth" keeps `password`
    for her next session (nothing when her folders are mounted), "session"
    mounts them in the session she has (with the password "auth" kept)."""
    environment = {"PAM_USER": user.pw_name, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if step == "session":
        environment["PAM_TYPE"] = "open_session"
    subprocess.run(
        [config["drive"], step], input=password, env=environment,
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def find_or_start(uid: str, password: bytes | None, config: dict) -> socket.socket:
    if not UID.fullmatch(uid):
        raise Refused("not an agent's uid")
    try:
        user = pwd.getpwnam(uid)
    except KeyError as error:
        raise Refused(f"{uid} is no agent of this host") from error
    if user.pw_uid < int(config["min_id"]):
        raise Refused(f"{uid} is no agent (uid {user.pw_uid})")
    LOCKS.mkdir(mode=0o700, exist_ok=True)
    # One helper at a time per agent: two tabs never start two sessions.
    with open(LOCKS / f"{user.pw_uid}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        running = desktop_running(user)
        if password and config.get("drive"):
            drive_step(user, config, "auth", password)
            if running:
                drive_step(user, config, "session")
        vnc = desktop_socket(user)
        if vnc is not None:
            return vnc
        if not running:
            start_desktop(user, config)
        # A desktop that is starting opens its socket within seconds.
        deadline = time.monotonic() + float(config["session_wait"])
        while time.monotonic() < deadline:
            time.sleep(0.5)
            vnc = desktop_socket(user)
            if vnc is not None:
                return vnc
        raise Refused(f"the desktop of {uid} does not answer")


def read_request(gateway: socket.socket) -> tuple[str, bytes | None]:
    """The gateway's line: the uid, and the password when there is one."""
    line = b""
    while not line.endswith(b"\n") and len(line) < 4096:
        chunk = gateway.recv(4096 - len(line))
        if not chunk:
            break
        line += chunk
    uid, _, token = line.strip().partition(b" ")
    password = None
    if token:
        try:
            password = base64.b64decode(token, validate=True) or None
        except (binascii.Error, ValueError):
            password = None
    return uid.decode("ascii", "replace"), password


def main() -> None:
    syslog.openlog("bureau-office-vnc", 0, syslog.LOG_AUTH)
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    gateway = socket.socket(fileno=0)
    gateway.settimeout(10)
    uid, password = read_request(gateway)
    try:
        vnc = find_or_start(uid, password, config)
    except (Refused, OSError, subprocess.SubprocessError) as error:
        syslog.syslog(syslog.LOG_WARNING, f"no desktop for {uid!r}: {error}")
        gateway.sendall(f"{error}\n".encode())
        return
    syslog.syslog(f"desktop of {uid} handed to the gateway")
    socket.send_fds(gateway, [b"ok\n"], [vnc.fileno()])
    vnc.close()
    os.close(0)


if __name__ == "__main__":
    main()
